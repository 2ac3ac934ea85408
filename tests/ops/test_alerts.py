"""Alerts delivered (issue 20, point 3): a real SMTP server (aiosmtpd) and a real webhook
receiver (http.server) on loopback ports. Each alert goes once per channel, its resolution
once more, the webhook's signature verifies, and a receiver that is down leaves a failed
delivery with its error that goes out later — not lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from django.utils import timezone

from lantai.ops import alerts
from lantai.ops.models import AlertDelivery

SECRET = "gateway-shared-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[_Inbox]:
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port  # type: ignore[attr-defined]
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class _Receiver:
    port: int
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[tuple[str, str]]:
        return [(json.loads(b)["key"], json.loads(b)["event"]) for _h, b in self.posts]


@pytest.fixture
def webhook() -> Iterator[_Receiver]:
    receiver = _Receiver(_free_port())
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def configured(settings: Any, smtp: _Inbox, webhook: _Receiver, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # real SMTP, not locmem
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port  # type: ignore[attr-defined]
    settings.ALERT_EMAILS = ["duty@archives.example.cn"]
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{webhook.port}/lantai"
    settings.ALERT_WEBHOOK_SECRET = SECRET


def _low_space() -> Any:
    from lantai.preservation import locations

    primary = locations.ensure_primary()
    return locations.open_alert("low_space", "存储位置“local”剩余空间 1.0 GiB", location=primary)


@pytest.mark.django_db
def test_each_alert_goes_once_per_channel_and_its_resolution_once(
    configured: None, smtp: _Inbox, webhook: _Receiver
) -> None:
    from lantai.preservation import locations

    alert = _low_space()
    first = alerts.deliver()
    assert (first.sent, first.failed) == (2, 0) and first.channels == ("mail", "webhook")
    key = f"preservation:{alert.pk}"
    assert webhook.events() == [(key, "open")]
    assert smtp.subjects() == ["[兰台告警] 存储空间不足"]
    assert smtp.messages[0]["To"] == "duty@archives.example.cn"
    assert "剩余空间 1.0 GiB" in smtp.messages[0].get_payload(decode=True).decode()
    headers, body = webhook.posts[0]
    expected = alerts.sign(SECRET, headers["X-Lantai-Timestamp"], body)
    assert hmac.compare_digest(headers["X-Lantai-Signature"], expected)
    forged = "sha256=" + hmac.new(b"other", body, hashlib.sha256).hexdigest()
    assert headers["X-Lantai-Signature"] != forged
    assert json.loads(body)["kind"] == "low_space"

    again = alerts.deliver()  # nothing new: nothing sent twice
    assert (again.created, again.sent) == (0, 0)
    assert len(webhook.posts) == 1 and len(smtp.messages) == 1

    locations.resolve_alerts("low_space", "空间已充足", location=alert.location)
    cleared = alerts.deliver()
    assert cleared.sent == 2
    assert webhook.events() == [(key, "open"), (key, "resolved")]
    assert smtp.subjects()[-1] == "[兰台已解除] 存储空间不足"
    assert alerts.deliver().sent == 0
    rows = AlertDelivery.objects.filter(alert_key=key)
    assert sorted((r.event, r.channel, r.status, r.attempts) for r in rows) == [
        ("open", "mail", "sent", 1), ("open", "webhook", "sent", 1),
        ("resolved", "mail", "sent", 1), ("resolved", "webhook", "sent", 1),
    ]  # fmt: skip


@pytest.mark.django_db
def test_a_receiver_that_is_down_fails_visibly_and_gets_it_later(
    configured: None, settings: Any, smtp: _Inbox
) -> None:
    down = _Receiver(_free_port())  # nothing listens there yet
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{down.port}/lantai"
    alert = _low_space()
    result = alerts.deliver()
    assert (result.sent, result.failed) == (1, 1)  # the mail went; the webhook did not
    row = AlertDelivery.objects.get(alert_key=f"preservation:{alert.pk}", channel="webhook")
    assert row.status == "failed" and row.attempts == 1
    assert "Connection refused" in row.last_error or "URLError" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > timezone.now()

    assert alerts.deliver().sent == 0  # not due yet: backoff
    assert AlertDelivery.objects.get(pk=row.pk).attempts == 1

    down.start()
    try:
        later = alerts.deliver(now=timezone.now() + timedelta(minutes=2))
        assert later.sent == 1 and later.failed == 0
    finally:
        down.stop()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    assert [(json.loads(b)["event"]) for _h, b in down.posts] == ["open"]
    assert len(smtp.messages) == 1  # the mail was not sent again


@pytest.mark.django_db
def test_no_worker_is_an_alert_too(configured: None, webhook: _Receiver) -> None:
    from lantai import jobs
    from lantai.jobs import huey
    from lantai.preservation import locations

    locations.ensure_primary()
    huey.immediate = False
    try:
        alerts.deliver()
        opened = [json.loads(b) for _h, b in webhook.posts]
        assert [(p["kind"], p["event"]) for p in opened] == [("worker_down", "open")]
        assert "lantai worker" in opened[0]["message"]
        jobs.beat()
        alerts.deliver()
        assert [json.loads(b)["event"] for _h, b in webhook.posts] == ["open", "resolved"]
    finally:
        huey.immediate = True


@pytest.mark.django_db
def test_a_missed_harvest_on_the_hub_is_delivered_and_its_end_too(
    configured: None, webhook: _Receiver
) -> None:
    from lantai.platform.models import HarvestState, JoinToken, Member
    from lantai.preservation import locations

    locations.ensure_primary()
    assert alerts.deliver().sent == 0  # off the regional platform: no platform alert
    now = timezone.now()
    JoinToken.objects.create(
        node_code="B02", digest="1" * 64, created_by="test", expires_at=now, used_at=now
    )  # a hub: it issued one
    member = Member.objects.create(code="B02", name="乙县档案馆", url="http://b", public_key="00")
    HarvestState.objects.create(member=member, feed="marriage", last_success_at=now)
    alerts.deliver()
    opened = [json.loads(b) for _h, b in webhook.posts]
    assert [(p["key"].startswith("ops:"), p["event"], p["kind"]) for p in opened] == [
        (True, "open", "platform:harvest_missed:B02:catalogue")
    ]  # the marriage feed was harvested in time: no alert for it
    assert opened[0]["title"] == "全区平台告警：未按时收割"
    assert "B02" in opened[0]["message"] and "开放目录" in opened[0]["message"]
    assert alerts.deliver().sent == 0  # still missed: not sent again

    HarvestState.objects.create(member=member, feed="catalogue", last_success_at=timezone.now())
    alerts.deliver()
    assert [json.loads(b)["event"] for _h, b in webhook.posts] == ["open", "resolved"]
    assert json.loads(webhook.posts[1][1])["key"] == opened[0]["key"]


@pytest.mark.django_db
def test_cli_test_list_and_deliver(configured: None, settings: Any, smtp: _Inbox,
                                   webhook: _Receiver) -> None:  # fmt: skip
    from lantai.cli import main

    runner = CliRunner()
    done = runner.invoke(main, ["alerts", "test", "--json"])
    out = json.loads(done.stdout)
    assert done.exit_code == 0, done.stdout
    assert out["ok"] and [c["channel"] for c in out["channels"]] == ["mail", "webhook"]
    assert out["channels"][1]["signed"] is True and len(webhook.posts) == 1

    settings.ALERT_WEBHOOK_URL = f"http://user:pw@127.0.0.1:{_free_port()}/hook?key=k1"
    failed = runner.invoke(main, ["alerts", "test", "--json"])
    out = json.loads(failed.stdout)
    assert failed.exit_code == 1 and out["ok"] is False
    hook = out["channels"][1]
    assert (
        hook["ok"] is False
        and hook["error"]
        and "pw" not in hook["url"]
        and "k1" not in hook["url"]
    )

    _low_space()
    delivered = runner.invoke(main, ["alerts", "deliver", "--json"])
    assert delivered.exit_code == 1  # the webhook is down: said, and kept for later
    assert json.loads(delivered.stdout)["failed"] == 1
    listed = json.loads(runner.invoke(main, ["alerts", "list", "--json"]).stdout)
    assert [o["kind"] for o in listed["open"]] == ["low_space"]
    states = {(d["channel"], d["status"]) for d in listed["deliveries"]}
    assert states == {("mail", "sent"), ("webhook", "failed")}

    settings.ALERT_EMAILS, settings.ALERT_WEBHOOK_URL = [], ""
    none = runner.invoke(main, ["alerts", "test", "--json"])
    assert none.exit_code == 1 and "LANTAI_ALERT_WEBHOOK_URL" in json.loads(none.stdout)["error"]
