"""Refused attempts on records a user may not see are audited too (issue 12, point 18). Such a
record answers 404, exactly as if it did not exist, so that its existence is not revealed; the
audit log still records who asked for what, how and why it was refused. Ids that exist nowhere
are not logged."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from lantai.catalog import services
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.core.models import AuditEntry, User
from tests.web.conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db


def secret_record(site: Site) -> Any:
    """A 机密 record in the site's category, made at the console."""
    record, issues = services.save_record(
        site.category,
        {
            "title": "关于某工程选址的请示", "author": "兰州市档案局", "date": "20230301",
            "year": "2023", "retention": "Y", "org_code": "BGS", "item_number": "77",
            "classification": "机密",
        },
    )  # fmt: skip
    assert record is not None, issues
    return record


def archivist() -> User:
    """A cataloguer cleared for 秘密 in every archives."""
    return accounts.create_user(
        "archivist", role="cataloguer", password=PASSWORD, clearance=2, scope_all=True
    )


def other_archives_cataloguer(site: Site) -> User:
    """A cataloguer cleared for everything, but only in the other fonds."""
    user = accounts.create_user("elsewhere", role="cataloguer", password=PASSWORD, clearance=4)
    user.fonds.add(site.other_fonds)
    return user


def api(user: User) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'test')}")


def newest() -> AuditEntry | None:
    return AuditEntry.objects.order_by("-seq").first()


def assert_refusal_logged(user: User, path: str, method: str) -> None:
    entry = newest()
    assert entry is not None and entry.action == "access_denied", entry
    assert entry.actor == user.username
    assert entry.detail["path"] == path and entry.detail["method"] == method
    assert entry.detail["reason"]


def test_a_record_above_clearance_answers_404_and_is_logged(site: Site) -> None:
    record = secret_record(site)
    user = archivist()
    path = f"/api/records/{record.pk}"
    assert api(user).get(path).status_code == 404
    assert_refusal_logged(user, path, "GET")
    assert api(user).delete(path).status_code == 404
    assert_refusal_logged(user, path, "DELETE")
    page = Client()
    page.force_login(user)
    url = reverse("web:record", args=[record.pk])
    assert page.get(url).status_code == 404
    assert_refusal_logged(user, url, "GET")


def test_a_record_or_category_outside_scope_answers_404_and_is_logged(site: Site) -> None:
    user = other_archives_cataloguer(site)
    path = f"/api/records/{site.records[0].pk}"
    response = api(user).patch(path, {"title": "改"}, content_type="application/json")
    assert response.status_code == 404
    assert_refusal_logged(user, path, "PATCH")
    data = {
        "file": SimpleUploadedFile("目录.csv", "档号,题名\n".encode(), "text/csv"),
        "category": site.category.pk,
    }
    assert api(user).post("/api/imports", data).status_code == 404
    assert_refusal_logged(user, "/api/imports", "POST")


def test_ids_that_exist_nowhere_are_not_logged(site: Site) -> None:
    user = archivist()
    client = api(user)
    page = Client()
    page.force_login(user)
    before = newest()
    assert client.get("/api/records/987654").status_code == 404
    assert client.delete("/api/records/987654").status_code == 404
    assert page.get(reverse("web:record", args=[987654])).status_code == 404
    assert newest() == before


def test_a_fonds_outside_scope_answers_404_and_is_logged(site: Site) -> None:
    user = other_archives_cataloguer(site)
    path = f"/api/fonds/{site.fonds.pk}"
    assert api(user).get(path).status_code == 404
    assert_refusal_logged(user, path, "GET")
    page = Client()
    page.force_login(user)
    url = reverse("web:fonds", args=[site.fonds.pk])
    assert page.get(url).status_code == 404
    assert_refusal_logged(user, url, "GET")
    assert page.get(reverse("web:fonds", args=[site.other_fonds.pk])).status_code == 200
