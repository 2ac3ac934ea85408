"""The signed lists verifiers need offline (formats: docs/formats/certificate-payload-1.0.md).

- The trust list: every issuer key of the province with its archives, signing period, validity and
  withdrawal, and the roots of the PAdES signatures, signed by the provincial root key.
  Republished when it is next handed out after a key was made, rotated or withdrawn.
- A status list per archives: one bit per certificate index, set when the certificate is revoked,
  signed by the archives' current issuer key. Republished when it is next handed out after a
  revocation, and at least daily (certificates/tasks.py), so a verifier can tell how old its
  copy is. Lists are published when asked for, not after commit: a failed hook cannot leave a
  verifier with a list that misses a change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Max
from django.utils import timezone

from lantai.catalog.models import Repository
from lantai.core.key_files import keys_dir
from lantai.standards import certificate_lists

from . import keys, x509
from .models import AdoptedLists, Certificate, IssuerKey, PublishedList

TRUST_FORMAT = "lantai-trust-list/1"
STATUS_FORMAT = "lantai-status-list/1"
TRUST_LIST_DAYS = 1  # a withdrawn key reaches every verifier within two days (stale one day after)
STATUS_LIST_HOURS = 24
MIN_STATUS_BITS = 131_072  # W3C Bitstring Status List's minimum: one revocation hides in the crowd


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(at: datetime) -> str:
    """Signing periods are whole days (UTC) in the trust list."""
    return at.astimezone(UTC).date().isoformat()


def _province() -> str:
    """The province the list speaks for: the default archives' region (or name)."""
    home = Repository.objects.filter(is_default=True).first() or Repository.objects.first()
    return (home.region or home.name) if home is not None else "（尚未建立档案馆）"


# Sources of other archives' issuer keys and PAdES roots for the trust list: the platform hub
# registers its members here (platform/trust.py); certificates does not know the platform.
MemberSource = Callable[[], tuple[list[dict[str, Any]], list[str]]]
_member_sources: list[MemberSource] = []


def add_member_source(source: MemberSource) -> None:
    if source not in _member_sources:
        _member_sources.append(source)


def issuer_rows() -> list[dict[str, Any]]:
    """This installation's issuer keys as trust-list rows."""
    return [
        {
            "key_id": k.key_id,
            "public_key": k.public_key,
            "repository_code": k.repository.code,
            "archives": k.repository.name,
            "not_before": _day(k.not_before),
            "not_after": _day(k.not_after),
            "valid_until": _iso(k.valid_until),
            "withdrawn_at": _iso(k.withdrawn_at),
            "compromised_since": _iso(k.compromised_since),
        }  # fmt: skip
        for k in IssuerKey.objects.select_related("repository").order_by("pk")
    ]


