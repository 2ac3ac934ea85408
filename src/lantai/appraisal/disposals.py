"""A disposal (销毁) lists only records decided "destroy"; one person prepares it, a second one
(监销人) approves it, which freezes the destruction list (销毁清册, its SM3 in the audit log). The
execution writes the destruction report (date, method, place, people): records only on paper
leave the catalogue through the catalogue's delete; records in a preserved package are asked
for through the preservation deaccession path (one officer requests, another approves; PREMIS
deaccession event and a new OCFL version), and the disposal completes only once every such
request has been approved."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import PROTECT, Model, ProtectedError, QuerySet
from django.utils import timezone

from lantai.appraisal.models import (
    Decision,
    Disposal,
    DisposalItem,
)
from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.catalog.services import require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import APPRAISE, PRESERVE
from lantai.preservation import deletion
from lantai.preservation.models import Package, PackageRecord

from .services import (
    AppraisalError,
    _console_user,
    _copy,
    _digest,
    _name,
    _outside_scope,
    hidden_from,
    retention_label,
)

ACTIVE = ("draft", "approved", "executing")


def visible_disposals(user: User | None) -> QuerySet[Disposal]:
    """Disposals whose every record lies in `user`'s scope: the 监销人 and the executors must be
    able to see the whole list."""
    if user is not None and not user.has_perm_code(APPRAISE):
        return Disposal.objects.none()
    qs = Disposal.objects.select_related("prepared_by", "approved_by", "executed_by")
    outside = _outside_scope(user)
    if outside is not None:
        qs = qs.exclude(pk__in=DisposalItem.objects.filter(outside).values("disposal_id"))
    return qs


def _lock(user: User | None, disposal: Disposal) -> None:
    """Inside a transaction: lock the disposal's row and read it again (a page loaded before
    another person's click holds an old status), and refuse one outside `user`'s scope."""
    found = visible_disposals(user).select_related(None).select_for_update().filter(pk=disposal.pk)
    if not list(found.values_list("pk", flat=True)):
        raise AppraisalError(f"销毁清册 {disposal.number} 不存在或不在您的范围内", "disposal")
    disposal.refresh_from_db()


def _require_list_visible(user: User | None, disposal: Disposal) -> None:
    """The 监销人 (and the executor) must be able to see every record still on the list."""
    keys = list(
        disposal.items.filter(record__isnull=False).values_list("record_id", "reference_code")
    )
    seen = set(
        catalog.visible_records(user)
        .filter(pk__in=[k for k, _ in keys])
        .values_list("pk", flat=True)
    )
    hidden = [code for k, code in keys if k not in seen]
    if hidden:
        raise AppraisalError(
            f"档号 {'、'.join(hidden[:20])} 不在您的范围内或密级高于您的涉密等级："
            f"不能审批或执行销毁清册 {disposal.number}",
            "records",
        )


def destroy_decisions(user: User | None = None) -> QuerySet[Decision]:
    """Decisions "destroy" whose record is still in the catalogue and on no active disposal."""
    listed = DisposalItem.objects.filter(disposal__status__in=ACTIVE).values("decision_id")
    return (
        Decision.objects.filter(outcome="destroy", item__record__isnull=False)
        .filter(item__record__in=catalog.visible_records(user))
        .exclude(pk__in=listed)
        .select_related("item", "item__task", "decided_by")
        .order_by("item__reference_code")
    )


def _next_number(year: int) -> str:
    prefix = f"XH-{year}-"
    last = (
        Disposal.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    seq = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{seq:04d}"


def _preserved(record_ids: Iterable[int]) -> dict[int, Package]:
    links = (
        PackageRecord.objects.filter(record_id__in=list(record_ids), package__version__gt=0)
        .exclude(package__status="deleted")
        .select_related("package")
    )
    return {link.record_id: link.package for link in links}


def prepare_disposal(user: User | None, codes: Sequence[str], *, reason: str) -> Disposal:
    """The destruction list of the records with these 档号: each must have been decided
    "destroy" by an appraisal and be on no other active disposal."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    assert user is not None
    reason = reason.strip()
    if not reason:
        raise AppraisalError("请填写销毁原因", "reason")
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if not wanted:
        raise AppraisalError("请选择要销毁的档案", "codes")
    records = {
        r.reference_code: r for r in catalog.visible_records(user).filter(reference_code__in=wanted)
    }
    missing = [c for c in wanted if c not in records]
    if missing:
        raise AppraisalError(f"档号 {'、'.join(missing[:20])} 不存在或不在您的范围内", "codes")
    decisions: dict[int, Decision] = {}
    for d in (
        Decision.objects.filter(outcome="destroy", item__record__in=records.values())
        .select_related("item", "item__task", "decided_by", "proposal")
        .order_by("pk")
    ):
        decisions[d.item.record_key] = d
    undecided = [c for c, r in records.items() if r.pk not in decisions]
    if undecided:
        raise AppraisalError(
            f"档号 {'、'.join(undecided[:20])} 没有“销毁”的鉴定决定：只有经鉴定决定销毁的档案才能列入销毁清册",
            "codes",
        )
    busy = set(
        DisposalItem.objects.filter(
            disposal__status__in=ACTIVE, record_key__in=[r.pk for r in records.values()]
        ).values_list("reference_code", flat=True)
    )
    if busy:
        raise AppraisalError(f"档号 {'、'.join(sorted(busy)[:20])} 已列入另一份销毁清册", "codes")
    ordered = [records[c] for c in sorted(records)]
    children = Counter(
        Record.objects.filter(parent__in=ordered).values_list("parent_id", flat=True)
    )
    packages = _preserved(r.pk for r in ordered)
    with transaction.atomic():
        disposal = Disposal.objects.create(
            number=_next_number(timezone.localdate().year), reason=reason, prepared_by=user
        )
        rows = []
        for n, r in enumerate(ordered, 1):
            d = decisions[r.pk]
            ref = (f"鉴定任务{d.item.task_id}《{d.item.task.name}》决定{d.pk}"
                   f"（{_name(d.decided_by)}，{timezone.localtime(d.decided_at):%Y-%m-%d}）：{d.reason}")  # fmt: skip
            rows.append(DisposalItem(
                disposal=disposal, number=n, record=r, record_key=r.pk, decision=d,
                decision_ref=ref[:300], disposal_reason=d.proposal.reason,
                items_count=1 + children.get(r.pk, 0),
                package_object_id=packages[r.pk].object_id if r.pk in packages else "",
                **_copy(r),
            ))  # fmt: skip
        DisposalItem.objects.bulk_create(rows)
        audit.record(
            "disposal_prepare", "disposal", disposal.pk,
            {"number": disposal.number, "reason": reason, "records": [r.reference_code for r in ordered]},
        )  # fmt: skip
    return disposal


