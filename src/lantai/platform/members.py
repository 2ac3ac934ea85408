"""Joining the platform and the signed member list.

At the hub an operator issues a one-time token for a node code (`lantai platform token`); the
token carries the start of the hub key's fingerprint, so the node pins the right hub when it
joins (`lantai platform join HUB_URL --token T`): it sends its SM2 public key, address and
certificate issuer keys, signed with that key; the hub checks the token, records the member and
answers with its signed member list. The member list names every current member with its key
and carries the provincial trust list of certificate issuer keys (certificates/lists.py)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import Any

import requests
from django.db import transaction
from django.utils import timezone

from lantai.catalog.services import default_repository
from lantai.core import audit, signing
from lantai.standards import platform_messages as pm

from . import log, peers, transport
from .models import JoinToken, Member, Membership

LIST_FORMAT = "lantai-member-list/1"
LIST_HOURS = 24
TOKEN_DAYS = 7
FINGERPRINT_CHARS = 32  # 128 bits of the hub key's SM3 fingerprint ride in the token


class JoinError(Exception):
    def __init__(self, code: str, message_zh: str, message_en: str, status: int = 400) -> None:
        super().__init__(message_zh)
        self.code, self.message_zh, self.message_en, self.status = code, message_zh, message_en, status  # fmt: skip


# ------------------------------------------------------------------------------------ hub side


def issue_token(node_code: str, *, actor: str, days: int = TOKEN_DAYS) -> str:
    if not pm._CODE.fullmatch(node_code) or node_code == peers.HUB:
        raise JoinError("code", f"节点代码“{node_code}”无效：1–32 位字母、数字、._-，且不能是 hub", f"the node code {node_code!r} is invalid: 1–32 letters, digits, . _ -, not 'hub'")  # fmt: skip
    if Member.objects.filter(code=node_code, left_at__isnull=True).exists():
        raise JoinError("taken", f"节点 {node_code} 已是平台成员", f"node {node_code} is already a member", 409)  # fmt: skip
    secret = secrets.token_urlsafe(24)  # no "." in it: the token splits at its first and last dot
    token = f"{peers.own_key().fingerprint[:FINGERPRINT_CHARS]}.{node_code}.{secret}"
    JoinToken.objects.create(node_code=node_code, digest=pm.sm3_hex(token.encode()),
                             expires_at=timezone.now() + timedelta(days=days), created_by=actor)  # fmt: skip
    audit.record("platform_token", "platform_member", node_code, {"days": days}, actor=actor)
    return token


def accept_join(application: Any) -> dict[str, Any]:
    """The hub's side of a join: the application is a statement signed by the joining key."""
    if not isinstance(application, dict):
        raise JoinError("form", "加入申请格式不符", "the application is malformed")
    need = {"token", "code", "name", "url", "public_key", "region", "issuer_keys", "pades_root"}
    if not need <= set(application):
        raise JoinError("form", f"加入申请缺少字段：{sorted(need - set(application))}", "the application lacks fields")  # fmt: skip
    key = str(application["public_key"])
    texts = ("token", "code", "name", "url", "public_key", "region", "pades_root")
    lists_ = ("issuer_keys", "status_lists")
    if not all(isinstance(application[k], str) for k in texts) or not all(
        isinstance(application.get(k, []), list)
        and all(isinstance(i, dict) for i in application.get(k, []))
        for k in lists_
    ):
        raise JoinError("form", "加入申请的字段类型不对", "the application's fields have the wrong types")  # fmt: skip
    try:
        pm.check_statement(application, {key}, signing.verify)
    except pm.MessageError as exc:
        raise JoinError("signature", "加入申请的签名无效", "the application's signature does not verify", 403) from exc  # fmt: skip
    with transaction.atomic():
        token = JoinToken.objects.select_for_update().filter(digest=pm.sm3_hex(str(application["token"]).encode())).first()  # fmt: skip
        if token is None or token.used_at is not None or token.expires_at < timezone.now():
            raise JoinError("token", "加入令牌无效、已用过或已过期", "the join token is unknown, used or expired", 403)  # fmt: skip
        if token.node_code != application["code"]:
            raise JoinError("token", f"令牌是发给节点 {token.node_code} 的", f"the token was issued for node {token.node_code}", 403)  # fmt: skip
        token.used_at = timezone.now()
        token.save(update_fields=["used_at"])
        Member.objects.update_or_create(
            code=token.node_code,
            defaults={"name": str(application["name"])[:200], "url": str(application["url"])[:300],
                      "public_key": key, "region": str(application["region"])[:100],
                      "issuer_keys": list(application["issuer_keys"]),
                      "pades_root": str(application["pades_root"]), "left_at": None,
                      "status_lists": [s for s in application.get("status_lists") or [] if isinstance(s, dict)],
                      "last_contact_at": timezone.now()},
        )  # fmt: skip
        audit.record("platform_join", "platform_member", token.node_code,
                     {"url": application["url"], "key": signing.fingerprint(key)[:16]}, actor="platform")  # fmt: skip
    from . import trust

    trust.republish()  # the new member's issuer keys go on the provincial trust list
    return {"member_list": member_list(), "hub_public_key": peers.own_key().public_key_hex}


