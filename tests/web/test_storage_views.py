"""存 in the staff UI: the storage dashboard (locations, capacity, replica health, audit progress,
alerts), adding storage locations, packages with their replicas and PREMIS events, verification
and two-person deletion; only preservation officers (保管员) enter.

Most rows are made directly; adding a location, checking locations, auditing, verifying and
deleting call the real preservation services (jobs run inline in tests)."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.core import accounts
from lantai.core.models import AuditEntry
from lantai.preservation import packaging, replication
from lantai.preservation.models import (
    Alert,
    AuditRun,
    DeletionRequest,
    Event,
    Package,
    PackageRecord,
    Replica,
    StorageLocation,
)

from .conftest import PASSWORD, Site

pytestmark = pytest.mark.django_db
GiB = 1024**3


def text(response: Any) -> str:
    return response.content.decode("utf-8")


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture(autouse=True)
def _own_storage(settings: Any, tmp_path: Path) -> None:
    """This test's own primary storage root, and the low-space threshold the dashboard uses."""
    settings.PRESERVATION_ROOT = tmp_path / "primary"
    settings.STORAGE_LOW_SPACE_BYTES = 10 * GiB


@pytest.fixture
def officers(site: Site) -> dict[str, Any]:
    return {
        "a": accounts.create_user(
            "keeper_a", role="preservation_officer", password=PASSWORD, clearance=4, scope_all=True
        ),
        # no catalogue scope: sees packages, not the titles of the records in them
        "b": accounts.create_user("keeper_b", role="preservation_officer", password=PASSWORD),
    }


def make_locations(tmp_path: Path) -> tuple[StorageLocation, StorageLocation]:
    primary = StorageLocation.objects.create(
        name="local",
        kind="local",
        path=str(tmp_path / "primary"),
        required=True,
        is_primary=True,
        online=True,
        used_bytes=3 * GiB,
        free_bytes=2 * GiB,
        checked_at=timezone.now(),
    )
    remote = StorageLocation.objects.create(
        name="异地备份",
        kind="s3",
        s3_url="http://10.9.8.7:9000",
        bucket="lantai",
        required=True,
        online=False,
        last_error="连接被拒绝：http://10.9.8.7:9000",
        checked_at=timezone.now(),
    )
    return primary, remote


def make_package(
    label: str = "2020年文书档案移交", status: str = "preserved", version: int = 1, **kw: Any
) -> Package:
    package = Package.objects.create(
        object_id="",
        kind="transfer",
        label=label,
        status=status,
        version=version,
        files=3,
        bytes=4096,
        **kw,
    )
    package.object_id = f"urn:lantai:package:{package.pk}"
    package.save(update_fields=["object_id"])
    return package


# --- access ------------------------------------------------------------------------------------
def test_only_preservation_officers_enter(site: Site, officers: dict[str, Any]) -> None:
    package = make_package()
    alert = Alert.objects.create(kind="fixity", message="校验不符")
    req = DeletionRequest.objects.create(
        package=package, reason="鉴定销毁", requested_by=officers["a"]
    )
    gets = [
        reverse("web:storage"),
        reverse("web:storage_locations"),
        reverse("web:storage_packages"),
        reverse("web:storage_package", args=[package.pk]),
    ]
    posts = [
        reverse("web:storage_check"),
        reverse("web:storage_audit"),
        reverse("web:storage_alert_resolve", args=[alert.pk]),
        reverse("web:storage_locations"),
        reverse("web:storage_package_verify", args=[package.pk]),
        reverse("web:storage_deletion_request", args=[package.pk]),
        reverse("web:storage_deletion_decide", args=[req.pk]),
    ]
    cataloguer = as_user(site.users["cataloguer"])
    for url in gets:
        assert cataloguer.get(url).status_code == 403, url
    for url in posts:
        response = cataloguer.post(url, {"reason": "x", "decision": "approve", "name": "x"})
        assert response.status_code == 403, url
    assert "长期保存" not in text(cataloguer.get(reverse("web:home")))
    alert.refresh_from_db()
    req.refresh_from_db()
    assert alert.resolved_at is None and req.status == "requested"
    assert not DeletionRequest.objects.exclude(pk=req.pk).exists()
    assert Client().get(reverse("web:storage")).status_code == 302  # to the sign-in page

    officer = as_user(officers["a"])
    home = text(officer.get(reverse("web:home")))
    assert "长期保存" in home and reverse("web:storage") in home
    for url in gets:
        assert officer.get(url).status_code == 200, url


