"""Uploads declare and enforce size limits: a multipart form post larger than
FORM_UPLOAD_MAX_BYTES is refused before it is read (a page for the browser, JSON for the API),
and a user may hold only so many open chunked uploads, of so many bytes in all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.core import accounts
from lantai.core.api_auth import issue_token

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_data_dir(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


def signed_in(username: str) -> Client:
    client = Client()
    client.force_login(accounts.create_user(username, role="filing_unit", password=PASSWORD))
    return client


def test_a_form_upload_over_the_limit_is_refused_before_it_is_read(settings: Any) -> None:
    settings.FORM_UPLOAD_MAX_BYTES = 64 * 1024
    client = signed_in("unit_a")
    big = SimpleUploadedFile("pkg.zip", b"\0" * (100 * 1024), "application/zip")
    response = client.post(reverse("web:transfer_create"), {"title": "大移交包", "package": big})
    assert response.status_code == 413
    page = response.content.decode()
    assert "上传内容过大" in page and "64.0\xa0KB" in page

    token = issue_token(accounts.create_user("api", role="cataloguer", password=PASSWORD), "ci")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    big.seek(0)
    response = api.post("/api/records/1/components", {"file": big})
    assert response.status_code == 413
    assert "上传内容过大" in response.json()["detail"]


def start(client: Client, size: int) -> Any:
    return client.post(reverse("web:transfer_upload_start"), {"name": "pkg.zip", "size": str(size)})


def test_open_chunked_uploads_are_limited_in_number_and_total_size(settings: Any) -> None:
    settings.UPLOAD_MAX_OPEN = 2
    settings.UPLOAD_MAX_OPEN_BYTES = 1000
    unit = signed_in("unit_a")
    first = start(unit, 400)
    assert first.status_code == 201
    refused = start(unit, 700)  # 400 + 700 announced bytes: over 1000
    assert refused.status_code == 413 and "1000" in refused.json()["error"]
    assert start(unit, 500).status_code == 201
    refused = start(unit, 10)  # a third open upload
    assert refused.status_code == 400 and "2 个" in refused.json()["error"]
    # the limits are per user: a colleague starts their own
    assert start(signed_in("unit_b"), 900).status_code == 201
    # cancelling one frees its place
    unit.delete(reverse("web:transfer_upload", args=[first.json()["token"]]))
    assert start(unit, 10).status_code == 201
