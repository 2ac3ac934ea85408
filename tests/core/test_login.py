"""Signing in: one answer for every refusal (no account probing), failures counted per
(account, address) and per address (no locking a colleague out by typing their name), and a
sign-in lock leaves the account's API tokens working."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry, User

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024test"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_ADDRESS_MAX_FAILURES = 6
    settings.LOGIN_ACCOUNT_MAX_FAILURES = 8


def sign_in(username: str, password: str, address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


def refusal(response: Any) -> str:
    """The page's error text, with the typed name taken out (the form echoes it back)."""
    assert response.status_code == 200
    alert = re.search(
        r'<div class="alert alert-error"[^>]*>(.*?)</div>', response.content.decode(), re.S
    )
    assert alert, "no error shown"
    return alert.group(1)


def test_unknown_name_wrong_password_locked_and_disabled_get_the_same_answer() -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    off = accounts.create_user("retired", role="cataloguer", password=PASSWORD)
    User.objects.filter(pk=off.pk).update(is_active=False)
    unknown = refusal(sign_in("nobody", "whatever-password", "192.0.2.1"))
    wrong = refusal(sign_in("clerk", "wrong-password", "192.0.2.2"))
    for _ in range(3):
        sign_in("clerk", "wrong-password", "192.0.2.3")
    locked = refusal(sign_in("clerk", PASSWORD, "192.0.2.3"))  # the right password, blocked
    disabled = refusal(sign_in("retired", PASSWORD, "192.0.2.4"))
    assert unknown == wrong == locked == disabled
    User.objects.filter(username="clerk").update(locked_until=timezone.now() + timedelta(hours=1))
    assert refusal(sign_in("clerk", PASSWORD, "192.0.2.5")) == unknown  # locked for everyone


def test_a_colleague_typing_my_name_cannot_lock_me_out() -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    for _ in range(5):
        sign_in("clerk", "guess-password", "192.0.2.66")  # the colleague's desk
    assert sign_in("clerk", PASSWORD, "192.0.2.66").status_code == 200  # blocked there
    assert sign_in("clerk", PASSWORD, "192.0.2.10").status_code == 302  # my desk: signed in
    assert User.objects.get(username="clerk").locked_until is None
    blocked = AuditEntry.objects.filter(action="login_blocked", target_id="clerk").get()
    assert blocked.detail["ip"] == "192.0.2.66"
    # the attempts after the third were refused by the block: no password checked, none counted
    assert AuditEntry.objects.filter(action="login_failed", detail__blocked=True).count() == 3


def test_one_address_guessing_many_names_is_blocked_from_every_account() -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    for i in range(6):
        sign_in(f"user{i}", "guess-password", "192.0.2.99")  # names that do not exist
    assert sign_in("clerk", PASSWORD, "192.0.2.99").status_code == 200  # blocked
    assert sign_in("clerk", PASSWORD, "192.0.2.10").status_code == 302
    assert AuditEntry.objects.filter(action="login_blocked", target_type="address").exists()


def test_guessing_one_account_from_many_addresses_locks_it_for_everyone() -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    for i in range(8):
        sign_in("clerk", "guess-password", f"198.51.100.{i // 2}")  # two guesses per address
    assert sign_in("clerk", PASSWORD, "192.0.2.10").status_code == 200
    assert User.objects.get(username="clerk").locked_until is not None
    assert AuditEntry.objects.filter(action="account_locked").count() == 1


def test_a_sign_in_lock_leaves_api_tokens_working() -> None:
    user = accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    token = issue_token(user, "ci")
    for i in range(8):
        sign_in("clerk", "guess-password", f"198.51.100.{i}")
    assert User.objects.get(username="clerk").locked_until is not None
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.get("/api/repositories").status_code == 200
