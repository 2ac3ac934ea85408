"""Items received with an accession (实物): what came in, how many, the record each became and its
digitization status; and an accession's full detail (`lantai accession show --json`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from lantai.catalog import services as catalog
from lantai.core.audit import record
from lantai.core.models import User
from lantai.core.roles import EDIT

from .donor_restrictions import covered_records, sync_holds
from .models import (
    Accession,
    AccessionItem,
)
from .services import (
    HoldingsError,
    _actor,
    _count,
    _require,
    _text,
    accession_summary,
)

# --- items received ------------------------------------------------------------------------------
DIGITIZATION_ZH = dict(AccessionItem.DIGITIZATION)


def add_item(user: User | None, accession: Accession, data: Mapping[str, Any]) -> AccessionItem:
    """Record a physical item received (实物接收), optionally with the record catalogued from it
    (by 档号 in the accession's archives)."""
    _require(user, EDIT)
    if accession.status == "returned":
        raise HoldingsError(f"征集登记 {accession.number} 已退还，不能再登记接收实物")
    item = AccessionItem(
        accession=accession,
        description=_text(data, "description", "实物描述", required=True, limit=500),
        count=_count(data.get("count", 1), "count", "数量", minimum=1),
    )
    _item_fields(user, item, data)
    with transaction.atomic():
        item.save()
        record("holdings.item.add", "accession", accession.pk,
               {"number": accession.number, "item": item.pk, "description": item.description,
                "count": item.count, "record": item.record.reference_code if item.record else None},
               actor=_actor(user))  # fmt: skip
        if item.record_id:
            sync_holds(accession)
    return item


def update_item(user: User | None, item: AccessionItem, data: Mapping[str, Any]) -> AccessionItem:
    _require(user, EDIT)
    item.description = _text(data, "description", "实物描述", required=True, limit=500)
    item.count = _count(data.get("count", 1), "count", "数量", minimum=1)
    had = item.record_id
    _item_fields(user, item, data)
    with transaction.atomic():
        item.save()
        record("holdings.item.update", "accession", item.accession_id,
               {"number": item.accession.number, "item": item.pk, "description": item.description,
                "count": item.count, "digitization": item.digitization,
                "record": item.record.reference_code if item.record else None},
               actor=_actor(user))  # fmt: skip
        if had != item.record_id:
            sync_holds(item.accession)
    return item


def _item_fields(user: User | None, item: AccessionItem, data: Mapping[str, Any]) -> None:
    status = str(data.get("digitization") or "none")
    if status not in DIGITIZATION_ZH:
        raise HoldingsError(
            f"数字化状态（digitization）须为 {' / '.join(DIGITIZATION_ZH)}：{status}"
        )
    item.digitization = status
    code = str(data.get("reference_code") or "").strip()
    if not code:
        item.record = None
        return
    found = (
        catalog.visible_records(user)
        .filter(repository_id=item.accession.repository_id, reference_code=code)
        .first()
    )
    if found is None:
        raise HoldingsError(f"著录档案（reference_code）：本馆没有档号为“{code}”的档案")
    item.record = found


def items_with_digitization(accession: Accession, user: User | None = None) -> list[dict[str, Any]]:
    """The accession's items, each with its digitization status: for an item whose record has
    page images attached by the digitization room, "digitized" whatever was entered. An item's
    record that `user` may not see in the catalogue is marked hidden (not to be named)."""
    items = list(accession.received_items.select_related("record"))
    from lantai.digitization.services import attached_pages

    ids = [i.record_id for i in items if i.record_id]
    pages = attached_pages(ids)
    seen = set(catalog.visible_records(user).filter(pk__in=ids).values_list("pk", flat=True))
    out = []
    for i in items:
        status = "digitized" if i.record_id in pages else i.digitization
        out.append({
            "item": i, "status": status, "status_label": DIGITIZATION_ZH[status],
            "pages": pages.get(i.record_id, (0, 0))[0] if i.record_id else 0,
            "derived": i.record_id in pages,
            "record_hidden": bool(i.record_id) and i.record_id not in seen,
        })  # fmt: skip
    return out


def accession_detail(accession: Accession) -> dict[str, Any]:
    """`accession_summary` with the appraisal, items received (with their digitization status),
    the number of linked records and the documents issued (`lantai accession show --json`)."""
    data = accession_summary(accession)
    data.update({
        "appraised_value": str(accession.appraised_value) if accession.appraised_value is not None else None,
        "condition": accession.condition,
        "deed_terms": accession.deed_terms,
        "records": len(covered_records(accession)),
        "received_items": [
            {"description": x["item"].description, "count": x["item"].count,
             "record": x["item"].record.reference_code if x["item"].record else None,
             "digitization": x["status"]}
            for x in items_with_digitization(accession)
        ],
        "documents": [
            {"kind": d.kind, "number": d.number, "issued_on": d.issued_on.isoformat(), "sm3": d.sm3}
            for d in accession.documents.all()
        ],
    })  # fmt: skip
    return data
