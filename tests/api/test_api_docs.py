"""The staff API documents itself only to signed-in staff; the public API has its own document,
which lists the public endpoints alone."""

from __future__ import annotations

import pytest
from django.test import Client

from lantai.core import accounts
from lantai.core.api_auth import issue_token

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024test"


def test_staff_api_document_and_docs_page_need_a_staff_sign_in() -> None:
    anonymous = Client()
    assert anonymous.get("/api/openapi.json").status_code == 401
    docs = anonymous.get("/api/docs")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")

    user = accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    staff = Client()
    staff.force_login(user)
    assert "/api/records" in staff.get("/api/openapi.json").json()["paths"]
    assert staff.get("/api/docs").status_code == 200
    by_token = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'ci')}")
    assert by_token.get("/api/openapi.json").status_code == 200
    assert Client(HTTP_AUTHORIZATION="Bearer lt_wrong").get("/api/openapi.json").status_code == 401


def test_public_api_documents_itself_without_the_staff_endpoints() -> None:
    client = Client()
    schema = client.get("/api/public/openapi.json").json()
    paths = set(schema["paths"])
    assert paths and all(p.startswith("/api/public/") for p in paths)
    docs = client.get("/api/public/docs")
    assert docs.status_code == 200 and b"/api/public/openapi.json" in docs.content
