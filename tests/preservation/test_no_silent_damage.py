"""Preservation that cannot take in damage silently (issue 11, points 9, 10, 11 and the OCFL half
of 13; decision 0020): working copies checked before a version is written, an audit that covers
every file, location identity markers (unmounted disks, wrong buckets), strict OCFL validation of
what the real code writes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.conf import settings as dj_settings
from django.db import transaction

from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.catalog.models import Category, Component, Record
from lantai.cli import main
from lantai.preservation import locations, ocfl, ocfl_check, packaging, replication, verification
from lantai.preservation.models import Alert, Event, Package, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation, LocationOffline
from tests.preservation.conftest import S3Server, make_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def category(db: None) -> Category:
    return catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")


def _records(category: Category, n: int = 2, start: int = 1) -> list[Record]:
    return make_records(category, range(start, start + n), year=2021, repeat=300)


def _new_package(category: Category, start: int = 1) -> Package:
    records = _records(category, 2, start)
    return packaging.new_package("transfer", f"移交 {start}", None, [r.pk for r in records])


@pytest.fixture
def package(category: Category) -> Package:
    pkg = _new_package(category)
    assert replication.preserve(pkg.pk) == "preserved"
    pkg.refresh_from_db()
    return pkg


def _add(tmp_path: Path, name: str = "offsite") -> StorageLocation:
    return locations.add_location(name, path=str(tmp_path / name), required=True)


def _backend(name: str) -> LocalLocation:
    return LocalLocation(name, Path(StorageLocation.objects.get(name=name).path))


def _object_dir(pkg: Package, name: str) -> Path:
    return _backend(name).root / ocfl.object_root(pkg.object_id)


def _stored(pkg: Package, name: str, suffix: str) -> Path:
    inv = ocfl.read_inventory(_backend(name), pkg.object_id)
    path = next(c.content_path for c in ocfl.content_files(inv) if c.content_path.endswith(suffix))
    return _object_dir(pkg, name) / path


def _flip(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2 if at is None else at] ^= 0x01
    path.write_bytes(bytes(data))


def _audit_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, ["storage", "audit", "--limit", "100000", "--json", *args])
    return result.exit_code, json.loads(result.output)


def _working_copy(record_code: str) -> tuple[Component, Path]:
    comp = Component.objects.get(record__reference_code=record_code)
    return comp, Path(dj_settings.MEDIA_ROOT, comp.path)


# --- point 9: working copies ---------------------------------------------------------------------


def test_a_damaged_working_copy_refuses_the_new_version_and_is_restored(
    package: Package,
) -> None:
    comp, working = _working_copy("Z109-WS·2021-Y-BGS-0001")
    good = working.read_bytes()
    _flip(working)
    record = Record.objects.get(reference_code="Z109-WS·2021-Y-BGS-0002")
    record.title = "关于档案安全工作的通知（修订）"
    record.save()  # a new version is due; with jobs immediate, preserve runs on commit

    package.refresh_from_db()
    assert package.version == 1 and package.status == "pending"  # refused: nothing written
    assert ocfl.head_version(_backend("local"), package.object_id) == "v1"
    alert = Alert.objects.get(kind="working_copy", package=package)
    assert "正文1.pdf" in alert.message and alert.resolved_at is not None  # restored
    assert working.read_bytes() == good
    assert ocfl.hash_file(working).sm3 == comp.sm3
    kinds = set(Event.objects.filter(package=package).values_list("event_type", "outcome"))
    assert {("fixity check", "failure"), ("recovery", "success")} <= kinds

    assert replication.preserve(package.pk) == "preserved"  # the next preserve succeeds
    package.refresh_from_db()
    assert package.version == 2
    backend = _backend("local")
    stored = ocfl.read_logical(
        backend, package.object_id, "records/Z109-WS·2021-Y-BGS-0001/正文1.pdf"
    )
    assert stored == good
    premis = ocfl.read_logical(backend, package.object_id, "premis/premis.xml").decode()
    refused = Event.objects.get(package=package, event_type="fixity check", outcome="failure")
    assert str(refused.uuid) in premis  # the refusal is in the object's PREMIS


def test_the_working_copy_is_restored_only_from_a_replica_that_verifies(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    _flip(_stored(package, "local", "正文1.pdf"))  # the primary's stored copy is bad as well
    comp, working = _working_copy("Z109-WS·2021-Y-BGS-0001")
    _flip(working, at=10)
    replication.mark_changed(package.pk)
    assert replication.preserve(package.pk) == "pending"
    assert ocfl.hash_file(working).sm3 == comp.sm3
    alert = Alert.objects.get(kind="working_copy", package=package)
    assert "offsite" in alert.resolution  # not from the damaged primary


def test_a_working_copy_no_replica_holds_cannot_be_restored(package: Package) -> None:
    record = Record.objects.get(reference_code="Z109-WS·2021-Y-BGS-0002")
    with transaction.atomic():  # the preservation job runs on commit, after the damage
        attach_component(record, ["新增附件".encode() * 50], "附件.txt", user=None)
        comp = Component.objects.get(name="附件.txt")
        _flip(Path(dj_settings.MEDIA_ROOT, comp.path))  # damaged before any replica held it
    package.refresh_from_db()
    assert package.status == "pending"
    assert replication.preserve(package.pk) == "pending"
    assert Alert.objects.filter(kind="repair_failed", package=package, resolved_at=None).exists()
    assert ocfl.head_version(_backend("local"), package.object_id) == "v1"


# --- point 10: the audit covers every file -------------------------------------------------------


def test_the_audit_checks_and_repairs_every_non_content_file(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    obj = _object_dir(package, "offsite")
    root = _backend("offsite").root
    (obj / "0=ocfl_object_1.1").unlink()  # the object declaration
    (obj / "v1/inventory.json.sha512").write_text("0" * 128 + "  inventory.json\n")  # a sidecar
    _flip(_stored(package, "offsite", "fixity-sm3.json"))  # the SM3 list
    (root / "ocfl_layout.json").write_text('{"extension": "x"}')  # the storage root's own files
    (root / "lantai-sm3-digest-algorithm.md").unlink()

    code, report = _audit_json()
    assert code == 0, report
    kinds = {(d["kind"], d["path"].rsplit("/", 1)[-1]) for d in report["details"]}
    assert {
        ("declaration", "0=ocfl_object_1.1"),
        ("inventory", "inventory.json.sha512"),
        ("sm3_list", "fixity-sm3.json"),
        ("root_file", "ocfl_layout.json"),
        ("root_file", "lantai-sm3-digest-algorithm.md"),
    } <= kinds
    assert all(d["repaired_from"] for d in report["details"])
    assert ocfl_check.verify_object(_backend("offsite"), package.object_id) == []
    assert ocfl_check.check_root(_backend("offsite")) == []


def test_a_rewritten_version_inventory_is_repaired_from_a_good_replica(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    record = Record.objects.get(reference_code="Z109-WS·2021-Y-BGS-0002")
    record.title = "第二版"
    record.save()
    package.refresh_from_db()
    assert package.version == 2 and package.status == "preserved"
    v1 = _object_dir(package, "offsite") / "v1"
    inv = json.loads((v1 / "inventory.json").read_text())
    inv["versions"]["v1"]["message"] = "篡改的历史"
    data = json.dumps(inv).encode()
    (v1 / "inventory.json").write_bytes(data)
    (v1 / "inventory.json.sha512").write_text(f"{ocfl.sha512_hex(data)}  inventory.json\n")

    code, report = _audit_json()
    assert code == 0, report
    [problem] = [d for d in report["details"] if d["location"] == "offsite"]
    assert problem["kind"] == "inventory" and problem["repaired_from"] == "local"
    assert json.loads((v1 / "inventory.json").read_text())["versions"]["v1"]["message"] != (
        "篡改的历史"
    )


def test_an_extra_file_in_an_object_is_reported_and_kept(package: Package) -> None:
    stray = _object_dir(package, "local") / "v1" / "content" / "陌生文件.txt"
    stray.write_text("谁放的？")
    code, report = _audit_json()
    assert code == 1
    assert [d["kind"] for d in report["unrepaired_problems"]] == ["extra_file"]
    assert stray.exists()  # the audit never deletes what it does not know


def test_damage_found_by_verify_object_survives_the_next_audit_unless_repaired(
    package: Package, tmp_path: Path
) -> None:
    sidecar = _object_dir(package, "local") / "v1" / "inventory.json.sha512"
    sidecar.write_text("0" * 128 + "  inventory.json\n")
    assert verification.verify_package(package.object_id)["intact"] is False
    assert Replica.objects.get(package=package).damaged
    code, report = _audit_json()  # one replica: nothing to repair from
    assert code == 1 and report["damaged_replicas"][0]["object_id"] == package.object_id
    assert Replica.objects.get(package=package).damaged
    # with a good replica the damage is repaired, and then `damaged` goes
    _add(tmp_path)
    Replica.objects.filter(package=package, location__name="offsite").update(version=1)
    shutil.copytree(_object_dir(package, "local"), _object_dir(package, "offsite"))
    (_object_dir(package, "offsite") / "v1" / "inventory.json.sha512").write_text(
        f"{ocfl.sha512_hex((_object_dir(package, 'local') / 'v1' / 'inventory.json').read_bytes())}"
        "  inventory.json\n"
    )
    code, report = _audit_json()
    assert code == 0, report
    assert not Replica.objects.filter(damaged=True).exists()


def test_a_content_damage_found_by_verify_object_is_cleared_once_the_audit_repairs_it(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    _flip(_stored(package, "offsite", "正文2.pdf"))
    assert verification.verify_package(package.object_id)["intact"] is False
    assert Replica.objects.get(package=package, location__name="offsite").damaged
    code, report = _audit_json()
    assert code == 0, report
    assert not Replica.objects.get(package=package, location__name="offsite").damaged


def test_repairs_and_failures_reach_the_objects_premis_at_the_audit(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    _flip(_stored(package, "offsite", "正文2.pdf"))
    code, report = _audit_json()
    assert code == 0 and report["republished"] == [package.object_id], report
    package.refresh_from_db()
    assert package.version == 2 and package.status == "preserved"
    for name in ("local", "offsite"):
        premis = ocfl.read_logical(_backend(name), package.object_id, "premis/premis.xml").decode()
        for e in Event.objects.filter(package=package, event_type__in=["fixity check", "recovery"]):
            assert str(e.uuid) in premis
    assert not Event.objects.filter(
        package=package, event_type__in=["fixity check", "recovery"], in_object=False
    ).exists()


def test_a_file_damaged_on_every_replica_is_repaired_from_an_intact_working_copy(
    package: Package, tmp_path: Path
) -> None:
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    for name in ("local", "offsite"):
        _flip(_stored(package, name, "正文2.pdf"))
    code, report = _audit_json()
    assert code == 0 and not report["unrepaired_problems"], report
    # the first replica audited is repaired from the working copy, the other from that one
    repairs = Event.objects.filter(package=package, event_type="recovery")
    assert repairs.count() == 2 and repairs.filter(detail__contains="从“工作副本”修复").exists()
    for name in ("local", "offsite"):
        assert verification.verify_package(package.object_id)["replicas"][name] == []


def test_damage_that_stays_is_recorded_and_republished_once(
    package: Package, tmp_path: Path
) -> None:
    """A file damaged on every copy cannot be repaired: the audit keeps failing (exit 1) but
    records the damage once, instead of a new event and a new object version every pass."""
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    for name in ("local", "offsite"):
        _flip(_stored(package, name, "正文2.pdf"))
    _flip(_working_copy("Z109-WS·2021-Y-BGS-0002")[1])  # the third copy is damaged too
    code, first = _audit_json()
    assert code == 1 and first["unrepaired_problems"], first
    package.refresh_from_db()
    version = package.version
    failures = Event.objects.filter(package=package, event_type="fixity check", outcome="failure")
    counted = failures.count()
    for _ in range(2):
        code, again = _audit_json()
        assert code == 1 and again["unrepaired_problems"] and again["republished"] == [], again
    package.refresh_from_db()
    assert package.version == version and failures.count() == counted


# --- point 11: location identity -----------------------------------------------------------------


def test_every_location_carries_an_identity_marker(package: Package, tmp_path: Path) -> None:
    offsite = _add(tmp_path)
    for loc in StorageLocation.objects.all():
        marker = locations.read_marker(locations.open_location(loc))
        assert marker is not None
        assert marker["location_id"] == str(loc.identity) and marker["storage_root"] == "ocfl_1.1"
        assert locations.is_online(loc)
    again = CliRunner().invoke(
        main, ["storage", "location", "add", "again", "--path", offsite.path]
    )
    assert again.exit_code != 0 and "已是存储位置“offsite”" in again.output


def test_an_unmounted_disk_is_offline_and_never_written_to(
    category: Category, tmp_path: Path
) -> None:
    offsite = _add(tmp_path)
    mount = Path(offsite.path)
    mount.rename(tmp_path / "disk")  # the disk is unmounted: its mount point is an empty directory
    mount.mkdir()
    pkg = _new_package(category, 5)
    assert replication.preserve(pkg.pk) == "pending"
    assert Alert.objects.filter(kind="offline", location=offsite, resolved_at=None).exists()
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    code, report = _audit_json()
    assert code == 1
    assert [o["location"] for o in report["offline"]] == ["offsite"]
    assert report["offline"][0]["kind"] == "offline" and report["offline"][0]["required"]
    assert list(mount.iterdir()) == []  # no fresh storage root, no object, nothing at all
    assert not StorageLocation.objects.get(name="offsite").online
    pkg.refresh_from_db()
    assert pkg.status == "pending"
    with pytest.raises(LocationOffline):
        locations.open_location(offsite)

    mount.rmdir()
    (tmp_path / "disk").rename(mount)  # mounted again
    preservation_tick.call_local()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    code, report = _audit_json()
    assert code == 0 and report["offline"] == [], report
    assert not Alert.objects.filter(kind="offline", resolved_at=None).exists()


def test_a_missing_directory_is_reported_by_the_audit(package: Package, tmp_path: Path) -> None:
    offsite = _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    Path(offsite.path).rename(tmp_path / "away")
    code, report = _audit_json()
    assert code == 1 and report["offline"][0]["location"] == "offsite"
    assert not (tmp_path / "offsite").exists()
    package.refresh_from_db()
    assert package.status == "pending"  # its copy there cannot be vouched for now
    (tmp_path / "away").rename(offsite.path)
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    package.refresh_from_db()
    assert package.status == "preserved"


def test_another_locations_disk_is_offline(category: Category, tmp_path: Path) -> None:
    offsite = _add(tmp_path)
    other = _add(tmp_path, "vault")
    StorageLocation.objects.filter(pk=other.pk).update(required=False)
    # the operator mounts the vault's disk where the offsite disk belongs
    Path(offsite.path).rename(tmp_path / "offsite-disk")
    shutil.copytree(other.path, offsite.path)
    pkg = _new_package(category, 7)
    assert replication.preserve(pkg.pk) == "pending"
    alert = Alert.objects.get(kind="offline", location=offsite, resolved_at=None)
    assert "vault" in alert.message and str(offsite.identity) in alert.message
    assert not list(ocfl.object_ids(LocalLocation("x", Path(offsite.path))))


def test_a_location_from_before_markers_is_adopted_only_with_its_storage_root(
    package: Package, tmp_path: Path
) -> None:
    offsite = _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"
    (Path(offsite.path) / locations.MARKER).unlink()
    StorageLocation.objects.filter(pk=offsite.pk).update(marker_at=None)  # as after the upgrade
    offsite.refresh_from_db()
    assert locations.is_online(offsite)  # adopted: it holds its storage root
    assert locations.read_marker(locations.open_location(offsite))["location_id"] == str(
        offsite.identity
    )
    # once written, a missing marker is never adopted again
    (Path(offsite.path) / locations.MARKER).unlink()
    offsite.refresh_from_db()
    assert not locations.is_online(offsite)


def test_a_wrong_bucket_is_offline(category: Category, moto_server: S3Server) -> None:
    bucket = moto_server.new_bucket().bucket
    loc = locations.add_location(
        "oss", s3_url=moto_server.endpoint, bucket=bucket, prefix="lantai",
        access_key=moto_server.access_key, secret=moto_server.secret_key, required=True,
    )  # fmt: skip
    pkg = _new_package(category, 9)
    assert replication.preserve(pkg.pk) == "preserved"
    wrong = moto_server.new_bucket()  # an existing, empty bucket: the configuration is wrong
    StorageLocation.objects.filter(pk=loc.pk).update(bucket=wrong.bucket)
    replication.mark_changed(pkg.pk)
    assert replication.preserve(pkg.pk) == "pending"
    assert Alert.objects.filter(kind="offline", location=loc, resolved_at=None).exists()
    code, report = _audit_json()
    assert code == 1 and report["offline"][0]["location"] == "oss"
    assert list(wrong.list()) == []  # nothing was written to the wrong bucket
    StorageLocation.objects.filter(pk=loc.pk).update(bucket=bucket)  # fixed
    assert replication.preserve(pkg.pk) == "preserved"
    code, report = _audit_json()
    assert code == 0, report


# --- point 13 (OCFL): what the real code writes is strictly valid --------------------------------


def test_storage_roots_and_packages_pass_ocfl_py_strictly(package: Package, tmp_path: Path) -> None:
    """ocfl-py 2.1 without lax_digests, layout shims or patches; warnings count as failures."""
    from ocfl.storage_root import StorageRoot
    from ocfl.validator import Validator

    _add(tmp_path)
    record = Record.objects.get(reference_code="Z109-WS·2021-Y-BGS-0001")
    record.title = "第二版"
    record.save()
    package.refresh_from_db()
    assert package.version == 2 and package.status == "preserved"
    for name in ("local", "offsite"):
        path = StorageLocation.objects.get(name=name).path
        root = StorageRoot(root=path)
        assert root.validate(log_warnings=True), root.log
        assert root.good_objects == root.num_objects == 1
        assert root.log.codes == {}, root.log
        validator = Validator(log_warnings=True)
        assert validator.validate_object(os.path.join(path, ocfl.object_root(package.object_id)))
        assert validator.log.codes == {}, validator.status_str()


def test_a_site_set_up_before_0020_keeps_its_0004_layout(
    category: Category, tmp_path: Path
) -> None:
    """Existing storage roots stay readable and auditable: new locations of such a site take the
    primary's layout, so replicas stay key-for-key copies (decision 0020)."""
    legacy = LocalLocation("old", Path(dj_settings.PRESERVATION_ROOT))
    legacy.root.mkdir(parents=True)
    ocfl.init_root(legacy, ocfl.LEGACY_LAYOUT)
    pkg = _new_package(category, 11)
    assert replication.preserve(pkg.pk) == "preserved"
    expected = ocfl.object_root(pkg.object_id, ocfl.LEGACY_LAYOUT)
    assert (legacy.root / expected / "inventory.json").is_file()
    offsite = _add(tmp_path)
    assert ocfl.root_layout(locations.open_location(offsite)) == ocfl.LEGACY_LAYOUT
    assert replication.preserve(pkg.pk) == "preserved"
    assert (Path(offsite.path) / expected / "inventory.json").is_file()
    code, report = _audit_json()
    assert code == 0 and report["problems"] == 0, report


