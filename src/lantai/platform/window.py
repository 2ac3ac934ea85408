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
    withheld = 0
    if not refused:
        if mode == "cert":
            raise finding.FindError("cert_number", "全区查找请按证件号码或姓名（可加年份）", "region-wide, search by identity number or names (with a year)")  # fmt: skip
        body = {"id_hash": regional.id_hash(criteria.id_type, number) if number else None,
                "names": names, "year": criteria.year, "years": criteria.years, "limit": limit,
                "parties_with": _parties_with(ruleset, request)}  # fmt: skip
        sent = transport.send(peers.HUB, "marriage_find", body, queue=False)
        results = list((sent.reply or {}).get("results") or [])
        withheld = int((sent.reply or {}).get("withheld") or 0)
    query_id = finding.log_query(
        request, {**criteria.for_log(), "region_wide": True,
                  "locators": [r.get("locator") for r in results]}, [], version=version,
        channel="platform", actor=actor, user=user, matched=len(results),
        refused="；".join(r["message"] for r in refused), withheld=withheld,
    )  # fmt: skip
    return {"ok": not refused, "query": query_id, "rules_version": version, "refused": refused,
            "results": results, "withheld": withheld,
            "masked_id": identity.mask(number) if number else ""}  # fmt: skip


def _parties_with(ruleset: marriage_rights.Rules, request: marriage_rights.Request) -> list[str] | None:  # fmt: skip
    """The regional hashes one of a registration's parties must have for this requester to see
    it, as the counter's rules decide (marriage_rights.may_see); None: any registration."""
    scope = ruleset.requester_types[request.requester_type].scope
    if scope in ("any", "approved"):
        return None
    wanted = {"own": [request.requester_id], "principal": [request.principal_id]}.get(scope, list(request.case_party_ids))  # fmt: skip
    out = []
    for number in wanted:
        compact = identity.normalise("", number or "")
        if len(compact) in (15, 18) and compact[:15].isdigit():  # an identity number, not a name
            out.append(regional.id_hash(identity.RESIDENT_ID, compact))
    return out
