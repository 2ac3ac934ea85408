"""Which function answers which message kind (transport.handles)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from . import anchors, transport, trust
from .models import Member


def _node_update(message: dict[str, Any]) -> dict[str, Any]:
    """A member's news; rows the trust list cannot take are refused (400), nothing is kept."""
    from lantai.standards import certificate_lists

    body = message["body"]
    rows = body.get("issuer_keys", [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise transport.Refused("malformed", "出证密钥应为列表", "issuer_keys must be a list", 400)
    Member.objects.filter(code=message["from"]).update(
        url=str(body.get("url", ""))[:300] or Member.objects.get(code=message["from"]).url,
        issuer_keys=[r for r in body.get("issuer_keys", []) if isinstance(r, dict)],
        pades_root=str(body.get("pades_root", "")),
        status_lists=[s for s in body.get("status_lists", []) if isinstance(s, dict)],
        last_contact_at=timezone.now(),
    )  # fmt: skip
    try:  # inside the inbox's transaction: a refusal undoes the update
        trust.republish()
    except certificate_lists.ListError as exc:
        raise transport.Refused("issuer_keys", f"出证密钥无法列入信任列表：{exc.message_zh}", f"the issuer keys cannot go on the trust list: {exc.message_en}", 400) from exc  # fmt: skip
    return {"ok": True}


def _ping(message: dict[str, Any]) -> dict[str, Any]:
    """A signed echo: the health check and the round-trip benchmark."""
    return {"pong": message["id"], "at": timezone.now().isoformat()}


def register() -> None:
    transport.handles("ping", hub=True)(_ping)
    transport.handles("ping")(_ping)
    transport.handles("node_update", hub=True)(_node_update)
    transport.handles("anchor", hub=True)(anchors.hub_anchor)
    transport.handles("anchor_stamps", hub=True)(anchors.hub_list_stamps)


def load_all() -> None:
    """The modules that register the other kinds, imported when the first message arrives (not at
    start-up: the hub's index pulls in the pinyin tables)."""
    from . import feeds, hub_search, remote  # noqa: F401
