"""The client's address comes from one place that believes forwarding headers only from the
reverse proxies listed in LANTAI_TRUSTED_PROXIES; the audit log and the rate limiter use it."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from lantai.core import accounts
from lantai.core.models import AuditEntry

PASSWORD = "Lantai@2024test"
PROXY = "10.0.0.1"


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    settings.TRUSTED_PROXIES = [PROXY, "10.0.1.0/24"]


def _failed_login(remote: str, **headers: str) -> str:
    Client(REMOTE_ADDR=remote, **headers).post(
        "/login/", {"username": "clerk", "password": "wrong-password"}
    )
    return str(AuditEntry.objects.filter(action="login_failed").latest("seq").detail["ip"])


@pytest.mark.django_db
def test_audit_log_names_the_client_behind_a_listed_proxy_only(
    behind_proxy: None, settings: Any
) -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    via_proxy = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.5"}
    # the right-most address the listed proxy did not add itself is the client
    assert _failed_login(PROXY, **via_proxy) == "203.0.113.5"
    # a chain of listed proxies is walked through
    chain = {"HTTP_X_FORWARDED_FOR": "203.0.113.5, 10.0.1.9"}
    assert _failed_login(PROXY, **chain) == "203.0.113.5"
    # X-Real-IP from a listed proxy that sends no X-Forwarded-For
    assert _failed_login(PROXY, HTTP_X_REAL_IP="192.0.2.44") == "192.0.2.44"
    # a client that is not a listed proxy cannot choose its address by sending the headers
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.5", "HTTP_X_REAL_IP": "192.0.2.44"}
    assert _failed_login("192.0.2.200", **spoofed) == "192.0.2.200"
    # a malformed entry stops the walk at the last hop that can be vouched for
    assert _failed_login(PROXY, HTTP_X_FORWARDED_FOR="not-an-ip, 10.0.1.9") == "10.0.1.9"
    # with no proxy listed, the headers are never believed
    settings.TRUSTED_PROXIES = []
    assert _failed_login(PROXY, **via_proxy) == PROXY


@pytest.mark.django_db
def test_rate_limit_buckets_are_per_client_behind_the_proxy(
    behind_proxy: None, settings: Any
) -> None:
    cache.clear()
    settings.PUBLIC_RATE = "2/h"

    def status(remote: str, forwarded: str) -> int:
        client = Client(REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
        return int(client.get("/public/").status_code)

    assert [status(PROXY, "203.0.113.5") for _ in range(3)] == [200, 200, 429]
    assert status(PROXY, "203.0.113.6") == 200  # another citizen behind the same proxy
    # a direct client rotating X-Forwarded-For still has one bucket (its own address)
    assert [status("192.0.2.200", f"203.0.113.{i}") for i in range(10, 13)] == [200, 200, 429]


def test_the_old_header_setting_is_refused_with_its_replacement_named(tmp_path: Any) -> None:
    env = {
        **os.environ,
        "LANTAI_DATA_DIR": str(tmp_path),
        "LANTAI_PUBLIC_CLIENT_IP_HEADER": "HTTP_X_REAL_IP",
        "DJANGO_SETTINGS_MODULE": "lantai.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "LANTAI_TRUSTED_PROXIES" in done.stderr
