"""Who is who on the platform: this installation's code and key, the hub, and the keys the
member list gives every other node. A key that left the member list verifies nothing."""

from __future__ import annotations

from dataclasses import dataclass

from lantai.core import signing

from .models import JoinToken, Member, Membership

HUB = "hub"  # the hub's code in messages (one hub per region)


@dataclass(frozen=True)
class Peer:
    code: str
    url: str
    public_key: str
    name: str = ""


def own_key() -> signing.SigningKey:
    return signing.archive_key()


def membership() -> Membership | None:
    return Membership.objects.first()


def is_hub() -> bool:
    """An installation is a hub once it has issued a join token (members.issue_token)."""
    return JoinToken.objects.exists()


def own_code(as_hub: bool = False) -> str:
    """The code this installation signs as: 'hub' for the hub's own work, else its member code."""
    if as_hub:
        return HUB
    m = membership()
    if m is None:
        raise NotJoined()
    return m.code


class NotJoined(LookupError):
    def __init__(self) -> None:
        super().__init__(
            "本馆尚未加入全区平台：先在平台中心领取加入令牌，再运行 lantai platform join"
        )


def peer(code: str) -> Peer | None:
    """A current member (or the hub) by code, from the hub's own table or the member list."""
    if code == HUB:
        m = membership()
        if m is not None:
            return Peer(HUB, m.hub_url, m.hub_public_key, "hub")
        if is_hub():
            return Peer(HUB, "", own_key().public_key_hex, "hub")
        return None
    if is_hub():
        row = Member.objects.filter(code=code, left_at__isnull=True).first()
        if row is not None:
            return Peer(row.code, row.url, row.public_key, row.name)
        if Member.objects.filter(code=code).exists():
            return None  # left: refused even if a stale member list still names it
    m = membership()
    if m is not None:
        for row in m.member_list.get("members", []):
            if row.get("code") == code:
                return Peer(row["code"], row["url"], row["public_key"], row.get("name", ""))
    return None