def remove_member(code: str, *, actor: str, reason: str) -> None:
    """Take a node off the member list: its key verifies no message from now on."""
    updated = Member.objects.filter(code=code, left_at__isnull=True).update(left_at=timezone.now())
    if not updated:
        raise JoinError("unknown", f"没有在册的节点 {code}", f"no current member {code}", 404)
    audit.record("platform_leave", "platform_member", code, {"reason": reason}, actor=actor)


def member_list() -> dict[str, Any]:
    """The hub's signed member list (made fresh: it is small, and always current)."""
    from . import trust

    now = timezone.now()
    body = {
        "format": LIST_FORMAT, "issued": log.now_iso(now),
        "next_update": log.now_iso(now + timedelta(hours=LIST_HOURS)),
        "members": [
            {"code": m.code, "name": m.name, "url": m.url, "public_key": m.public_key, "region": m.region}
            for m in Member.objects.filter(left_at__isnull=True).order_by("code")
        ],
        "province_root": trust.province_root(),
        "trust_list": trust.provincial_trust_list(),
        "status_lists": trust.member_status_lists(),
    }  # fmt: skip
    key = peers.own_key()
    return pm.sign_statement(body, key.public_key_hex, key.sign)


# ----------------------------------------------------------------------------------- node side


def application(token: str, code: str, url: str) -> dict[str, Any]:
    from . import trust

    repo = default_repository()
    key = peers.own_key()
    issuer_keys, pades_root = trust.own_issuer_rows()
    body = {"token": token, "code": code, "name": repo.name, "url": url.rstrip("/"),
            "public_key": key.public_key_hex, "region": repo.region, "issuer_keys": issuer_keys,
            "pades_root": pades_root, "status_lists": trust.own_status_lists()}  # fmt: skip
    return pm.sign_statement(body, key.public_key_hex, key.sign)


def parse_token(token: str) -> tuple[str, str]:
    """(the hub key's fingerprint prefix, the node code) of a join token (JoinError if malformed)."""
    pin, _sep, rest = token.strip().partition(".")
    code, _sep2, secret = rest.rpartition(".")
    if len(pin) != FINGERPRINT_CHARS or not pm._CODE.fullmatch(code or "-") or not secret:
        raise JoinError("token", "加入令牌格式不对：应为平台中心给出的“指纹.节点代码.密钥”", "the join token is malformed: use the 'fingerprint.code.secret' the hub gave", 2)  # fmt: skip
    return pin, code


def join(hub_url: str, token: str, *, url: str, actor: str) -> Membership:
    """Join the hub at ``hub_url`` as the node the token was issued for. The hub's key is checked
    against the token's fingerprint before the token is sent anywhere."""
    if peers.membership() is not None:
        raise JoinError("joined", "本馆已加入全区平台", "this archives has already joined the platform", 409)  # fmt: skip
    pin, code = parse_token(token)
    hub_url = hub_url.rstrip("/")
    listed = _hub_list(hub_url, pin)
    hub_key = str(listed["signer"])
    try:
        response = transport.http().post(hub_url + "/platform/join", json=application(token.strip(), code, url), timeout=(3.05, 60))  # fmt: skip
    except requests.RequestException as exc:
        raise JoinError("unreachable", f"无法连接平台中心 {hub_url}：{exc}", f"cannot reach the hub at {hub_url}: {exc}", 3) from exc  # fmt: skip
    answer = _json(response)
    if response.status_code != 200:
        err = answer.get("error", {})
        raise JoinError(str(err.get("code", "refused")), str(err.get("message", response.text[:200])), str(err.get("message_en", "refused")), 1)  # fmt: skip
    if answer.get("hub_public_key") != hub_key:
        raise JoinError("hub_key", "平台中心答复所用的密钥与其成员名单不符", "the hub answered with another key than its member list's", 1)  # fmt: skip
    listed = _checked_list(answer.get("member_list"), hub_key)
    m = Membership.objects.create(code=code, name=default_repository().name, url=url.rstrip("/"),
                                  hub_url=hub_url, hub_public_key=hub_key,
                                  member_list=listed, member_list_at=timezone.now())  # fmt: skip
    from . import trust

    trust.adopt(listed)
    audit.record("platform_joined", "platform_member", code, {"hub": hub_url}, actor=actor)
    return m