def list_rows(disposal: Disposal) -> list[dict[str, Any]]:
    """The destruction list (销毁清册) as kept: 序号, 档号, 题名, 年度, 保管期限, 页数/件数, 销毁原因,
    鉴定决定."""
    return [
        {
            "number": i.number,
            "reference_code": i.reference_code,
            "title": i.title,
            "year": i.year,
            "retention": retention_label(i.retention),
            "pages": i.pages,
            "items": i.items_count,
            "reason": i.disposal_reason,
            "decision": i.decision_ref,
            "preserved": bool(i.package_object_id),
            "classification_code": i.classification,
        }  # fmt: skip
        for i in disposal.items.order_by("number")
    ]


def approve_disposal(user: User | None, disposal: Disposal, *, note: str = "") -> Disposal:
    """The 监销人's approval: a second person, never the one who prepared the list. The list is
    frozen: its SM3 goes into the audit log and is checked again before execution."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    assert user is not None
    with transaction.atomic():
        _lock(user, disposal)
        if disposal.status != "draft":
            raise AppraisalError(f"销毁清册 {disposal.number} 不在待审批状态", "status")
        if disposal.prepared_by_id == user.pk:
            raise AppraisalError(
                f"销毁须由两人办理：监销人不能是编制销毁清册 {disposal.number} 的本人"
                f"（{_name(user)}），请由另一名鉴定小组成员审批",
                "approved_by",
            )
        _require_list_visible(user, disposal)
        disposal.status, disposal.approved_by = "approved", user
        disposal.approved_at, disposal.approval_note = timezone.now(), note.strip()
        disposal.list_sm3 = _digest(list_rows(disposal))
        disposal.save()
        audit.record(
            "disposal_approve", "disposal", disposal.pk,
            {"number": disposal.number, "list_sm3": disposal.list_sm3, "note": note.strip(),
             "records": disposal.items.count()},
        )  # fmt: skip
    return disposal


def cancel_disposal(user: User | None, disposal: Disposal, *, note: str) -> Disposal:
    """Withdraw a list not yet approved (by its author or the 监销人 refusing it)."""
    require(user, APPRAISE)
    if not note.strip():
        raise AppraisalError("请填写撤销理由", "note")
    with transaction.atomic():
        _lock(user, disposal)
        if disposal.status != "draft":
            raise AppraisalError(f"销毁清册 {disposal.number} 已批准，不能撤销", "status")
        disposal.status, disposal.approval_note = "cancelled", note.strip()
        disposal.save(update_fields=["status", "approval_note"])
        audit.record("disposal_cancel", "disposal", disposal.pk, {"note": note.strip()})
    return disposal


def _check_execution(
    user: User, disposal: Disposal
) -> tuple[list[DisposalItem], dict[int, Package]]:
    """What execute_disposal checks on the locked disposal: approved, the list as approved
    (SM3), every record visible to the executor, the PRESERVE permission for preserved records,
    nothing held by another room's work (a PROTECT reference or an open stacks loan)."""
    if disposal.status != "approved":
        raise AppraisalError(
            f"销毁清册 {disposal.number} 须经监销人批准后才能执行（当前：{disposal.get_status_display()}）",
            "status",
        )
    if _digest(list_rows(disposal)) != disposal.list_sm3:
        raise AppraisalError(
            f"销毁清册 {disposal.number} 与监销人批准时的内容不一致（SM3 不符）：不能执行", "list"
        )
    items = list(disposal.items.select_related("record").order_by("number"))
    present = [i for i in items if i.record is not None]
    packages = _preserved(i.record_key for i in present)
    if packages and not user.has_perm_code(PRESERVE):
        raise AppraisalError(
            "清册中有已进入长期保存的档案：须由保管员执行，以便提出信息包注销申请", "executed_by"
        )
    _require_list_visible(user, disposal)
    paper = [i.record_key for i in present if i.record_key not in packages]
    held = referenced_elsewhere(paper)
    for key, rooms in lent_out([i.record_key for i in present]).items():
        held.setdefault(key, []).extend(rooms)
    if held:
        names = "、".join(
            f"{i.reference_code}（{'、'.join(sorted(set(held[i.record_key])))}）"
            for i in present if i.record_key in held
        )  # fmt: skip
        raise AppraisalError(
            f"档案仍被其他业务引用，不能删除：{names[:500]}；请先在相应业务中处理后再执行销毁",
            "records",
        )
    return items, packages


