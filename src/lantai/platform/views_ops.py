"""平台运行: how this installation stands on the region-wide platform, for the system
administrator (core.settings, 系统设置): its membership and member list age, the outbox backlog
with the last delivery errors, the message log head and its verification; on the hub every
member's health (last contact, harvests, chain head, messages, latency, backlog) and the
alerts. No archival content is shown beyond record locators in deadline alerts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from lantai.core.roles import SETTINGS
from lantai.web.views.common import permission_required

from . import health, log, peers
from .models import Outbox

OUTBOX_ROWS = 50
FEEDS = ("catalogue", "marriage")


def _when(value: Any) -> Any:
    """An ISO time from health.status() as a datetime the template can format."""
    return parse_datetime(value) if isinstance(value, str) and value else None


def _members(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        harvests = row.get("harvests") or {}
        out.append({
            **row, "last_contact": _when(row.get("last_contact_at")),
            "feeds": [{"feed": f, **(harvests.get(f) or {}),
                       "last": _when((harvests.get(f) or {}).get("last_success_at"))} for f in FEEDS],
            "head_time": _when((row.get("chain_head") or {}).get("time")),
        })  # fmt: skip
    return out


def _speaks_as() -> list[str]:
    m = peers.membership()
    return ([m.code] if m else []) + ([peers.HUB] if peers.is_hub() else [])


def _context(verification: dict[str, Any] | None = None) -> dict[str, Any]:
    data = health.status()
    m = peers.membership()
    backlog = list(
        Outbox.objects.filter(status__in=["queued", "failed"])
        .only("message_id", "peer", "kind", "status", "attempts", "last_error", "next_attempt_at", "created_at")
        .order_by("created_at")[:OUTBOX_ROWS]
    )  # fmt: skip
    return {
        "data": data, "membership": m, "is_hub": data.get("hub", False),
        "member_count": len(m.member_list.get("members", [])) if m else 0,
        "members": _members(data.get("members") or []), "backlog": backlog,
        "last_anchor": _when(data.get("last_anchor")), "verification": verification,
        "speaks_as": _speaks_as(),
    }  # fmt: skip


@permission_required(SETTINGS)
def ops_page(request: HttpRequest) -> HttpResponse:
    return render(request, "platform/ops.html", _context())


@permission_required(SETTINGS)
@require_POST
def verify_log(request: HttpRequest) -> HttpResponse:
    """校验消息日志: the whole chain recomputed (as `lantai platform log verify`)."""
    result = log.verify(_speaks_as())
    return render(request, "platform/ops.html", _context(result.as_dict()))
