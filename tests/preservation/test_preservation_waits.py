"""A fresh install has one storage location and a policy of two copies: its packages wait for a
second copy, and both `lantai storage preserve` (text and --json) and the storage page say why and
how to add a location (issue 13, point 3). Real services throughout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse

from lantai.catalog import services as catalog
from lantai.cli import main
from lantai.core import accounts
from lantai.preservation import locations, packaging
from lantai.preservation.models import Package
from tests.preservation.conftest import make_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_install(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.PRESERVATION_MIN_COPIES = 2  # the production default (the tests run with 1)


@pytest.fixture
def package(db: None) -> Package:
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    records = make_records(category, range(1, 3))
    return packaging.new_package("transfer", "移交 1：测试", None, [r.pk for r in records])


def _preserve(*args: str) -> Any:
    return CliRunner().invoke(main, ["storage", "preserve", *args])


def test_storage_preserve_says_why_a_package_waits_and_how_to_add_a_location(
    package: Package, tmp_path: Path
) -> None:
    text = _preserve()
    assert text.exit_code == 1, text.output
    assert "待保存共 1 个" in text.output
    assert "等待第 2 份副本" in text.output
    assert "只配置了 1 个必需存储位置" in text.output
    assert "lantai storage location add" in text.output and "S3" in text.output

    as_json = _preserve("--json")
    assert as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert data["ok"] is False and data["pending"] == 1
    [wait] = data["waiting"]
    assert (wait["code"], wait["need"], wait["have"]) == ("copies", 2, 1)
    assert "lantai storage location add" in wait["how"]

    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    done = _preserve("--json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert (data["ok"], data["pending"], data["waiting"]) == (True, 0, [])
    package.refresh_from_db()
    assert package.status == "preserved"


def test_storage_page_says_why_packages_wait(package: Package, tmp_path: Path) -> None:
    keeper = accounts.create_user("keeper", role="preservation_officer", password="Pw-123456789")
    client = Client()
    client.force_login(keeper)
    _preserve()
    page = client.get(reverse("web:storage")).content.decode()
    assert "信息包为何尚未保存" in page
    assert "等待第 2 份副本" in page and "lantai storage location add" in page
    assert reverse("web:storage_locations") in page

    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    page = client.get(reverse("web:storage")).content.decode()
    assert "信息包为何尚未保存" not in page