def execute_disposal(
    user: User | None,
    disposal: Disposal,
    *,
    executed_on: date,
    method: str,
    place: str,
    executors: str,
) -> Disposal:
    """Carry the approved disposal out and write its report: records only on paper leave the
    catalogue; a preserved record is asked for through the preservation deaccession path (its
    removal waits for a second preservation officer's approval)."""
    require(user, APPRAISE)
    if user is None:
        _console_user()
    assert user is not None
    for field, value, label in (("method", method, "销毁方式"), ("place", place, "销毁地点"),
                                ("executors", executors, "销毁人")):  # fmt: skip
        if not value.strip():
            raise AppraisalError(f"销毁报告须填写{label}", field)
    if executed_on > timezone.localdate():
        raise AppraisalError("销毁日期不能晚于今天", "executed_on")
    try:
        with transaction.atomic():
            _lock(user, disposal)
            items, packages = _check_execution(user, disposal)
            present = [i for i in items if i.record is not None]
            note = f"销毁清册 {disposal.number}：{disposal.reason}（监销人 {_name(disposal.approved_by)}）"
            by_package: dict[int, list[DisposalItem]] = defaultdict(list)
            for item in present:
                if item.record_key in packages:
                    by_package[packages[item.record_key].pk].append(item)
                else:
                    _remove_paper(item)
            requested = []
            for rows in by_package.values():
                package = packages[rows[0].record_key]
                req = deletion.request_deletion(
                    package, note, user=user, records=[i.record_key for i in rows]
                )
                requested.append(req.pk)
                DisposalItem.objects.filter(pk__in=[i.pk for i in rows]).update(
                    state="deaccession_requested", deletion_request=req,
                    package_object_id=package.object_id,
                )  # fmt: skip
            gone = [i.pk for i in items if i.record is None]
            DisposalItem.objects.filter(pk__in=gone).update(state="removed")
            disposal.executed_by, disposal.executed_on = user, executed_on
            disposal.method, disposal.place = method.strip(), place.strip()
            disposal.executors = executors.strip()
            disposal.status = "executing" if requested else "completed"
            if not requested:
                disposal.completed_at = timezone.now()
            disposal.save()
            audit.record(
                "disposal_execute", "disposal", disposal.pk,
                {"number": disposal.number, "executed_on": executed_on, "method": method.strip(),
                 "place": place.strip(), "executors": executors.strip(),
                 "removed": len(present) - sum(len(r) for r in by_package.values()),
                 "deaccession_requests": requested},
            )  # fmt: skip
    except ProtectedError as e:
        codes = sorted({getattr(o, "reference_code", str(o)) for o in e.protected_objects})
        raise AppraisalError(
            f"档案仍被其他业务引用（如开放审核、数字化批次），不能删除：{'、'.join(codes[:10]) or e}"
            "；请先在相应业务中处理后再执行销毁",
            "records",
        ) from e
    disposal.refresh_from_db()
    return disposal


