"""Loans (借出) of boxes and units out of the stacks — for digitization, an exhibition, repair or
another purpose, with a due date — and their return, each recorded with who, when and why.
Changing needs STACKS (保管员); every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.catalog.services import visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import STACKS

from .models import (
    Box,
    Loan,
    Movement,
    Placement,
)
from .services import (
    UNIT_LEVELS,
    NotFound,
    StacksError,
    _actor,
    _in_scope,
    _name,
    _repository_of,
    _require,
    _who,
    loans_for,
)

# --- loans -------------------------------------------------------------------------------------
PURPOSES = dict(Loan.PURPOSES)


def _loan_terms(purpose: str, due_on: Any, borrower: str, reason: str) -> dict[str, Any]:
    if purpose not in PURPOSES:
        raise StacksError(f"用途（purpose）须为 {' / '.join(PURPOSES)}：{purpose}")
    if isinstance(due_on, dt.date):
        due = due_on
    else:
        try:
            due = dt.date.fromisoformat(str(due_on or "").strip())
        except ValueError:
            raise StacksError(f"应还日期（due_on）须为日期 YYYY-MM-DD：{due_on}") from None
    if due < timezone.localdate():
        raise StacksError(f"应还日期（due_on）不得早于今天：{due}")
    reason = _name(reason, "事由", "reason", 2000, required=purpose == "other")
    return {"purpose": purpose, "due_on": due,
            "borrower": _name(borrower, "借出至", "borrower", required=False), "reason": reason}  # fmt: skip


def lend_box(
    user: User | None, box: Box, purpose: str, due_on: Any, borrower: str = "", reason: str = ""
) -> Loan:
    """Lend a box out (for digitization, exhibition, repair, …) until `due_on`."""
    _require(user, STACKS)
    _in_scope(user, _repository_of(Box.objects.select_related("shelf__room__building").get(pk=box.pk)),
              "档案盒")  # fmt: skip
    terms = _loan_terms(purpose, due_on, borrower, reason)
    with transaction.atomic():
        box = Box.objects.select_for_update().get(pk=box.pk)
        if box.status == "out":
            current = Loan.objects.filter(box=box, returned_at__isnull=True).first()
            since = (
                f"（{timezone.localtime(current.lent_at):%Y-%m-%d} 借出，应还 {current.due_on}）"
                if current
                else ""
            )
            raise StacksError(f"盒“{box.code}”已借出{since}：归还后才能再次借出")
        now, who = timezone.now(), _who(user)
        loan = Loan.objects.create(box=box, lent_at=now, lent_by=who, **terms)
        box.status = "out"
        box.save(update_fields=["status"])
        Movement.objects.create(kind="lend", box=box, loan=loan, to_place=terms["borrower"],
                                reason=_loan_reason(terms), actor=who, at=now)  # fmt: skip
        audit.record("stacks.loan.lend", "stacks_box", box.pk,
                     {"box": box.code, "purpose": purpose, "due_on": terms["due_on"],
                      "borrower": terms["borrower"], "reason": terms["reason"]}, actor=_actor(user))  # fmt: skip
    return loan


def _loan_reason(terms: Mapping[str, Any]) -> str:
    label = str(PURPOSES[terms["purpose"]])
    return f"{label}：{terms['reason']}" if terms["reason"] else label


def find_unit(user: User | None, code: str, repository_id: int | None = None) -> Record:
    """The unit (案卷 or 件) the user may see with 档号 `code`."""
    text = str(code or "").strip()
    qs = visible_records(user).filter(reference_code=text)
    if repository_id is not None:
        qs = qs.filter(repository_id=repository_id)
    found = list(qs[:2])
    if not found:
        raise NotFound(f"档号“{text}”不存在或无权查看")
    if len(found) > 1:
        raise StacksError(f"档号“{text}”在多个档案馆中都有，请在该馆的库房中查找")
    return found[0]


def lend_record(
    user: User | None,
    record: Record,
    purpose: str,
    due_on: Any,
    borrower: str = "",
    reason: str = "",
) -> Loan:
    """Lend one unit out of its box."""
    _require(user, STACKS)
    _in_scope(user, record.repository_id, "档案")
    if record.level not in UNIT_LEVELS:
        raise StacksError(f"“{record.reference_code}”是卷内文件，随所属案卷借出：请借出其案卷")
    terms = _loan_terms(purpose, due_on, borrower, reason)
    placement = Placement.objects.select_related("box").filter(record=record).first()
    if placement is None:
        raise StacksError(f"“{record.reference_code}”未上架（不在任何盒中），不能出库")
    if placement.box.status == "out":
        raise StacksError(
            f"“{record.reference_code}”随盒“{placement.box.code}”借出中：请先归还该盒"
        )
    now, who = timezone.now(), _who(user)
    try:
        with transaction.atomic():
            loan = Loan.objects.create(record=record, lent_at=now, lent_by=who, **terms)
            Movement.objects.create(kind="lend", box=placement.box, record=record, loan=loan,
                                    reference_code=record.reference_code, from_place=placement.box.code,
                                    to_place=terms["borrower"], reason=_loan_reason(terms), actor=who, at=now)  # fmt: skip
            audit.record("stacks.loan.lend", "record", record.pk,
                         {"code": record.reference_code, "box": placement.box.code, "purpose": purpose,
                          "due_on": terms["due_on"], "borrower": terms["borrower"], "reason": terms["reason"]},
                         actor=_actor(user))  # fmt: skip
    except IntegrityError:
        raise StacksError(f"“{record.reference_code}”已借出：归还后才能再次借出") from None
    return loan


def return_loan(user: User | None, loan: Loan, note: str = "") -> Loan:
    _require(user, STACKS)
    note = _name(note, "归还说明", "note", 2000, required=False)
    with transaction.atomic():
        loan = (
            Loan.objects.select_for_update(of=("self",))
            .select_related("box", "record")
            .get(pk=loan.pk)
        )
        if not loans_for(user).filter(pk=loan.pk).exists():
            raise NotFound("借出记录不存在或不在本人的档案馆范围内")
        if loan.returned_at is not None:
            raise StacksError("该借出已归还")
        now, who = timezone.now(), _who(user)
        loan.returned_at, loan.returned_by, loan.return_note = now, who, note
        loan.save(update_fields=["returned_at", "returned_by", "return_note"])
        box = loan.box
        if box is not None:
            Box.objects.filter(pk=box.pk).update(status="shelved")
        elif loan.record is not None:
            placement = Placement.objects.select_related("box").filter(record=loan.record).first()
            box = placement.box if placement else None
        code = loan.record.reference_code if loan.record else ""
        Movement.objects.create(kind="return", box=box, record=loan.record, reference_code=code,
                                loan=loan, to_place=box.code if box else "", reason=note, actor=who, at=now)  # fmt: skip
        target = ("stacks_box", loan.box_id) if loan.box_id else ("record", loan.record_id)
        audit.record("stacks.loan.return", target[0], target[1],
                     {"loan": loan.pk, "box": loan.box.code if loan.box else None,
                      "code": code or None, "note": note}, actor=_actor(user))  # fmt: skip
    return loan
