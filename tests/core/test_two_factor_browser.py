"""In real Chromium: an administrator signs in for the first time, is sent to enroll a second
factor (QR code shown inline, the secret as text), confirms with a code, keeps the recovery codes,
and signs in again with a code from the authenticator."""

from __future__ import annotations

import time
from typing import Any

import pyotp
import pytest

from lantai.core import accounts

pytestmark = pytest.mark.browser

PASSWORD = "Lantai@2024test"


def test_an_administrator_enrolls_and_signs_in_with_a_code(
    page: Any, live_server: Any, transactional_db: Any, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    accounts.create_user("auditor", role="audit_admin", password=PASSWORD)
    base = live_server.url
    page.goto(base + "/login/")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/login/enroll/")
    assert page.locator(".totp-qr svg").is_visible()  # inline SVG under the page's CSP
    secret = page.inner_text(".totp-secret").strip()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("button:has-text('确认绑定')")
    codes = page.locator(".recovery-codes li")
    assert codes.count() == 10
    page.click("a:has-text('继续')")
    page.wait_for_url(base + "/audit/")  # the audit administrator's home
    page.click("button:has-text('退出登录')")
    page.wait_for_url("**/login/")

    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('登录')")
    page.wait_for_url("**/login/verify/")
    # the enrolling code is used up: the next step's code (one step of drift is accepted)
    page.fill("input[name=code]", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("button:has-text('验证')")
    page.wait_for_url(base + "/audit/")