def referenced_elsewhere(record_ids: Iterable[int]) -> dict[int, list[str]]:
    """Records another room still holds on to (a PROTECT reference: an open-review item, a
    digitization batch …), with the names of those rooms: the catalogue cannot delete
    them until that work is dealt with. One query per such reference, not per record."""
    ids = list(record_ids)
    out: dict[int, list[str]] = defaultdict(list)
    for rel in Record._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or getattr(rel, "on_delete", None) is not PROTECT:
            continue
        model = rel.related_model
        if model is Record or rel.many_to_many or not isinstance(model, type):
            continue
        assert issubclass(model, Model)
        column = rel.field.attname  # type: ignore[union-attr]
        for pk in model._default_manager.filter(**{f"{column}__in": ids}).values_list(
            column, flat=True
        ):
            out[pk].append(str(model._meta.app_config.verbose_name))
    return dict(out)


LENT_FIELD = "returned_at"


def _lending(model: type[Model]) -> bool:
    return any(f.name == LENT_FIELD and f.concrete for f in model._meta.get_fields())


def lent_out(record_ids: Iterable[int]) -> dict[int, list[str]]:
    """Records lent out and not back (their open loan would go with them: a loan is deleted
    with its record), with the name of the lending room: deleting them would lose the only
    trace of an item still outside the stacks.

    Found without importing that room (it is on the same floor), through Django's relations,
    by one explicit convention: a model pointing at records (or at the holder a record lies
    in) with a field named ``returned_at`` is a loan, open while that field is null. Two
    shapes are followed: a loan of the record itself (a foreign key to Record), and a loan of
    the holder the record is in now (a one-to-one "where it lies" row of the record, such as
    its box placement, whose other foreign key the loan points at). One query per relation."""
    ids = list(record_ids)
    out: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return {}

    def room(model: type[Model]) -> str:
        return f"{model._meta.app_config.verbose_name}：借出未归还"

    for rel in Record._meta.get_fields(include_hidden=True):
        if not rel.auto_created or rel.concrete or rel.many_to_many:
            continue
        model = rel.related_model
        if model is Record or not isinstance(model, type) or not issubclass(model, Model):
            continue
        column = rel.field.attname  # type: ignore[union-attr]
        if _lending(model):  # a loan of the record itself
            for pk in model._default_manager.filter(
                **{f"{column}__in": ids, f"{LENT_FIELD}__isnull": True}
            ).values_list(column, flat=True):
                out[pk].append(room(model))
        if not rel.one_to_one:
            continue
        for holder_fk in model._meta.concrete_fields:  # where the record lies now (its box)
            holder = holder_fk.related_model
            if not holder_fk.many_to_one or not isinstance(holder, type) or holder is Record:
                continue
            where: dict[int, list[int]] = defaultdict(list)
            for held_in, record_id in model._default_manager.filter(
                **{f"{column}__in": ids}
            ).values_list(holder_fk.attname, column):
                where[held_in].append(record_id)
            for loan_rel in holder._meta.get_fields(include_hidden=True):
                loan = loan_rel.related_model
                if (
                    not loan_rel.auto_created
                    or loan_rel.concrete
                    or not isinstance(loan, type)
                    or not issubclass(loan, Model)
                    or not _lending(loan)
                    or not where
                ):
                    continue
                lent_col = loan_rel.field.attname  # type: ignore[union-attr]
                for held in loan._default_manager.filter(
                    **{f"{lent_col}__in": list(where), f"{LENT_FIELD}__isnull": True}
                ).values_list(lent_col, flat=True):
                    for record_id in where[held]:
                        out[record_id].append(room(loan))
    return dict(out)


