"""Alerts delivered, not only shown: by mail and by a signed webhook (the province's SMS/IM
gateway), each alert once per channel, and a "resolved" notice when it clears.

Sources (read, never changed): preservation's open alerts (fixity damage, missing files, storage
offline/unreachable, low space, storage policy unmet, failed repairs, working copies), the
stacks' climate alerts, and conditions this room watches itself (:class:`~lantai.ops.models.Condition`):
no job worker running, and a required readiness check failing (lantai.ops.health).

`deliver()` (every minute as a job, and `lantai alerts deliver`) makes one AlertDelivery row per
(alert, event, channel) — the unique constraint is what makes "once" hold even when two runs
race — and sends those due. A failure is recorded (attempts, last error) and tried again after
1, 2, 4 … minutes (at most ALERT_RETRY_MAX_MINUTES apart) until it goes: nothing is dropped.
An alert already resolved before it was first seen is not announced (no flood of history when
delivery is first configured). The worker's own job cannot report that no worker runs: run
`lantai alerts deliver` from a systemd timer or cron as well (docs/operator-guide.md).

Webhook: POST of the JSON payload with headers X-Lantai-Timestamp (Unix seconds) and
X-Lantai-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under
LANTAI_ALERT_WEBHOOK_SECRET>; any 2xx answer is success.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone, translation

from lantai.ops.models import AlertDelivery, Condition

log = logging.getLogger(__name__)

__all__ = [
    "DeliveryResult",
    "Notice",
    "channels",
    "deliver",
    "delivery_counts",
    "open_count",
    "open_notices",
    "send_test",
    "sign",
]

SIGNATURE_HEADER = "X-Lantai-Signature"
TIMESTAMP_HEADER = "X-Lantai-Timestamp"
CLAIM_SECONDS = 300  # a run that dies mid-send leaves its rows to be tried again after this
BATCH = 200


@dataclass(frozen=True)
class Notice:
    key: str  # unique across sources: preservation:12, climate:3, ops:7
    source: str  # preservation | stacks | ops
    kind: str
    title: str  # the kind's Chinese label
    message: str
    opened_at: datetime
    resolved_at: datetime | None = None
    resolution: str = ""

    def payload(self, event: str) -> dict[str, Any]:
        return {
            "site": settings.ALERT_SITE_NAME,
            "key": self.key,
            "event": event,
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "message": self.message,
            "opened_at": self.opened_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "resolution": self.resolution,
        }


def channels() -> list[str]:
    """The configured channels: mail with recipients (and a mail host), the webhook with a URL."""
    found = []
    if settings.ALERT_EMAILS and settings.EMAIL_HOST:
        found.append("mail")
    if settings.ALERT_WEBHOOK_URL:
        found.append("webhook")
    return found


# --- sources ------------------------------------------------------------------------------------
CONDITION_TITLES = {
    "worker_down": "后台任务进程未运行",
    "readyz": "就绪检查失败",
    "platform": "全区平台告警",
}
# The regional platform's own alerts (platform/health.py), by kind
PLATFORM_TITLES = {
    "harvest_missed": "未按时收割",
    "member_list_stale": "成员名单过期",
    "overdue_answer": "请求超过答复期限",
    "overdue_inform": "请求超过告知期限",
}
KEY_LENGTH = 64  # Condition.key


def _platform_conditions() -> dict[str, str]:
    """The regional platform's alerts now (a member's missed harvest, a stale member list,
    requests past their deadlines), keyed by what they are about; none off the platform."""
    from lantai.platform import health, peers

    if peers.membership() is None and not peers.is_hub():
        return {}
    out = {}
    for a in health.status()["alerts"]:
        about = ":".join(str(a[k]) for k in ("node", "feed", "request") if k in a)
        key = f"platform:{a['kind']}" + (f":{about}" if about else "")
        if len(key) > KEY_LENGTH:  # a long node code: still one key per alert
            key = key[: KEY_LENGTH - 9] + ":" + hashlib.sha256(key.encode()).hexdigest()[:8]
        out[key] = a["message"]
    return out


def refresh_conditions() -> None:
    """Open or resolve this room's own conditions from what is true now."""
    from lantai.jobs import huey, worker_status
    from lantai.ops import health

    now_true: dict[str, str] = {}
    if not huey.immediate and not worker_status().seen:
        now_true["worker_down"] = (
            "一分钟内没有后台任务进程的心跳：排队的任务（移交检测、保存、校验、告警投递）不会执行；"
            "请检查 `lantai worker`（或 `lantai serve`）是否在运行"
        )
    _status, checks = health.readiness()
    for c in checks:
        if c.required and not c.ok and c.name != "database":  # no database: nothing to record
            now_true[f"readyz:{c.name}"] = c.error
    now_true.update(_platform_conditions())
    open_rows = {c.key: c for c in Condition.objects.filter(resolved_at=None)}
    for key, message in now_true.items():
        if key not in open_rows:
            Condition.objects.create(key=key, message=message)
    gone = [c.pk for k, c in open_rows.items() if k not in now_true]
    if gone:
        Condition.objects.filter(pk__in=gone).update(resolved_at=timezone.now())


