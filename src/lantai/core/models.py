from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from lantai.core.roles import ROLE_CHOICES, ROLES


class User(AbstractUser):
    """A staff or filing-unit account. One role per user (三员分立 by construction)."""

    role = models.CharField(_("角色"), max_length=32, choices=ROLE_CHOICES, default="cataloguer")
    # Highest 密级 level the user may see: 0 公开, 1 限制, 2 秘密, 3 机密, 4 绝密.
    clearance = models.PositiveSmallIntegerField(_("涉密等级"), default=0)
    scope_all = models.BooleanField(_("全部档案馆"), default=False)
    repositories = models.ManyToManyField(
        "catalog.Repository", blank=True, related_name="+", verbose_name=_("可访问档案馆")
    )
    fonds = models.ManyToManyField(
        "catalog.Fonds", blank=True, related_name="+", verbose_name=_("可访问全宗")
    )
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    # Raised when the account is disabled: every session signed in before ends for good, also
    # after the account is enabled again (it is part of the session's auth hash).
    session_epoch = models.PositiveIntegerField(default=0)
    # When the password was last chosen (LANTAI_PASSWORD_MAX_AGE_DAYS counts from here); None:
    # never counted (an unusable password), which does not expire. Set by core.accounts where a
    # password is really created or changed, not in set_password: django calls that also to
    # re-hash an unchanged password at sign-in, which must not restart the count.
    password_changed_at = models.DateTimeField(null=True, blank=True)

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        if not self.session_epoch:  # accounts never disabled keep the hash Django gives them
            return super()._get_session_auth_hash(secret=secret)  # type: ignore[misc,no-any-return]
        key_salt = "lantai.core.models.User.session_auth_hash"
        value = f"{self.password}\0{self.session_epoch}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def has_perm_code(self, permission: str) -> bool:
        role = ROLES.get(self.role)
        return bool(self.is_active and role and permission in role.permissions)

    @property
    def role_label(self) -> str:
        role = ROLES.get(self.role)
        return role.label_zh if role else self.role


class AuditEntry(models.Model):
    """One append-only entry of the audit log, chained to its predecessor by an SM3 hash."""

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["action", "seq"]), models.Index(fields=["actor", "seq"])]


class AuditHead(models.Model):
    """Single row: the last sequence number and hash. Appends lock it, so the chain is linear,
    and it anchors the tail so that deleting the newest entries is detected too."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)


class ApiToken(models.Model):
    """Bearer token for the REST API; only the SM3 digest of the token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # After this moment the token is refused (401); set at issue (LANTAI_API_TOKEN_DAYS).
    expires_at = models.DateTimeField(null=True, blank=True)
    # Space-separated scopes (core.api_auth.SCOPES), e.g. "catalog:read catalog:write".
    scopes = models.CharField(max_length=200, default="")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AccountChange(models.Model):
    """A change to one of the three administrators' accounts, proposed by one administrator and
    applied only when a second administrator of another 三员 role (who is not the account's owner)
    confirms it (decision in docs/decisions: two-person rule for administrator accounts)."""

    KINDS = [
        ("password", _("重置密码")),
        ("active", _("启用/停用")),
        ("grant", _("授权变更")),
        ("second_factor", _("重置双因素认证")),
    ]
    STATUSES = [("pending", _("待确认")), ("confirmed", _("已确认")), ("rejected", _("已驳回"))]

    target = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=KINDS)
    # What the change sets: {"active": bool}, {"password_hash": str} or the grant's fields.
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=STATUSES, default="pending")
    proposed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-pk"]


class LoginFailure(models.Model):
    """A wrong password typed at the sign-in form, kept for the lockout window (core.login_guard
    counts them per (name as typed, address) and per address, an IPv6 address as its /64; rows
    older than the window go).
    The failure that reaches a limit starts a block: `blocks` names what it blocks."""

    BLOCKS = [("", "-"), ("account", "account from address"), ("address", "address")]

    at = models.DateTimeField()
    username = models.CharField(max_length=150)  # as typed: the account may not exist
    address = models.CharField(max_length=64)
    blocks = models.CharField(max_length=8, choices=BLOCKS, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["username", "address", "at"], name="core_loginfail_pair"),
            models.Index(fields=["address", "at"], name="core_loginfail_address"),
            models.Index(fields=["at"], name="core_loginfail_at"),
        ]


class SecondFactor(models.Model):
    """A user's TOTP authenticator (RFC 6238). The shared secret is stored encrypted with the key
    file DATA_DIR/keys/totp.key (AES-GCM, core.two_factor), never in clear. Active once the user
    has confirmed it with a code (`confirmed_at`)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="second_factor")
    secret_encrypted = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The 30-second time step of the last code accepted: a code is accepted once only.
    last_step = models.BigIntegerField(default=0)


class RecoveryCode(models.Model):
    """A one-time recovery code for a lost authenticator; only its SM3 digest is kept."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "digest"], name="core_recovery_user_digest")]


class PasswordHistory(models.Model):
    """A password the user had before (its hash), for LANTAI_PASSWORD_HISTORY: a new password may
    not equal the current one or the ones before it, N in all."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(max_length=128)
    replaced_at = models.DateTimeField()

    class Meta:
        ordering = ["-replaced_at", "-pk"]