def _remove_paper(item: DisposalItem) -> None:
    """Remove a record that is only on paper (not preserved) through the catalogue: a 案卷 takes
    its 卷内文件 with it. The permission was checked by the disposal (two people, APPRAISE)."""
    record = item.record
    assert record is not None
    for child in Record.objects.filter(parent=record).order_by("-pk"):
        catalog.delete_record(child)
    catalog.delete_record(record)
    item.record = None
    item.state = "removed"
    item.save(update_fields=["record", "state"])


def sync_disposal(disposal: Disposal) -> Disposal:
    """Follow the deaccession requests of a disposal: approved ones (their records gone) mark the
    rows removed, rejected ones are shown as such; once every row is removed the disposal is
    complete."""
    if disposal.status != "executing":
        return disposal
    with transaction.atomic():
        _lock(None, disposal)  # two pages open at once complete it once
        if disposal.status != "executing":
            return disposal
        rows = list(disposal.items.select_related("deletion_request"))
        for item in rows:
            req = item.deletion_request
            if item.state != "deaccession_requested" or req is None:
                continue
            if req.status == "approved" and not Record.objects.filter(pk=item.record_key).exists():
                item.state = "deaccessioned"
            elif req.status == "rejected":
                item.state = "deaccession_rejected"
            else:
                continue
            item.save(update_fields=["state"])
        if all(i.state in ("removed", "deaccessioned") for i in rows):
            disposal.status, disposal.completed_at = "completed", timezone.now()
            disposal.save(update_fields=["status", "completed_at"])
            audit.record(
                "disposal_complete", "disposal", disposal.pk,
                {"number": disposal.number, "requests": sorted({i.deletion_request_id for i in rows if i.deletion_request_id})},
            )  # fmt: skip
    return disposal


def request_again(user: User | None, disposal: Disposal) -> list[int]:
    """Ask again for the rows whose deaccession was rejected (a new request, a new approval)."""
    require(user, PRESERVE)
    assert user is not None
    made = []
    with transaction.atomic():
        _lock(user, disposal)
        sync_disposal(disposal)
        rows = list(disposal.items.filter(state="deaccession_rejected"))
        if not rows:
            raise AppraisalError("没有被驳回的注销申请", "items")
        packages = _preserved(i.record_key for i in rows)
        note = f"销毁清册 {disposal.number}（再次申请）：{disposal.reason}"
        grouped: dict[int, list[DisposalItem]] = defaultdict(list)
        for i in rows:
            if i.record_key in packages:
                grouped[packages[i.record_key].pk].append(i)
        for group in grouped.values():
            req = deletion.request_deletion(
                packages[group[0].record_key],
                note,
                user=user,
                records=[i.record_key for i in group],
            )
            made.append(req.pk)
            DisposalItem.objects.filter(pk__in=[i.pk for i in group]).update(
                state="deaccession_requested", deletion_request=req
            )
        audit.record("disposal_request_again", "disposal", disposal.pk, {"requests": made})
    return made


def shown_rows(user: User | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of a report or list as `user` may read them: a row copied from a record above their
    clearance keeps its number and 档号 but not its title, reasons and people."""
    out = []
    for row in rows:
        if hidden_from(user, str(row.get("classification_code", ""))):
            row = {k: (v if k in ("number", "reference_code", "year", "items", "pages") else "")
                   for k, v in row.items()}  # fmt: skip
            row["title"] = "（密级高于您的涉密等级，不显示）"
        out.append(row)
    return out


def report_context(disposal: Disposal, user: User | None = None) -> dict[str, Any]:
    """The destruction report (销毁报告): what, when, how, where and who."""
    rows = shown_rows(user, list_rows(disposal))
    requests = sorted(
        {i.deletion_request for i in disposal.items.select_related("deletion_request__decided_by",
                                                                  "deletion_request__requested_by",
                                                                  "deletion_request__package")
         if i.deletion_request is not None},
        key=lambda r: r.pk,
    )  # fmt: skip
    return {
        "disposal": disposal,
        "rows": rows,
        "records": len(rows),
        "items": sum(r["items"] for r in rows),
        "pages": sum(r["pages"] or 0 for r in rows),
        "preserved": sum(1 for r in rows if r["preserved"]),
        "prepared_by": _name(disposal.prepared_by),
        "approved_by": _name(disposal.approved_by),
        "executed_by": _name(disposal.executed_by),
        "requests": [
            {"id": r.pk, "package": r.package.object_id, "status": r.get_status_display(),
             "requested_by": _name(r.requested_by), "decided_by": _name(r.decided_by),
             "decided_at": timezone.localtime(r.decided_at).strftime("%Y-%m-%d") if r.decided_at else ""}
            for r in requests
        ],
    }  # fmt: skip