# --- dashboard ---------------------------------------------------------------------------------
def test_dashboard_shows_locations_alerts_packages_and_audit(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    primary, remote = make_locations(tmp_path)
    preserved = make_package("已保存的包", "preserved", version=2)
    make_package("待保存的包", "pending", version=1)
    make_package("另一个待保存的包", "pending", version=0)
    make_package("已删除的包", "deleted", version=3)
    now = timezone.now()
    Replica.objects.create(
        package=preserved,
        location=primary,
        version=2,
        verified_at=now,
        audited_at=now - timedelta(days=1),
    )
    Replica.objects.create(package=preserved, location=remote, version=1, damaged=True)
    Alert.objects.create(
        kind="unreachable", message="存储位置“异地备份”不可达：连接被拒绝", location=remote
    )
    Alert.objects.create(
        kind="low_space",
        message="存储位置“local”剩余空间 2.0 GiB，低于告警阈值 10.0 GiB",
        location=primary,
    )
    Alert.objects.create(
        kind="fixity", message="早已处理的告警", resolved_at=now, resolution="已修复"
    )
    AuditRun.objects.create(
        worker="w1",
        finished_at=now,
        files=1234,
        bytes=5 * 1024**2,
        replicas=7,
        problems=2,
        repaired=1,
    )

    response = as_user(officers["a"]).get(reverse("web:storage"))
    assert response.status_code == 200
    page = text(response)
    # locations: both, the offline one with its error, capacity human-readable
    rows = {row["loc"].name: row for row in response.context["locations"]}
    assert rows["local"]["role"] == "主" and rows["异地备份"]["role"] == "必需"
    assert (rows["local"]["replicas"], rows["local"]["current"], rows["local"]["damaged"]) == (
        1,
        1,
        0,
    )
    assert (rows["异地备份"]["current"], rows["异地备份"]["damaged"]) == (0, 1)
    assert rows["local"]["low"] is True
    assert "离线" in page and "连接被拒绝：http://10.9.8.7:9000" in page
    assert "3.0" in page and "2.0" in page  # 3.0 GB used, 2.0 GB free
    # open alerts, not the resolved one
    assert "存储位置不可达" in page and "存储空间不足" in page
    assert "低于告警阈值 10.0 GiB" in page
    assert "早已处理的告警" not in page
    assert response.context["alert_count"] == 2
    # packages by status
    counts = {c["code"]: c["n"] for c in response.context["package_counts"]}
    assert counts == {"pending": 2, "preserved": 1, "deleted": 1}
    # audit: 1 of 2 written replicas audited in this cycle; the last run's figures
    audit = response.context["audit"]
    assert (audit["audited"], audit["total"], audit["files_24h"]) == (1, 2, 1234)
    assert "已审计 1 / 2 个副本（50%）" in page
    assert "发现问题 2 个，已修复 1 个" in page


def test_resolving_an_alert_records_who(site: Site, officers: dict[str, Any]) -> None:
    alert = Alert.objects.create(kind="low_space", message="存储位置“local”剩余空间不足")
    client = as_user(officers["b"])
    response = client.post(
        reverse("web:storage_alert_resolve", args=[alert.pk]), {"note": "已扩容"}, follow=True
    )
    assert response.status_code == 200
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    assert "keeper_b" in alert.resolution and "已扩容" in alert.resolution
    assert "存储位置“local”剩余空间不足" not in text(response)
    entry = AuditEntry.objects.filter(action="storage_alert_resolve").get()
    assert entry.target_id == str(alert.pk)
    # resolving twice changes nothing
    at = alert.resolved_at
    client.post(reverse("web:storage_alert_resolve", args=[alert.pk]))
    alert.refresh_from_db()
    assert alert.resolved_at == at
    assert client.get(reverse("web:storage_alert_resolve", args=[alert.pk])).status_code == 405


def test_check_locations_opens_an_alert_for_an_unreachable_location(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    gone = StorageLocation.objects.create(
        name="移动硬盘", kind="local", path=str(tmp_path / "unmounted"), required=False
    )
    response = as_user(officers["a"]).post(reverse("web:storage_check"), follow=True)
    gone.refresh_from_db()
    assert gone.online is False and gone.checked_at is not None
    assert "unmounted" in gone.last_error
    assert Alert.objects.filter(kind="unreachable", location=gone, resolved_at=None).exists()
    assert any("移动硬盘" in m for m in messages_of(response))
    assert "存储位置不可达" in text(response)  # the new alert, on the dashboard


def test_audit_now_runs_a_batch(site: Site, officers: dict[str, Any]) -> None:
    assert not AuditRun.objects.exists()
    response = as_user(officers["a"]).post(reverse("web:storage_audit"), follow=True)
    assert response.status_code == 200
    run = AuditRun.objects.get()  # the job ran inline
    assert run.finished_at is not None
    assert response.context["audit"]["last_run"] == run


def test_an_audit_that_stopped_on_an_error_is_not_shown_as_complete(
    site: Site, officers: dict[str, Any]
) -> None:
    """A run closed by its error (`run_failed`, preservation/audit.py) reads as stopped, with the
    error, never as 完成."""
    AuditRun.objects.create(
        worker="w", finished_at=timezone.now(), replicas=3, files=7, problems=1,
        details=[{"object_id": "", "location": "", "path": "", "kind": "run_failed",
                  "expected": {}, "found": {"error": "OperationalError: database is locked"},
                  "repaired_from": ""}],
    )  # fmt: skip
    page = as_user(officers["a"]).get(reverse("web:storage")).content.decode()
    assert "审计中途出错，未完成" in page and "database is locked" in page
    assert "完成：3 个副本" not in page


# --- locations ---------------------------------------------------------------------------------
def test_add_a_local_location_through_the_form(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    client = as_user(officers["a"])
    target = tmp_path / "磁带库挂载点"
    form = {"name": "备份盘", "kind": "local", "path": str(target), "required": "on"}
    response = client.post(reverse("web:storage_locations"), form, follow=True)
    assert response.status_code == 200
    loc = StorageLocation.objects.get(name="备份盘")
    assert (loc.kind, loc.required, loc.path) == ("local", True, str(target.resolve()))
    assert (target / "0=ocfl_1.1").is_file()  # an OCFL storage root was declared there
    assert StorageLocation.objects.filter(is_primary=True).exists()
    assert loc.online and loc.checked_at is not None  # probed right away
    assert "备份盘" in text(response) and str(target) in text(response)
    assert AuditEntry.objects.filter(action="storage_location_add").exists()

    again = client.post(reverse("web:storage_locations"), {**form, "path": str(tmp_path / "x")})
    assert again.status_code == 200
    assert "存储位置名称“备份盘”为空或已存在" in text(again)
    assert again.context["form"].errors["name"]
    assert StorageLocation.objects.filter(name="备份盘").count() == 1

    relative = client.post(reverse("web:storage_locations"), {**form, "name": "z", "path": "x"})
    assert "绝对路径" in text(relative)
    assert not StorageLocation.objects.filter(name="z").exists()


def test_an_unreachable_s3_location_is_refused_and_its_secret_not_shown(
    site: Site, officers: dict[str, Any]
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "Sup3r-Secret-Key-9f8e7d"
    form = {
        "name": "对象存储",
        "kind": "s3",
        "s3_url": f"http://127.0.0.1:{port}",
        "bucket": "lantai",
        "prefix": "archive",
        "access_key": "AKIDEXAMPLE",
        "secret_key": secret,
    }
    response = as_user(officers["a"]).post(reverse("web:storage_locations"), form)
    assert response.status_code == 200
    page = text(response)
    assert "存储位置“对象存储”无法使用" in page
    assert secret not in page
    assert not StorageLocation.objects.filter(name="对象存储").exists()

    missing_bucket = as_user(officers["a"]).post(
        reverse("web:storage_locations"), {**form, "bucket": ""}
    )
    assert missing_bucket.context["form"].errors["bucket"]
    assert secret not in text(missing_bucket)


def test_the_locations_page_never_shows_a_stored_secret(
    site: Site, officers: dict[str, Any]
) -> None:
    from lantai.preservation.locations import _fernet

    StorageLocation.objects.create(
        name="对象存储",
        kind="s3",
        s3_url="http://10.0.0.5:9000",
        bucket="b",
        access_key="AKID",
        secret_key_encrypted=_fernet().encrypt(b"plain-secret-123").decode(),
    )
    page = text(as_user(officers["a"]).get(reverse("web:storage_locations")))
    assert "http://10.0.0.5:9000" in page and "AKID" in page
    assert "plain-secret-123" not in page
    assert "访问密钥已加密保存" in page


# --- packages ----------------------------------------------------------------------------------
def test_package_list_filters_by_status(site: Site, officers: dict[str, Any]) -> None:
    make_package("甲包", "preserved")
    make_package("乙包", "deleted")
    client = as_user(officers["a"])
    everything = text(client.get(reverse("web:storage_packages")))
    assert "甲包" in everything and "乙包" in everything
    deleted = text(client.get(reverse("web:storage_packages"), {"status": "deleted"}))
    assert "乙包" in deleted and "甲包" not in deleted
    found = text(client.get(reverse("web:storage_packages"), {"q": "甲"}))
    assert "甲包" in found and "乙包" not in found


def test_package_list_pages(site: Site, officers: dict[str, Any]) -> None:
    for n in range(55):
        make_package(f"包{n:03d}")
    client = as_user(officers["a"])
    first = client.get(reverse("web:storage_packages"))
    assert len(first.context["page"].object_list) == 50
    second = client.get(reverse("web:storage_packages"), {"page": 2})
    assert len(second.context["page"].object_list) == 5
    assert "包000" in text(second)  # oldest last


def test_package_detail_shows_replicas_events_and_records(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    primary, remote = make_locations(tmp_path)
    package = make_package(version=2)
    record = site.records[0]
    PackageRecord.objects.create(package=package, record=record)
    now = timezone.now()
    Replica.objects.create(package=package, location=primary, version=2, verified_at=now)
    Replica.objects.create(
        package=package,
        location=remote,
        version=1,
        damaged=True,
        error="文件缺失：v1/content/a.pdf",
    )
    for n in range(60):
        Event.objects.create(
            package=package,
            event_type="fixity check",
            outcome="success",
            detail=f"第{n:02d}次审计",
            at=now + timedelta(minutes=n),
        )
    response = as_user(officers["a"]).get(reverse("web:storage_package", args=[package.pk]))
    page = text(response)
    assert package.object_id in page
    assert "文件缺失：v1/content/a.pdf" in page and "损坏" in page and "完好" in page
    assert reverse("web:record", args=[record.pk]) in page and record.title in page
    outside = text(as_user(officers["b"]).get(reverse("web:storage_package", args=[package.pk])))
    assert record.reference_code in outside and record.title not in outside
    assert "不在您的查阅范围内" in outside
    # events newest first, 50 a page
    assert "第59次审计" in page and "第10次审计" in page and "第09次审计" not in page
    assert page.index("第59次审计") < page.index("第58次审计")
    older = text(
        as_user(officers["a"]).get(reverse("web:storage_package", args=[package.pk]), {"events": 2})
    )
    assert "第09次审计" in older and "第59次审计" not in older
    assert "固定性检查" in page  # the PREMIS event type, labelled
    assert (
        as_user(officers["a"]).get(reverse("web:storage_package", args=[999999])).status_code == 404
    )


def test_verify_now_checks_every_replica(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    """A real package, written by the preservation service, verified through the page; then a
    content file is altered on disk and the next verification reports it."""
    package = packaging.new_package("record", "单件著录", None, [site.records[0].pk])
    assert replication.preserve(package.pk) == "preserved"
    client = as_user(officers["a"])
    url = reverse("web:storage_package_verify", args=[package.pk])

    response = client.post(url, follow=True)
    assert any("均完好" in m for m in messages_of(response)), messages_of(response)
    assert Event.objects.filter(package=package, event_type="fixity check", outcome="success")

    content = [
        p for p in (tmp_path / "primary").rglob("*") if p.is_file() and "/content/" in str(p)
    ]
    assert content
    content[0].write_bytes(content[0].read_bytes() + b"tampered")
    response = client.post(url, follow=True)
    assert any("校验发现问题" in m for m in messages_of(response)), messages_of(response)
    assert Replica.objects.get(package=package).damaged
    assert client.get(url).status_code == 405


def test_verify_now_reports_a_replica_not_yet_written(
    site: Site, officers: dict[str, Any], tmp_path: Path
) -> None:
    primary, _remote = make_locations(tmp_path)
    package = make_package(status="pending", version=0)
    Replica.objects.create(package=package, location=primary, version=0)
    response = as_user(officers["a"]).post(
        reverse("web:storage_package_verify", args=[package.pk]), follow=True
    )
    found = messages_of(response)
    assert any("校验发现问题" in m and "尚未写入此存储位置" in m for m in found), found
    assert Event.objects.filter(package=package, event_type="fixity check", outcome="failure")
    assert Replica.objects.get(package=package).verified_at is not None


# --- deletion with two people ------------------------------------------------------------------
def test_deletion_needs_a_second_preservation_officer(site: Site, officers: dict[str, Any]) -> None:
    package = make_package()
    records = site.records[:2]
    PackageRecord.objects.bulk_create([PackageRecord(package=package, record=r) for r in records])
    a, b = as_user(officers["a"]), as_user(officers["b"])
    detail = reverse("web:storage_package", args=[package.pk])

    empty = a.post(
        reverse("web:storage_deletion_request", args=[package.pk]), {"reason": " "}, follow=True
    )
    assert any("须填写理由" in m for m in messages_of(empty))
    assert not DeletionRequest.objects.exists()

    a.post(
        reverse("web:storage_deletion_request", args=[package.pk]),
        {"reason": "经鉴定已到保管期限，销毁清册第3号"},
    )
    req = DeletionRequest.objects.get()
    assert (req.status, req.requested_by) == ("requested", officers["a"])
    page = text(a.get(detail))
    assert "另一位保管员审批" in page and "批准删除" not in page
    assert "销毁清册第3号" in text(b.get(reverse("web:storage")))  # waiting on the dashboard

    # the requester cannot approve it
    own = a.post(
        reverse("web:storage_deletion_decide", args=[req.pk]), {"decision": "approve"}, follow=True
    )
    assert any("另一人审批" in m for m in messages_of(own)), messages_of(own)
    req.refresh_from_db()
    assert req.status == "requested" and req.decided_by is None
    assert Record.objects.filter(pk__in=[r.pk for r in records]).count() == 2

    # a second officer sees the approve form and approves
    assert "批准删除" in text(b.get(detail))
    done = b.post(
        reverse("web:storage_deletion_decide", args=[req.pk]),
        {"decision": "approve", "note": "同意"},
        follow=True,
    )
    assert any("已批准删除" in m for m in messages_of(done)), messages_of(done)
    req.refresh_from_db()
    assert (req.status, req.decided_by, req.decision_note) == ("approved", officers["b"], "同意")
    package.refresh_from_db()
    assert package.status == "deleted"
    assert not Record.objects.filter(pk__in=[r.pk for r in records]).exists()
    assert Event.objects.filter(package=package, event_type="deaccession").exists()
    assert AuditEntry.objects.filter(action="package_delete_request").exists()
    assert AuditEntry.objects.filter(action="package_delete_approve").exists()
    page = text(done)
    assert "已删除" in page and "申请删除" not in page  # no new request on a deleted package

    # deciding again is refused
    again = b.post(
        reverse("web:storage_deletion_decide", args=[req.pk]), {"decision": "reject"}, follow=True
    )
    assert any("已处理" in m for m in messages_of(again))


def test_a_deletion_request_can_be_rejected(site: Site, officers: dict[str, Any]) -> None:
    package = make_package()
    PackageRecord.objects.create(package=package, record=site.records[0])
    req = DeletionRequest.objects.create(
        package=package, reason="误操作", requested_by=officers["b"]
    )
    as_user(officers["a"]).post(
        reverse("web:storage_deletion_decide", args=[req.pk]), {"decision": "reject"}
    )
    req.refresh_from_db()
    package.refresh_from_db()
    assert req.status == "rejected" and package.status == "preserved"
    assert Record.objects.filter(pk=site.records[0].pk).exists()


def test_english_ui(site: Site, officers: dict[str, Any], tmp_path: Path) -> None:
    make_locations(tmp_path)
    client = as_user(officers["a"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = text(client.get(reverse("web:storage")))
    assert "Preservation" in page and "Audit a batch now" in page
    assert not re.search(r"立即审计一批|标记已处理|检查存储位置", page)
