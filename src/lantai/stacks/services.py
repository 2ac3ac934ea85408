"""库房管理: the stacks (buildings, rooms, shelves, boxes), where each physical unit is and its
movements. Loans are in lending.py, censuses (清点) in censuses.py, the climate of each room with
its alerts in climate.py; they use this module's checks of role, scope and input.

Changing anything needs STACKS (保管员); looking needs VIEW. `user=None` is the operator at the
command line (`lantai stacks …`), trusted like every `lantai` command. Every change is audited.
Units are the catalogue's records of level 案卷 (volume) and 件 (item); a 卷内文件 follows its
volume. Climate limits come from standards/stacks.py (JGJ 25), replaced per room where set."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from lantai.catalog.models import Record, Repository
from lantai.catalog.services import visible_records, visible_repositories
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import STACKS, VIEW
from lantai.standards import stacks as std

from .models import (
    Box,
    Building,
    Census,
    Loan,
    Movement,
    Placement,
    Room,
    Shelf,
)

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._·/-]{0,31}$")
BOX_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._·/-]{0,63}$")
UNIT_LEVELS = ("volume", "item")
MAX_CODES = 5000  # 档号 lines in one placement or census count


class StacksError(ValueError):
    """A refused input or action; the message (Chinese) names the field or place and the rule.
    `problems` lists each refused line where several were checked at once."""

    def __init__(self, message_zh: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.problems = list(problems)


class NotFound(StacksError):
    """Something named (a shelf, room, box or 档号) does not exist, or the user may not see it."""


class Forbidden(StacksError):
    """The user lacks the permission."""


def _require(user: User | None, permission: str) -> None:
    if user is not None and not user.has_perm_code(permission):
        if permission == STACKS:
            raise Forbidden(f"无权管理库房：需要库房管理权限（{permission}）")
        raise Forbidden(f"无权查看库房：需要档案查看权限（{permission}）")


# --- who sees what: a keeper works in the stacks of the 档案馆 of their scope ---------------------
def _all_stacks(user: User | None) -> bool:
    return user is None or bool(user.scope_all)


def _repositories(user: User | None) -> QuerySet[Repository]:
    return visible_repositories(user).values("pk")  # type: ignore[return-value]


def buildings_for(user: User | None) -> QuerySet[Building]:
    """The buildings of the 档案馆 in `user`'s scope (every one for the console or a user whose
    scope is all). Every stacks lookup by a signed-in user goes through these: another archives'
    objects answer 404 and lists leave them out."""
    qs = Building.objects.select_related("repository")
    return qs if _all_stacks(user) else qs.filter(repository_id__in=_repositories(user))


def rooms_for(user: User | None) -> QuerySet[Room]:
    qs = Room.objects.select_related("building")
    return qs if _all_stacks(user) else qs.filter(building__repository_id__in=_repositories(user))


def shelves_for(user: User | None) -> QuerySet[Shelf]:
    qs = Shelf.objects.select_related("room__building")
    if _all_stacks(user):
        return qs
    return qs.filter(room__building__repository_id__in=_repositories(user))


def boxes_for(user: User | None) -> QuerySet[Box]:
    qs = Box.objects.select_related("shelf__room__building")
    if _all_stacks(user):
        return qs
    return qs.filter(shelf__room__building__repository_id__in=_repositories(user))


def loans_for(user: User | None) -> QuerySet[Loan]:
    """Loans of boxes, or of units placed in boxes, of the stacks in scope."""
    if _all_stacks(user):
        return Loan.objects.all()
    return Loan.objects.filter(
        Q(box_id__in=boxes_for(user).values("pk"))
        | Q(record__repository_id__in=_repositories(user))
    )


def censuses_for(user: User | None) -> QuerySet[Census]:
    qs = Census.objects.select_related("box", "shelf")
    if _all_stacks(user):
        return qs
    return qs.filter(Q(box_id__in=boxes_for(user).values("pk"))
                     | Q(shelf_id__in=shelves_for(user).values("pk")))  # fmt: skip


def _in_scope(user: User | None, repository_id: int, what: str) -> None:
    """Refuse (as not found) an object of a 档案馆 outside `user`'s scope."""
    if not _all_stacks(user) and not _repositories(user).filter(pk=repository_id).exists():
        raise NotFound(f"{what}不存在或不在本人的档案馆范围内")


