"""Disaster recovery as the operator guide tells it: the data directory (database, working files,
primary storage root) is lost, one replica survives (a local directory or an S3 bucket on
moto_server over HTTP). The real `lantai` command, run as a new system in a new data directory,
rebuilds the catalogue from the survivor, then `storage preserve` writes the lost copy again from
the survivor and `storage audit` covers every replica, both exiting 0; `storage drill` restores
and matches."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.catalog.models import Component, Record
from lantai.core.models import User
from lantai.preservation import deletion, locations, ocfl, ocfl_check, packaging, replication
from lantai.preservation.models import Package, StorageLocation
from lantai.preservation.storage import LocalLocation
from tests.preservation.conftest import S3Server, make_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "old" / "preservation"
    settings.MEDIA_ROOT = tmp_path / "old" / "files"


def _old_system(survivor: StorageLocation) -> dict[str, Any]:
    """Three packages on the primary and `survivor` (one of them deleted by two people); what
    the catalogue held, to compare with the rebuilt one."""
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    records = make_records(category, range(1, 5), repeat=300)
    # two files of one name in one record
    attach_component(records[1], [b"attachment " * 100], "正文2.pdf", user=None)
    ids = [r.pk for r in records]
    packaging.new_package("transfer", "移交 1", None, ids[:2])
    packaging.new_package("transfer", "移交 2", None, ids[2:3])
    doomed = packaging.new_package("transfer", "移交 3（待销毁）", None, ids[3:])
    for pk in replication.pending_packages():
        assert replication.preserve(pk) == "preserved"
    alice = User.objects.create_user("alice", password="x-Very-long-1", role="preservation_officer")
    bob = User.objects.create_user("bob", password="x-Very-long-2", role="preservation_officer")
    req = deletion.request_deletion(doomed, "鉴定销毁：鉴定委员会决议第3号", user=alice)
    deletion.decide(req, True, user=bob)
    for pk in replication.pending_packages():
        replication.preserve(pk)
    survivor.refresh_from_db()
    return {
        "objects": set(Package.objects.values_list("object_id", flat=True)),
        "live": Package.objects.exclude(status="deleted").count(),
        "records": sorted(Record.objects.values_list("reference_code", "title")),
        "files": sorted(Component.objects.values_list("path", "sm3", "sha256")),
        "identity": str(getattr(survivor, "identity", "")),
    }


def _lantai(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lantai.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _new_system_env(new: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LANTAI_") and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        LANTAI_DATA_DIR=str(new),
        LANTAI_DATABASE_URL=f"sqlite:///{new / 'lantai.sqlite3'}",
        LANTAI_SECRET_KEY=django_settings.SECRET_KEY,
        LANTAI_JOBS_IMMEDIATE="1",
        **extra,
    )
    return env


def _recover(tmp_path: Path, before: dict[str, Any], env: dict[str, str], *source: str) -> None:
    new = Path(env["LANTAI_DATA_DIR"])
    rebuilt = _lantai(
        env, "storage", "rebuild-catalog", "--into", env["LANTAI_DATABASE_URL"], *source
    )
    assert rebuilt.returncode == 0, rebuilt.stderr + rebuilt.stdout
    counts = json.loads(rebuilt.stdout)
    assert counts["packages"] == len(before["objects"]) and counts["deleted_packages"] == 1
    assert counts["files_restored"] == len(before["files"])
    # the working files are back in the new data directory, as the catalogue describes them
    for rel, sm3, sha256 in before["files"]:
        digests = ocfl.hash_file(new / "files" / rel)
        assert (digests.sm3, digests.sha256) == (sm3, sha256), rel

    preserved = _lantai(env, "storage", "preserve")
    assert preserved.returncode == 0, preserved.stderr + preserved.stdout
    # the lost primary copy is written again from the survivor, tombstones included
    primary = LocalLocation("local", new / "preservation")
    assert set(ocfl.object_ids(primary)) == before["objects"]
    for oid in before["objects"]:
        assert ocfl_check.verify_object(primary, oid) == []
    assert locations.read_marker(primary) is not None  # the new primary has its identity marker

    audited = _lantai(env, "storage", "audit", "--limit", "100000", "--json")
    assert audited.returncode == 0, audited.stderr + audited.stdout
    run = json.loads(audited.stdout)
    assert run["replicas"] == 2 * len(before["objects"])  # the new primary and the survivor
    assert run["problems"] == 0 and run["files"] > 0

    drill = _lantai(env, "storage", "drill", "--sample", "10", "--json")
    assert drill.returncode == 0, drill.stderr + drill.stdout
    result = json.loads(drill.stdout)
    assert result["result"] == "pass" and result["sample"] == before["live"]
    assert all(len(p["replicas"]) == 2 for p in result["packages"])

    # the catalogue itself, in the rebuilt system's own database file
    with sqlite3.connect(new / "lantai.sqlite3") as db:
        rows = db.execute("SELECT reference_code, title FROM catalog_record").fetchall()
    assert sorted(rows) == before["records"]


def _disaster(tmp_path: Path) -> None:
    shutil.rmtree(tmp_path / "old")  # database rows aside, nothing of the old data directory


def test_rebuild_from_a_surviving_local_replica(tmp_path: Path) -> None:
    offsite = locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    before = _old_system(offsite)
    _disaster(tmp_path)
    env = _new_system_env(tmp_path / "new")
    _recover(tmp_path, before, env, "--from-path", str(tmp_path / "offsite"))
    # the survivor is recognised by its identity marker, under its own name
    with sqlite3.connect(tmp_path / "new" / "lantai.sqlite3") as db:
        rows = db.execute(
            "SELECT name, required, is_primary, identity FROM preservation_storagelocation"
            " WHERE path = ?",
            (str((tmp_path / "offsite").resolve()),),
        ).fetchall()
    assert len(rows) == 1 and rows[0][:3] == ("offsite", 1, 0)
    assert rows[0][3].replace("-", "") == before["identity"].replace("-", "")


def test_rebuild_from_a_surviving_s3_bucket(tmp_path: Path, moto_server: S3Server) -> None:
    bucket = moto_server.new_bucket().bucket
    offsite = locations.add_location(
        "offsite",
        s3_url=moto_server.endpoint,
        bucket=bucket,
        prefix="lantai",
        access_key=moto_server.access_key,
        secret=moto_server.secret_key,
        required=True,
    )
    before = _old_system(offsite)
    _disaster(tmp_path)
    declared = [
        {"name": "offsite", "s3_url": moto_server.endpoint, "bucket": bucket,
         "prefix": "lantai", "required": True}
    ]  # fmt: skip
    env = _new_system_env(
        tmp_path / "new",
        LANTAI_STORAGE_LOCATIONS=json.dumps(declared),
        LANTAI_S3_ACCESS_KEY=moto_server.access_key,
        LANTAI_S3_SECRET_KEY=moto_server.secret_key,
    )
    _recover(tmp_path, before, env, "--from-location", "offsite")


def test_rebuild_refuses_a_place_that_is_not_a_storage_root(tmp_path: Path) -> None:
    env = _new_system_env(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    url = env["LANTAI_DATABASE_URL"]
    empty = _lantai(
        env, "storage", "rebuild-catalog", "--into", url, "--from-path", str(tmp_path / "empty")
    )
    assert empty.returncode == 2 and "不是 OCFL 存储根目录" in empty.stderr
    unknown = _lantai(env, "storage", "rebuild-catalog", "--into", url, "--from-location", "nas")
    assert unknown.returncode == 2 and "找不到存储位置“nas”" in unknown.stderr


def test_rebuild_refuses_a_survivor_whose_file_does_not_match_the_catalogue(tmp_path: Path) -> None:
    offsite = locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    _old_system(offsite)
    _disaster(tmp_path)
    survivor = LocalLocation("offsite", tmp_path / "offsite")
    oid, state, pdf = next(
        (o, state, p)
        for o in ocfl.object_ids(survivor)
        for state in [ocfl.logical_state(ocfl.read_inventory(survivor, o))]
        for p in sorted(state)
        if p.endswith(".pdf")
    )  # a package still holding files (not the tombstone)
    damaged = tmp_path / "offsite" / ocfl.object_path(survivor, oid) / state[pdf].content_path
    data = bytearray(damaged.read_bytes())
    data[5] ^= 0x01
    damaged.write_bytes(bytes(data))
    env = _new_system_env(tmp_path / "new")
    url = env["LANTAI_DATABASE_URL"]
    bad = _lantai(
        env, "storage", "rebuild-catalog", "--into", url, "--from-path", str(tmp_path / "offsite")
    )
    assert bad.returncode == 2 and "换一个存储位置" in bad.stderr, bad.stderr
    with sqlite3.connect(tmp_path / "new" / "lantai.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM catalog_record").fetchone() == (0,)


# --- the outside audit's findings (decision 0021) -------------------------------------------------

_REPORT = "reports/detection-report.json"

_UNRELATED_TRANSFER = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
django.setup()
from lantai.ingest.models import CheckRecord, Transfer, TransferVersion
from lantai.preservation import replication
from lantai.preservation.models import Package
t = Transfer.objects.create(pk=int(sys.argv[1]), unit="无关单位", title="无关的移交")
v = TransferVersion.objects.create(transfer=t, number=1, original="x", original_sm3="0" * 64,
                                   result="fail", summary={"无关": True})
CheckRecord.objects.create(version=v, property="真实性", content_code="1-3", title="格式识别",
                           status="fail", object="正文1.pdf",
                           evidence={"puid": "fmt/999", "format": "无关格式"}, tool="droid")
package = Package.objects.get(kind="transfer")
replication.mark_changed(package.pk)
print(json.dumps({"status": replication.preserve(package.pk), "source_id": package.source_id}))
"""