def _label(choices: list[tuple[str, Any]], kind: str) -> str:
    with translation.override("zh-hans"):
        return str(dict(choices).get(kind, kind))


def _preservation(rows: Any) -> list[Notice]:
    from lantai.preservation.models import Alert

    return [
        Notice(
            f"preservation:{a.pk}",
            "preservation",
            a.kind,
            _label(Alert.KINDS, a.kind),
            a.message,
            a.opened_at,
            a.resolved_at,
            a.resolution,
        )  # fmt: skip
        for a in rows
    ]


def _climate(rows: Any) -> list[Notice]:
    from lantai.stacks.models import ClimateAlert

    out = []
    for a in rows:
        title = _label(ClimateAlert.KINDS, a.kind)
        message = (
            f"库房“{a.room.code} {a.room.name}”{title}：最不利值 {a.worst}，限值 {a.limit}，"
            f"读数 {a.readings} 次，{timezone.localtime(a.first_at):%Y-%m-%d %H:%M} 起"
        )
        out.append(Notice(f"climate:{a.pk}", "stacks", a.kind, title, message, a.first_at,
                          a.resolved_at, a.note))  # fmt: skip
    return out


def _conditions(rows: Any) -> list[Notice]:
    out = []
    for c in rows:
        base = c.key.split(":", 1)[0]
        title = CONDITION_TITLES.get(base, c.key)
        if base == "readyz":
            title = f"{title}：{c.key.split(':', 1)[1]}"
        elif base == "platform":
            kind = c.key.split(":")[1]
            title = f"{title}：{PLATFORM_TITLES.get(kind, kind)}"
        out.append(Notice(f"ops:{c.pk}", "ops", c.key, title, c.message, c.opened_at,
                          c.resolved_at, "已恢复" if c.resolved_at else ""))  # fmt: skip
    return out


def open_notices() -> list[Notice]:
    from lantai.preservation.models import Alert
    from lantai.stacks.models import ClimateAlert

    return [
        *_preservation(Alert.objects.filter(resolved_at=None).order_by("pk")),
        *_climate(
            ClimateAlert.objects.filter(resolved_at=None).select_related("room").order_by("pk")
        ),
        *_conditions(Condition.objects.filter(resolved_at=None).order_by("pk")),
    ]


def open_count() -> int:
    from lantai.preservation.models import Alert
    from lantai.stacks.models import ClimateAlert

    return (
        Alert.objects.filter(resolved_at=None).count()
        + ClimateAlert.objects.filter(resolved_at=None).count()
        + Condition.objects.filter(resolved_at=None).count()
    )


def _notices_for(keys: list[str]) -> dict[str, Notice]:
    """The current state of announced alerts (resolved ones; a deleted row reads as resolved)."""
    from lantai.preservation.models import Alert
    from lantai.stacks.models import ClimateAlert

    ids: dict[str, list[int]] = {"preservation": [], "climate": [], "ops": []}
    for key in keys:
        source, _sep, pk = key.partition(":")
        if source in ids and pk.isdigit():
            ids[source].append(int(pk))
    found = [
        *_preservation(Alert.objects.filter(pk__in=ids["preservation"])),
        *_climate(ClimateAlert.objects.filter(pk__in=ids["climate"]).select_related("room")),
        *_conditions(Condition.objects.filter(pk__in=ids["ops"])),
    ]
    return {n.key: n for n in found}