def test_a_declared_location_is_reattached_under_its_marker_after_a_rebuild(
    package: Package, tmp_path: Path, settings: Any
) -> None:
    """After the database was lost, LANTAI_STORAGE_LOCATIONS names the same disk again: it keeps
    the identity its marker carries; a disk whose marker names another location is refused."""
    nas = tmp_path / "nas"
    LocalLocation("nas", nas).initialize()
    ocfl.init_root(LocalLocation("nas", nas))
    identity = "0b5d8f7e-3c1a-4d2b-9e6f-5a4b3c2d1e0f"
    marker = {
        "lantai_location": 1,
        "location_id": identity,
        "name": "nas",
        "storage_root": "ocfl_1.1",
    }
    (nas / locations.MARKER).write_text(json.dumps(marker))
    wrong = tmp_path / "wrong"
    LocalLocation("x", wrong).initialize()
    (wrong / locations.MARKER).write_text(json.dumps(dict(marker, name="vault")))
    settings.STORAGE_LOCATIONS = [
        {"name": "nas", "path": str(nas), "required": True},
        {"name": "nas2", "path": str(wrong), "required": True},
    ]
    [made] = locations.sync_from_settings()
    assert str(made.identity) == identity and locations.is_online(made)
    assert not StorageLocation.objects.filter(name="nas2").exists()
    assert Alert.objects.filter(kind="offline", message__contains="nas2", resolved_at=None).exists()
    assert replication.preserve(package.pk) == "preserved"


