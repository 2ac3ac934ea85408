"""Packages replicated to S3 over real HTTP (moto_server and s3rver): written and verified, damage
on S3 repaired by the audit, and an endpoint failing in the middle of a multipart upload (a real
fault proxy) leaving the package 待保存 until it heals."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lantai.catalog import services as catalog
from lantai.catalog.components import attach_component
from lantai.preservation import audit, locations, ocfl, packaging, replication
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
    assert ocfl.verify_object(s3, pkg.object_id) == []
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
    assert ocfl.verify_object(s3, pkg.object_id) == []
    assert Event.objects.filter(package=pkg, event_type="recovery", location="oss").count() == 2


def test_s3_failing_mid_multipart_leaves_the_package_pending_until_it_heals(
    fault_proxy: FaultProxy, moto_server: S3Server
) -> None:
    loc = _add_s3(moto_server, "oss", endpoint=fault_proxy.url)
    pkg = _package({"影片.mp4": os.urandom(20 * 1024 * 1024)})  # > 16 MiB: a multipart upload
    rule = fault_proxy.fail(method="PUT", contains=("partNumber=2",), status=500)
    assert replication.preserve(pkg.pk) == "pending"
    assert rule.hits >= 1
    replica = Replica.objects.get(package=pkg, location=loc)
    assert replica.version == 0 and "500" in replica.error
    assert Alert.objects.filter(kind="unreachable", location=loc, resolved_at=None).exists()
    direct = moto_server.location(loc.bucket, prefix="lantai")
    root = ocfl.object_root(pkg.object_id)
    assert direct.size(f"{root}/inventory.json") is None  # nothing looks complete
    assert direct.incomplete_uploads() == []  # the failed upload was aborted
    fault_proxy.heal()
    from lantai.preservation.tasks import preservation_tick

    preservation_tick.call_local()
    pkg.refresh_from_db()
    assert pkg.status == "preserved"
    assert ocfl.verify_object(direct, pkg.object_id) == []