# --- delivery -----------------------------------------------------------------------------------
@dataclass
class DeliveryResult:
    created: int = 0  # delivery rows made for new events
    sent: int = 0
    failed: int = 0
    waiting: int = 0  # failed earlier, not due again yet
    channels: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.failed == 0,
            "channels": list(self.channels),
            "created": self.created,
            "sent": self.sent,
            "failed": self.failed,
            "waiting": self.waiting,
            "errors": list(self.errors),
        }


def _ensure(key: str, event: str, channel: str, payload: dict[str, Any]) -> bool:
    if AlertDelivery.objects.filter(alert_key=key, event=event, channel=channel).exists():
        return False
    try:
        with transaction.atomic():
            AlertDelivery.objects.create(
                alert_key=key, event=event, channel=channel, payload=payload
            )
    except IntegrityError:  # another run made it a moment ago: still once
        return False
    return True


def record_events(active: list[str]) -> int:
    """Delivery rows for every open alert and every announced alert that has since cleared."""
    created = 0
    notices = open_notices()
    for n in notices:
        for ch in active:
            created += _ensure(n.key, "open", ch, n.payload("open"))
    open_keys = {n.key for n in notices}
    resolved_sent = AlertDelivery.objects.filter(
        alert_key=OuterRef("alert_key"), channel=OuterRef("channel"), event="resolved"
    )
    pending = (
        AlertDelivery.objects.filter(event="open", channel__in=active)
        .annotate(done=Exists(resolved_sent))
        .filter(done=False)
        .values_list("alert_key", "channel")
    )
    cleared = [(k, ch) for k, ch in pending if k not in open_keys]
    current = _notices_for(sorted({k for k, _ch in cleared}))
    for key, ch in cleared:
        notice = current.get(key)
        if notice is None:  # the row itself is gone (a deleted package's alert)
            first = AlertDelivery.objects.filter(alert_key=key, event="open").first()
            payload = dict(first.payload) if first is not None else {"key": key}
            payload.update(event="resolved", resolved_at=timezone.now().isoformat(),
                           resolution="告警记录已删除")  # fmt: skip
        else:
            payload = notice.payload("resolved")
            if notice.resolved_at is None:  # open again? then it is still open: wait
                continue
        created += _ensure(key, "resolved", ch, payload)
    return created


def _backoff(attempts: int) -> timedelta:
    minutes = min(2 ** max(0, attempts - 1), max(1, settings.ALERT_RETRY_MAX_MINUTES))
    return timedelta(minutes=minutes)


