"""Marriage registration records stay at the marriage counter: never opened, not in the
catalogue's browse, record pages, exports or API for anyone but the marriage archivist, and never
in the full-text index (found only by identity number, names and years under the rights rules)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.core import accounts
from lantai.core.models import User
from lantai.search.documents import build_documents

pytestmark = pytest.mark.django_db


def _user(role: str) -> User:
    made = accounts.create_user(f"u-{role}", role=role, password="Lantai#Archive2024",
                                clearance=3, scope_all=True)  # fmt: skip
    return User.objects.get(pk=made.pk)


def test_only_the_marriage_archivist_sees_marriage_records_in_the_catalogue(
    couple: dict[str, int], settings: Any
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    record = couple["marriage"]
    for role in ("cataloguer", "reading_room", "preservation_officer", "senior_reviewer"):
        user = _user(role)
        assert not catalog.visible_records(user).filter(pk=record).exists(), role
        assert catalog.visible_record(user, record) is None, role
        assert not catalog.visible_categories(user).filter(code="HY").exists(), role
        client = Client()
        client.force_login(user)
        assert client.get(f"/records/{record}/").status_code == 404, role
        assert client.get(f"/api/records/{record}").status_code == 404, role
    manager = _user("marriage_archivist")
    assert catalog.visible_record(manager, record) is not None
    # the counter reaches them through records_in_scope, with the rights rules and the log
    clerk = User.objects.get(username="u-reading_room")
    assert catalog.records_in_scope(clerk).filter(pk=record).exists()


def test_a_marriage_record_cannot_be_opened(couple: dict[str, int]) -> None:
    record = Record.objects.select_related("category").get(pk=couple["marriage"])
    raw = catalog.record_as_input(record) | {"open_status": "开放"}
    saved, issues = catalog.save_record(record.category, raw, record=record)
    assert saved is None and [i.rule for i in issues if i.severity == "error"] == [
        "marriage_closed"
    ]
    assert Record.objects.get(pk=record.pk).open_status == "closed"


def test_marriage_records_are_not_indexed(couple: dict[str, int]) -> None:
    assert build_documents(couple.values()) == []
