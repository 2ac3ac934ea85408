"""Audit of issue 19 (transfer early warning and quality of incoming archives): defects found
from outside, each written as a failing test before it was fixed and kept as a regression test."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from lantai.catalog import services as catalog
from lantai.core import accounts
from lantai.ingest import warning
from lantai.ingest.quality_models import QualityVisit, TransferReminder

PASSWORD = "Lantai#Archive2024"


@pytest.fixture
def two_archives(db: None, settings: Any) -> dict[str, Any]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    province = catalog.default_repository()
    county = catalog.create_repository("451021", "临江县档案馆", level="county")
    prov_unit = catalog.create_fonds("Z109", "岭南省人民政府办公厅")
    county_unit = catalog.create_fonds("X001", "临江县人民政府办公室", repository=county)
    county_receiver = accounts.create_user(
        "county_receiver", role="receiving_archivist", password=PASSWORD, clearance=4
    )
    accounts.grant(county_receiver, actor=None, repository_ids=[county.pk])
    return {"province": province, "prov_unit": prov_unit, "county_unit": county_unit,
            "county_receiver": county_receiver}  # fmt: skip


def test_a_county_receiver_handles_only_its_own_archives_units(
    two_archives: dict[str, Any],
) -> None:
    receiver = two_archives["county_receiver"]
    prov, county = two_archives["prov_unit"], two_archives["county_unit"]
    assert not catalog.visible_fonds(receiver).filter(pk=prov.pk).exists()
    assert set(warning.units_for(receiver)) == {county}
    client = Client()
    client.force_login(receiver)
    assert client.get(f"/transfers/quality/units/{prov.pk}/").status_code == 404
    client.post(f"/transfers/quality/units/{prov.pk}/remind/")
    client.post(f"/transfers/quality/units/{prov.pk}/visits/", {
        "visited_on": "2026-12-01", "visitors": "县馆接收科", "advice": "请按期移交"})  # fmt: skip
    assert not TransferReminder.objects.filter(fonds=prov).exists()
    assert not QualityVisit.objects.filter(fonds=prov).exists()
