"""Packages replicated to S3 over real HTTP (moto_server and s3rver): written and verified, damage
on S3 repaired by the audit, and an endpoint failing in the middle of a multipart upload (a real
fault proxy) leaving the package 待保存 until it heals."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.preservation import audit, locations, ocfl, ocfl_check, packaging, replication
from lantai.preservation.models import Alert, Event, Package, Replica, StorageLocation
from tests.preservation.conftest import S3Server
from tests.preservation.faults import FaultProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.MEDIA_ROOT = tmp_path / "files"


def _package(files: dict[str, bytes]) -> Package:
    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省档案馆"), "LX")
    ids = []
    for i, (name, data) in enumerate(files.items(), start=1):
        record, issues = catalog.save_record(
            category,
            {
                "reference_code": f"Z109-LX·2019·Y-{i:03d}",
                "title": f"声像档案第{i}号",
                "date": "2019-10-01",
                "retention": "永久",
                "author": "岭南省档案馆",
            },
        )
        assert record is not None, issues
        attach_component(record, [data], name, user=None)
        ids.append(record.pk)
    return packaging.new_package("transfer", "移交：声像档案", None, ids)


def _add_s3(server: S3Server, name: str, endpoint: str | None = None) -> StorageLocation:
    bucket = server.new_bucket().bucket
    return locations.add_location(
        name,
        s3_url=endpoint or server.endpoint,
        bucket=bucket,
        prefix="lantai",
        access_key=server.access_key,
        secret=server.secret_key,
        required=True,
    )


@pytest.mark.parametrize("server_name", ["moto_server", "s3rver"])
def test_package_is_replicated_to_s3_and_repaired_there(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: S3Server = request.getfixturevalue(server_name)
    loc = _add_s3(server, "oss")
    assert StorageLocation.objects.get(name="oss").secret_key_encrypted != server.secret_key
    pkg = _package({"录音.wav": os.urandom(300_000), "说明.txt": "一九四九年十月一日".encode()})
    assert replication.preserve(pkg.pk) == "preserved"
    s3 = locations.open_location(loc)
    assert ocfl_check.verify_object(s3, pkg.object_id) == []
    # damage on the bucket: a flipped byte in one file, another file deleted
    inv = ocfl.read_inventory(s3, pkg.object_id)
    root = ocfl.object_root(pkg.object_id)
    state = ocfl.logical_state(inv)
    wav = f"{root}/{state['records/Z109-LX·2019·Y-001/录音.wav'].content_path}"
    txt = f"{root}/{state['records/Z109-LX·2019·Y-002/说明.txt'].content_path}"
    data = bytearray(s3.read_bytes(wav))
    data[1000] ^= 0xFF
    s3.put_bytes(wav, bytes(data))
    s3.delete(txt)
    run = audit.run_audit(1000)
    assert (run.problems, run.repaired) == (2, 2), run.details
    assert {d["location"] for d in run.details} == {"oss"}
    assert ocfl_check.verify_object(s3, pkg.object_id) == []
    assert Event.objects.filter(package=pkg, event_type="recovery", location="oss").count() == 2


@pytest.fixture(params=["moto_server", "s3rver"])
def proxied(request: pytest.FixtureRequest) -> Iterator[tuple[S3Server, FaultProxy]]:
    """A real S3 server behind a fault-injecting proxy."""
    server: S3Server = request.getfixturevalue(request.param)
    proxy = FaultProxy(server.endpoint)
    try:
        yield server, proxy
    finally:
        proxy.stop()


def _tick() -> None:
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()


def test_s3_failing_mid_multipart_leaves_the_package_pending_until_it_heals(
    proxied: tuple[S3Server, FaultProxy],
) -> None:
    server, proxy = proxied
    loc = _add_s3(server, "oss", endpoint=proxy.url)
    pkg = _package({"影片.mp4": os.urandom(20 * 1024 * 1024)})  # > 16 MiB: a multipart upload
    rule = proxy.fail(method="PUT", contains=("partNumber=2",), status=500)
    assert replication.preserve(pkg.pk) == "pending"
    assert rule.hits >= 1
    replica = Replica.objects.get(package=pkg, location=loc)
    assert replica.version == 0 and "500" in replica.error
    assert Alert.objects.filter(kind="unreachable", location=loc, resolved_at=None).exists()
    direct = server.location(loc.bucket, prefix="lantai")
    root = ocfl.object_root(pkg.object_id)
    assert direct.size(f"{root}/inventory.json") is None  # nothing looks complete
    if server.kind == "moto_server":  # s3rver implements neither abort nor listing of uploads
        assert direct.incomplete_uploads() == []  # the failed upload was aborted
    proxy.heal()
    _tick()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    assert ocfl_check.verify_object(direct, pkg.object_id) == []


def test_s3_down_during_ingest_then_back(proxied: tuple[S3Server, FaultProxy]) -> None:
    server, proxy = proxied
    loc = _add_s3(server, "oss", endpoint=proxy.url)
    proxy.fail(status=503, code="ServiceUnavailable")  # every request, every retry
    pkg = _package({"照片.jpg": os.urandom(50_000)})
    assert replication.preserve(pkg.pk) == "pending"
    pkg.refresh_from_db()
    assert pkg.version == 1  # the primary copy is written; the package waits for the replica
    assert Alert.objects.filter(kind="unreachable", location=loc, resolved_at=None).exists()
    proxy.heal()
    _tick()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    assert not Alert.objects.filter(kind="unreachable", resolved_at=None).exists()
    assert ocfl_check.verify_object(locations.open_location(loc), pkg.object_id) == []


def _killed_replication(package_id: int, after_puts: int) -> None:
    # Fault injection: the worker dies (os._exit, no clean-up) after N writes to the bucket.
    from lantai.preservation.s3 import S3Location

    count = {"n": 0}
    original = S3Location.put_file, S3Location.put_bytes

    def dying(method: Any) -> Any:
        def wrapper(self: S3Location, *args: Any) -> Any:
            count["n"] += 1
            if count["n"] > after_puts:
                os._exit(137)
            return method(self, *args)

        return wrapper

    S3Location.put_file, S3Location.put_bytes = dying(original[0]), dying(original[1])  # type: ignore[method-assign]
    connection.close()
    replication.preserve(package_id)
    os._exit(0)


@pytest.mark.parametrize("server_name", ["moto_server", "s3rver"])
def test_replication_killed_midway_is_finished_on_restart(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: S3Server = request.getfixturevalue(server_name)
    loc = _add_s3(server, "oss")
    pkg = _package({f"页{i}.tif": os.urandom(20_000) for i in range(1, 6)})
    connection.close()
    child = multiprocessing.get_context("fork").Process(
        target=_killed_replication, args=(pkg.pk, 4)
    )
    child.start()
    child.join(120)
    assert child.exitcode == 137
    s3 = locations.open_location(loc)
    with pytest.raises(ocfl.ObjectNotFound):  # half a copy, and nothing claims to be complete
        ocfl.read_inventory(s3, pkg.object_id)
    Package.objects.filter(pk=pkg.pk).update(claimed_by="", claimed_until=None)  # the dead's lease
    _tick()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    assert ocfl_check.verify_object(s3, pkg.object_id) == []
