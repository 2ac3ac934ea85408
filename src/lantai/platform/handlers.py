"""Which function answers which message kind (transport.handles)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from . import anchors, transport, trust
from .models import Member


def _node_update(message: dict[str, Any]) -> dict[str, Any]:
    body = message["body"]
    Member.objects.filter(code=message["from"]).update(
        url=str(body.get("url", ""))[:300] or Member.objects.get(code=message["from"]).url,
        issuer_keys=[r for r in body.get("issuer_keys", []) if isinstance(r, dict)],
        pades_root=str(body.get("pades_root", "")),
        status_lists=[s for s in body.get("status_lists", []) if isinstance(s, dict)],
        last_contact_at=timezone.now(),
    )  # fmt: skip
    trust.republish()
    return {"ok": True}


def _ping(message: dict[str, Any]) -> dict[str, Any]:
    """A signed echo: the health check and the round-trip benchmark."""
    return {"pong": message["id"], "at": timezone.now().isoformat()}


def register() -> None:
    transport.handles("ping", hub=True)(_ping)
    transport.handles("ping")(_ping)
    transport.handles("node_update", hub=True)(_node_update)
    transport.handles("anchor", hub=True)(anchors.hub_anchor)


def load_all() -> None:
    """The modules that register the other kinds, imported when the first message arrives (not at
    start-up: the hub's index pulls in the pinyin tables)."""
    from . import feeds, hub_search, remote  # noqa: F401
