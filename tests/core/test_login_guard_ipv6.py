"""AUDIT20-10 (fixed): sign-in failures from IPv6 counted per address, so one /64 (which every
subscriber holds) gave unlimited fresh addresses to guess from. An IPv6 address now counts as its
/64 network; IPv4 as before."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lantai.core import accounts
from lantai.core.login_guard import counted_as
from lantai.core.models import AuditEntry

PASSWORD = "Lantai@2024test"
BLOCK = "2001:db8:1:2::/64"


def test_an_ipv6_address_counts_as_its_64_and_ipv4_as_itself() -> None:
    assert counted_as("2001:DB8:1:2:aaaa:bbbb:cccc:dddd") == BLOCK
    assert counted_as("2001:db8:1:2::1") == BLOCK
    assert counted_as("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert counted_as("::ffff:192.0.2.7") == "192.0.2.7"  # IPv4 mapped: the IPv4 address
    assert counted_as("192.0.2.7") == "192.0.2.7"
    assert counted_as("unknown") == "unknown" and counted_as("") == ""


def sign_in(username: str, password: str, address: str) -> Any:
    return Client(REMOTE_ADDR=address).post("/login/", {"username": username, "password": password})


@pytest.mark.django_db
def test_twenty_failures_from_different_addresses_of_one_64_block_that_64(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_ADDRESS_MAX_FAILURES = 20
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    for i in range(20):  # a fresh address each time, names that do not exist
        assert (
            sign_in(f"user{i}", "guess-password", f"2001:db8:1:2:{i + 1:x}::9").status_code == 200
        )
    assert sign_in("clerk", PASSWORD, "2001:db8:1:2:ffff::1").status_code == 200  # blocked
    blocked = AuditEntry.objects.get(action="login_blocked", target_type="address")
    assert blocked.target_id == BLOCK
    assert blocked.detail["ip"] == "2001:db8:1:2:14::9" and blocked.detail["network"] == BLOCK
    assert sign_in("clerk", PASSWORD, "2001:db8:1:3::1").status_code == 302  # the next /64
    assert sign_in("clerk", PASSWORD, "192.0.2.10").status_code == 302


@pytest.mark.django_db
def test_guessing_one_account_from_one_64_blocks_it_there_only(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_MAX_FAILURES = 3
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    for i in range(3):
        sign_in("clerk", "guess-password", f"2001:db8:1:2::{i + 1:x}")
    assert sign_in("clerk", PASSWORD, "2001:db8:1:2::99").status_code == 200  # blocked
    assert sign_in("clerk", PASSWORD, "2001:db8:9:9::1").status_code == 302  # another network
