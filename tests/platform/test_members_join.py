"""Joining (platform/members.py) against hostile input: token rules at the hub, applications with
a used, expired or another node's token, a bad signature or a missing field, and a node joining a
"hub" (a tiny local HTTP server) whose key is not the one the token pins."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from lantai.core import signing
from lantai.platform import members, peers
from lantai.platform.models import JoinToken, Member, Membership
from lantai.standards import platform_messages as pm

pytestmark = pytest.mark.django_db

NODE = signing.SigningKey.generate()


def application(token: str, code: str = "B02", key: signing.SigningKey = NODE, **extra: Any) -> dict[str, Any]:  # fmt: skip
    body = {"token": token, "code": code, "name": "乙县档案馆", "url": "http://b02.invalid",
            "public_key": key.public_key_hex, "region": "岭南省", "issuer_keys": [],
            "pades_root": "", **extra}  # fmt: skip
    return pm.sign_statement(body, key.public_key_hex, key.sign)


def join_error(fn: Callable[[], Any], code: str) -> members.JoinError:
    with pytest.raises(members.JoinError) as caught:
        fn()
    assert caught.value.code == code, (caught.value.code, caught.value.message_en)
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


# ------------------------------------------------------------------------------ hub: tokens


@pytest.mark.parametrize("code", ["", "hub", "-x", "a" * 33, "中文", "a b"])
def test_a_token_for_a_bad_code_is_refused(code: str) -> None:
    join_error(lambda: members.issue_token(code, actor="t"), "code")
    assert not JoinToken.objects.exists()


def test_a_token_carries_the_hub_fingerprint_and_only_its_digest_is_kept() -> None:
    token = members.issue_token("B02", actor="t")
    pin, code, secret = token.split(".")
    assert pin == peers.own_key().fingerprint[: members.FINGERPRINT_CHARS] and len(secret) >= 32
    assert code == "B02" and members.parse_token(token) == (pin, "B02")
    row = JoinToken.objects.get()
    assert row.digest == pm.sm3_hex(token.encode()) and secret not in row.digest


def test_no_token_for_a_current_member_but_one_after_it_left() -> None:
    Member.objects.create(code="B02", name="乙", url="u", public_key=NODE.public_key_hex)
    assert join_error(lambda: members.issue_token("B02", actor="t"), "taken").status == 409
    Member.objects.update(left_at=timezone.now())
    assert members.issue_token("B02", actor="t")


# ------------------------------------------------------------------------ hub: applications


def test_a_good_application_joins_once() -> None:
    token = members.issue_token("B02", actor="t")
    answer = members.accept_join(application(token))
    listed = pm.check_statement(answer["member_list"], {peers.own_key().public_key_hex}, signing.verify)  # fmt: skip
    assert [m["code"] for m in listed["members"]] == ["B02"]
    assert Member.objects.get(code="B02").public_key == NODE.public_key_hex
    join_error(lambda: members.accept_join(application(token)), "token")  # used


def test_an_expired_token_is_refused() -> None:
    token = members.issue_token("B02", actor="t")
    JoinToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    join_error(lambda: members.accept_join(application(token)), "token")
    assert not Member.objects.exists()


def test_another_nodes_token_or_an_unknown_token_is_refused() -> None:
    token = members.issue_token("B02", actor="t")
    join_error(lambda: members.accept_join(application(token, code="C03")), "token")
    join_error(lambda: members.accept_join(application(token + "x")), "token")
    assert JoinToken.objects.get().used_at is None and not Member.objects.exists()


def test_a_bad_signature_is_refused_before_the_token_is_spent() -> None:
    token = members.issue_token("B02", actor="t")
    other = signing.SigningKey.generate()
    forged = {**application(token), "url": "http://evil.invalid"}
    by_other = {**application(token, key=other), "public_key": NODE.public_key_hex}
    for app in (forged, by_other):
        assert join_error(lambda app=app: members.accept_join(app), "signature").status == 403
    assert JoinToken.objects.get().used_at is None


@pytest.mark.parametrize("missing", ["token", "code", "name", "url", "public_key", "region", "issuer_keys", "pades_root"])  # fmt: skip
def test_a_missing_field_is_a_form_error(missing: str) -> None:
    token = members.issue_token("B02", actor="t")
    app = {k: v for k, v in application(token).items() if k != missing}
    join_error(lambda: members.accept_join(app), "form")


@pytest.mark.parametrize("bad", [None, [], "x", 1])
def test_an_application_that_is_no_object_is_a_form_error(bad: Any) -> None:
    join_error(lambda: members.accept_join(bad), "form")


def test_an_application_with_a_malformed_key_is_refused_not_raised() -> None:
    token = members.issue_token("B02", actor="t")
    app = pm.sign_statement({**{k: v for k, v in application(token).items() if k not in ("signer", "signature")}, "public_key": "zz"}, "zz", NODE.sign)  # fmt: skip
    join_error(lambda: members.accept_join(app), "signature")


def test_issuer_keys_that_are_no_list_are_a_form_error() -> None:
    token = members.issue_token("B02", actor="t")
    join_error(lambda: members.accept_join(application(token, issuer_keys=5)), "form")


# -------------------------------------------------------------------------- node: a false hub


class _Hub(BaseHTTPRequestHandler):
    """A "hub" whose answers the test writes: GET /platform/members and POST /platform/join."""

    answers: dict[str, Any]
    seen: list[str]

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        body = json.dumps(type(self).answers.get(self.path, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        self._answer()

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self._answer()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def false_hub() -> Iterator[tuple[str, type[_Hub]]]:
    handler = type("FalseHub", (_Hub,), {"answers": {}, "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _list(key: signing.SigningKey, signer: str | None = None) -> dict[str, Any]:
    body = {"format": members.LIST_FORMAT, "issued": "2026-12-07T00:00:00.000000Z", "members": []}
    return pm.sign_statement(body, signer or key.public_key_hex, key.sign)


def _token(hub: signing.SigningKey, code: str = "A01") -> str:
    return f"{hub.fingerprint[: members.FINGERPRINT_CHARS]}.{code}.secret-part"


def _join(url: str, token: str) -> Any:
    return lambda: members.join(url, token, url="http://a01.invalid", actor="t")


def test_a_hub_whose_key_does_not_match_the_token_never_sees_the_token(false_hub: tuple[str, type[_Hub]]) -> None:  # fmt: skip
    url, handler = false_hub
    real_hub, impostor = signing.SigningKey.generate(), signing.SigningKey.generate()
    handler.answers.update({"/platform/members": {"member_list": _list(impostor)},
                            "/platform/join": {"hub_public_key": impostor.public_key_hex, "member_list": _list(impostor)}})  # fmt: skip
    join_error(_join(url, _token(real_hub)), "hub_key")
    assert handler.seen == ["GET /platform/members"]  # the token was not posted
    assert not Membership.objects.exists()


@pytest.mark.parametrize("signer", ["zz" * 65, "04" + "A" * 128, "", None])
def test_a_hub_key_that_is_malformed_is_refused(false_hub: tuple[str, type[_Hub]], signer: Any) -> None:  # fmt: skip
    url, handler = false_hub
    real_hub = signing.SigningKey.generate()
    handler.answers["/platform/members"] = {"member_list": {**_list(real_hub), "signer": signer}}
    join_error(_join(url, _token(real_hub)), "hub_key")
    assert handler.seen == ["GET /platform/members"]


def test_a_pinned_list_with_a_bad_signature_is_refused_before_the_token_is_sent(false_hub: tuple[str, type[_Hub]]) -> None:  # fmt: skip
    url, handler = false_hub
    real_hub, other = signing.SigningKey.generate(), signing.SigningKey.generate()
    handler.answers["/platform/members"] = {"member_list": _list(other, real_hub.public_key_hex)}
    join_error(_join(url, _token(real_hub)), "member_list")
    assert handler.seen == ["GET /platform/members"]


def test_a_join_answer_under_another_key_is_refused(false_hub: tuple[str, type[_Hub]]) -> None:
    url, handler = false_hub
    real_hub, impostor = signing.SigningKey.generate(), signing.SigningKey.generate()
    handler.answers.update({"/platform/members": {"member_list": _list(real_hub)},
                            "/platform/join": {"hub_public_key": impostor.public_key_hex, "member_list": _list(impostor)}})  # fmt: skip
    join_error(_join(url, _token(real_hub)), "hub_key")
    handler.answers["/platform/join"] = {"hub_public_key": real_hub.public_key_hex, "member_list": _list(impostor, real_hub.public_key_hex)}  # fmt: skip
    join_error(_join(url, _token(real_hub)), "member_list")
    assert not Membership.objects.exists()


def test_a_malformed_token_is_refused_before_any_contact(false_hub: tuple[str, type[_Hub]]) -> None:  # fmt: skip
    url, handler = false_hub
    pin = "a" * members.FINGERPRINT_CHARS
    for token in ("no-dot", "short.A01.secret", f"{pin}.A01.", f"{pin}..secret", f"{pin}.-bad.secret", f"{pin}.secret"):  # fmt: skip
        join_error(_join(url, token), "token")
    assert handler.seen == []


# ------------------------------------------------------------------- what members may claim


def test_a_member_cannot_claim_another_members_issuer_key() -> None:
    from lantai.platform import handlers, trust

    JoinToken.objects.create(node_code="x", digest="1" * 64, expires_at=timezone.now(), created_by="t")  # fmt: skip
    b02_row = {"key_id": NODE.fingerprint[:16], "public_key": NODE.public_key_hex,
               "repository_code": "450123", "archives": "北川县档案馆"}  # fmt: skip
    Member.objects.create(code="B02", name="北川县档案馆", url="u", public_key=NODE.public_key_hex, issuer_keys=[b02_row])  # fmt: skip
    other = signing.SigningKey.generate()
    Member.objects.create(code="A00", name="甲", url="u", public_key=other.public_key_hex)
    Member.objects.filter(code="A00").update(
        joined_at=timezone.now() + timedelta(seconds=1)
    )  # joined later
    stolen_id = {**b02_row, "public_key": other.public_key_hex}  # B02's key id, A00's key
    stolen_archives = {
        **b02_row,
        "key_id": other.fingerprint[:16],
        "public_key": other.public_key_hex,
    }
    message = {"from": "A00", "body": {"url": "", "issuer_keys": [stolen_id, stolen_archives], "pades_root": "", "status_lists": []}}  # fmt: skip
    with contextlib.suppress(Exception):  # refusing the claim is a right answer too
        handlers._node_update(message)
    rows, _roots = trust._member_rows()
    published: dict[str, dict[str, Any]] = {}
    for r in rows:
        published.setdefault(r["key_id"], r)  # as lists.publish_trust_list keeps them
    assert published[b02_row["key_id"]] == b02_row
    assert all(r["public_key"] != other.public_key_hex or r["repository_code"] != "450123" for r in rows)  # fmt: skip


class _ListHub(BaseHTTPRequestHandler):
    listed: dict[str, Any]

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps({"member_list": type(self).listed}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_an_older_member_list_does_not_replace_a_newer_one() -> None:
    hub_key = signing.SigningKey.generate()

    def signed_list(issued: str, codes: list[str]) -> dict[str, Any]:
        body = {"format": members.LIST_FORMAT, "issued": issued, "next_update": issued,
                "members": [{"code": c, "name": c, "url": "u", "public_key": NODE.public_key_hex} for c in codes]}  # fmt: skip
        return pm.sign_statement(body, hub_key.public_key_hex, hub_key.sign)

    newer = signed_list("2026-12-07T00:00:00.000000Z", ["A01"])  # B02 was removed
    older = signed_list("2026-12-01T00:00:00.000000Z", ["A01", "B02"])
    handler = type("ListHub", (_ListHub,), {"listed": older})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        Membership.objects.create(code="A01", name="甲", url="http://a01.invalid",
                                  hub_url=f"http://127.0.0.1:{server.server_address[1]}",
                                  hub_public_key=hub_key.public_key_hex, member_list=newer,
                                  member_list_at=timezone.now())  # fmt: skip
        members.refresh()
    finally:
        server.shutdown()
        server.server_close()
    assert peers.peer("B02") is None
