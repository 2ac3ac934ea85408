"""Packages on real storage: writing and replicating OCFL objects, new versions on metadata changes,
fixity audits with self-repair, unreachable locations, killed writers, concurrent auditors,
two-person deletion and rebuilding the catalogue from storage alone."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from django.conf import settings as dj_settings
from django.db import connection
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Category, Component, Record
from lantai.cli import main
from lantai.core.models import AuditEntry, User
from lantai.preservation import (
    audit,
    deletion,
    leases,
    locations,
    ocfl,
    ocfl_check,
    packaging,
    replication,
)
from lantai.preservation.models import Alert, Event, Package, Replica, StorageLocation
from lantai.preservation.storage import LocalLocation
from tests.preservation.conftest import make_records

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


@pytest.fixture
def category(db: None) -> Category:
    return catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")


def _records(category: Category, n: int = 3, start: int = 1) -> list[Record]:
    return make_records(category, range(start, start + n))


@pytest.fixture
def package(category: Category) -> Package:
    records = _records(category)
    pkg = packaging.new_package("transfer", "移交 1：测试", None, [r.pk for r in records])
    assert replication.preserve(pkg.pk) == "preserved"
    pkg.refresh_from_db()
    return pkg


def _second(tmp_path: Path, name: str = "offsite") -> StorageLocation:
    return locations.add_location(name, path=str(tmp_path / name), required=True)


def _backend(name: str) -> LocalLocation:
    loc = StorageLocation.objects.get(name=name)
    return LocalLocation(loc.name, Path(loc.path))


def _content_key(pkg: Package, name: str, suffix: str) -> str:
    backend = _backend("local")
    inv = ocfl.read_inventory(backend, pkg.object_id)
    path = next(c.content_path for c in ocfl.content_files(inv) if c.content_path.endswith(suffix))
    return f"{ocfl.object_root(pkg.object_id)}/{path}"


def _flip_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_package_is_an_ocfl_object_with_metadata_files_and_events(package: Package) -> None:
    backend = _backend("local")
    inv = ocfl.read_inventory(backend, package.object_id)
    state = ocfl.logical_state(inv)
    assert "lantai/package.json" in state and "premis/premis.xml" in state
    code_dir = "records/Z109-WS·2020-Y-BGS-0001"
    assert f"{code_dir}/metadata.xml" in state and f"{code_dir}/正文1.pdf" in state
    assert ocfl_check.verify_object(backend, package.object_id) == []
    with ocfl.open_file(backend, package.object_id, "lantai/package.json") as fh:
        manifest = json.load(fh)
    assert manifest["fonds"][0]["code"] == "Z109" and manifest["records"] == 3
    assert package.status == "preserved" and package.version == 1
    assert Event.objects.filter(package=package, event_type="ingestion", in_object=True).exists()


def test_metadata_change_writes_a_new_version(package: Package) -> None:
    record = Record.objects.get(reference_code="Z109-WS·2020-Y-BGS-0002")
    record.title = "关于档案数字化工作的通知（修订）"
    record.save()  # with jobs immediate, the package job runs on commit
    package.refresh_from_db()
    assert package.version == 2
    backend = _backend("local")
    inv = ocfl.read_inventory(backend, package.object_id)
    v2 = ocfl.logical_state(inv, "v2")
    changed = v2["records/Z109-WS·2020-Y-BGS-0002/metadata.xml"]
    assert changed.content_path.startswith("v2/")
    assert v2["records/Z109-WS·2020-Y-BGS-0001/正文1.pdf"].content_path.startswith("v1/")
    with ocfl.open_file(
        backend, package.object_id, "records/Z109-WS·2020-Y-BGS-0002/metadata.xml"
    ) as fh:
        assert "（修订）" in fh.read().decode("utf-8")
    with ocfl.open_file(
        backend, package.object_id, "records/Z109-WS·2020-Y-BGS-0002/metadata.xml", "v1"
    ) as fh:
        assert "（修订）" not in fh.read().decode("utf-8")


def test_required_location_gets_a_verified_replica(package: Package, tmp_path: Path) -> None:
    _second(tmp_path)
    package.refresh_from_db()
    assert package.status == "pending"  # not preserved until the new replica is written
    assert replication.preserve(package.pk) == "preserved"
    replica = Replica.objects.get(package=package, location__name="offsite")
    assert replica.version == 1 and replica.verified_at is not None
    assert ocfl_check.verify_object(_backend("offsite"), package.object_id) == []
    assert Event.objects.filter(
        package=package, event_type="replication", outcome="success"
    ).exists()


@pytest.mark.parametrize("damage", ["bit flip", "deleted file"])
def test_audit_repairs_a_damaged_replica_from_a_good_one(
    package: Package, tmp_path: Path, damage: str
) -> None:
    _second(tmp_path)
    replication.preserve(package.pk)
    key = _content_key(package, "offsite", "正文2.pdf")
    bad = Path(StorageLocation.objects.get(name="offsite").path) / key
    if damage == "bit flip":
        _flip_bit(bad)
    else:
        bad.unlink()
    result = CliRunner().invoke(main, ["storage", "audit", "--limit", "1000", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["problems"] == 1 and report["repaired"] == 1 and report["unrepaired"] == 0
    assert report["details"][0]["location"] == "offsite" and report["details"][0]["path"] == key
    assert ocfl_check.verify_object(_backend("offsite"), package.object_id) == []
    types = list(Event.objects.filter(package=package).values_list("event_type", "outcome"))
    assert ("fixity check", "failure") in types and ("recovery", "success") in types
    alert = Alert.objects.get(kind="missing" if damage == "deleted file" else "fixity")
    assert alert.resolved_at is not None and "offsite" in alert.message


def test_audit_reports_damage_it_cannot_repair(package: Package) -> None:
    # one replica only, and its working copy damaged too: nothing to repair from
    key = _content_key(package, "local", "正文1.pdf")
    _flip_bit(Path(StorageLocation.objects.get(name="local").path) / key)
    _flip_bit(Path(dj_settings.MEDIA_ROOT, Component.objects.get(name="正文1.pdf").path))
    result = CliRunner().invoke(main, ["storage", "audit", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["unrepaired"] == 1
    assert Alert.objects.filter(kind="repair_failed", resolved_at=None).exists()
    assert Replica.objects.get(package=package).damaged


def test_audit_is_bounded_and_resumes_where_it_stopped(package: Package) -> None:
    files = package.files
    assert files >= 5
    first = audit.run_audit(2)
    replica = Replica.objects.get(package=package)
    assert first.files == 2 and replica.audit_cursor == 2 and replica.audited_at is None
    audit.run_audit(files)
    replica.refresh_from_db()
    assert replica.audit_cursor == 0 and replica.audited_at is not None


def test_unreachable_location_leaves_the_package_pending_until_it_returns(
    category: Category, tmp_path: Path
) -> None:
    offsite = _second(tmp_path)
    root = Path(offsite.path)
    root.rename(tmp_path / "unplugged")  # the disk goes away
    records = _records(category, 2)
    pkg = packaging.new_package("transfer", "移交 2", None, [r.pk for r in records])
    assert replication.preserve(pkg.pk) == "pending"
    assert Alert.objects.filter(kind="unreachable", location=offsite, resolved_at=None).exists()
    (tmp_path / "unplugged").rename(root)  # back
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    assert not Alert.objects.filter(kind="unreachable", resolved_at=None).exists()


def test_two_copy_policy(category: Category, tmp_path: Path, settings: Any) -> None:
    settings.PRESERVATION_MIN_COPIES = 2  # the production default (the tests run with 1)
    records = _records(category, 1)
    pkg = packaging.new_package("transfer", "移交 4", None, [r.pk for r in records])
    assert replication.preserve(pkg.pk) == "pending"  # one verified copy is not enough
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    policy = Alert.objects.get(kind="policy", resolved_at=None)
    assert "至少 2 个" in policy.message
    _second(tmp_path)  # a second required location: the policy is met
    policy.refresh_from_db()
    assert policy.resolved_at is not None
    assert replication.preserve(pkg.pk) == "preserved"


def test_locations_declared_in_settings_are_created_and_filled(
    package: Package, tmp_path: Path, settings: Any
) -> None:
    settings.STORAGE_LOCATIONS = [{"name": "nas", "path": str(tmp_path / "nas"), "required": True}]
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    assert StorageLocation.objects.get(name="nas").required
    assert Replica.objects.get(package=package, location__name="nas").version == 1
    assert ocfl_check.verify_object(_backend("nas"), package.object_id) == []


def _killed_writer(package_id: int, after_puts: int) -> None:
    # Fault injection: the process dies (os._exit, no cleanup) after N writes to storage.
    count = {"n": 0}
    original = LocalLocation.put_file, LocalLocation.put_bytes

    def dying(method: Any) -> Any:
        def wrapper(self: LocalLocation, *args: Any) -> Any:
            count["n"] += 1
            if count["n"] > after_puts:
                os._exit(137)
            return method(self, *args)

        return wrapper

    LocalLocation.put_file, LocalLocation.put_bytes = dying(original[0]), dying(original[1])  # type: ignore[method-assign]
    connection.close()  # the child gets its own database connection
    replication.preserve(package_id)
    os._exit(0)


def test_killed_writer_leaves_nothing_half_written(category: Category) -> None:
    locations.ensure_primary()
    records = _records(category, 3)
    pkg = packaging.new_package("transfer", "移交 3", None, [r.pk for r in records])
    connection.close()
    child = multiprocessing.get_context("fork").Process(target=_killed_writer, args=(pkg.pk, 4))
    child.start()
    child.join(60)
    assert child.exitcode == 137
    backend = _backend("local")
    with pytest.raises(ocfl.ObjectNotFound):
        ocfl.read_inventory(backend, pkg.object_id)  # nothing committed, nothing visible
    assert pkg.object_id not in set(ocfl.object_ids(backend))
    Package.objects.filter(pk=pkg.pk).update(claimed_by="", claimed_until=None)  # lease of the dead
    assert replication.preserve(pkg.pk) == "preserved"
    assert ocfl_check.verify_object(backend, pkg.object_id) == []


def _audit_in_child(queue: Any) -> None:
    connection.close()
    run = audit.run_audit(1000)
    queue.put(run.repaired)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="needs a database shared between processes: the SQLite test database is in memory "
    "(the lease itself is tested on both backends in test_lease_is_exclusive_until_it_runs_out)",
)
def test_two_auditors_never_repair_the_same_file_twice(package: Package, tmp_path: Path) -> None:
    _second(tmp_path)
    replication.preserve(package.pk)
    key = _content_key(package, "offsite", "正文3.pdf")
    _flip_bit(Path(StorageLocation.objects.get(name="offsite").path) / key)
    connection.close()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_audit_in_child, args=(queue,)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    repaired = sorted(queue.get(timeout=5) for _ in workers)
    assert sum(repaired) == 1
    assert Event.objects.filter(package=package, event_type="recovery").count() == 1
    assert ocfl_check.verify_object(_backend("offsite"), package.object_id) == []


def test_lease_is_exclusive_until_it_runs_out(package: Package) -> None:
    replica = Replica.objects.get(package=package)
    assert leases.claim(Replica, replica.pk, "worker-a", seconds=60)
    assert not leases.claim(Replica, replica.pk, "worker-b", seconds=60)
    assert leases.claim(Replica, replica.pk, "worker-a", seconds=60)  # renewal by the holder
    Replica.objects.filter(pk=replica.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert leases.claim(Replica, replica.pk, "worker-b", seconds=60)  # the holder died
    leases.release(Replica, replica.pk, "worker-a")  # not the holder: no effect
    assert not leases.claim(Replica, replica.pk, "worker-a", seconds=60)
    leases.release(Replica, replica.pk, "worker-b")
    assert leases.claim(Replica, replica.pk, "worker-a", seconds=60)


def test_deletion_needs_two_people_and_leaves_a_tombstone(package: Package) -> None:
    alice = User.objects.create_user("alice", password="x-Very-long-1", role="preservation_officer")
    bob = User.objects.create_user("bob", password="x-Very-long-2", role="preservation_officer")
    req = deletion.request_deletion(package, "鉴定销毁：2024年鉴定委员会决议第3号", user=alice)
    with pytest.raises(deletion.DeletionError, match="另一人"):
        deletion.decide(req, True, user=alice)
    deletion.decide(req, True, user=bob)
    package.refresh_from_db()
    assert package.status == "deleted" and package.version == 2
    assert not Record.objects.filter(package_link__package=package).exists()
    backend = _backend("local")
    head = ocfl.logical_state(ocfl.read_inventory(backend, package.object_id))
    assert set(head) == {"lantai/tombstone.json", "premis/premis.xml", ocfl.SM3_FILE}
    v1 = ocfl.logical_state(ocfl.read_inventory(backend, package.object_id), "v1")
    assert "records/Z109-WS·2020-Y-BGS-0001/正文1.pdf" in v1  # OCFL keeps earlier versions
    with ocfl.open_file(backend, package.object_id, "premis/premis.xml") as fh:
        assert b"deaccession" in fh.read()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"package_delete_request", "package_delete_approve"} <= actions


def _snapshot(alias: str) -> dict[str, Any]:
    fields = [*packaging.RECORD_FIELDS, "id", "fonds_id", "category_id", "parent_id"]
    records = sorted(
        (tuple(str(v) for v in r) for r in Record.objects.using(alias).values_list(*fields)),
    )
    comps = sorted(
        Component.objects.using(alias).values_list(
            "record_id", "name", "size", "sm3", "sha256", "path"
        )
    )
    events = sorted(
        (str(u), t, o, d, a.isoformat())
        for u, t, o, d, a in Event.objects.using(alias)
        .filter(in_object=True)
        .values_list("uuid", "event_type", "outcome", "detail", "at")
    )
    packages = sorted(
        Package.objects.using(alias).values_list("object_id", "kind", "label", "status")
    )
    return {"records": records, "components": comps, "events": events, "packages": packages}


def test_rebuild_catalog_from_storage_alone(
    category: Category, package: Package, tmp_path: Path
) -> None:
    volume_cat = catalog.create_category(category.fonds, "KJ", arrangement="volume")
    # a package from an import batch and one from a single record, then a metadata change
    _records(category, 2, start=10)
    packaging.package_loose_records()
    for pk in replication.pending_packages():
        replication.preserve(pk)
    record = Record.objects.get(reference_code="Z109-WS·2020-Y-BGS-0010")
    record.remarks = "整理时补充的备注"
    record.save()
    for pk in replication.pending_packages():
        replication.preserve(pk)
    assert volume_cat.pk  # structure without records is not part of any package
    target = tmp_path / "rebuilt.sqlite3"
    result = CliRunner().invoke(
        main, ["storage", "rebuild-catalog", "--into", f"sqlite:///{target}"]
    )
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["records"] == Record.objects.count() == 5
    from lantai.preservation.rebuild import ALIAS

    rebuilt, live = _snapshot(ALIAS), _snapshot("default")
    # 待保存 until `storage preserve` on the rebuilt system has verified its copies (decision 0021)
    assert {p[3] for p in rebuilt["packages"]} == {"pending"}
    strip = [p[:3] for p in live["packages"]]
    assert [p[:3] for p in rebuilt.pop("packages")] == strip and live.pop("packages")
    assert rebuilt == live
    again = CliRunner().invoke(
        main, ["storage", "rebuild-catalog", "--into", f"sqlite:///{target}"]
    )
    assert again.exit_code != 0 and "空数据库" in again.output


def test_verify_object_cli(package: Package, tmp_path: Path) -> None:
    _second(tmp_path)
    replication.preserve(package.pk)
    ok = CliRunner().invoke(main, ["storage", "verify-object", package.object_id])
    assert ok.exit_code == 0, ok.output
    key = _content_key(package, "offsite", "metadata.xml")
    _flip_bit(Path(StorageLocation.objects.get(name="offsite").path) / key)
    bad = CliRunner().invoke(main, ["storage", "verify-object", package.object_id, "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["replicas"]["local"] == [] and report["replicas"]["offsite"]
    missing = CliRunner().invoke(main, ["storage", "verify-object", "urn:lantai:package:999"])
    assert missing.exit_code == 2 and "没有信息包" in missing.output
    as_json = CliRunner().invoke(
        main, ["storage", "verify-object", "urn:lantai:package:999", "--json"]
    )
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"] and json.loads(as_json.stdout)["intact"] is False


def test_location_add_cli_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["storage", "location", "add", "nas", "--path", str(tmp_path / "nas")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "nas" / "0=ocfl_1.1").exists()
    dup = runner.invoke(main, ["storage", "location", "add", "nas", "--path", str(tmp_path / "x")])
    assert dup.exit_code != 0 and "已存在" in dup.output
    neither = runner.invoke(main, ["storage", "location", "add", "y"])
    assert neither.exit_code != 0 and "--path" in neither.output
    listing = runner.invoke(main, ["storage", "location", "list"])
    assert "local" in listing.output and "nas" in listing.output