def _who(user: User | None) -> str:
    return user.username if user is not None else audit.current_actor()


def _actor(user: User | None) -> str | None:
    return user.username if user is not None else None


def _code(value: Any, label: str, field_name: str, pattern: re.Pattern[str] = CODE) -> str:
    text = str(value or "").strip()
    if not text:
        raise StacksError(f"{label}（{field_name}）必填")
    if not pattern.fullmatch(text):
        raise StacksError(
            f"{label}（{field_name}）只能由字母、数字和 . _ - / · 组成且不超过"
            f"{32 if pattern is CODE else 64}个字符：{text}"
        )
    return text


def _name(value: Any, label: str, field_name: str, limit: int = 200, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise StacksError(f"{label}（{field_name}）必填")
    if len(text) > limit:
        raise StacksError(f"{label}（{field_name}）不得超过{limit}字")
    return text


def _decimal(value: Any, label: str, field_name: str, *, low: Decimal, high: Decimal) -> Decimal:
    text = str(value if value is not None else "").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise StacksError(f"{label}（{field_name}）须为数字：{text}") from None
    if not number.is_finite() or number < low or number > high:
        raise StacksError(f"{label}（{field_name}）须在 {low} 至 {high} 之间：{text}")
    return number


# --- structure -------------------------------------------------------------------------------
def create_building(
    user: User | None, repository: Repository, code: str, name: str, address: str = ""
) -> Building:
    _require(user, STACKS)
    _in_scope(user, repository.pk, "档案馆")
    code = _code(code, "楼号", "code")
    if Building.objects.filter(code=code).exists():
        raise StacksError(f"楼号（code）“{code}”已存在")
    building = Building.objects.create(
        repository=repository,
        code=code,
        name=_name(name, "名称", "name"),
        address=_name(address, "地址", "address", 300, required=False),
    )
    audit.record("stacks.building.create", "stacks_building", building.pk,
                 {"code": code, "name": building.name}, actor=_actor(user))  # fmt: skip
    return building


def create_room(user: User | None, building: Building, code: str, name: str, kind: str) -> Room:
    _require(user, STACKS)
    _in_scope(user, building.repository_id, "库房楼")
    code = _code(code, "库房编号", "code")
    kind = _kind(kind)
    if Room.objects.filter(code=code).exists():
        raise StacksError(f"库房编号（code）“{code}”已存在")
    room = Room.objects.create(building=building, code=code, name=_name(name, "名称", "name"),
                               kind=kind)  # fmt: skip
    audit.record("stacks.room.create", "stacks_room", room.pk,
                 {"code": code, "building": building.code, "kind": kind}, actor=_actor(user))  # fmt: skip
    return room


def _kind(kind: str) -> str:
    codes = [k.code for k in std.room_kinds()]
    if kind not in codes:
        raise StacksError(f"库房类型（kind）须为 {' / '.join(codes)}：{kind}")
    return kind


def set_room_climate(
    user: User | None, room: Room, kind: str, overrides: Mapping[str, Any]
) -> Room:
    """Set a room's kind and its own limits (blank: the limit of its kind, JGJ 25)."""
    _require(user, STACKS)
    _in_scope(user, room.building.repository_id, "库房")
    kind = _kind(kind)
    values: dict[str, Decimal | None] = {}
    labels = {"temp_min": "最低温度", "temp_max": "最高温度",
              "rh_min": "最低相对湿度", "rh_max": "最高相对湿度"}  # fmt: skip
    for name, label in labels.items():
        raw = overrides.get(name)
        if raw in (None, ""):
            values[name] = None
            continue
        quantity = "temperature" if name.startswith("temp") else "humidity"
        low, high = std.plausible_range(quantity)
        values[name] = _decimal(raw, label, name, low=low, high=high)
    limits = std.limits_for(kind, **values)
    if limits.temp_min >= limits.temp_max:
        raise StacksError(
            f"最低温度（temp_min {limits.temp_min}）须低于最高温度（temp_max {limits.temp_max}）"
        )
    if limits.rh_min >= limits.rh_max:
        raise StacksError(
            f"最低相对湿度（rh_min {limits.rh_min}）须低于最高相对湿度（rh_max {limits.rh_max}）"
        )
    room.kind = kind
    for name, value in values.items():
        setattr(room, name, value)
    room.save(update_fields=["kind", *values])
    audit.record("stacks.room.climate", "stacks_room", room.pk,
                 {"code": room.code, "kind": kind, **{k: v for k, v in values.items()}},
                 actor=_actor(user))  # fmt: skip
    return room


def room_limits(room: Room) -> std.Limits:
    return std.limits_for(room.kind, temp_min=room.temp_min, temp_max=room.temp_max,
                          rh_min=room.rh_min, rh_max=room.rh_max)  # fmt: skip


def create_shelf(
    user: User | None, room: Room, code: str, length_m: Any, capacity_boxes: Any = None
) -> Shelf:
    _require(user, STACKS)
    _in_scope(user, room.building.repository_id, "库房")
    code = _code(code, "架号", "code")
    length = _decimal(length_m, "长度（米）", "length_m", low=Decimal("0.1"), high=Decimal("1000"))
    capacity = None
    if capacity_boxes not in (None, ""):
        text = str(capacity_boxes).strip()
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 100000:
            raise StacksError(f"盒位数（capacity_boxes）须为 1 至 100000 的整数：{text}")
        capacity = int(text)
    if Shelf.objects.filter(code=code).exists():
        raise StacksError(f"架号（code）“{code}”已存在")
    shelf = Shelf.objects.create(room=room, code=code, length_m=length, capacity_boxes=capacity)
    audit.record("stacks.shelf.create", "stacks_shelf", shelf.pk,
                 {"code": code, "room": room.code, "length_m": str(length), "capacity_boxes": capacity},
                 actor=_actor(user))  # fmt: skip
    return shelf


def get_shelf(code: str, user: User | None = None) -> Shelf:
    """The shelf with `code` (of a 档案馆 in `user`'s scope); a clear error when there is none."""
    text = str(code or "").strip()
    if not text:
        raise StacksError("目标架号（shelf）必填")
    shelf = shelves_for(user).filter(code=text).first()
    if shelf is None:
        raise NotFound(f"架号“{text}”不存在：请核对架号（架号须先在库房中登记）")
    return shelf


def get_room(code: str) -> Room:
    text = str(code or "").strip()
    room = Room.objects.select_related("building").filter(code=text).first()
    if room is None:
        raise NotFound(f"库房编号“{text}”不存在")
    return room


def get_box(code: str) -> Box:
    text = str(code or "").strip()
    box = Box.objects.select_related("shelf__room__building").filter(code=text).first()
    if box is None:
        raise NotFound(f"盒号“{text}”不存在")
    return box


@dataclass(frozen=True)
class Occupancy:
    boxes: int
    used_mm: int

    @property
    def used_m(self) -> Decimal:
        return (Decimal(self.used_mm) / 1000).quantize(Decimal("0.01"))


def occupancy(shelves: Iterable[Shelf]) -> dict[int, Occupancy]:
    """Boxes and millimetres of shelving used, per shelf (one query)."""
    ids = [s.pk for s in shelves]
    rows = (
        Box.objects.filter(shelf_id__in=ids)
        .values("shelf_id")
        .annotate(n=Count("pk"), mm=Sum("thickness_mm"))
    )
    got = {r["shelf_id"]: Occupancy(r["n"], r["mm"] or 0) for r in rows}
    return {pk: got.get(pk, Occupancy(0, 0)) for pk in ids}


def _check_room_for(shelf: Shelf, thickness_mm: int) -> None:
    """Refuse a box the shelf has no position or length left for. The caller holds the lock."""
    used = occupancy([shelf])[shelf.pk]
    if shelf.capacity_boxes is not None and used.boxes + 1 > shelf.capacity_boxes:
        raise StacksError(
            f"架“{shelf.code}”已满：{shelf.capacity_boxes}个盒位已全部占用，不能再放入档案盒"
        )
    if used.used_mm + thickness_mm > shelf.length_m * 1000:
        raise StacksError(
            f"架“{shelf.code}”长度不足：共 {shelf.length_m} 米，已用 {used.used_m} 米，"
            f"本盒需 {Decimal(thickness_mm) / 1000} 米"
        )


def _lock_shelf(shelf: Shelf) -> Shelf:
    return (
        Shelf.objects.select_for_update(of=("self",))
        .select_related("room__building")
        .get(pk=shelf.pk)
    )


def place_label(shelf: Shelf) -> str:
    room = shelf.room
    return f"{room.building.code}/{room.code}/{shelf.code}"


def create_box(
    user: User | None, shelf_code: str, code: str, thickness_mm: Any = None, label: str = ""
) -> Box:
    """Register a box and put it on the shelf named by `shelf_code`."""
    _require(user, STACKS)
    code = _code(code, "盒号", "code", BOX_CODE)
    thickness = _thickness(thickness_mm)
    label = _name(label, "盒标签", "label", required=False)
    shelf = get_shelf(shelf_code, user)
    with transaction.atomic():
        shelf = _lock_shelf(shelf)
        if Box.objects.filter(code=code).exists():
            raise StacksError(f"盒号（code）“{code}”已存在")
        _check_room_for(shelf, thickness)
        box = Box.objects.create(code=code, shelf=shelf, thickness_mm=thickness, label=label)
        Movement.objects.create(kind="shelve", box=box, to_place=place_label(shelf),
                                actor=_who(user), at=timezone.now())  # fmt: skip
        audit.record("stacks.box.create", "stacks_box", box.pk,
                     {"code": code, "shelf": shelf.code, "thickness_mm": thickness},
                     actor=_actor(user))  # fmt: skip
    return box


def _thickness(value: Any) -> int:
    if value in (None, ""):
        return std.default_box_thickness()
    allowed = std.box_thicknesses()
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or int(text) not in allowed:
        shown = " / ".join(str(t) for t in allowed)
        raise StacksError(f"盒脊厚度（thickness_mm）须为 {shown} 毫米（DA/T 22）：{text}")
    return int(text)


def move_box(user: User | None, box: Box, shelf_code: str, reason: str = "") -> Box:
    """Move a box to the shelf named by `shelf_code` (which must exist and have room)."""
    _require(user, STACKS)
    _in_scope(user, _repository_of(box), "档案盒")
    target = get_shelf(shelf_code, user)
    reason = _name(reason, "事由", "reason", 2000, required=False)
    with transaction.atomic():
        box = (
            Box.objects.select_for_update(of=("self",))
            .select_related("shelf__room__building")
            .get(pk=box.pk)
        )
        if box.status == "out":
            raise StacksError(f"盒“{box.code}”已借出，归还后才能移架")
        if box.shelf_id == target.pk:
            raise StacksError(f"盒“{box.code}”已在架“{target.code}”上")
        target = _lock_shelf(target)
        _check_room_for(target, box.thickness_mm)
        source = place_label(box.shelf)
        box.shelf = target
        box.save(update_fields=["shelf"])
        Movement.objects.create(kind="move", box=box, from_place=source, to_place=place_label(target),
                                reason=reason, actor=_who(user), at=timezone.now())  # fmt: skip
        audit.record("stacks.box.move", "stacks_box", box.pk,
                     {"code": box.code, "from": source, "to": place_label(target), "reason": reason},
                     actor=_actor(user))  # fmt: skip
    return box


# --- units in boxes --------------------------------------------------------------------------
def split_codes(text: str | Iterable[str]) -> list[str]:
    """档号 from typed or scanned lines (one a line; commas, tabs and semicolons also separate),
    blanks dropped, repeats dropped (the first kept)."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    out: list[str] = []
    seen: set[str] = set()
    for line in lines:
        for part in re.split(r"[,，;；\t]", line):
            code = part.strip()
            if code and code not in seen:
                seen.add(code)
                out.append(code)
    if len(out) > MAX_CODES:
        raise StacksError(f"一次最多{MAX_CODES}个档号，本次{len(out)}个")
    return out


def _repository_of(box: Box) -> int:
    return box.shelf.room.building.repository_id


def place_records(
    user: User | None, box: Box, codes: str | Iterable[str], *, relocate: bool = False
) -> list[Record]:
    """Put the units with these 档号 in `box`. A unit already in another box is refused unless
    `relocate` (then it moves here, logged); a 卷内文件 is refused (it follows its volume). All or
    nothing: any refused line refuses the whole list, each problem named."""
    _require(user, STACKS)
    wanted = split_codes(codes)
    if not wanted:
        raise StacksError("请输入至少一个档号（每行一个）")
    box = Box.objects.select_related("shelf__room__building").get(pk=box.pk)
    _in_scope(user, _repository_of(box), "档案盒")
    if box.status == "out":
        raise StacksError(f"盒“{box.code}”已借出，归还后才能装盒")
    records = {
        r.reference_code: r
        for r in visible_records(user).filter(
            repository_id=_repository_of(box), reference_code__in=wanted
        )
    }
    placed = {
        p.record_id: p
        for p in Placement.objects.select_related("box").filter(
            record_id__in=[r.pk for r in records.values()]
        )
    }
    lent = set(
        Loan.objects.filter(record_id__in=[r.pk for r in records.values()], returned_at__isnull=True)
        .values_list("record_id", flat=True)
    )  # fmt: skip
    problems = []
    for n, code in enumerate(wanted, 1):
        rec = records.get(code)
        if rec is None:
            problems.append(f"第{n}行：档号“{code}”不存在或无权查看")
        elif rec.level not in UNIT_LEVELS:
            problems.append(f"第{n}行：“{code}”是卷内文件，随所属案卷存放：请放置其案卷")
        elif rec.pk in lent:
            problems.append(f"第{n}行：“{code}”已单独借出，归还后才能装盒")
        elif rec.pk in placed and placed[rec.pk].box_id == box.pk:
            problems.append(f"第{n}行：“{code}”已在本盒中")
        elif rec.pk in placed and not relocate:
            problems.append(
                f"第{n}行：“{code}”已在盒“{placed[rec.pk].box.code}”中（一件档案只能在一个盒中）："
                "如确已移到本盒，请勾选“从原盒移入”"
            )
        elif rec.pk in placed and placed[rec.pk].box.status == "out":
            problems.append(
                f"第{n}行：“{code}”所在的盒“{placed[rec.pk].box.code}”已借出，归还后才能移出"
            )
    if problems:
        raise StacksError(f"装盒未执行：{len(problems)}个档号有问题", problems)
    now, who = timezone.now(), _who(user)
    units = [records[c] for c in wanted]
    with transaction.atomic():
        moves = [placed[r.pk] for r in units if r.pk in placed]
        if moves:
            Placement.objects.filter(pk__in=[p.pk for p in moves]).delete()
        try:
            Placement.objects.bulk_create(
                [Placement(record=r, box=box, placed_by=who) for r in units]
            )
        except IntegrityError:
            raise StacksError("装盒未执行：其中有档号刚被放入其他盒，请刷新后重试") from None
        from_box = {p.record_id: p.box.code for p in moves}
        Movement.objects.bulk_create(
            [Movement(kind="place", box=box, record=r, reference_code=r.reference_code,
                      from_place=from_box.get(r.pk, ""), to_place=box.code,
                      reason="从原盒移入" if r.pk in from_box else "", actor=who, at=now)
             for r in units]
        )  # fmt: skip
        audit.record("stacks.unit.place", "stacks_box", box.pk,
                     {"box": box.code, "count": len(units), "codes": wanted[:200],
                      "relocated": sorted(from_box.values())[:200]}, actor=_actor(user))  # fmt: skip
    return units


def remove_record(user: User | None, record: Record, reason: str = "") -> None:
    """Take a unit out of its box (it is then not located)."""
    _require(user, STACKS)
    placement = Placement.objects.select_related("box").filter(record=record).first()
    if placement is None:
        raise StacksError(f"“{record.reference_code}”不在任何盒中")
    _in_scope(user, record.repository_id, "档案")
    if placement.box.status == "out":
        raise StacksError(f"盒“{placement.box.code}”已借出，归还后才能出盒")
    if Loan.objects.filter(record=record, returned_at__isnull=True).exists():
        raise StacksError(f"“{record.reference_code}”已单独借出，归还后才能出盒")
    reason = _name(reason, "事由", "reason", 2000, required=False)
    with transaction.atomic():
        placement.delete()
        Movement.objects.create(kind="remove", box=placement.box, record=record,
                                reference_code=record.reference_code, from_place=placement.box.code,
                                reason=reason, actor=_who(user), at=timezone.now())  # fmt: skip
        audit.record("stacks.unit.remove", "record", record.pk,
                     {"code": record.reference_code, "box": placement.box.code, "reason": reason},
                     actor=_actor(user))  # fmt: skip


@dataclass
class Contents:
    placements: list[Placement]
    hidden: int  # units the user may not see
    out: dict[int, Loan] = field(default_factory=dict)  # record id -> its open loan


def box_contents(user: User | None, box: Box) -> Contents:
    _require(user, VIEW)
    allowed = visible_records(user).values("pk")
    qs = Placement.objects.filter(box=box)
    shown = list(
        qs.filter(record_id__in=allowed).select_related("record").order_by("record__reference_code")
    )
    hidden = qs.count() - len(shown)
    loans = Loan.objects.filter(
        record_id__in=[p.record_id for p in shown], returned_at__isnull=True
    )
    return Contents(shown, hidden, {loan.record_id: loan for loan in loans if loan.record_id})


def unit_counts(boxes: Iterable[Box]) -> dict[int, int]:
    ids = [b.pk for b in boxes]
    rows = Placement.objects.filter(box_id__in=ids).values("box_id").annotate(n=Count("pk"))
    got = {r["box_id"]: r["n"] for r in rows}
    return {pk: got.get(pk, 0) for pk in ids}


def open_loans() -> QuerySet[Loan]:
    return (
        Loan.objects.filter(returned_at__isnull=True)
        .select_related("box", "record")
        .order_by("due_on")
    )


# --- where is it -------------------------------------------------------------------------------
def locate(user: User | None, code: str) -> list[dict[str, Any]]:
    """Where each unit with 档号 `code` is (a 卷内文件: where its volume is)."""
    _require(user, VIEW)
    text = str(code or "").strip()
    if not text:
        raise StacksError("档号必填")
    found = list(
        visible_records(user).filter(reference_code=text).select_related("parent", "repository")
    )
    if not found:
        raise NotFound(f"档号“{text}”不存在或无权查看")
    units = {r.pk: (r.parent if r.level == "volume_item" and r.parent else r) for r in found}
    placements = {
        p.record_id: p
        for p in Placement.objects.select_related("box__shelf__room__building").filter(
            record_id__in=[u.pk for u in units.values()]
        )
    }
    loans = {
        loan.record_id: loan
        for loan in Loan.objects.filter(
            record_id__in=[u.pk for u in units.values()], returned_at__isnull=True
        )
    }
    box_ids = [p.box_id for p in placements.values()]
    box_loans = {
        loan.box_id: loan
        for loan in Loan.objects.filter(box_id__in=box_ids, returned_at__isnull=True)
    }
    out = []
    for rec in found:
        unit = units[rec.pk]
        p = placements.get(unit.pk)
        loan = loans.get(unit.pk) or (box_loans.get(p.box_id) if p else None)
        row: dict[str, Any] = {
            "reference_code": rec.reference_code,
            "title": rec.title,
            "level": rec.level,
            "repository": rec.repository.code,
            "follows_volume": unit.reference_code if unit.pk != rec.pk else None,
            "located": p is not None,
            "box": p.box.code if p else None,
            "box_id": p.box_id if p else None,
            "shelf": p.box.shelf.code if p else None,
            "room": p.box.shelf.room.code if p else None,
            "room_name": p.box.shelf.room.name if p else None,
            "building": p.box.shelf.room.building.code if p else None,
            "building_name": p.box.shelf.room.building.name if p else None,
            "on_loan": None,
        }
        if loan is not None:
            row["on_loan"] = {
                "with_box": loan.box_id is not None,
                "purpose": loan.purpose,
                "borrower": loan.borrower,
                "lent_at": timezone.localtime(loan.lent_at).isoformat(timespec="minutes"),
                "due_on": loan.due_on.isoformat(),
                "overdue": loan.due_on < timezone.localdate(),
            }
        out.append(row)
    return out


# --- figures -----------------------------------------------------------------------------------
def shelving_metres(year: int, repository_id: int | None = None) -> float:
    """档案排架长度 at the end of `year`: the spine thickness of every box on a shelf on 31 December
    (local time), in metres. A lent box keeps its place on the shelf and is counted. With
    `repository_id`, only the boxes in the buildings of that archives."""
    tz = timezone.get_current_timezone()
    end = timezone.make_aware(dt.datetime(year + 1, 1, 1), tz)
    boxes = Box.objects.filter(created_at__lt=end)
    if repository_id is not None:
        boxes = boxes.filter(shelf__room__building__repository_id=repository_id)
    mm = boxes.aggregate(mm=Sum("thickness_mm"))["mm"] or 0
    return float((Decimal(mm) / 1000).quantize(Decimal("0.01")))


def overview(user: User | None) -> dict[str, Any]:
    """The stacks home: buildings → rooms → shelves with occupancy, open alerts, loans."""
    _require(user, VIEW)
    buildings = list(buildings_for(user))
    rooms = list(rooms_for(user))
    shelves = list(shelves_for(user))
    occ = occupancy(shelves)
    from .climate import open_alerts  # climate builds on this module

    alerts = list(open_alerts(user=user)[:100])
    alert_rooms = {a.room_id for a in alerts}
    by_room: dict[int, list[dict[str, Any]]] = {}
    for s in shelves:
        by_room.setdefault(s.room_id, []).append({"shelf": s, "occ": occ[s.pk]})
    by_building: dict[int, list[dict[str, Any]]] = {}
    for r in rooms:
        entries = by_room.get(r.pk, [])
        by_building.setdefault(r.building_id, []).append({
            "room": r, "kind": std.room_kind(r.kind), "shelves": entries, "alert": r.pk in alert_rooms,
            "boxes": sum(e["occ"].boxes for e in entries),
            "used_m": sum((e["occ"].used_m for e in entries), Decimal(0)),
            "length_m": sum((e["shelf"].length_m for e in entries), Decimal(0)),
        })  # fmt: skip
    return {
        "buildings": [{"building": b, "rooms": by_building.get(b.pk, [])} for b in buildings],
        "alerts": alerts,
        "alert_count": open_alerts(user=user).count(),
        "loans": list(
            open_loans()
            .filter(pk__in=loans_for(user).values("pk"))
            .filter(Q(record__isnull=True) | Q(record__in=visible_records(user).values("pk")))[:200]
        ),
        "units_placed": Placement.objects.filter(box__in=boxes_for(user).values("pk")).count(),
    }
