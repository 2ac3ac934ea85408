"""Every role on every page of the appraisal room (as tests/core/test_role_walk.py does for the
whole site): those without APPRAISE are refused (403, audited; anonymous: sent to sign in),
those with it are let in (an unknown id answers 404, an empty form re-displays)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import get_resolver, reverse

from lantai.core import accounts
from lantai.core.models import AuditEntry
from lantai.core.roles import APPRAISE, ROLES, has_permission

MISSING = 999_999


def appraisal_urls() -> list[str]:
    resolver = get_resolver()
    names = [n for n in resolver.namespace_dict["appraisal"][1].reverse_dict if isinstance(n, str)]
    out = []
    for name in sorted(set(names)):
        try:
            out.append(reverse(f"appraisal:{name}", kwargs={"pk": MISSING}))
        except Exception:
            out.append(reverse(f"appraisal:{name}"))
    return out


@pytest.mark.django_db
def test_every_role_on_every_appraisal_page(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    urls = appraisal_urls()
    assert len(urls) == 15
    wrong = []
    for code in [*ROLES, None]:
        client = Client(raise_request_exception=False)
        user = None
        if code is not None:
            user = accounts.create_user(f"walk-{code}", role=code, password="Walk#Password2026",
                                        clearance=4, scope_all=True)  # fmt: skip
            client.force_login(user)
        allowed = code is not None and has_permission(code, APPRAISE)
        for url in urls:
            response = client.get(url)
            if response.status_code == 405:
                response = client.post(url)
            location = response.get("Location", "") if response.status_code == 302 else ""
            refused = response.status_code == 403 or (user is None and "/login/" in location)
            if refused == allowed or response.status_code >= 500:
                wrong.append(f"{url} as {code}: {response.status_code}")
            if response.status_code == 403:
                last = AuditEntry.objects.order_by("-seq").first()
                assert last is not None and last.action == "access_denied"
    assert not wrong, "\n".join(wrong)
