"""Removing a package is never silent: one person requests it with a reason, a different person
approves it; approval removes the package's records from the catalogue, writes a tombstone
version (the earlier versions stay in the OCFL object, as OCFL requires) and a deaccession
event, and is recorded in the audit log."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from lantai.catalog.models import Record
from lantai.catalog.services import CatalogError, require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import PRESERVE
from lantai.preservation import events, replication
from lantai.preservation.models import DeletionRequest, Package


class DeletionError(CatalogError):
    pass


def request_deletion(package: Package, reason: str, *, user: User) -> DeletionRequest:
    require(user, PRESERVE)
    if not reason.strip():
        raise DeletionError("申请删除须填写理由（如鉴定销毁的依据）", "reason")
    if package.status == "deleted":
        raise DeletionError(f"信息包 {package.object_id} 已删除")
    if package.deletions.filter(status="requested").exists():
        raise DeletionError(f"信息包 {package.object_id} 已有待审批的删除申请")
    with transaction.atomic():
        req = DeletionRequest.objects.create(package=package, reason=reason, requested_by=user)
        audit.record("package_delete_request", "package", package.pk, {"reason": reason})
    return req


def decide(req: DeletionRequest, approve: bool, *, user: User, note: str = "") -> None:
    require(user, PRESERVE)
    if req.status != "requested":
        raise DeletionError("该删除申请已处理")
    if req.requested_by_id == user.pk:
        raise DeletionError("删除须由申请人以外的另一人审批（双人控制）")
    package = req.package
    with transaction.atomic():
        req.status = "approved" if approve else "rejected"
        req.decided_by, req.decided_at, req.decision_note = user, timezone.now(), note
        req.save()
        audit.record(
            "package_delete_approve" if approve else "package_delete_reject",
            "package",
            package.pk,
            {"request": req.pk, "reason": req.reason, "note": note},
        )
        if not approve:
            return
        records = Record.objects.filter(package_link__package=package)
        count = records.count()
        events.record(
            package, "deaccession", "success",
            f"删除信息包（{count} 条档案）：{req.reason}",
            {"requested_by": req.requested_by.username, "approved_by": user.username,
             "records": count},
        )  # fmt: skip
        Package.objects.filter(pk=package.pk).update(status="deleted")
        for record in records.order_by("-level", "-pk"):  # 卷内文件 before their 案卷
            record.delete()
        replication.mark_changed(package.pk)
    from lantai.preservation import tasks

    transaction.on_commit(lambda: tasks.preserve_package(package.pk))
