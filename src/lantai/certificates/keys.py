"""The keys behind certificates.

- The provincial root key (``DATA_DIR/keys/province-root-sm2.key``) signs the trust list. Until
  the region-wide platform (issue 17) hands the root to the hub, every installation holds its own
  root; verifiers pin root public keys (this installation's own and LANTAI_CERTIFICATE_ROOT_KEYS).
- Each archives has SM2 issuer keys (``DATA_DIR/keys/issuers/<key_id>.key``) that sign the QR
  payloads and its status list. A key signs for one year (``not_before``–``not_after``); what it
  signed stays verifiable until ``valid_until`` = ``not_after`` + the certificate validity. Rotation
  ends the old key's signing period at once and starts a new key.
- Withdrawal: a key withdrawn outright (``withdrawn_at``) verifies nothing any more; a key
  compromised since a date (``compromised_since``) stops signing then, and payloads dated from that
  moment fail while older ones still verify."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from lantai.catalog.models import Repository
from lantai.core import audit
from lantai.core.key_files import keys_dir, write_once
from lantai.core.signing import SigningKey, load_key

from .models import IssuerKey

ROOT_FILE = "province-root-sm2.key"
ISSUER_DIR = "issuers"
SIGNING_PERIOD = timedelta(days=365)


class KeyProblem(Exception):
    """A key operation a user asked for cannot be done (message in Chinese and English)."""

    def __init__(self, message_zh: str, message_en: str, *, missing: bool = False) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en, self.missing = message_zh, message_en, missing


def root_key() -> SigningKey:
    return load_key(keys_dir() / ROOT_FILE)


def pinned_roots() -> frozenset[str]:
    """Root public keys whose trust lists this installation accepts."""
    from .models import AdoptedLists

    own = root_key().public_key_hex if (keys_dir() / ROOT_FILE).exists() else None
    try:  # the region's root, once this node joined the platform (offline use has no database)
        adopted = set(AdoptedLists.objects.values_list("root_key", flat=True))
    except DatabaseError:
        adopted = set()
    return settings.CERTIFICATE_ROOT_KEYS | ({own} if own else set()) | adopted


def validity() -> timedelta:
    return timedelta(days=settings.CERTIFICATE_VALID_DAYS)


def private_key(issuer: IssuerKey) -> SigningKey:
    return load_key(keys_dir() / ISSUER_DIR / f"{issuer.key_id}.key")


def _new_key(repository: Repository, now: datetime) -> IssuerKey:
    # the key file first: its name is the key id, the start of the public key's fingerprint
    key = SigningKey.generate()
    key_id = key.fingerprint[:16]
    path = keys_dir() / ISSUER_DIR / f"{key_id}.key"
    write_once(path, key.to_pem)
    return IssuerKey.objects.create(
        repository=repository, key_id=key_id, public_key=key.public_key_hex, not_before=now,
        not_after=now + SIGNING_PERIOD, valid_until=now + SIGNING_PERIOD + validity(),
    )  # fmt: skip


def signing_key(repository: Repository, now: datetime | None = None) -> IssuerKey:
    """The key that signs for ``repository`` now; the first one, or the next after a year, is
    made here (rotation). Times are whole seconds, as certificates are dated."""
    now = (now or timezone.now()).replace(microsecond=0)
    current = _current(repository, now)
    if current is not None:
        return current
    with transaction.atomic():
        Repository.objects.select_for_update().filter(pk=repository.pk).first()
        current = _current(repository, now)
        if current is None:
            current = _new_key(repository, now)
            audit.record("issuer_key_create", "issuer_key", current.key_id,
                         {"repository": repository.code, "not_after": current.not_after})  # fmt: skip
        return current


def _current(repository: Repository, now: datetime) -> IssuerKey | None:
    return (
        IssuerKey.objects.filter(
            repository=repository,
            not_before__lte=now,
            not_after__gt=now,
            withdrawn_at__isnull=True,
            compromised_since__isnull=True,
        )  # fmt: skip
        .order_by("-not_before")
        .first()
    )


def rotate(repository: Repository, *, actor: str, now: datetime | None = None) -> IssuerKey:
    """End the current key's signing period now and start a new key (to the second, as
    certificates are dated)."""
    now = (now or timezone.now()).replace(microsecond=0)
    with transaction.atomic():
        Repository.objects.select_for_update().filter(pk=repository.pk).first()
        old = _current(repository, now)
        if old is not None:
            old.not_after = now
            old.valid_until = now + validity()
            old.save(update_fields=["not_after", "valid_until"])
        new = _new_key(repository, now)
        audit.record("issuer_key_rotate", "issuer_key", new.key_id,
                     {"repository": repository.code, "previous": old.key_id if old else None},
                     actor=actor)  # fmt: skip
    return new


def withdraw(
    key_id: str, reason: str, *, actor: str, compromised_since: datetime | None = None,
    now: datetime | None = None,
) -> IssuerKey:  # fmt: skip
    """Take a key off the trust list's good keys: outright, or from the compromise date on."""
    now = now or timezone.now()
    if not reason.strip():
        raise KeyProblem("撤回密钥须写明原因", "a reason is required to withdraw a key")
    key = IssuerKey.objects.filter(key_id=key_id).first()
    if key is None:
        raise KeyProblem(
            f"没有密钥标识为“{key_id}”的出证密钥", f"no issuer key with id {key_id!r}", missing=True
        )
    if key.withdrawn_at is not None:
        raise KeyProblem(
            f"出证密钥 {key_id} 已于 {key.withdrawn_at:%Y-%m-%d %H:%M} 撤回",
            f"issuer key {key_id} was withdrawn already",
        )
    if compromised_since is not None and compromised_since > now:
        raise KeyProblem("泄露时间不能晚于现在", "the compromise date cannot be in the future")
    with transaction.atomic():
        if compromised_since is None:
            key.withdrawn_at = now
        else:
            # the signing period stays as it was: the compromise date alone fails what is dated
            # from then on (and the key signs nothing more: it is no longer current)
            key.compromised_since = compromised_since
        key.withdrawal_reason = reason.strip()[:500]
        key.save()
        audit.record("issuer_key_withdraw", "issuer_key", key.key_id,
                     {"reason": key.withdrawal_reason,
                      "compromised_since": compromised_since}, actor=actor)  # fmt: skip
    return key
