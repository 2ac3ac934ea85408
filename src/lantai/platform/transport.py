"""Sending and receiving signed messages (standards/platform_messages.py) over HTTP.

Sending: the message is signed and logged first, then posted to the peer's inbox. The peer
answers with its countersignature (receipt) and, for a question, a signed reply in the same
response; both are checked against the peer's key on the member list and logged. A peer that
cannot be reached gets the message later from the outbox (``deliver_due``, a periodic job and on
demand): the same message id each time, so a repeated delivery changes nothing at the peer.

Receiving (``receive``): the form, the sender's key on the member list, the signature, the
addressee; a message id seen before gets the first answer again, without doing anything twice."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lantai.core import audit, signing
from lantai.standards import platform_messages as pm

from . import log, peers
from .models import LogEntry, Outbox, Receipt

INBOX_PATH = "/platform/inbox"
TIMEOUT = (3.05, 30)  # connect, read (seconds)
RETRY_MINUTES = (1, 2, 5, 10, 30, 60)  # then hourly; never given up: the peer decides
# Questions without side effects: a repeated one is simply answered again, and their replies are
# logged as the SM3 digest of the body (a marriage feed page is a megabyte of names; what the log
# must prove is what was sent, which the digest does) — decision 0029.
QUESTIONS = frozenset({"ping", "marriage_feed", "marriage_find", "anchor_stamps"})
Handler = Callable[[dict[str, Any]], dict[str, Any] | None]
_handlers: dict[tuple[str, bool], Handler] = {}  # (kind, to the hub) -> handler
_local = threading.local()


class Refused(Exception):
    """A message this installation will not take (status: the HTTP status to answer with)."""

    def __init__(self, code: str, message_zh: str, message_en: str, status: int = 403) -> None:
        super().__init__(message_zh)
        self.code, self.message_zh, self.message_en, self.status = code, message_zh, message_en, status  # fmt: skip


class Unreachable(Exception):
    """The peer did not answer (down, or an error on its side); the message waits in the outbox."""


def handles(kind: str, *, hub: bool = False) -> Callable[[Handler], Handler]:
    """Register the function that answers messages of ``kind`` (to the hub when ``hub``)."""

    def register(fn: Handler) -> Handler:
        _handlers[(kind, hub)] = fn
        return fn

    return register


def new_session() -> requests.Session:
    """An HTTP session to peers: TLS certificates checked against LANTAI_PLATFORM_CA_BUNDLE (a
    政务网 CA) or the system's CAs."""
    s = requests.Session()
    if settings.PLATFORM_CA_BUNDLE:
        s.verify = settings.PLATFORM_CA_BUNDLE
    return s


def http() -> requests.Session:
    """This thread's session for messages (kept alive between them)."""
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = new_session()
    return s


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def for_log(message: dict[str, Any]) -> str:
    """The text the log keeps of a message: whole, or for the reply to a question, with its body
    replaced by the body's SM3 digest and size."""
    kind = str(message.get("kind", ""))
    if not (kind.endswith(".reply") and kind.removesuffix(".reply") in QUESTIONS):
        return _text(message)
    body = pm.canonical(message["body"])
    return _text({**message, "body": {"sm3": pm.sm3_hex(body), "bytes": len(body)}})


@dataclass
class Sent:
    message: dict[str, Any]
    delivered: bool
    reply: dict[str, Any] | None = None  # the reply's body
    latency_ms: float | None = None


def send(
    to: str, kind: str, body: dict[str, Any], *, as_hub: bool = False, queue: bool = True,
    message_id: str | None = None,
) -> Sent:  # fmt: skip
    """Sign, log and deliver a message; when the peer is unreachable and ``queue``, it waits in
    the outbox (Sent.delivered False). Refused when the peer answers with a refusal."""
    target = peers.peer(to)
    if target is None or not target.url:
        raise Refused("unknown_peer", f"平台成员名单中没有节点 {to}", f"no node {to} on the member list", 404)  # fmt: skip
    key = peers.own_key()
    message = pm.make_message(
        sender=peers.own_code(as_hub), to=to, kind=kind, sent=log.now_iso(), body=body,
        signer_key=key.public_key_hex, sign=key.sign, message_id=message_id,
    )  # fmt: skip
    text = _text(message)
    with transaction.atomic():
        log.append("out", to, kind, message["id"], text)
        row = Outbox.objects.create(
            message_id=message["id"], peer=to, url=target.url.rstrip("/") + INBOX_PATH,
            kind=kind, envelope=text, next_attempt_at=timezone.now(),
        )  # fmt: skip
    try:
        reply = _deliver(row, message, target.public_key)
    except Unreachable:
        if not queue:  # the caller is told now: nobody waits for a later answer
            Outbox.objects.filter(pk=row.pk).update(status="failed")
            raise
        return Sent(message, False)
    return Sent(message, True, reply, row.latency_ms)


