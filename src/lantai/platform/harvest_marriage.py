"""The hub's harvest of a member's marriage index: pages of its marriage feed (feeds.py) asked
for with signed messages, stored page by page with the cursor, so an interrupted harvest goes on
where it stopped. A full harvest also sweeps away entries the member no longer holds."""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from . import hub_index, transport
from .models import HarvestState, HubMarriage, Member

PAGE = 2000


def harvest(member: Member, *, full: bool = False, page_size: int = PAGE) -> dict[str, Any]:
    state, _created = HarvestState.objects.get_or_create(member=member, feed="marriage")
    if full:
        state.cursor = ""
    state.started_at, state.error = timezone.now(), ""
    state.save(update_fields=["cursor", "started_at", "error"])
    started = time.perf_counter()
    taken = 0
    try:
        while True:
            sent = transport.send(member.code, "marriage_feed", {"cursor": state.cursor, "limit": page_size}, as_hub=True, queue=False)  # fmt: skip
            page = sent.reply or {}
            entries = page.get("entries") or []
            before = state.cursor
            with transaction.atomic():
                hub_index.store_marriage(member, entries)
                state.cursor = str(page.get("cursor", state.cursor))
                state.save(update_fields=["cursor"])
            taken += len(entries)
            if page.get("done", True):
                break
            if not entries or state.cursor == before:  # a node that says "more" but moves nowhere
                raise transport.Refused("stalled", "节点答复还有更多记录，但游标没有前进：收割中止", "the node says there is more but its cursor does not move: harvest stopped", 502)  # fmt: skip
        removed = _sweep(member) if full else 0
    except (transport.Unreachable, transport.Refused) as exc:
        state.error = str(exc)[:500]
        state.records = taken
        state.finished_at = timezone.now()
        state.save(update_fields=["error", "records", "finished_at"])
        return {"node": member.code, "feed": "marriage", "ok": False, "records": taken, "error": state.error}  # fmt: skip
    seconds = time.perf_counter() - started
    now = timezone.now()
    HarvestState.objects.filter(pk=state.pk).update(records=taken, finished_at=now, last_success_at=now, error="")  # fmt: skip
    return {"node": member.code, "feed": "marriage", "ok": True, "records": taken, "removed": removed,
            "seconds": round(seconds, 3), "per_second": round(taken / seconds, 1) if seconds else None}  # fmt: skip


def _sweep(member: Member) -> int:
    sent = transport.send(
        member.code, "marriage_feed", {"locators": True}, as_hub=True, queue=False
    )
    held = set((sent.reply or {}).get("locators") or [])
    gone = [loc for loc in HubMarriage.objects.filter(member=member).values_list("locator", flat=True) if loc not in held]  # fmt: skip
    hub_index.store_marriage(member, [{"locator": loc, "deleted": True} for loc in gone])
    return len(gone)
