"""`lantai storage drill`: the yearly recovery exercise restores sampled packages in full from every
replica and compares them file by file with the catalogue; it never passes on an empty sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lantai.catalog import services as catalog
from lantai.cli import main
from lantai.core.models import AuditEntry
from lantai.preservation import locations, ocfl, packaging, replication
from lantai.preservation.models import Event, Package
from lantai.preservation.storage import LocalLocation
from tests.preservation.conftest import make_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


def _drill(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["storage", "drill", "--json", *args])
    return result.exit_code, json.loads(result.output)


def _preserved_package(tmp_path: Path) -> Package:
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    ids = [r.pk for r in make_records(category, (1, 2, 3))]
    package = packaging.new_package("transfer", "移交 1", None, ids)
    assert replication.preserve(package.pk) == "preserved"
    return package


def test_drill_on_nothing_is_not_a_pass() -> None:
    code, result = _drill()
    assert code == 1 and result["result"] == "na" and result["reason"]
    assert result["sample"] == 0 and result["packages"] == []


def test_drill_restores_every_replica_and_matches_the_catalogue(tmp_path: Path) -> None:
    package = _preserved_package(tmp_path)
    code, result = _drill("--sample", "5")
    assert code == 0, result
    assert result["result"] == "pass" and result["sample"] == 1
    [examined] = result["packages"]
    assert examined["object_id"] == package.object_id and examined["components"] == 3
    assert {r["location"] for r in examined["replicas"]} == {"local", "offsite"}
    for r in examined["replicas"]:
        assert r["result"] == "pass" and r["compared_files"] == 3 and r["compared_metadata"] == 3
        assert r["files"] >= 3 + 3 + 2  # files, metadata, package.json and PREMIS at least
    assert Event.objects.filter(package=package, detail__startswith="恢复演练").exists()
    assert AuditEntry.objects.filter(action="storage_drill").exists()
    assert not (Path(tmp_path, "scratch")).exists() or not any((tmp_path / "scratch").iterdir())
    code, result = _drill("--sample", "0")
    assert code == 1 and result["result"] == "na"


def test_drill_fails_and_names_a_replica_that_does_not_restore_intact(tmp_path: Path) -> None:
    package = _preserved_package(tmp_path)
    offsite = LocalLocation("offsite", tmp_path / "offsite")
    inventory = ocfl.read_inventory(offsite, package.object_id)
    logical = "records/Z109-WS·2020-Y-BGS-0002/正文2.pdf"
    content = ocfl.logical_state(inventory)[logical].content_path
    damaged = Path(offsite.root, ocfl.object_path(offsite, package.object_id), content)
    data = bytearray(damaged.read_bytes())
    data[10] ^= 0x01
    damaged.write_bytes(bytes(data))
    code, result = _drill()
    assert code == 1 and result["result"] == "fail"
    assert result["failed"] == [package.object_id]
    by_location = {r["location"]: r for r in result["packages"][0]["replicas"]}
    assert by_location["local"]["result"] == "pass"
    bad = by_location["offsite"]
    assert bad["result"] == "fail" and [m["path"] for m in bad["mismatches"]] == [logical]