def _accepted_transfer() -> tuple[int, Package]:
    """A transfer package whose detection report identified 正文1.pdf as fmt/276."""
    from lantai.ingest.models import CheckRecord, Transfer, TransferVersion

    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    records = make_records(category, range(1, 3), repeat=300)
    transfer = Transfer.objects.create(unit="岭南省人民政府办公厅", title="2020 年文书档案移交")
    version = TransferVersion.objects.create(
        transfer=transfer, number=1, original="quarantine/1", original_sm3="1" * 64,
        result="pass", summary={"pass": 1},
    )  # fmt: skip
    CheckRecord.objects.create(
        version=version, property="真实性", content_code="1-3", title="格式识别", status="pass",
        object="正文1.pdf", evidence={"puid": "fmt/276", "format": "Acrobat PDF 1.7"},
        tool="siegfried", tool_version="1.11",
    )  # fmt: skip
    package = packaging.new_package("transfer", "移交 A", transfer.pk, [r.pk for r in records])
    assert replication.preserve(package.pk) == "preserved"
    return transfer.pk, package


def test_a_rebuilt_package_is_never_linked_to_a_new_unrelated_transfer(tmp_path: Path) -> None:
    locations.add_location("offsite", path=str(tmp_path / "offsite"), required=True)
    transfer_id, package = _accepted_transfer()
    assert replication.preserve(package.pk) == "preserved"
    before = json.loads(
        ocfl.read_logical(LocalLocation("o", tmp_path / "offsite"), package.object_id,
                          _REPORT)
    )  # fmt: skip
    assert before["transfer"] == transfer_id
    _disaster(tmp_path)
    env = _new_system_env(tmp_path / "new")
    url = env["LANTAI_DATABASE_URL"]
    rebuilt = _lantai(
        env, "storage", "rebuild-catalog", "--into", url, "--from-path", str(tmp_path / "offsite")
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    # the new system receives an unrelated transfer that gets the old id; the package changes
    run = subprocess.run(
        [sys.executable, "-c", _UNRELATED_TRANSFER, str(transfer_id)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    changed = json.loads(run.stdout)
    assert changed["status"] == "preserved"
    primary = LocalLocation("local", tmp_path / "new" / "preservation")
    inventory = ocfl.read_inventory(primary, package.object_id)
    assert ocfl.head_number(inventory) == 2
    # the new version carries the package's own report and the PRONOM id it found
    assert json.loads(ocfl.read_logical(primary, package.object_id, _REPORT)) == before
    premis_doc = ocfl.read_logical(primary, package.object_id, "premis/premis.xml").decode()
    assert "fmt/276" in premis_doc and "fmt/999" not in premis_doc
    manifest = json.loads(ocfl.read_logical(primary, package.object_id, "lantai/package.json"))
    assert manifest["source_id"] is None and changed["source_id"] is None


@pytest.mark.parametrize("into", ["bogus://x", "sqlite:////nonexistent-dir/db.sqlite3"])
def test_rebuild_into_an_unusable_database_is_a_clear_error(tmp_path: Path, into: str) -> None:
    env = _new_system_env(tmp_path / "new")
    result = _lantai(env, "storage", "rebuild-catalog", "--into", into)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "目标数据库" in result.stderr
    assert into in result.stderr  # names the place