def _claim(row: AlertDelivery, now: datetime) -> bool:
    """Take the row for this run (another run racing on the same row sends nothing)."""
    taken = AlertDelivery.objects.filter(
        pk=row.pk, status=row.status, attempts=row.attempts
    ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    return taken == 1


def deliver(now: datetime | None = None) -> DeliveryResult:
    """Record new events and send every delivery that is due."""
    active = channels()
    result = DeliveryResult(channels=tuple(active))
    refresh_conditions()
    result.created = record_events(active)
    now = now or timezone.now()
    due = (
        AlertDelivery.objects.filter(status__in=("pending", "failed"), channel__in=active)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("created_at", "pk")[:BATCH]
    )
    errors = []
    for row in list(due):
        if not _claim(row, now):
            continue
        error = send(row.channel, row.payload)
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error, row.next_attempt_at = (
                "sent",
                timezone.now(),
                "",
                None,
            )
            result.sent += 1
        else:
            row.status, row.last_error = "failed", error
            row.next_attempt_at = timezone.now() + _backoff(row.attempts)
            result.failed += 1
            errors.append(f"{row.channel} {row.alert_key}/{row.event}: {error}")
            log.warning(
                "alert delivery failed: %s %s %s: %s", row.channel, row.alert_key, row.event, error
            )
        row.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at", "attempts"])
    result.waiting = AlertDelivery.objects.filter(status="failed", next_attempt_at__gt=now).count()
    result.errors = tuple(errors)
    return result


# --- channels -----------------------------------------------------------------------------------
def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def _mail_text(payload: dict[str, Any]) -> tuple[str, str]:
    resolved = payload.get("event") == "resolved"
    tag = "已解除" if resolved else "告警"
    subject = f"[{payload.get('site', '兰台')}{tag}] {payload.get('title', '')}"
    lines = [
        str(payload.get("message", "")),
        "",
        f"类别 kind：{payload.get('source')} / {payload.get('kind')}",
        f"开始 opened：{payload.get('opened_at')}",
    ]
    if resolved:
        lines += [
            f"解除 resolved：{payload.get('resolved_at')}",
            f"说明 note：{payload.get('resolution')}",
        ]
    lines += [f"编号 key：{payload.get('key')}", "", "——兰台自动发送 sent by Lantai"]
    return subject.replace("\n", " ")[:200], "\n".join(lines)


def send_mail(payload: dict[str, Any]) -> str | None:
    """None when the SMTP server accepted the message, else the error."""
    subject, body = _mail_text(payload)
    try:
        connection = get_connection(fail_silently=False)
        message = EmailMessage(
            subject, body, settings.DEFAULT_FROM_EMAIL, list(settings.ALERT_EMAILS),
            connection=connection,
        )  # fmt: skip
        if message.send() != 1:
            return "SMTP 服务器未接受邮件 the SMTP server accepted no message"
    except Exception as e:
        return f"{type(e).__name__}: {e}"[:500]
    return None


def send_webhook(payload: dict[str, Any]) -> str | None:
    """None on a 2xx answer, else the error (status and the start of the body, or the fault)."""
    body = json.dumps(
        {**payload, "sent_at": timezone.now().isoformat()}, ensure_ascii=False
    ).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json; charset=utf-8", TIMESTAMP_HEADER: timestamp,
               "User-Agent": "lantai-alerts"}  # fmt: skip
    if settings.ALERT_WEBHOOK_SECRET:
        headers[SIGNATURE_HEADER] = sign(settings.ALERT_WEBHOOK_SECRET, timestamp, body)
    request = urllib.request.Request(
        settings.ALERT_WEBHOOK_URL, data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.ALERT_WEBHOOK_TIMEOUT) as response:  # noqa: S310 (an operator's URL)
            status = response.status
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}: {e.read(200).decode('utf-8', 'replace')}"
    except Exception as e:
        return f"{type(e).__name__}: {e}"[:500]
    if not 200 <= status < 300:
        return f"HTTP {status}"
    return None


def send(channel: str, payload: dict[str, Any]) -> str | None:
    return send_mail(payload) if channel == "mail" else send_webhook(payload)


def safe_url(url: str) -> str:
    """The webhook URL as shown to people: no user, password or query (they may hold a key)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def send_test() -> list[dict[str, Any]]:
    """A test alert to every configured channel now; per channel what happened."""
    now = timezone.now()
    notice = Notice("test", "ops", "test", "测试告警",
                    "这是一条测试告警，用于确认告警投递渠道可用 (a test alert: delivery works)", now)  # fmt: skip
    out = []
    for ch in channels():
        error = send(ch, notice.payload("open"))
        entry: dict[str, Any] = {"channel": ch, "ok": error is None, "error": error or ""}
        if ch == "mail":
            entry["to"] = list(settings.ALERT_EMAILS)
            entry["smtp"] = f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
        else:
            entry["url"] = safe_url(settings.ALERT_WEBHOOK_URL)
            entry["signed"] = bool(settings.ALERT_WEBHOOK_SECRET)
        out.append(entry)
    return out


def delivery_counts() -> dict[tuple[str, str], int]:
    rows = AlertDelivery.objects.values("channel", "status").annotate(n=Count("id")).order_by()
    return {(r["channel"], r["status"]): r["n"] for r in rows}


def recent(limit: int = 50) -> list[AlertDelivery]:
    return list(AlertDelivery.objects.order_by("-created_at", "-pk")[:limit])
