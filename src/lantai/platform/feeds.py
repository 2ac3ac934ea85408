"""The node's marriage feed for the hub's index (message kind ``marriage_feed``): a page of its
marriage registrations changed since a cursor, each with what a window needs to find it — the
locator, kind, date, office, the parties' names and their identity numbers hashed with the
regional key (regional.py). The numbers are opened here (they are sealed in the database) and
hashed; neither they nor the personal-data key's hashes leave the node."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import Q

from lantai.catalog.models import Component
from lantai.marriage import identity
from lantai.marriage.models import Party, Registration

from . import peers, regional, transport

PAGE = 2000
MAX_PAGE = 10000


def _stamp(at: datetime, pk: int) -> str:
    return f"{at.astimezone(UTC).strftime('%Y%m%dT%H%M%S.%f')}|{pk:012d}"


def _parse(cursor: str) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    moment, _sep, pk = cursor.partition("|")
    try:
        return datetime.strptime(moment, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC), int(pk)
    except ValueError as exc:
        raise transport.Refused("cursor", f"游标“{cursor}”格式不对", f"the cursor {cursor!r} is malformed", 400) from exc  # fmt: skip


def page(cursor: str, limit: int = PAGE) -> dict[str, Any]:
    """The registrations after ``cursor`` in (record changed, record id) order."""
    node = peers.own_code()
    limit = max(1, min(int(limit), MAX_PAGE))
    regs = Registration.objects.all()
    after = _parse(cursor)
    if after is not None:
        moment, pk = after
        regs = regs.filter(Q(record__updated_at__gt=moment) | Q(record__updated_at=moment, record_id__gt=pk))  # fmt: skip
    fields = ("record_id", "record__reference_code", "record__updated_at", "kind", "date", "office", "region_code")  # fmt: skip
    rows = list(regs.order_by("record__updated_at", "record_id").values_list(*fields)[:limit])
    ids = [r[0] for r in rows]
    parties: dict[int, list[dict[str, Any]]] = {}
    for reg_id, position, name, id_type, sealed in (
        Party.objects.filter(registration_id__in=ids)
        .order_by("registration_id", "position")
        .values_list("registration_id", "position", "name", "id_type", "id_sealed")
    ):
        number = identity.unseal(sealed) if sealed else ""
        parties.setdefault(reg_id, []).append(
            {
                "position": position,
                "name": name,
                "id_hash": regional.id_hash(id_type, number) if number else "",
            }  # fmt: skip
        )
    scanned = set(Component.objects.filter(record_id__in=ids).values_list("record_id", flat=True))
    entries = [
        {"locator": f"{node}:{code}", "kind": kind, "date": date.isoformat(), "office": office,
         "region_code": region, "digitized": pk in scanned, "stamp": _stamp(changed, pk),
         "deleted": False, "parties": parties.get(pk, [])}
        for pk, code, changed, kind, date, office, region in rows
    ]  # fmt: skip
    return {"entries": entries, "cursor": entries[-1]["stamp"] if entries else cursor,
            "done": len(rows) < limit}  # fmt: skip


def all_locators() -> list[str]:
    node = peers.own_code()
    return [f"{node}:{code}" for code in Registration.objects.values_list("record__reference_code", flat=True)]  # fmt: skip


def _answer(message: dict[str, Any]) -> dict[str, Any]:
    if message["from"] != peers.HUB:
        raise transport.Refused("not_hub", "只有平台中心可以收取婚姻档案索引", "only the hub harvests the marriage index")  # fmt: skip
    body = message["body"]
    if body.get("locators"):
        return {"locators": all_locators()}
    return page(str(body.get("cursor", "")), int(body.get("limit", PAGE)))


transport.handles("marriage_feed")(_answer)
