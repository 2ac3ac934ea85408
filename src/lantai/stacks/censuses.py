"""清点 (census) of the stacks: a count of what is in each box or on each shelf, compared with the
catalogue's placements (missing, misplaced, unexpected units), and each discrepancy resolved with a
note. Changing needs STACKS (保管员); every change is audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import STACKS

from .models import (
    Box,
    Census,
    CensusBox,
    Discrepancy,
    Loan,
    Movement,
    Placement,
    Shelf,
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
    censuses_for,
    split_codes,
)


def start_census(
    user: User | None, *, box: Box | None = None, shelf: Shelf | None = None
) -> Census:
    """Start a census of one box or of every box on a shelf that is not lent out. What each box
    should hold is frozen now: units placed in it and not lent out on their own."""
    _require(user, STACKS)
    if (box is None) == (shelf is None):
        raise StacksError("清点须指定一个盒或一个架")
    if box is not None:
        box = Box.objects.select_related("shelf__room__building").get(pk=box.pk)  # status now
        _in_scope(user, _repository_of(box), "档案盒")
        if box.status == "out":
            raise StacksError(f"盒“{box.code}”已借出，归还后才能清点")
        boxes = [box]
    else:
        assert shelf is not None
        _in_scope(user, Shelf.objects.select_related("room__building").get(pk=shelf.pk)
                  .room.building.repository_id, "架")  # fmt: skip
        boxes = list(Box.objects.filter(shelf=shelf, status="shelved").order_by("code"))
        if not boxes:
            raise StacksError(f"架“{shelf.code}”上没有在架的档案盒可清点")
    ids = [b.pk for b in boxes]
    lent = Loan.objects.filter(returned_at__isnull=True, record__isnull=False).values("record_id")
    expected: dict[int, list[list[Any]]] = {pk: [] for pk in ids}
    rows = (
        Placement.objects.filter(box_id__in=ids).exclude(record_id__in=lent)
        .values_list("box_id", "record_id", "record__reference_code").order_by("record__reference_code")
    )  # fmt: skip
    for box_id, record_id, code in rows:
        expected[box_id].append([record_id, code])
    with transaction.atomic():
        census = Census.objects.create(box=box, shelf=shelf, started_by=_who(user))
        CensusBox.objects.bulk_create(
            [CensusBox(census=census, box_id=pk, expected=expected[pk]) for pk in ids]
        )
        audit.record("stacks.census.start", "stacks_census", census.pk,
                     {"box": box.code if box else None, "shelf": shelf.code if shelf else None,
                      "boxes": len(ids), "expected": sum(len(v) for v in expected.values())},
                     actor=_actor(user))  # fmt: skip
    return census


def enter_count(
    user: User | None, census_box: CensusBox, lines: str | Iterable[str]
) -> list[Discrepancy]:
    """Record the 档号 counted in one box of a census (a recount replaces the earlier count) and
    the discrepancies against what the box should hold: missing (expected, not counted),
    misplaced (counted here, recorded in another box) and unexpected (counted here, recorded in
    no box, lent out on its own, or not in the catalogue).

    The census is completed when every box is counted; a box may still be recounted (a mistyped
    count corrected) until the first discrepancy of the census is resolved, which settles it
    (see `recountable`)."""
    _require(user, STACKS)
    census = census_box.census
    if not censuses_for(user).filter(pk=census.pk).exists():
        raise NotFound("清点不存在或不在本人的档案馆范围内")
    if not recountable(census):
        raise StacksError("该清点已完成且已有差异处理完毕，结果已确定，不能再录入或重新清点")
    counted = split_codes(lines)
    box = Box.objects.select_related("shelf__room__building").get(pk=census_box.box_id)
    expected_codes = {code for _pk, code in census_box.expected}
    extra = [c for c in counted if c not in expected_codes]
    known = {
        r.reference_code: r
        for r in Record.objects.filter(repository_id=_repository_of(box), reference_code__in=extra)
    }
    placements = {
        p.record_id: p
        for p in Placement.objects.select_related("box").filter(
            record_id__in=[r.pk for r in known.values()]
        )
    }
    expected_ids = {pk for pk, _c in census_box.expected}
    found: list[Discrepancy] = []
    counted_set = set(counted)
    for pk, code in census_box.expected:
        if code not in counted_set:
            found.append(
                Discrepancy(
                    census=census, box=box, kind="missing", reference_code=code, record_id=pk
                )
            )
    for code in extra:
        rec = known.get(code)
        if rec is not None and rec.level == "volume_item" and rec.parent_id in expected_ids:
            continue  # a 卷内文件 of a volume of this box: it is where its volume is
        p = placements.get(rec.pk) if rec else None
        if p is not None and p.box_id != box.pk:
            found.append(Discrepancy(census=census, box=box, kind="misplaced", reference_code=code,
                                     record=rec, recorded_box=p.box))  # fmt: skip
        else:
            found.append(
                Discrepancy(
                    census=census, box=box, kind="unexpected", reference_code=code, record=rec
                )
            )
    with transaction.atomic():
        Discrepancy.objects.filter(census=census, box=box).delete()
        Discrepancy.objects.bulk_create(found)
        census_box.counted = counted
        census_box.counted_at = timezone.now()
        census_box.counted_by = _who(user)
        census_box.save(update_fields=["counted", "counted_at", "counted_by"])
        if not census.boxes.filter(counted_at__isnull=True).exists():
            census.status, census.completed_at = "completed", timezone.now()
            census.save(update_fields=["status", "completed_at"])
        kinds = {k: sum(1 for d in found if d.kind == k) for k, _l in Discrepancy.KINDS}
        audit.record("stacks.census.count", "stacks_census", census.pk,
                     {"box": box.code, "expected": len(census_box.expected), "counted": len(counted),
                      **kinds}, actor=_actor(user))  # fmt: skip
    return found


def recountable(census: Census) -> bool:
    """Whether counts may still be entered: the census is open, or completed with none of its
    discrepancies resolved yet."""
    if census.status == "open":
        return True
    return not census.discrepancies.filter(resolved_at__isnull=False).exists()


@dataclass
class CensusReport:
    census: Census
    boxes: list[CensusBox]
    discrepancies: list[Discrepancy]
    expected: int
    counted: int
    boxes_counted: int
    by_kind: dict[str, int]
    unresolved: int


def census_report(census: Census) -> CensusReport:
    boxes = list(census.boxes.select_related("box__shelf"))
    found = list(census.discrepancies.select_related("box", "recorded_box", "record"))
    return CensusReport(
        census=census,
        boxes=boxes,
        discrepancies=found,
        expected=sum(len(b.expected) for b in boxes),
        counted=sum(len(b.counted) for b in boxes),
        boxes_counted=sum(1 for b in boxes if b.counted_at),
        by_kind={k: sum(1 for d in found if d.kind == k) for k, _l in Discrepancy.KINDS},
        unresolved=sum(1 for d in found if d.resolved_at is None),
    )


def resolve_discrepancy(
    user: User | None, discrepancy: Discrepancy, note: str, *, relocate: bool = False
) -> Discrepancy:
    """Resolve a discrepancy with a note; with `relocate` a misplaced or unexpected unit is
    recorded in the box it was found in (its placement moves, logged)."""
    _require(user, STACKS)
    if not censuses_for(user).filter(pk=discrepancy.census_id).exists():
        raise NotFound("清点不存在或不在本人的档案馆范围内")
    note = _name(note, "处理说明", "note", 2000)
    if discrepancy.resolved_at is not None:
        raise StacksError("该差异已处理")
    if relocate:
        if discrepancy.kind == "missing" or discrepancy.record_id is None:
            raise StacksError("只有错放或多出的、目录中有的档案才能登记到清点所在的盒")
        record = Record.objects.get(pk=discrepancy.record_id)
        if record.level not in UNIT_LEVELS:
            raise StacksError(f"“{record.reference_code}”是卷内文件，随所属案卷存放")
        if Loan.objects.filter(record=record, returned_at__isnull=True).exists():
            raise StacksError(
                f"“{record.reference_code}”登记为单独借出：请先办理归还，再登记到本盒"
            )
        held = (
            Placement.objects.filter(record=record, box__status="out").select_related("box").first()
        )
        if held is not None:
            raise StacksError(
                f"“{record.reference_code}”登记在已借出的盒“{held.box.code}”中：请先归还该盒"
            )
    with transaction.atomic():
        if relocate:
            box = discrepancy.box
            old = Placement.objects.select_related("box").filter(record=record).first()
            if old is None or old.box_id != box.pk:
                if old is not None:
                    old.delete()
                Placement.objects.create(record=record, box=box, placed_by=_who(user))
                Movement.objects.create(kind="place", box=box, record=record, reference_code=record.reference_code,
                                        from_place=old.box.code if old else "", to_place=box.code,
                                        reason=f"清点纠正：{note}", actor=_who(user), at=timezone.now())  # fmt: skip
        discrepancy.resolved_at, discrepancy.resolved_by = timezone.now(), _who(user)
        discrepancy.resolution, discrepancy.relocated = note, relocate
        discrepancy.save(update_fields=["resolved_at", "resolved_by", "resolution", "relocated"])
        audit.record("stacks.discrepancy.resolve", "stacks_census", discrepancy.census_id,
                     {"discrepancy": discrepancy.pk, "kind": discrepancy.kind,
                      "code": discrepancy.reference_code, "note": note, "relocated": relocate},
                     actor=_actor(user))  # fmt: skip
    return discrepancy
