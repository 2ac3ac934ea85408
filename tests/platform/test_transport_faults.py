"""The inbox against hostile and faulty messages, in-process (transport.receive through the Django
test client at /platform/inbox), and the sender's side against forged or failing answers from a
tiny local HTTP server. test_region.py covers the friendly paths between real processes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.core import signing
from lantai.core.models import AuditEntry
from lantai.platform import log, peers, transport
from lantai.platform.models import JoinToken, LogEntry, Member, Membership, Outbox, Receipt
from lantai.standards import platform_messages as pm

pytestmark = pytest.mark.django_db

PEER = signing.SigningKey.generate()  # node B02's key, on the member list
STRANGER = signing.SigningKey.generate()  # a key on no list
HUB_KEY = signing.SigningKey.generate()


def signed(key: signing.SigningKey = PEER, *, sender: str = "B02", to: str = "A01", kind: str = "ping",
           body: dict[str, Any] | None = None, message_id: str | None = None,
           sent: str | None = None) -> dict[str, Any]:  # fmt: skip
    return pm.make_message(sender=sender, to=to, kind=kind, sent=sent or log.now_iso(), body=body or {},
                           signer_key=key.public_key_hex, sign=key.sign, message_id=message_id)  # fmt: skip


def text(message: Any) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def post(raw: bytes, client: Client | None = None) -> Any:
    client = client or Client(raise_request_exception=False)
    return client.post(reverse("platform:inbox"), data=raw, content_type="application/json")


@pytest.fixture
def node() -> Membership:
    """This installation as node A01; B02 (key PEER) is on the hub's member list."""
    return Membership.objects.create(
        code="A01", name="甲市档案馆", url="http://a01.invalid", hub_url="http://hub.invalid",
        hub_public_key=HUB_KEY.public_key_hex, member_list={"members": [
            {"code": "B02", "name": "乙县档案馆", "url": "http://b02.invalid", "public_key": PEER.public_key_hex}]},
        member_list_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def hub() -> Member:
    """This installation as the hub (a join token issued), with member B02 (key PEER)."""
    JoinToken.objects.create(node_code="B02", digest="0" * 64, expires_at=timezone.now(), created_by="t")  # fmt: skip
    return Member.objects.create(code="B02", name="乙县档案馆", url="http://b02.invalid", public_key=PEER.public_key_hex)  # fmt: skip


@pytest.fixture
def handler() -> Iterator[Callable[..., None]]:
    """Register a handler of a test kind for the duration of a test."""
    added: list[tuple[str, bool]] = []

    def register(kind: str, fn: transport.Handler, *, hub: bool = False) -> None:
        transport.handles(kind, hub=hub)(fn)
        added.append((kind, hub))

    yield register
    for key in added:
        transport._handlers.pop(key, None)


def refused(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    error = response.json()["error"]
    assert error["message"] and error["message_en"]
    if code is not None:
        assert error["code"] == code
    return error


# ---------------------------------------------------------------------------------- refusals


def test_not_json_and_wrong_form_are_400(node: Membership) -> None:
    refused(post(b"\xff\xfe not json"), 400, "form")
    refused(post(b"[1, 2]"), 400, "form")
    refused(post(text({**signed(), "extra": 1})), 400, "form")
    refused(post(text({**signed(), "id": "x"})), 400, "form")
    assert not LogEntry.objects.exists()


def test_the_inbox_takes_only_post(node: Membership) -> None:
    assert Client().get(reverse("platform:inbox")).status_code == 405


def test_a_bad_signature_is_403(node: Membership) -> None:
    msg = signed()
    refused(post(text({**msg, "body": {"changed": True}})), 403, "signature")
    refused(post(text({**msg, "signature": "!!"})), 403, "signature")
    assert not LogEntry.objects.exists()


def test_a_sender_not_on_the_list_or_with_another_key_is_403_and_audited(node: Membership) -> None:
    stranger = signed(STRANGER, sender="C03")
    impostor = signed(STRANGER, sender="B02")  # B02's code, another key
    for msg in (stranger, impostor):
        refused(post(text(msg)), 403, "unknown_key")
        entry = AuditEntry.objects.filter(action="platform_refused", target_id=msg["id"]).get()
        assert entry.detail["from"] == msg["from"]
    assert not LogEntry.objects.exists()


def test_a_message_for_another_node_is_403(node: Membership) -> None:
    refused(post(text(signed(to="C03"))), 403, "addressee")
    refused(post(text(signed(to=peers.HUB))), 403, "addressee")  # this node is not the hub
    assert not LogEntry.objects.exists()


def test_an_unknown_kind_is_400(node: Membership) -> None:
    refused(post(text(signed(kind="no_such_kind"))), 400, "kind")
    refused(post(text(signed(kind="node_update"))), 400, "kind")  # a hub kind, sent to a node
    assert not LogEntry.objects.exists()


def test_a_member_that_left_is_403_even_if_a_stale_list_names_it(hub: Member, node: Membership) -> None:  # fmt: skip
    assert post(text(signed(to=peers.HUB))).status_code == 200
    Member.objects.filter(pk=hub.pk).update(left_at=timezone.now())
    refused(post(text(signed(to=peers.HUB))), 403, "unknown_key")
    assert LogEntry.objects.filter(direction="in").count() == 1


def test_an_oversize_body_is_413(node: Membership, settings: Any) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = Client().post(reverse("platform:inbox"), data=b"{}", content_type="application/json",
                             CONTENT_LENGTH=str(limit + 1))  # fmt: skip
    refused(response, 413, "too_large")


def test_a_body_at_the_upload_limit_is_taken_and_one_above_is_413(node: Membership, settings: Any) -> None:  # fmt: skip
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # the same rule as the 10 MiB default, faster
    small = text(signed(body={"pad": ""}))
    fits = text(signed(body={"pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(small))}))
    assert len(fits) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert post(fits).status_code == 200
    too_big = text(
        signed(body={"pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len(small) + 1)})
    )
    refused(post(too_big), 413, "too_large")  # JSON: the sender reads it as a refusal
    assert LogEntry.objects.filter(direction="in").count() == 1


def test_a_handler_refusal_gives_its_status_and_logs_nothing(node: Membership, handler: Callable[..., None]) -> None:  # fmt: skip
    def refuse(message: dict[str, Any]) -> dict[str, Any]:
        Member.objects.create(code="X", name="x", url="x", public_key="x")  # rolled back
        raise transport.Refused("test_refused", "测试拒收", "refused by the test", 422)

    handler("test_refuse", refuse)
    refused(post(text(signed(kind="test_refuse"))), 422, "test_refused")
    assert not LogEntry.objects.exists() and not Member.objects.exists()


# --------------------------------------------------------------------------------- accepted


def test_ping_is_answered_with_a_signed_receipt_and_reply_and_logged_twice(
    node: Membership,
) -> None:
    msg = signed()
    response = post(text(msg))
    assert response.status_code == 200
    answer = response.json()
    own = peers.own_key().public_key_hex
    receipt = pm.check_receipt(answer["receipt"], msg, signing.verify)
    assert receipt["signer"] == own and receipt["by"] == "A01"
    reply = pm.check_message(answer["reply"], signing.verify)
    assert reply["signer"] == own and reply["to"] == "B02" and reply["from"] == "A01"
    assert reply["kind"] == "ping.reply" and reply["body"]["pong"] == msg["id"]
    entries = list(LogEntry.objects.order_by("seq").values_list("direction", "peer", "kind", "message_id"))  # fmt: skip
    assert entries == [("in", "B02", "ping", msg["id"]), ("out", "B02", "ping.reply", reply["id"])]
    first, second = LogEntry.objects.order_by("seq")
    kept = json.loads(first.receipt)  # the reply to a question is kept as its body's digest
    assert json.loads(first.envelope) == msg and kept["receipt"] == answer["receipt"]
    body = pm.canonical(reply["body"])
    assert kept["reply"]["body"] == {"sm3": pm.sm3_hex(body), "bytes": len(body)}
    assert json.loads(second.envelope) == kept["reply"]
    assert {k: v for k, v in kept["reply"].items() if k != "body"} == {k: v for k, v in reply.items() if k != "body"}  # fmt: skip
    assert log.verify().ok


def test_the_hub_answers_a_ping_to_hub_as_hub(hub: Member) -> None:
    msg = signed(to=peers.HUB)
    answer = post(text(msg)).json()
    assert answer["receipt"]["by"] == peers.HUB and answer["reply"]["from"] == peers.HUB
    refused(post(text(signed(to="A01"))), 403, "addressee")  # the hub is no node A01


def test_a_repeated_message_gets_the_same_answer_and_is_handled_once(node: Membership, handler: Callable[..., None]) -> None:  # fmt: skip
    calls: list[str] = []

    def count(message: dict[str, Any]) -> dict[str, Any]:
        calls.append(message["id"])
        return {"n": len(calls)}

    handler("test_count", count)
    msg = signed(kind="test_count")
    first = post(text(msg)).json()
    again = post(text(msg)).json()
    assert again == first and calls == [msg["id"]]
    assert LogEntry.objects.count() == 2


def test_a_repeated_question_is_a_replay_and_refused(node: Membership) -> None:
    """Questions (ping, feed pages, finds) are never queued, so a repeat is a replay: refused,
    not answered again with fresh data; so is a question older than ten minutes."""
    msg = signed()
    first = post(text(msg)).json()
    assert pm.check_message(first["reply"], signing.verify)["body"]["pong"] == msg["id"]
    refused(post(text(msg)), 409, "replayed")
    old = signed(sent="2026-01-01T00:00:00.000000Z")
    refused(post(text(old)), 409, "replayed")
    assert LogEntry.objects.count() == 2 and log.verify().ok


def test_the_same_id_with_another_body_is_409(node: Membership) -> None:
    msg = signed()
    assert post(text(msg)).status_code == 200
    refused(post(text(signed(body={"other": 1}, message_id=msg["id"]))), 409, "replayed_id")
    assert LogEntry.objects.count() == 2


def test_the_same_message_in_another_key_order_is_a_repetition(node: Membership, handler: Callable[..., None]) -> None:  # fmt: skip
    calls: list[str] = []
    handler("test_once", lambda m: calls.append(m["id"]) or {"n": len(calls)})
    msg = signed(kind="test_once", body={"b": 1, "a": "档案"})
    first = post(text(msg)).json()
    reordered = dict(reversed(list(msg.items())))
    reordered["body"] = dict(reversed(list(msg["body"].items())))
    response = post(json.dumps(reordered, ensure_ascii=True).encode())  # another, equal spelling
    assert response.status_code == 200 and response.json() == first and len(calls) == 1


def test_a_message_reusing_the_id_of_one_of_ours_is_409(node: Membership) -> None:
    ours = "ab" * 16
    log.append(
        "in", "B02", "receipt", ours, '{"id":"' + ours + '"}'
    )  # B02's receipt for our message
    response = post(text(signed(message_id=ours)))
    refused(response, 409)


def test_an_installation_off_the_platform_refuses() -> None:
    """An installation that is neither a node nor the hub takes no message."""
    refused(post(text(signed(to=peers.HUB))), 403, "unknown_key")


# ----------------------------------------------------------------------- the sender's side


class _Forger(BaseHTTPRequestHandler):
    answer: Callable[[dict[str, Any]], tuple[int, bytes]]

    def do_POST(self) -> None:  # noqa: N802
        message = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status, body = type(self).answer(message)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def forger(node: Membership) -> Iterator[Callable[[Callable[[dict[str, Any]], tuple[int, bytes]]], None]]:  # fmt: skip
    """B02 answered by a local server whose answers the test writes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Forger", (_Forger,), {}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    lst = dict(node.member_list)
    lst["members"][0]["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    Membership.objects.filter(pk=node.pk).update(member_list=lst)

    def answer_with(fn: Callable[[dict[str, Any]], tuple[int, bytes]]) -> None:
        server.RequestHandlerClass.answer = staticmethod(fn)  # type: ignore[attr-defined]

    yield answer_with
    server.shutdown()
    server.server_close()


def _receipt(message: dict[str, Any], key: signing.SigningKey = PEER) -> dict[str, Any]:
    return pm.make_receipt(message, by="B02", received=log.now_iso(), signer_key=key.public_key_hex, sign=key.sign)  # fmt: skip


def test_an_honest_answer_is_kept(forger: Any) -> None:
    forger(lambda m: (200, text({"receipt": _receipt(m), "reply": signed(to="A01", kind="ping.reply", body={"pong": m["id"]})})))  # fmt: skip
    sent = transport.send("B02", "ping", {})
    assert sent.delivered and sent.reply == {"pong": sent.message["id"]}
    assert Receipt.objects.filter(message_id=sent.message["id"]).exists()
    assert Outbox.objects.get(message_id=sent.message["id"]).status == "delivered"
    assert [e.kind for e in LogEntry.objects.order_by("seq")] == ["ping", "receipt", "ping.reply"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda m: {"receipt": _receipt(m, STRANGER), "reply": None},  # the receipt by another key
        lambda m: {"receipt": _receipt(m), "reply": signed(STRANGER, to="A01", kind="ping.reply")},
        lambda m: {"receipt": _receipt(m), "reply": signed(to="C03", kind="ping.reply")},
    ],
)
def test_a_forged_receipt_or_reply_is_refused_and_nothing_is_kept(forger: Any, forge: Callable[[dict[str, Any]], dict[str, Any]]) -> None:  # fmt: skip
    forger(lambda m: (200, text(forge(m))))
    with pytest.raises(transport.Refused):
        transport.send("B02", "ping", {})
    assert not Receipt.objects.exists()
    assert [e.kind for e in LogEntry.objects.all()] == ["ping"]


def test_a_receipt_for_another_message_is_refused(forger: Any) -> None:
    forger(lambda m: (200, text({"receipt": _receipt(signed()), "reply": None})))
    with pytest.raises(transport.Refused) as caught:
        transport.send("B02", "ping", {})
    assert caught.value.code == "receipt"
    assert not Receipt.objects.exists()
    row = Outbox.objects.get()  # not the peer's answer: tried again later
    assert row.status == "queued" and row.attempts == 1 and row.next_attempt_at > timezone.now()


@pytest.mark.parametrize(("status", "body"), [(500, b"oops"), (503, b"{}"), (200, b"not json"), (400, b"<html>")])  # fmt: skip
def test_a_failing_peer_leaves_the_message_queued_for_later(forger: Any, status: int, body: bytes) -> None:  # fmt: skip
    forger(lambda m: (status, body))
    sent = transport.send("B02", "ping", {})
    assert not sent.delivered
    row = Outbox.objects.get(message_id=sent.message["id"])
    assert row.status == "queued" and row.attempts == 1 and row.next_attempt_at > timezone.now()
    assert transport.deliver_due() == {"delivered": 0, "waiting": 0, "refused": 0}  # not yet due
    # then the peer is back: the same message, delivered once
    forger(lambda m: (200, text({"receipt": _receipt(m), "reply": None})))
    Outbox.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert transport.deliver_due() == {"delivered": 1, "waiting": 0, "refused": 0}
    assert transport.deliver_due(now=True) == {"delivered": 0, "waiting": 0, "refused": 0}
    assert LogEntry.objects.filter(kind="receipt").count() == 1


def test_a_refusal_marks_the_message_failed(forger: Any) -> None:
    forger(lambda m: (403, text({"error": {"code": "unknown_key", "message": "不在名单", "message_en": "not listed"}})))  # fmt: skip
    with pytest.raises(transport.Refused) as caught:
        transport.send("B02", "ping", {})
    assert caught.value.code == "unknown_key" and caught.value.status == 403
    assert Outbox.objects.get().status == "failed"


def test_a_forged_receipt_backs_off(forger: Any) -> None:
    forger(lambda m: (200, text({"receipt": _receipt(m, STRANGER), "reply": None})))
    with pytest.raises(transport.Refused):
        transport.send("B02", "ping", {})
    row = Outbox.objects.get()
    assert row.attempts == 1 and row.next_attempt_at > timezone.now()


def test_a_marriage_feed_that_does_not_advance_ends_the_harvest(hub: Member) -> None:
    from lantai.platform import harvest_marriage

    calls: list[str] = []

    def feed(m: dict[str, Any]) -> tuple[int, bytes]:
        calls.append(m["id"])
        body = {"entries": [], "cursor": "20260101T000000.000000|000000000001", "done": len(calls) >= 6}  # fmt: skip
        reply = signed(sender="B02", to=peers.HUB, kind="marriage_feed.reply", body=body)
        return 200, text({"receipt": _receipt(m), "reply": reply})

    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Feed", (_Forger,), {"answer": staticmethod(feed)}))  # fmt: skip
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Member.objects.filter(pk=hub.pk).update(url=f"http://127.0.0.1:{server.server_address[1]}")
        hub.refresh_from_db()
        harvest_marriage.harvest(hub)
    finally:
        server.shutdown()
        server.server_close()
    assert len(calls) <= 2
