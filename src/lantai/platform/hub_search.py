"""The hub's region-wide search services: the answer to a window's ``marriage_find`` message
(registered at import) and the overview of what the public search covers.

A window (a node) sends ``marriage_find`` with ``{"id_hash", "names", "year", "years", "limit"}``
— the ID number already hashed with the regional key, which the hub never holds — and gets
``{"results": [...]}`` from the hub's marriage index (hub_index.find_marriage). The hub logs
nothing beyond the message log, which keeps every request and answer."""

from __future__ import annotations

from typing import Any

from . import transport
from .hub_index import HubSearchError, find_marriage
from .models import HarvestState, HubParty, Member


def _int(body: dict[str, Any], name: str, default: int | None) -> int | None:
    value = body.get(name, default)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise transport.Refused("criteria", f"“{name}”应为整数", f"{name!r} must be an integer", 400) from exc  # fmt: skip


def answer_marriage_find(message: dict[str, Any]) -> dict[str, Any]:
    """``parties_with`` (the window's rights rules: the requester, the principal or the case
    parties, as regional hashes) keeps only registrations one of whose parties has one of them;
    ``null`` when the requester may see any registration (court, police …)."""
    body = message.get("body") or {}
    names = body.get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise transport.Refused("criteria", "姓名应为字符串列表", "names must be a list of strings", 400)  # fmt: skip
    must = body.get("parties_with")
    if must is not None and not (isinstance(must, list) and all(isinstance(h, str) for h in must)):
        raise transport.Refused("criteria", "parties_with 应为摘要列表或 null", "parties_with must be a list of hashes or null", 400)  # fmt: skip
    limit = _int(body, "limit", 50) or 50
    try:
        results = find_marriage(
            id_hash=str(body["id_hash"]) if body.get("id_hash") else None, names=names,
            year=_int(body, "year", None), years=_int(body, "years", 2) or 0,
            limit=200 if must is not None else limit,
        )  # fmt: skip
    except HubSearchError as exc:
        raise transport.Refused("criteria", exc.message_zh, exc.message_en, 400) from exc
    withheld = 0
    if must is not None:  # the rules turn on the parties: only their registrations
        allowed = set(
            HubParty.objects.filter(entry__locator__in=[r["locator"] for r in results], id_hash__in=[h.lower() for h in must if h])
            .values_list("entry__locator", flat=True)
        )  # fmt: skip
        kept = [r for r in results if r["locator"] in allowed]
        withheld, results = len(results) - len(kept), kept[:limit]
    return {"results": results, "withheld": withheld}


transport.handles("marriage_find", hub=True)(answer_marriage_find)


def coverage() -> list[dict[str, Any]]:
    """Every current member and when its open catalogue was last harvested (for the search page:
    what the index covers and how fresh it is)."""
    states = {s.member_id: s for s in HarvestState.objects.filter(feed="catalogue")}
    out = []  # no harvest errors: this is public (the operators' health page shows them)
    for m in Member.objects.filter(left_at__isnull=True).order_by("code"):
        s = states.get(m.pk)
        out.append({
            "code": m.code, "name": m.name,
            "last_harvest": s.last_success_at.isoformat() if s and s.last_success_at else None,
        })  # fmt: skip
    return out