def test_an_optional_location_offline_is_listed_but_does_not_fail_the_audit(
    package: Package, tmp_path: Path
) -> None:
    spare = locations.add_location("spare", path=str(tmp_path / "spare"), required=False)
    Path(spare.path).rename(tmp_path / "spare-away")
    Path(spare.path).mkdir()
    code, report = _audit_json()
    assert code == 0, report
    assert report["offline"] == [
        {
            "location": "spare",
            "required": False,
            "kind": "offline",
            "error": report["offline"][0]["error"],
        }
    ]
    assert "lantai-location.json" in report["offline"][0]["error"]


# --- the outside audit's findings (decision 0020) -------------------------------------------------


def test_a_stray_file_is_never_copied_to_another_replica(package: Package, tmp_path: Path) -> None:
    stray = _object_dir(package, "local") / "v1" / "content" / "stray.txt"
    stray.write_bytes("不属于任何清单的文件".encode())
    _add(tmp_path)
    assert replication.preserve(package.pk) == "preserved"  # replication to the new location
    copied = _object_dir(package, "offsite") / "v1" / "content" / "stray.txt"
    assert not copied.exists()
    # the audit reports the stray where it lies; its republished version is replicated again
    code, report = _audit_json()
    kinds = {(d["location"], d["kind"]) for d in report["details"]}
    assert ("local", "extra_file") in kinds and ("offsite", "extra_file") not in kinds
    package.refresh_from_db()
    assert package.version == 2 and not copied.exists() and stray.exists()
    code, report = _audit_json("--location", "offsite")
    assert code == 0 and report["problems"] == 0, report