def _deliver(row: Outbox, message: dict[str, Any], peer_key: str) -> dict[str, Any] | None:
    started = time.perf_counter()
    try:
        response = http().post(row.url, data=row.envelope.encode(), timeout=TIMEOUT,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
    except requests.RequestException as exc:
        _failed(row, f"{type(exc).__name__}: {exc}"[:500])
        raise Unreachable(str(exc)) from exc
    try:
        answer = response.json()
    except ValueError:
        answer = None
    error = answer.get("error") if isinstance(answer, dict) else None
    if response.status_code != 200 and isinstance(error, dict):  # the peer refused, and said why
        Outbox.objects.filter(pk=row.pk).update(status="failed", attempts=row.attempts + 1,
                                                last_error=str(error.get("message", ""))[:500])  # fmt: skip
        raise Refused(str(error.get("code", "refused")), str(error.get("message", "对方拒收")),
                      str(error.get("message_en", "refused by the peer")), response.status_code)  # fmt: skip
    if response.status_code != 200 or not isinstance(
        answer, dict
    ):  # a proxy's error page, a restart
        _failed(row, f"HTTP {response.status_code}")
        raise Unreachable(f"HTTP {response.status_code}")
    try:
        receipt = pm.check_receipt(answer.get("receipt"), message, signing.verify)
        if receipt["signer"] != peer_key:
            raise pm.MessageError("receipt_key", "回执不是由对方节点的密钥签署", "the receipt is not signed by the peer's key")  # fmt: skip
        reply = answer.get("reply")
        if reply is not None:
            pm.check_message(reply, signing.verify)
            if reply["signer"] != peer_key or reply["to"] != message["from"]:
                raise pm.MessageError("reply_key", "答复不是由对方节点签署或不是发给本馆", "the reply is not signed by the peer or not addressed to us")  # fmt: skip
    except pm.MessageError as exc:  # not the peer's answer: tried again later, with back-off
        _failed(row, f"{exc.code}: {exc.message_en}"[:500])
        raise Refused(exc.code, exc.message_zh, exc.message_en, 502) from exc
    elapsed = (time.perf_counter() - started) * 1000
    with transaction.atomic():
        if not Receipt.objects.filter(message_id=message["id"]).exists():
            receipt_text = json.dumps(receipt, ensure_ascii=False, separators=(",", ":"))
            Receipt.objects.create(message_id=message["id"], peer=row.peer, receipt=receipt_text,
                                   received_at=timezone.now())  # fmt: skip
            log.append("in", row.peer, "receipt", f"{message['id']}.receipt", receipt_text)
            if reply is not None:
                log.append("in", row.peer, reply["kind"], reply["id"], for_log(reply))
        Outbox.objects.filter(pk=row.pk).update(
            status="delivered", attempts=row.attempts + 1, delivered_at=timezone.now(),
            latency_ms=elapsed, last_error="",
        )  # fmt: skip
    row.latency_ms = elapsed
    if reply is not None:
        _dispatch_reply(message["kind"], reply)
        return dict(reply["body"])
    return None


def _failed(row: Outbox, error: str) -> None:
    attempts = row.attempts + 1
    wait = RETRY_MINUTES[min(attempts - 1, len(RETRY_MINUTES) - 1)]
    Outbox.objects.filter(pk=row.pk).update(
        attempts=attempts, last_error=error,
        next_attempt_at=timezone.now() + timedelta(minutes=wait),
    )  # fmt: skip
    row.attempts = attempts


_reply_handlers: dict[str, Callable[[dict[str, Any]], None]] = {}


def on_reply(kind: str) -> Callable[[Callable[[dict[str, Any]], None]], Callable[[dict[str, Any]], None]]:  # fmt: skip
    """Register what to do with the reply to a message of ``kind`` delivered from the outbox
    (a caller waiting on ``send`` handles the reply it gets back itself; this runs too)."""

    def register(fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
        _reply_handlers[kind] = fn
        return fn

    return register


def _dispatch_reply(kind: str, reply: dict[str, Any]) -> None:
    from . import handlers

    handlers.load_all()
    fn = _reply_handlers.get(kind)
    if fn is not None:
        fn(reply)


def deliver_due(limit: int = 200, *, now: bool = False) -> dict[str, int]:
    """Try the queued messages whose time has come (the periodic job), or all of them (``now``:
    `lantai platform deliver`)."""
    delivered = waiting = refused = 0
    due = Outbox.objects.filter(status="queued")
    if not now:
        due = due.filter(next_attempt_at__lte=timezone.now())
    due = due.order_by("pk")[:limit]
    for row in due:
        target = peers.peer(row.peer)
        if target is None:
            Outbox.objects.filter(pk=row.pk).update(status="failed", last_error="the peer left the member list")  # fmt: skip
            refused += 1
            continue
        try:
            _deliver(row, json.loads(row.envelope), target.public_key)
            delivered += 1
        except Unreachable:
            waiting += 1
        except (Refused, pm.MessageError) as exc:
            refused += 1
            if Outbox.objects.filter(pk=row.pk, status="failed").exists():  # the peer's last word
                reason = getattr(exc, "message_zh", str(exc))
                _dispatch_reply(row.kind, {"body": {"request_id": row.message_id, "status": "refused", "reason": f"对方拒收：{reason}"}})  # fmt: skip
    return {"delivered": delivered, "waiting": waiting, "refused": refused}


# ------------------------------------------------------------------------------- receiving


def receive(raw: bytes) -> dict[str, Any]:
    """Take one message posted to this installation's inbox; the answer to post back."""
    try:
        message = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: not ours
        raise Refused("form", "消息不是 JSON", "the message is not JSON", 400) from exc
    try:
        pm.check_message(message, signing.verify)
    except pm.MessageError as exc:
        raise Refused(exc.code, exc.message_zh, exc.message_en, 400 if exc.code == "form" else 403) from exc  # fmt: skip
    sender = peers.peer(message["from"])
    if (sender is None or sender.public_key != message["signer"]) and _list_refreshed():
        sender = peers.peer(message["from"])  # a member that joined since our last refresh
    if sender is None or sender.public_key != message["signer"]:
        audit.record("platform_refused", "platform_message", message["id"],
                     {"from": message["from"], "kind": message["kind"], "why": "key not on the member list"},
                     actor="platform")  # fmt: skip
        raise Refused("unknown_key", f"发送方 {message['from']} 或其密钥不在平台成员名单上", f"the sender {message['from']} or its key is not on the member list")  # fmt: skip
    me = peers.own_code(True) if message["to"] == peers.HUB and peers.is_hub() else _own_node_code()
    if message["to"] != me:
        raise Refused("addressee", f"消息是发给 {message['to']} 的，不是本馆", f"the message is for {message['to']}, not this node")  # fmt: skip
    earlier = LogEntry.objects.filter(direction="in", peer=message["from"], message_id=message["id"]).first()  # fmt: skip
    if earlier is not None and pm.canonical(json.loads(earlier.envelope)) != pm.canonical(message):
        raise Refused("replayed_id", "该消息编号已用于另一条消息", "this message id was used for another message", 409)  # fmt: skip
    if earlier is not None and message["kind"] not in QUESTIONS:
        answer: dict[str, Any] = json.loads(earlier.receipt)  # a repeat: the first answer again
        return answer
    if message["kind"] in QUESTIONS and (earlier is not None or _stale(message["sent"])):
        # questions are never queued: a repeated or old one is a replay (of a feed page, a find)
        raise Refused("replayed", "该询问已答复过或已过时：请重新发出", "this question was answered before or is out of date: ask again", 409)  # fmt: skip
    from . import handlers

    handlers.load_all()
    handler = _handlers.get((message["kind"], message["to"] == peers.HUB))
    if handler is None:
        raise Refused("kind", f"本馆不处理 {message['kind']} 类消息", f"this node does not take {message['kind']} messages", 400)  # fmt: skip
    key = peers.own_key()
    with transaction.atomic():
        reply_body = handler(message)
        reply = None
        if reply_body is not None:
            reply = pm.make_message(
                sender=me, to=message["from"], kind=f"{message['kind']}.reply", sent=log.now_iso(),
                body=reply_body, signer_key=key.public_key_hex, sign=key.sign,
            )  # fmt: skip
        receipt = pm.make_receipt(message, by=me, received=log.now_iso(), signer_key=key.public_key_hex, sign=key.sign)  # fmt: skip
        answer = {"receipt": receipt, "reply": reply}
        kept = {"receipt": receipt, "reply": None if reply is None else json.loads(for_log(reply))}
        log.append("in", message["from"], message["kind"], message["id"], _text(message), _text(kept))  # fmt: skip
        if reply is not None:
            log.append("out", message["from"], reply["kind"], reply["id"], for_log(reply))
    return answer


QUESTION_MINUTES = 10  # a question older than this is refused (the nodes' clocks: NTP)


def _stale(sent: str) -> bool:
    moment = datetime.strptime(sent.split(".")[0].rstrip("Z"), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=UTC
    )
    return abs(timezone.now() - moment) > timedelta(minutes=QUESTION_MINUTES)


_last_list_fetch = 0.0
LIST_FETCH_SECONDS = 60


def _list_refreshed() -> bool:
    """Fetch the member list from the hub for an unknown sender, at most once a minute per
    process (a node, not the hub, which knows its members)."""
    global _last_list_fetch
    m = peers.membership()
    if m is None or peers.is_hub() or time.monotonic() - _last_list_fetch < LIST_FETCH_SECONDS:
        return False
    _last_list_fetch = time.monotonic()
    from . import members

    return members.fetch_list(m) == ""


def _own_node_code() -> str:
    m = peers.membership()
    return m.code if m is not None else ""
