"""Numbers typed into staff pages never reach int() unchecked (issue 12, point 14): a "digit" that
int() refuses (², a superscript), or thousands of digits, is a clear 400 or an ignored filter,
never a 500."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from lantai.core import accounts

from .conftest import PASSWORD, Site
from .test_transfers import own_fonds

pytestmark = pytest.mark.django_db

BAD_NUMBERS = [
    pytest.param("²", id="superscript"),  # a digit to str.isdigit(), not to int()
    pytest.param("9" * 5000, id="5000-nines"),  # past int()'s limit of 4300 digits
    pytest.param("１" * 30, id="full-width"),  # int() reads it, the database overflows
]


def signed_in(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def unit(settings: Any, tmp_path: Path) -> Any:
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    user = accounts.create_user("unit_a", role="filing_unit", password=PASSWORD)
    own_fonds(user)
    return user


@pytest.mark.parametrize("size", BAD_NUMBERS)
def test_an_upload_of_a_bad_size_is_refused_with_a_word(unit: Any, size: str) -> None:
    response = signed_in(unit).post(
        reverse("web:transfer_upload_start"), {"name": "a.zip", "size": size}
    )
    assert response.status_code == 400
    assert "文件大小" in response.json()["error"]


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_a_chunk_at_a_bad_offset_is_refused_with_a_word(unit: Any, bad: str) -> None:
    client = signed_in(unit)
    started = client.post(reverse("web:transfer_upload_start"), {"name": "a.zip", "size": "3"})
    url = reverse("web:transfer_upload", args=[started.json()["token"]])
    response = client.put(f"{url}?offset={bad}", b"abc", content_type="application/octet-stream")
    assert response.status_code == 400
    ranged = client.put(
        url,
        b"abc",
        content_type="application/octet-stream",
        headers={"content-range": f"bytes 0-{bad}/3"},
    )
    assert ranged.status_code == 400


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_a_bad_year_or_cursor_in_a_record_list_is_ignored(site: Site, bad: str) -> None:
    client = signed_in(site.users["cataloguer"])
    category = site.category.pk
    for params in ({"year": bad}, {"after_code": "Z109", "after_id": bad}):
        listed = client.get(reverse("web:records", args=[category]), params)
        assert listed.status_code == 200
        assert site.records[0].title in listed.content.decode()  # the filter is dropped
        exported = client.get(reverse("web:export", args=[category]), {**params, "format": "csv"})
        assert exported.status_code == 200


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_a_bad_number_on_other_staff_pages_is_no_error(site: Site, bad: str) -> None:
    auditor = signed_in(site.users["audit_admin"])
    assert auditor.get(reverse("web:audit"), {"before": bad}).status_code == 200
    editor = signed_in(site.users["cataloguer"])
    url = reverse("web:record_add_to_collection", args=[site.records[0].pk])
    response = editor.post(url, {"collection": bad})
    assert response.status_code == 302  # back to the record with "请选择一个专题"
