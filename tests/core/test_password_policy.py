"""Password history (LANTAI_PASSWORD_HISTORY) on every path that sets a password, and expiry
(LANTAI_PASSWORD_MAX_AGE_DAYS): an expired password is changed right after signing in."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lantai.core import accounts
from lantai.core.models import User

pytestmark = pytest.mark.django_db

PASSWORDS = [f"Lantai@2024pw{i}" for i in range(8)]


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.PASSWORD_HISTORY = 3


def test_a_new_password_may_not_be_one_of_the_last_n() -> None:
    user = accounts.create_user("clerk", role="cataloguer", password=PASSWORDS[0])
    for old, new in zip(PASSWORDS[:2], PASSWORDS[1:3], strict=True):
        accounts.change_own_password(user, old, new)
    for reused in PASSWORDS[:3]:  # current + two before: 3
        with pytest.raises(accounts.AccountError, match="最近使用过的 3 个密码"):
            accounts.reset_password(user, reused, actor=None)  # console reset
    accounts.reset_password(user, PASSWORDS[3], actor=None)
    with pytest.raises(accounts.AccountError, match="最近使用过"):
        accounts.change_own_password(user, PASSWORDS[3], PASSWORDS[2])
    accounts.change_own_password(user, PASSWORDS[3], PASSWORDS[0])  # 4 changes ago: allowed


def test_the_ui_reset_checks_the_history_before_proposing(settings: Any) -> None:
    sysadmin = accounts.create_user("sys", role="system_admin", password=PASSWORDS[5])
    clerk = accounts.create_user("clerk", role="cataloguer", password=PASSWORDS[0])
    with pytest.raises(accounts.AccountError, match="最近使用过"):
        accounts.reset_password(clerk, PASSWORDS[0], actor=sysadmin)


def test_an_expired_password_is_changed_right_after_signing_in(settings: Any) -> None:
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = accounts.create_user("clerk", role="cataloguer", password=PASSWORDS[0])
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client = Client()
    response = client.post("/login/", {"username": "clerk", "password": PASSWORDS[0]})
    assert response["Location"] == "/login/password/"
    assert "_auth_user_id" not in client.session
    assert client.get("/")["Location"].startswith("/login/")  # nothing before the new password
    same = client.post("/login/password/", {"password": PASSWORDS[0], "password2": PASSWORDS[0]})
    assert same.status_code == 200 and "_auth_user_id" not in client.session
    done = client.post("/login/password/", {"password": PASSWORDS[1], "password2": PASSWORDS[1]})
    assert done.status_code == 302 and "_auth_user_id" in client.session
    user.refresh_from_db()
    assert user.check_password(PASSWORDS[1]) and not accounts_expired(user)
    settings.PASSWORD_MAX_AGE_DAYS = 0  # never
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=999))
    assert (
        Client().post("/login/", {"username": "clerk", "password": PASSWORDS[1]})["Location"] == "/"
    )


def accounts_expired(user: User) -> bool:
    from lantai.core import password_history

    return password_history.expired(user)
