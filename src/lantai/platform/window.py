"""At any window (受理点): finding marriage records region-wide on the hub's index. The requester's
identity, type and proof are checked here under this archives' rules first; an identity number
is hashed here with the regional key, so only its hash goes to the hub; every search is logged in
this archives' marriage query log (channel 全区平台)."""

from __future__ import annotations

from typing import Any

from lantai.marriage import finding, identity, rules
from lantai.standards import marriage_rights

from . import peers, regional, transport


def find(
    criteria: finding.Criteria, request: marriage_rights.Request, *, actor: str, user: Any = None,
    limit: int = 50,
) -> dict[str, Any]:  # fmt: skip
    mode = criteria.mode()
    names: list[str] = []
    if criteria.names:
        names = finding._clean_names(criteria)
    number = finding._clean_id(criteria) if criteria.id_number else ""
    finding.check_request_ids(request)
    version, ruleset = rules.current()
    problems = marriage_rights.check_request(ruleset, request)
    refused = [{"rule": p.rule, "message": p.message_zh, "message_en": p.message_en} for p in problems]  # fmt: skip
    results: list[dict[str, Any]] = []
    if not refused:
        if mode == "cert":
            raise finding.FindError("cert_number", "全区查找请按证件号码或姓名（可加年份）", "region-wide, search by identity number or names (with a year)")  # fmt: skip
        body = {"id_hash": regional.id_hash(criteria.id_type, number) if number else None,
                "names": names, "year": criteria.year, "years": criteria.years, "limit": limit}  # fmt: skip
        sent = transport.send(peers.HUB, "marriage_find", body, queue=False)
        results = list((sent.reply or {}).get("results") or [])
    query_id = finding.log_query(
        request, {**criteria.for_log(), "region_wide": True,
                  "locators": [r.get("locator") for r in results]}, [], version=version,
        channel="platform", actor=actor, user=user, matched=len(results),
        refused="；".join(r["message"] for r in refused),
    )  # fmt: skip
    return {"ok": not refused, "query": query_id, "rules_version": version, "refused": refused,
            "results": results, "masked_id": identity.mask(number) if number else ""}  # fmt: skip