def _hub_list(hub_url: str, pin: str) -> dict[str, Any]:
    """The hub's signed member list, its signer checked against the token's fingerprint."""
    try:
        response = transport.http().get(hub_url + "/platform/members", timeout=(3.05, 30))
    except requests.RequestException as exc:
        raise JoinError("unreachable", f"无法连接平台中心 {hub_url}：{exc}", f"cannot reach the hub at {hub_url}: {exc}", 3) from exc  # fmt: skip
    listed = _json(response).get("member_list")
    key = listed.get("signer") if isinstance(listed, dict) else None
    if not (isinstance(key, str) and re.fullmatch(r"04[0-9a-f]{128}", key)) or signing.fingerprint(key)[:FINGERPRINT_CHARS] != pin:  # fmt: skip
        raise JoinError("hub_key", "平台中心的密钥与令牌中的指纹不符：可能连到了冒充的中心，令牌未发送", "the hub's key does not match the token's fingerprint: possibly an impostor; the token was not sent", 1)  # fmt: skip
    return _checked_list(listed, key)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _checked_list(listed: Any, hub_key: str) -> dict[str, Any]:
    try:
        body = pm.check_statement(listed, {hub_key}, signing.verify)
    except pm.MessageError as exc:
        raise JoinError("member_list", "成员名单的签名无效", "the member list's signature does not verify", 1) from exc  # fmt: skip
    if body.get("format") != LIST_FORMAT:
        raise JoinError(
            "member_list", "成员名单格式不符", "the member list has the wrong format", 1
        )
    return body


def fetch_list(m: Membership) -> str:
    """Take the hub's newest member list ('' when done, else why not)."""
    from . import trust

    try:
        response = transport.http().get(m.hub_url + "/platform/members", timeout=(3.05, 30))
        listed = _checked_list(_json(response).get("member_list"), m.hub_public_key)
    except (requests.RequestException, JoinError) as exc:
        return str(exc)[:300]
    if str(listed.get("issued", "")) < str(m.member_list.get("issued", "")):
        return "平台中心给出的成员名单比本馆已有的旧：未采用（可能是重放）"
    Membership.objects.filter(pk=m.pk).update(member_list=listed, member_list_at=timezone.now())
    m.member_list = listed
    trust.adopt(listed)
    return ""


def refresh() -> dict[str, Any]:
    """Send the hub this node's news (issuer keys, status lists), then take its member list (which
    then names those keys), then have the log head time-stamped. Returns what happened; the hub
    being down is not an error here (the node goes on with the list it has)."""
    from . import anchors, trust

    m = peers.membership()
    if m is None:
        raise peers.NotJoined()
    outcome: dict[str, Any] = {"member_list": False, "anchored": False}
    issuer_keys, pades_root = trust.own_issuer_rows()
    try:
        transport.send(peers.HUB, "node_update", {"url": m.url, "issuer_keys": issuer_keys,
                       "pades_root": pades_root, "status_lists": trust.own_status_lists()}, queue=False)  # fmt: skip
    except (transport.Unreachable, transport.Refused, pm.MessageError) as exc:
        outcome["error"] = str(exc)[:300]
        return outcome
    problem = fetch_list(m)
    if problem:
        outcome["error"] = problem
        return outcome
    outcome["member_list"] = True
    try:
        outcome["anchored"] = anchors.anchor() is not None
    except (transport.Unreachable, transport.Refused, pm.MessageError) as exc:
        outcome["error"] = str(exc)[:300]
    return outcome
