"""The second factor for staff sign-in (等保 level 3): TOTP (RFC 6238) and one-time recovery codes.

- The shared secret is encrypted with AES-GCM under the key file DATA_DIR/keys/totp.key (made once,
  0600; core.key_files), the user's id bound in as associated data: a copy of the database alone
  gives no codes, and a secret copied to another user's row does not decrypt.
- A device counts once confirmed with a code from the app. Codes: 6 digits, 30-second steps, one
  step of clock drift either way; a code (its step) is accepted once only, so a code seen over a
  shoulder cannot be used again.
- 10 recovery codes, shown once, stored as SM3 digests; each works once.
- The three administrators (三员) must use it; TWO_FACTOR_REQUIRED_ROLES widens that ("all": every
  staff user). Failures count with the sign-in throttling (core.login_guard via core.accounts).
"""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from lantai.core import audit, key_files
from lantai.core.models import RecoveryCode, SecondFactor, User
from lantai.core.roles import ADMIN_TRIAD
from lantai.core.sm3 import sm3_hex

KEY_FILE = "totp.key"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
_VERSION = "v1:"
_TOKEN_SALT = "lantai.core.two_factor.enrollment"


class TwoFactorError(Exception):
    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


# --- the key and the secret -------------------------------------------------------------------------
def _key() -> bytes:
    """The AES key; a key file that cannot be used is a TwoFactorError that says what to do."""
    path = key_files.keys_dir() / KEY_FILE
    try:
        key_files.write_once(path, lambda: AESGCM.generate_key(bit_length=256))
        key = key_files.read_private(path, "双因素密钥文件", "second-factor key file")
    except (key_files.KeyFileError, OSError) as exc:
        raise TwoFactorError(str(exc)) from exc
    if len(key) != 32:
        raise key_files.KeyFileError(
            f"双因素密钥文件 {path} 长度不是 32 字节",
            f"the second-factor key file {path} is not 32 bytes",
        )
    return key


def _aad(user_pk: int) -> bytes:
    return f"lantai-totp:{user_pk}".encode()


def _encrypt(user_pk: int, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key()).encrypt(nonce, secret.encode("ascii"), _aad(user_pk))
    return _VERSION + base64.b64encode(nonce + sealed).decode("ascii")


def _decrypt(user_pk: int, stored: str) -> str:
    if not stored.startswith(_VERSION):
        raise TwoFactorError("双因素密钥格式无法识别，请管理员重置该用户的双因素认证")
    raw = base64.b64decode(stored[len(_VERSION) :])
    try:
        return AESGCM(_key()).decrypt(raw[:12], raw[12:], _aad(user_pk)).decode("ascii")
    except InvalidTag:
        raise TwoFactorError(
            "双因素密钥无法解密（密钥文件 keys/totp.key 与数据库不匹配），请管理员重置该用户的双因素认证"
        ) from None


# --- who must use it --------------------------------------------------------------------------------
def required_for(user: User) -> bool:
    """Must `user` sign in with a second factor (and so enroll before anything else)?"""
    roles = settings.TWO_FACTOR_REQUIRED_ROLES
    if "all" in roles:
        return user.role != "public"
    return user.role in roles or user.role in ADMIN_TRIAD


def device(user: User) -> SecondFactor | None:
    """The user's confirmed authenticator, or None."""
    return SecondFactor.objects.filter(user=user, confirmed_at__isnull=False).first()


def is_enrolled(user: User) -> bool:
    return SecondFactor.objects.filter(user=user, confirmed_at__isnull=False).exists()


def has_any(user: User) -> bool:
    """A device confirmed or being enrolled, or recovery codes."""
    return (
        SecondFactor.objects.filter(user=user).exists()
        or RecoveryCode.objects.filter(user=user).exists()
    )


# --- enrollment -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Enrollment:
    secret: str  # base32, shown as text beside the QR code
    uri: str  # otpauth://totp/…

    @property
    def token(self) -> str:
        """A keyed digest of the secret, for the session that was shown it (never the secret):
        only that session goes on with this enrollment (see `confirm_enrollment`)."""
        return _token(self.secret)


def _token(secret: str) -> str:
    return salted_hmac(_TOKEN_SALT, secret, algorithm="sha256").hexdigest()


def start_enrollment(user: User) -> Enrollment:
    """A new secret for `user`, not yet active (an earlier unconfirmed one is replaced). A user
    with a confirmed device cannot start over here: an administrator resets it first."""
    if is_enrolled(user):
        raise TwoFactorError("已启用双因素认证；如需更换设备，请联系系统管理员重置")
    secret = pyotp.random_base32()
    SecondFactor.objects.update_or_create(
        user=user, defaults={"secret_encrypted": _encrypt(user.pk, secret), "last_step": 0}
    )
    return Enrollment(secret, provisioning_uri(user, secret))


def pending_enrollment(user: User) -> Enrollment | None:
    """The secret being enrolled (not yet confirmed), or None. Show it again only to the session
    that started it (compare `Enrollment.token`): another sign-in starts a new one."""
    row = SecondFactor.objects.filter(user=user, confirmed_at__isnull=True).first()
    if row is None:
        return None
    secret = _decrypt(user.pk, row.secret_encrypted)
    return Enrollment(secret, provisioning_uri(user, secret))


