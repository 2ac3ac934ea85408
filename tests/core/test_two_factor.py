"""The second factor (TOTP + recovery codes): the three administrators enroll before anything else,
sign-in finishes only after the code, a code works once, wrong codes count with the sign-in
throttling (per account and address, per address, per account), and a reset follows 三员分立."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest
from django.test import Client

from lantai.core import accounts, two_factor
from lantai.core.models import AccountChange, AuditEntry, LoginFailure, SecondFactor, User

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024test"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_ADDRESS_MAX_FAILURES = 6
    settings.LOGIN_ACCOUNT_MAX_FAILURES = 8
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def password_step(client: Client, username: str) -> Any:
    return client.post("/login/", {"username": username, "password": PASSWORD})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def enrolled(username: str, role: str) -> tuple[User, str]:
    user = accounts.create_user(username, role=role, password=PASSWORD)
    secret = pyotp.random_base32()
    two_factor.enroll_known_secret(user, secret)
    return user, secret


def test_an_administrator_enrolls_before_anything_else_then_signs_in_with_codes() -> None:
    accounts.create_user("sec", role="security_admin", password=PASSWORD)
    client = Client()
    response = password_step(client, "sec")
    assert response.status_code == 302 and response["Location"] == "/login/enroll/"
    assert not signed_in(client)
    assert client.get("/grants/")["Location"].startswith("/login/")  # nothing else before it
    page = client.get("/login/enroll/")
    secret = page.context["secret"]
    html = page.content.decode()
    assert "<svg" in html and secret in html and "<script" not in html.split("<svg", 1)[1][:5000]
    stored = SecondFactor.objects.get(user__username="sec").secret_encrypted
    assert secret not in stored  # encrypted with the key file, not in clear
    wrong = client.post("/login/enroll/", {"code": "000000" if code(secret) != "000000" else "1"})
    assert "验证码不正确" in wrong.content.decode() and not signed_in(client)
    done = client.post("/login/enroll/", {"code": code(secret)})
    codes = done.context["codes"]
    assert len(codes) == 10 and all(c in done.content.decode() for c in codes)
    assert signed_in(client)
    assert AuditEntry.objects.filter(action="two_factor_enroll", actor="sec").exists()

    # the next sign-in asks for a code; the code just used for enrolling does not work again
    again = Client()
    assert password_step(again, "sec")["Location"] == "/login/verify/"
    refused = again.post("/login/verify/", {"code": code(secret)})
    assert refused.status_code == 200 and not signed_in(again)
    ok = again.post("/login/verify/", {"code": code(secret, 1)})  # one step of drift
    assert ok.status_code == 302 and signed_in(again)
    # ... and that one is used up too
    third = Client()
    password_step(third, "sec")
    assert third.post("/login/verify/", {"code": code(secret, 1)}).status_code == 200
    assert not signed_in(third)
    assert AuditEntry.objects.filter(action="two_factor_failed", actor="sec").count() == 2


def test_a_recovery_code_works_once() -> None:
    user = accounts.create_user("aud", role="audit_admin", password=PASSWORD)
    secret = pyotp.random_base32()
    codes = two_factor.enroll_known_secret(user, secret)
    client = Client()
    password_step(client, "aud")
    assert client.post("/login/verify/", {"code": codes[0].lower()}).status_code == 302
    assert signed_in(client) and two_factor.recovery_codes_left(user) == 9
    entry = AuditEntry.objects.filter(action="two_factor_recovery_used").last()
    assert entry is not None and entry.detail["left"] == 9
    other = Client()
    password_step(other, "aud")
    assert other.post("/login/verify/", {"code": codes[0]}).status_code == 200
    assert not signed_in(other)


def test_other_staff_sign_in_with_the_password_unless_they_enroll_or_all_must(
    settings: Any,
) -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    assert password_step(Client(), "clerk")["Location"] == "/"
    clerk, secret = User.objects.get(username="clerk"), pyotp.random_base32()
    two_factor.enroll_known_secret(clerk, secret)  # voluntarily
    assert password_step(Client(), "clerk")["Location"] == "/login/verify/"
    settings.TWO_FACTOR_REQUIRED_ROLES = ["all"]
    accounts.create_user("clerk2", role="cataloguer", password=PASSWORD)
    assert password_step(Client(), "clerk2")["Location"] == "/login/enroll/"
    accounts.create_user("citizen", role="public", password=PASSWORD)
    assert password_step(Client(), "citizen")["Location"] == "/"


def test_wrong_codes_count_per_account_and_address_and_the_password_does_not_reset_them() -> None:
    _user, secret = enrolled("sys", "system_admin")
    for _ in range(3):  # LOGIN_MAX_FAILURES, typing the right password before each code
        client = Client(REMOTE_ADDR="192.0.2.7")
        assert password_step(client, "sys")["Location"] == "/login/verify/"
        client.post("/login/verify/", {"code": "12345x"})
    assert LoginFailure.objects.filter(username="sys", blocks="account").exists()
    blocked = Client(REMOTE_ADDR="192.0.2.7")
    assert password_step(blocked, "sys").status_code == 200  # the password step refuses now
    # from the owner's own desk the right password and code still work
    mine = Client(REMOTE_ADDR="192.0.2.8")
    password_step(mine, "sys")
    assert mine.post("/login/verify/", {"code": code(secret)}).status_code == 302


def test_a_blocked_step_refuses_even_the_right_code() -> None:
    _user, secret = enrolled("sys", "system_admin")
    client = Client(REMOTE_ADDR="192.0.2.9")
    password_step(client, "sys")
    for _ in range(3):
        client.post("/login/verify/", {"code": "000000"})
    assert client.post("/login/verify/", {"code": code(secret)}).status_code == 200
    assert not signed_in(client)


def test_wrong_codes_count_per_address_and_per_account(settings: Any) -> None:
    settings.LOGIN_MAX_FAILURES = 100
    for name in ("a1", "a2"):
        enrolled(name, "cataloguer")
    for i in range(6):  # LOGIN_ADDRESS_MAX_FAILURES from one address, over two accounts
        client = Client(REMOTE_ADDR="198.51.100.1")
        password_step(client, f"a{i % 2 + 1}")
        client.post("/login/verify/", {"code": "000000"})
    assert LoginFailure.objects.filter(address="198.51.100.1", blocks="address").exists()
    _user, _secret = enrolled("b", "cataloguer")
    for i in range(8):  # LOGIN_ACCOUNT_MAX_FAILURES from many addresses
        client = Client(REMOTE_ADDR=f"203.0.113.{i}")
        password_step(client, "b")
        client.post("/login/verify/", {"code": "000000"})
    locked = User.objects.get(username="b")
    assert locked.locked_until is not None


def test_force_login_sessions_are_not_asked_for_a_second_factor() -> None:
    admin = accounts.create_user("sys", role="system_admin", password=PASSWORD)
    client = Client()
    client.force_login(admin)
    assert client.get("/users/").status_code == 200


def test_reset_follows_the_two_person_rule_for_administrators() -> None:
    sysadmin, _ = enrolled("sys", "system_admin")
    auditor, _ = enrolled("aud", "audit_admin")
    clerk, _ = enrolled("clerk", "cataloguer")
    sec, sec_secret = enrolled("sec", "security_admin")
    client = Client()
    client.force_login(sysadmin)
    assert client.post(f"/users/{clerk.pk}/two-factor/").status_code == 302
    assert not two_factor.has_any(clerk)
    assert AuditEntry.objects.filter(action="two_factor_reset", actor="sys").exists()
    client.post(f"/users/{sec.pk}/two-factor/")
    assert two_factor.is_enrolled(sec)  # only proposed
    change = AccountChange.objects.get(target=sec, kind="second_factor", status="pending")
    with pytest.raises(accounts.AccountError):
        accounts.confirm_change(change, sysadmin)  # the proposer cannot confirm
    accounts.confirm_change(change, auditor)
    assert not two_factor.has_any(sec)
    # the administrator enrolls again at the next sign-in
    assert password_step(Client(), "sec")["Location"] == "/login/enroll/"
    assert sec_secret  # the old secret is gone with the device


def test_recovery_codes_regenerated_by_the_user_with_a_current_code() -> None:
    user, secret = enrolled("clerk", "cataloguer")
    old = two_factor.regenerate_recovery_codes(user)
    client = Client()
    client.force_login(user)
    page = client.post("/account/two-factor/", {"code": code(secret)})
    new = page.context["codes"]
    assert len(new) == 10 and set(new).isdisjoint(old)
    assert two_factor.verify(user, old[0]) is None and two_factor.verify(user, new[0]) == "recovery"


def test_a_key_file_others_may_read_stops_the_step_with_the_fix() -> None:
    from lantai.core import key_files

    _user, secret = enrolled("sys", "system_admin")
    key = key_files.keys_dir() / two_factor.KEY_FILE
    key.chmod(0o644)
    client = Client()
    password_step(client, "sys")
    page = client.post("/login/verify/", {"code": code(secret)})
    assert page.status_code == 500 and f"chmod 600 {key}" in page.content.decode()
    assert not signed_in(client)
    key.chmod(0o600)
    assert client.post("/login/verify/", {"code": code(secret)}).status_code == 302


def test_console_reset_and_passwd_with_history() -> None:
    from click.testing import CliRunner

    from lantai.cli import main

    enrolled("sec", "security_admin")
    runner = CliRunner()
    done = runner.invoke(main, ["user", "reset-2fa", "sec"])
    assert done.exit_code == 0, done.output
    assert not two_factor.has_any(User.objects.get(username="sec"))
    entry = AuditEntry.objects.filter(action="two_factor_reset").last()
    assert entry is not None and entry.detail["via"] == "console"
    assert runner.invoke(main, ["user", "reset-2fa", "sec"]).exit_code == 1  # nothing left
    assert runner.invoke(main, ["user", "reset-2fa", "nobody"]).exit_code == 2
    reused = runner.invoke(main, ["user", "passwd", "sec", "--password", PASSWORD])
    assert reused.exit_code == 1 and "最近使用过" in reused.output