@pytest.mark.parametrize("name", ["nowhere", "LOCAL"])
def test_auditing_a_location_that_does_not_exist_is_an_error(package: Package, name: str) -> None:
    result = CliRunner().invoke(main, ["storage", "audit", "--location", name, "--json"])
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert f"“{name}”" in report["error"] and "“local”" in report["error"]
    assert report["locations"] == ["local"]
    plain = CliRunner().invoke(main, ["storage", "audit", "--location", name])
    assert plain.exit_code == 2 and "没有名为" in plain.output and "“local”" in plain.output


def test_an_audit_that_examined_nothing_is_not_a_pass(category: Category, tmp_path: Path) -> None:
    code, report = _audit_json()  # nothing stored yet
    assert code == 1 and report["result"] == "na" and report["ok"] is False, report
    assert report["examined"] == {"replicas": 0, "files": 0}
    assert "尚无已写入的副本" in report["reason"]
    pkg = _new_package(category)
    assert replication.preserve(pkg.pk) == "preserved"
    locations.add_location("spare", path=str(tmp_path / "spare"), required=False)
    code, report = _audit_json("--location", "spare")  # a location that holds no replica
    assert code == 1 and report["result"] == "na" and "“spare”" in report["reason"], report
    # a bounded batch that examined files and found nothing wrong is a pass
    result = CliRunner().invoke(main, ["storage", "audit", "--limit", "1", "--json"])
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["result"] == "pass" and report["ok"] is True, report
    assert report["examined"] == {"replicas": 1, "files": 1}