def provisioning_uri(user: User, secret: str) -> str:
    issuer = settings.TWO_FACTOR_ISSUER
    return pyotp.TOTP(secret).provisioning_uri(name=user.get_username(), issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG QR code (no script, no external image: CSP-safe)."""
    import segno

    svg: str = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    return svg


def confirm_enrollment(user: User, code: str, *, token: str) -> list[str]:
    """Activate the pending device with a code from the app; returns the new recovery codes
    (shown once). Audited as two_factor_enroll. `token` is the `Enrollment.token` of the secret
    the confirming session was shown: a secret started meanwhile by another sign-in (which
    replaced it) is not confirmed from here."""
    with transaction.atomic():
        row = (
            SecondFactor.objects.select_for_update()
            .filter(user=user, confirmed_at__isnull=True)
            .first()
        )
        if row is None:
            raise TwoFactorError("没有待确认的双因素设备，请重新开始绑定")
        secret = _decrypt(user.pk, row.secret_encrypted)
        if not secrets.compare_digest(_token(secret), token):  # another sign-in started anew
            raise TwoFactorError("没有待确认的双因素设备，请重新开始绑定")
        step = _matching_step(secret, code, row.last_step)
        if step is None:
            raise TwoFactorError("验证码不正确：请输入认证器应用当前显示的 6 位数字")
        row.confirmed_at, row.last_step = timezone.now(), step
        row.save(update_fields=["confirmed_at", "last_step"])
        codes = _new_recovery_codes(user)
        audit.record("two_factor_enroll", "user", user.pk, {}, actor=user.username)
    return codes


def enroll_known_secret(user: User, secret: str) -> list[str]:
    """Enroll `user` with a secret the operator already holds (the demo's administrators, the
    console): active at once, with new recovery codes. Audited as two_factor_enroll."""
    with transaction.atomic():
        SecondFactor.objects.update_or_create(
            user=user,
            defaults={
                "secret_encrypted": _encrypt(user.pk, secret),
                "last_step": 0,
                "confirmed_at": timezone.now(),
            },
        )
        codes = _new_recovery_codes(user)
        audit.record("two_factor_enroll", "user", user.pk, {"via": "console"})
    return codes


def stored_secret(user: User) -> str | None:
    """The secret of the user's device in clear (for the demo's summary, which prints it)."""
    row = SecondFactor.objects.filter(user=user).first()
    return None if row is None else _decrypt(user.pk, row.secret_encrypted)


# --- verification -----------------------------------------------------------------------------------
def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _matching_step(secret: str, code: str, after_step: int) -> int | None:
    """The time step (now ±DRIFT_STEPS) whose code is `code` and that is later than
    `after_step` (a code is used once), or None."""
    code = _normalise(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(time.time()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if step > after_step and secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def verify(user: User, code: str) -> str | None:
    """Check a second-factor code: a TOTP code from the device, or a recovery code (used up).
    Returns "totp" or "recovery" when accepted, None otherwise. The caller counts a None as a
    failed sign-in (core.accounts.note_login_failure) and audits it (note_failure)."""
    with transaction.atomic():
        row = SecondFactor.objects.select_for_update().filter(user=user).first()
        if row is None or row.confirmed_at is None:
            return None
        step = _matching_step(_decrypt(user.pk, row.secret_encrypted), code, row.last_step)
        if step is not None:
            # the row lock and this update make the same code fail in a second, racing request
            SecondFactor.objects.filter(pk=row.pk).update(last_step=step)
            return "totp"
    digest = sm3_hex(_normalise(code).encode("ascii", "replace"))
    used = RecoveryCode.objects.filter(user=user, digest=digest, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    if used:
        left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
        audit.record(
            "two_factor_recovery_used", "user", user.pk, {"left": left}, actor=user.username
        )
        return "recovery"
    return None


def note_failure(user: User, address: str) -> None:
    audit.record("two_factor_failed", "user", user.pk, {"ip": address}, actor=user.get_username())


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- recovery codes ---------------------------------------------------------------------------------
def _recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))  # 80 bits
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _new_recovery_codes(user: User) -> list[str]:
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.filter(user=user).delete()
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(user=user, digest=sm3_hex(_normalise(c).encode("ascii"))) for c in codes]
    )
    return codes


def regenerate_recovery_codes(user: User) -> list[str]:
    """The user's own new set of recovery codes (the old ones stop working). Audited."""
    if not is_enrolled(user):
        raise TwoFactorError("尚未启用双因素认证，不能生成恢复码")
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit.record("two_factor_recovery_regenerate", "user", user.pk, {}, actor=user.username)
    return codes


# --- reset ------------------------------------------------------------------------------------------
def remove(user: User) -> bool:
    """Delete the user's device and recovery codes (the reset itself; the caller audits it)."""
    deleted, _ = SecondFactor.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    return bool(deleted)