def publish_trust_list(now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    issuers = issuer_rows()
    pades_roots = [x509.root_certificate_pem(keys_dir()).decode("ascii")]
    for source in _member_sources:
        rows, roots = source()
        known = {i["key_id"] for i in issuers}
        issuers += [r for r in rows if r.get("key_id") not in known]
        pades_roots += [r for r in roots if r not in pades_roots]
    sequence = (PublishedList.objects.filter(kind="trust").aggregate(m=Max("sequence"))["m"] or 0) + 1  # fmt: skip
    body = {
        "province": _province(), "issued": _iso(now),
        "next_update": _iso(now + timedelta(days=TRUST_LIST_DAYS)), "sequence": sequence,
        "issuers": issuers,
        "pades_roots": pades_roots,
    }  # fmt: skip
    envelope = certificate_lists.seal(TRUST_FORMAT, body, keys.root_key())
    PublishedList.objects.create(kind="trust", sequence=sequence, envelope=envelope, issued_at=now)
    return envelope


def trust_list(now: datetime | None = None) -> dict[str, Any]:
    """The newest trust list, published anew when a key changed since, or it is past its update
    time."""
    now = now or timezone.now()
    latest = PublishedList.objects.filter(kind="trust").order_by("-issued_at", "-pk").first()
    if (
        latest is None
        or latest.issued_at + timedelta(days=TRUST_LIST_DAYS) <= now
        or IssuerKey.objects.filter(updated_at__gte=latest.issued_at).exists()
    ):
        return publish_trust_list(now)
    envelope: dict[str, Any] = latest.envelope
    return envelope


def publish_status_list(repository: Repository, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    certificates = Certificate.objects.filter(repository=repository)
    top = certificates.aggregate(m=Max("status_index"))["m"]
    size = max(MIN_STATUS_BITS, ((top or 0) // 8 + 1) * 8)
    revoked = certificates.filter(revoked_at__isnull=False).values_list("status_index", flat=True)
    sequence = (
        PublishedList.objects.filter(kind="status", repository=repository).aggregate(
            m=Max("sequence")
        )["m"] or 0
    ) + 1  # fmt: skip
    body = {
        "repository_code": repository.code, "issued": _iso(now),
        "next_update": _iso(now + timedelta(hours=STATUS_LIST_HOURS)), "size": size,
        "bits": certificate_lists.make_bitstring(size, revoked),
    }  # fmt: skip
    issuer = keys.signing_key(repository, now)
    envelope = certificate_lists.seal(STATUS_FORMAT, body, keys.private_key(issuer))
    PublishedList.objects.create(
        kind="status", repository=repository, sequence=sequence, envelope=envelope, issued_at=now
    )
    return envelope


def status_list(repository: Repository, now: datetime | None = None) -> dict[str, Any]:
    """The newest status list of ``repository``, published anew when it is past its update time
    or misses a revocation: this installation never hands out a list older than a day, nor one
    that leaves out a confirmed revocation."""
    now = now or timezone.now()
    latest = (
        PublishedList.objects.filter(kind="status", repository=repository)
        .order_by("-issued_at", "-pk")
        .first()
    )
    if (
        latest is None
        or latest.issued_at + timedelta(hours=STATUS_LIST_HOURS) <= now
        # a revocation since, or a change of the keys (the signer may be withdrawn)
        or Certificate.objects.filter(
            repository=repository, revoked_at__gte=latest.issued_at
        ).exists()
        or IssuerKey.objects.filter(
            repository=repository, updated_at__gte=latest.issued_at
        ).exists()
    ):
        return publish_status_list(repository, now)
    envelope: dict[str, Any] = latest.envelope
    return envelope


def all_status_lists(now: datetime | None = None) -> list[dict[str, Any]]:
    holders = Repository.objects.filter(pk__in=IssuerKey.objects.values("repository"))
    return [status_list(r, now) for r in holders.order_by("code")]


def current(now: datetime | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The trust list and every status list, as a verifier needs them together: the status lists
    first, since publishing one may start an archives' next issuer key, which changes the trust
    list. On a platform member, the provincial trust list the hub handed out (it names every
    member's keys) with the other members' status lists — unless it misses one of this
    installation's own keys (made since the hub's last list): then this installation's own."""
    now = now or timezone.now()
    statuses = all_status_lists(now)
    own = trust_list(now)
    adopted = AdoptedLists.objects.order_by("-adopted_at").first()
    if adopted is None:
        return own, statuses
    try:
        body = certificate_lists.open_envelope(adopted.trust_list, TRUST_FORMAT, {adopted.root_key})
    except certificate_lists.ListError:
        return own, statuses
    listed = {i.get("key_id") for i in body.get("issuers", [])}
    if not set(IssuerKey.objects.values_list("key_id", flat=True)) <= listed:
        return own, statuses
    mine = {s.get("signer") for s in statuses}
    others = [s for s in adopted.status_lists if s.get("signer") not in mine]
    return adopted.trust_list, statuses + others


def adopt_status_list(envelope: dict[str, Any]) -> None:
    """Keep a newer status list of another archives (one that came with a certificate it issued
    for this node's window), replacing the one adopted for that archives."""
    adopted = AdoptedLists.objects.order_by("-adopted_at").first()
    if adopted is None:
        return
    _format, body = certificate_lists.peek(envelope)
    code = body.get("repository_code")
    kept = []
    for s in adopted.status_lists:
        try:
            if certificate_lists.peek(s)[1].get("repository_code") == code:
                continue
        except certificate_lists.ListError:
            continue
        kept.append(s)
    AdoptedLists.objects.filter(pk=adopted.pk).update(status_lists=[*kept, envelope])


def adopt(trust: dict[str, Any], status_lists: list[dict[str, Any]], root_key: str) -> None:
    """Keep the region's lists the hub handed out (checked by the caller against the hub's key;
    the trust list is checked here against the root it names)."""
    certificate_lists.open_envelope(trust, TRUST_FORMAT, {root_key})
    AdoptedLists.objects.all().delete()
    AdoptedLists.objects.create(root_key=root_key, trust_list=trust, status_lists=status_lists,
                                adopted_at=timezone.now())  # fmt: skip
