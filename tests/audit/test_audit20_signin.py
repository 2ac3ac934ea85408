"""Audit of issue 20 (sign-in as 等保 level 3 requires): defects found from outside, each written
as a failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.core import accounts
from lantai.core.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024audit"


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _enroll_page_secret(client: Client, username: str) -> str:
    step = client.post("/login/", {"username": username, "password": PASSWORD})
    assert step.status_code == 302 and step["Location"] == "/login/enroll/"
    return str(client.get("/login/enroll/").context["secret"])


def test_an_administrators_enrollment_does_not_reuse_a_secret_shown_in_an_earlier_sign_in() -> None:
    """AUDIT20-1 (fixed): the unconfirmed TOTP secret shown at /login/enroll/ was shown again to
    the next sign-in, so whoever saw it first (a password thief, a shoulder) held the secret the
    real administrator then confirmed. Now every new sign-in that must enroll gets a new secret."""
    accounts.create_user("secadm", role="security_admin", password=PASSWORD)
    seen_by_intruder = _enroll_page_secret(Client(), "secadm")  # who knew the password, left
    shown_to_owner = _enroll_page_secret(Client(), "secadm")  # the owner signs in later
    assert shown_to_owner != seen_by_intruder


def test_an_expired_password_is_asked_for_also_when_its_hash_is_upgraded(settings: Any) -> None:
    """AUDIT20-2 (fixed): when the password hash was upgraded at sign-in (a new PASSWORD_HASHERS
    default, e.g. after a Django upgrade), User.set_password reset password_changed_at and the
    expired-password step was skipped. Now only core.accounts sets it, where a password changes."""
    user = accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    settings.PASSWORD_MAX_AGE_DAYS = 90
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=100))
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",  # the new default
        "django.contrib.auth.hashers.MD5PasswordHasher",  # the stored hash: upgraded now
    ]
    client = Client()
    response = client.post("/login/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:login_expired")
    assert "_auth_user_id" not in client.session
    user.refresh_from_db()
    assert user.password.startswith("scrypt$")  # upgraded, and still counted as 100 days old
    assert user.password_changed_at is not None
    assert timezone.now() - user.password_changed_at > timedelta(days=99)


def test_an_earlier_sign_in_left_at_the_enroll_step_never_sees_the_owners_secret() -> None:
    """AUDIT20-1 (fixed), the other order: the intruder's session stays at /login/enroll/ while
    the owner enrolls; reloading it shows a new secret, never the owner's, and a code for a
    secret the confirming session was not shown does not confirm it."""
    accounts.create_user("secadm", role="security_admin", password=PASSWORD)
    intruder, owner = Client(), Client()
    _enroll_page_secret(intruder, "secadm")
    owners = _enroll_page_secret(owner, "secadm")
    assert owner.get("/login/enroll/").context["secret"] == owners  # a reload: the same one
    seen_again = intruder.get("/login/enroll/").context["secret"]
    assert seen_again != owners
    # the intruder's reload replaced the owner's secret: the owner's code is refused, the
    # owner is shown a new secret, and the intruder's code for that new one is refused too
    refused = owner.post("/login/enroll/", {"code": pyotp.TOTP(owners).now()})
    assert "请重新开始绑定" in refused.content.decode() and "_auth_user_id" not in owner.session
    newest = str(refused.context["secret"])
    assert newest not in (owners, seen_again)
    stolen = intruder.post("/login/enroll/", {"code": pyotp.TOTP(newest).now()})
    assert "_auth_user_id" not in intruder.session and stolen.status_code == 200
    fresh = str(owner.get("/login/enroll/").context["secret"])
    done = owner.post("/login/enroll/", {"code": pyotp.TOTP(fresh).now()})
    assert len(done.context["codes"]) == 10 and "_auth_user_id" in owner.session
    # enrolled now: the intruder's half sign-in starts again at the password
    assert intruder.get("/login/enroll/")["Location"] == "/login/"
