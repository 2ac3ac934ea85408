"""How the platform stands, for `lantai platform status` and the operations page: on every node
its membership, outbox backlog, log head and last anchor; on the hub every member's last
contact, last harvest, backlog towards it, message counts and latencies, and alerts (a missed
harvest, requests past their deadlines)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Max
from django.utils import timezone

from . import log, peers, sla
from .models import Anchor, HarvestState, LogEntry, Member, Outbox, RemoteRequest


def _iso(at: Any) -> str | None:
    return at.isoformat() if at else None


def status() -> dict[str, Any]:
    m = peers.membership()
    now = timezone.now()
    out: dict[str, Any] = {
        "node": {"code": m.code, "hub": m.hub_url, "member_list_at": _iso(m.member_list_at),
                 "members": len(m.member_list.get("members", []))} if m else None,
        "hub": peers.is_hub(),
        "log_head": log.head(),
        "last_anchor": _iso(Anchor.objects.filter(node__in=[m.code] if m else [peers.HUB]).aggregate(t=Max("stamped_at"))["t"]),
        "outbox": {"queued": Outbox.objects.filter(status="queued").count(),
                   "failed": Outbox.objects.filter(status="failed").count()},
        "requests": sla.dashboard(),
        "alerts": [],
    }  # fmt: skip
    if m and m.member_list_at and now - m.member_list_at > timedelta(days=2):
        out["alerts"].append({"kind": "member_list_stale", "message": "成员名单超过两天未更新：平台中心可能无法连接"})  # fmt: skip
    overdue = [r for r in RemoteRequest.objects.exclude(status="informed") if sla.overdue(r)]
    for r in overdue[:50]:
        out["alerts"].append({"kind": f"overdue_{sla.overdue(r)}", "request": r.pk, "locator": r.locator,
                              "message": f"请求 {r.locator} 已超过{'答复' if sla.overdue(r) == 'answer' else '告知'}期限"})  # fmt: skip
    if peers.is_hub():
        out["members"] = members_health(now)
        out["alerts"] += [a for row in out["members"] for a in row["alerts"]]
    return out


def members_health(now: Any) -> list[dict[str, Any]]:
    due = timedelta(hours=settings.PLATFORM_HARVEST_HOURS * 1.5)
    counts = {(r["peer"], r["direction"]): r["n"] for r in LogEntry.objects.values("peer", "direction").annotate(n=Count("id"))}  # fmt: skip
    latency = {r["peer"]: r["ms"] for r in Outbox.objects.filter(status="delivered").values("peer").annotate(ms=Avg("latency_ms"))}  # fmt: skip
    backlog = {r["peer"]: r["n"] for r in Outbox.objects.filter(status="queued").values("peer").annotate(n=Count("id"))}  # fmt: skip
    rows = []
    for member in Member.objects.filter(left_at__isnull=True).order_by("code"):
        harvests = {h.feed: h for h in HarvestState.objects.filter(member=member)}
        alerts = []
        for feed in ("catalogue", "marriage"):
            h = harvests.get(feed)
            if h is None or h.last_success_at is None or now - h.last_success_at > due:
                alerts.append({"kind": "harvest_missed", "node": member.code, "feed": feed,
                               "message": f"节点 {member.code} 的{'开放目录' if feed == 'catalogue' else '婚姻档案索引'}未按时收割"})  # fmt: skip
        rows.append({
            "code": member.code, "name": member.name, "url": member.url,
            "last_contact_at": _iso(member.last_contact_at),
            "harvests": {f: {"last_success_at": _iso(h.last_success_at), "records": h.records, "error": h.error, "cursor": h.cursor} for f, h in harvests.items()},
            "chain_head": {k: member.chain_head.get(k) for k in ("seq", "hash", "time")} if member.chain_head else None,
            "messages": {"in": counts.get((member.code, "in"), 0), "out": counts.get((member.code, "out"), 0)},
            "latency_ms": round(latency[member.code], 1) if latency.get(member.code) is not None else None,
            "backlog": backlog.get(member.code, 0), "alerts": alerts,
        })  # fmt: skip
    return rows


def as_text(data: dict[str, Any]) -> str:
    lines = []
    node = data.get("node")
    lines.append(
        f"节点：{node['code']}（平台中心 {node['hub']}）" if node else "本馆尚未加入全区平台"
    )
    lines.append(f"消息日志：{data['log_head']['seq']} 条；待发送 {data['outbox']['queued']}")
    for row in data.get("members", []):
        lines.append(
            f"  {row['code']} {row['name']} 最近联系 {row['last_contact_at'] or '—'} 积压 {row['backlog']}"
        )
    for a in data["alerts"]:
        lines.append(f"! {a['message']}")
    return "\n".join(lines)
