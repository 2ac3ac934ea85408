"""The hub's harvests of its members (the open catalogue over OAI-PMH, the marriage index over
signed messages), and the region-wide public search as any node reaches it."""

from __future__ import annotations

from typing import Any

import requests

from . import peers, transport
from .models import Member


class HarvestError(Exception):
    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.code, self.message_zh, self.message_en = code, message_zh, message_en


def harvest(node_code: str | None = None, *, full: bool = False, feed: str = "all") -> list[dict[str, Any]]:  # fmt: skip
    from . import harvest_catalogue, harvest_marriage

    if not peers.is_hub():
        raise HarvestError("not_hub", "只有平台中心收割各节点", "only the hub harvests the nodes")
    members = Member.objects.filter(left_at__isnull=True).order_by("code")
    if node_code is not None:
        members = members.filter(code=node_code)
        if not members.exists():
            raise HarvestError("unknown", f"没有在册的节点 {node_code}", f"no current member {node_code}")  # fmt: skip
    runs: list[dict[str, Any]] = []
    for member in members:
        if feed in ("all", "catalogue"):
            runs.append({"node": member.code, "feed": "catalogue", **harvest_catalogue.harvest(member, full=full)})  # fmt: skip
        if feed in ("all", "marriage"):
            runs.append(harvest_marriage.harvest(member, full=full))
    return runs


def public_search(query: str, archives: list[str], page: int = 1) -> dict[str, Any]:
    """On the hub, its index; on a node, the hub's public search API."""
    if not query.strip():
        raise HarvestError("query", "请输入检索词", "enter a search term")
    if peers.is_hub():
        from . import hub_index

        try:
            return hub_index.search(query, archives=archives or None, page=page)
        except hub_index.HubSearchError as exc:
            raise HarvestError("query", exc.message_zh, exc.message_en) from exc
    m = peers.membership()
    if m is None:
        raise HarvestError("not_joined", "本馆尚未加入全区平台", "this archives has not joined the platform")  # fmt: skip
    try:
        response = transport.http().get(m.hub_url + "/platform/api/search", params={"q": query, "archives": list(archives), "page": str(page)}, timeout=(3.05, 30))  # fmt: skip
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise HarvestError("unreachable", f"无法连接平台中心：{exc}", f"cannot reach the hub: {exc}") from exc  # fmt: skip
    if response.status_code != 200 or not isinstance(data, dict):
        raise HarvestError("hub", f"平台中心检索失败（HTTP {response.status_code}）", f"the hub's search failed (HTTP {response.status_code})")  # fmt: skip
    return data
