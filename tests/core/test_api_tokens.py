"""API tokens expire and carry scopes: an expired token gets 401, a token without the scope of
the endpoint 403, both as JSON saying why; sessions are not limited by scopes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from lantai.core import accounts
from lantai.core.accounts import AccountError
from lantai.core.api_auth import issue, issue_token
from lantai.core.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024test"


@pytest.fixture
def clerk(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return accounts.create_user("clerk", role="cataloguer", password=PASSWORD, scope_all=True)


def bearer(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_scopes_read_and_write(clerk: Any) -> None:
    reader = bearer(issue_token(clerk, "r", scopes=["catalog:read"]))
    assert reader.get("/api/repositories").status_code == 200
    refused = reader.post("/api/fonds", {"code": "X1"}, content_type="application/json")
    assert refused.status_code == 403
    body = refused.json()
    assert body["required_scope"] == "catalog:write" and "catalog:write" in body["detail"]
    assert AuditEntry.objects.filter(action="access_denied", actor="clerk").exists()
    writer = bearer(issue_token(clerk, "w", scopes=["catalog:write"]))
    assert writer.get("/api/repositories").status_code == 200  # write includes read
    made = writer.post("/api/fonds", {"code": "X1"}, content_type="application/json")
    assert made.status_code != 403 or "required_scope" not in made.json()


def test_an_expired_token_is_refused_with_a_clear_answer(clerk: Any) -> None:
    made = issue(clerk, "old", days=1)
    assert made.row.expires_at is not None
    assert made.row.expires_at - timezone.now() > timedelta(hours=23)
    assert bearer(made.token).get("/api/repositories").status_code == 200
    ApiToken.objects.filter(pk=made.row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(made.token).get("/api/repositories")
    assert response.status_code == 401
    assert "过期" in response.json()["detail"] and response.json()["expired_at"]


def test_limits_on_issue(clerk: Any, settings: Any) -> None:
    with pytest.raises(AccountError, match="未知的令牌权限范围"):
        issue(clerk, "x", scopes=["everything"])
    with pytest.raises(AccountError, match="有效期"):
        issue(clerk, "x", days=settings.API_TOKEN_MAX_DAYS + 1)
    default = issue(clerk, "d").row
    assert default.expires_at is not None
    days = (default.expires_at - timezone.now()).days
    assert days in (settings.API_TOKEN_DAYS - 1, settings.API_TOKEN_DAYS)


def test_a_session_is_not_limited_by_scopes(clerk: Any) -> None:
    client = Client()
    client.force_login(clerk)
    assert client.get("/api/repositories").status_code == 200


def test_cli_prints_the_expiry_and_refuses_unknown_scopes(clerk: Any) -> None:
    from click.testing import CliRunner

    from lantai.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["user", "token", "clerk", "--scope", "catalog:read", "--days", "7", "--json"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    import json

    data = json.loads(ok.output)
    assert data["scopes"] == ["catalog:read"] and data["expires_at"] and data["token"]
    bad = runner.invoke(main, ["user", "token", "clerk", "--scope", "all", "--json"])
    assert bad.exit_code == 1 and json.loads(bad.output)["ok"] is False
