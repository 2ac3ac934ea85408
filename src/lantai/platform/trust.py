"""The certificates side of the platform: the hub's provincial trust list names every member's
certificate issuer keys (signed by the provincial root the hub holds); every node adopts it with
the other members' status lists, so a certificate issued by any archives verifies at any other,
offline (certificates/lists.py)."""

from __future__ import annotations

from typing import Any

from lantai.certificates import keys, lists
from lantai.core import signing
from lantai.core.key_files import keys_dir

from .models import Member


def _member_rows() -> tuple[list[dict[str, Any]], list[str]]:
    """Every member's issuer keys. A member cannot claim a key or an archives another member (or
    the hub) has claimed first: the key id must be its key's fingerprint, and the archives codes
    and key ids already on the list stay with their first owner."""
    from lantai.certificates.models import IssuerKey

    rows: list[dict[str, Any]] = []
    roots: list[str] = []
    own = IssuerKey.objects.select_related("repository")
    keys_taken = set(own.values_list("key_id", flat=True))
    archives_taken = set(own.values_list("repository__code", flat=True))
    for m in Member.objects.filter(left_at__isnull=True).order_by("joined_at", "code"):
        mine: set[str] = set()
        for r in m.issuer_keys:
            key, key_id, code = str(r.get("public_key", "")), str(r.get("key_id", "")), str(r.get("repository_code", ""))  # fmt: skip
            try:
                genuine = signing.fingerprint(key)[:16] == key_id
            except ValueError:
                genuine = False
            if not genuine or key_id in keys_taken or (code in archives_taken and code not in mine):
                continue
            rows.append(r)
            keys_taken.add(key_id)
            mine.add(code)
        archives_taken |= mine
        if m.pades_root:
            roots.append(m.pades_root)
    return rows, roots


def register() -> None:
    """Called when the app is ready: the hub's trust list includes its members."""
    lists.add_member_source(_member_rows)


def provincial_trust_list() -> dict[str, Any]:
    return lists.trust_list()


def member_status_lists() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in Member.objects.filter(left_at__isnull=True).order_by("code"):
        out += [s for s in m.status_lists if isinstance(s, dict)]
    return out


def own_issuer_rows() -> tuple[list[dict[str, Any]], str]:
    from lantai.catalog.services import default_repository
    from lantai.certificates import x509

    keys.signing_key(default_repository())  # the key that will sign: on the list before it signs
    return lists.issuer_rows(), x509.root_certificate_pem(keys_dir()).decode("ascii")


def own_status_lists() -> list[dict[str, Any]]:
    return lists.all_status_lists()


def republish() -> None:
    """The members changed (joined, left, new keys): the next trust list is made now."""
    lists.publish_trust_list()


def adopt(member_list: dict[str, Any]) -> None:
    """Keep the provincial lists from a member list already checked against the hub's key."""
    root = str(member_list.get("province_root", ""))
    trust = member_list.get("trust_list")
    if len(root) != 130 or not isinstance(trust, dict):
        return
    statuses = [s for s in member_list.get("status_lists", []) if isinstance(s, dict)]
    lists.adopt(trust, statuses, root)


def province_root() -> str:
    return keys.root_key().public_key_hex


def keys_changed(sender: Any, **kwargs: Any) -> None:
    """An issuer key was made or changed: once committed, send this node's keys to the hub and
    take the new list (a queued job; nothing when this installation has not joined)."""
    from django.db import transaction

    from .models import Membership

    if Membership.objects.exists():
        from .tasks import refresh_now

        transaction.on_commit(refresh_now)
