"""Issue 12, point 18: the keeper's manual audit and check actions are in the audit log (the
periodic ones the system runs by itself are not, they would drown the log)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.test import Client
from django.urls import reverse

from lantai.cli import main
from lantai.core import accounts
from lantai.core.audit import acting_as
from lantai.core.models import AuditEntry
from lantai.preservation import locations
from lantai.preservation.models import StorageLocation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_storage_checks_by_hand_are_logged_and_periodic_ones_are_not(tmp_path: Path) -> None:
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    loc = StorageLocation.objects.get(name="offsite")
    with acting_as("system:preservation"):
        locations.check_health(loc)
    assert _entries("storage_location_check") == []
    keeper = accounts.create_user("keeper", role="preservation_officer", password="Keeper#2026x")
    client = Client()
    client.force_login(keeper)
    client.post(reverse("web:storage_check"))
    logged = _entries("storage_location_check")
    assert logged and all(e.actor == "keeper" for e in logged)
    assert {e.detail["name"] for e in logged} >= {"offsite"}


def test_a_fixity_audit_from_the_console_is_logged(tmp_path: Path) -> None:
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    result = CliRunner().invoke(main, ["storage", "audit", "--json"])
    assert result.output and json.loads(result.output)
    entry = _entries("fixity_audit_run")[-1]
    assert entry.actor.startswith("cli") and entry.detail["files"] == 0


def test_a_longterm_check_started_in_the_ui_is_logged() -> None:
    keeper = accounts.create_user("keeper", role="preservation_officer", password="Keeper#2026x")
    client = Client()
    client.force_login(keeper)
    client.post(reverse("web:storage_checks_run"), {"sample": "3"})
    entry = _entries("longterm_check_run")[-1]
    assert entry.actor == "keeper" and entry.detail["sample"] == 3
    assert entry.target_type == "longterm_check" and entry.target_id
