"""Disposal: removing preserved material is never silent and never one person's act (decision 0021).

One preservation officer requests it with a reason (e.g. the appraisal decision), naming the whole
package, some of its records (a 案卷 takes its 卷内文件 with it) or some electronic files; a
different officer approves. Approval records a PREMIS deaccession event that lists every removed
file with its SHA-256 and SM3, removes the rows from the catalogue and writes a new OCFL version:
for the whole package a tombstone version (only lantai/tombstone.json and premis/premis.xml), for
a part a version without that part and with lantai/deaccessions.json describing what left.
The earlier versions stay in the object, as OCFL requires; purging their bytes is not Lantai's.

Every other delete of a preserved record or component is refused: the catalogue asks the guard
registered here (the floor rule: catalog imports nothing from preservation), and a pre_delete
receiver refuses the rows themselves for any other path (admin, shell, cascades)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction
from django.db.models.signals import pre_delete
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Component, Record
from lantai.catalog.services import CatalogError, require
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import PRESERVE
from lantai.preservation import events, packaging, replication
from lantai.preservation.models import DeletionRequest, Package, PackageRecord

_disposing: ContextVar[bool] = ContextVar("lantai_disposing", default=False)


class DeletionError(CatalogError):
    pass


# --- the guard -----------------------------------------------------------------------------------


def preserved_package(record_id: int) -> Package | None:
    """The written, not deleted package that preserves the record, if any."""
    link = (
        PackageRecord.objects.filter(record_id=record_id, package__version__gt=0)
        .exclude(package__status="deleted")
        .select_related("package")
        .first()
    )
    return link.package if link else None


def refusal(record: Record) -> str | None:
    """Why a single person may not delete `record` (None when they may)."""
    if _disposing.get() or record.pk is None:
        return None
    package = preserved_package(record.pk)
    if package is None:
        return None
    return (
        f"档案“{record.reference_code}”已进入长期保存（信息包 {package.object_id}，"
        f"第 {package.version} 版），不能由一人直接删除或删除其电子文件。删除已保存的档案只能走处置流程："
        "由一名保管员在“长期保存 → 信息包”中提出删除申请并写明理由（如鉴定销毁的依据），"
        "经另一名保管员审批后执行；信息包中记录注销（deaccession）事件并写入新版本，早期版本按 OCFL 保留。"
    )


def _refuse_delete(sender: Any, instance: Record | Component, **kw: Any) -> None:
    if _disposing.get() or kw.get("using", "default") != "default":
        return
    record = (
        instance
        if isinstance(instance, Record)
        else Record.objects.filter(pk=instance.record_id).first()
    )
    reason = refusal(record) if record is not None else None
    if reason:
        raise catalog.ProtectedRecord(reason)


catalog.register_delete_guard(refusal)
pre_delete.connect(_refuse_delete, sender=Record, dispatch_uid="preservation-protect-record")
pre_delete.connect(_refuse_delete, sender=Component, dispatch_uid="preservation-protect-component")


@contextmanager
def _disposal() -> Iterator[None]:
    token = _disposing.set(True)
    try:
        yield
    finally:
        _disposing.reset(token)


# --- request and decision ------------------------------------------------------------------------


def request_deletion(
    package: Package,
    reason: str,
    *,
    user: User,
    records: Iterable[int] = (),
    components: Iterable[int] = (),
) -> DeletionRequest:
    """Ask for the package, or only `records` / `components` of it, to be removed."""
    require(user, PRESERVE)
    if not reason.strip():
        raise DeletionError("申请删除须填写理由（如鉴定销毁的依据）", "reason")
    if package.status == "deleted":
        raise DeletionError(f"信息包 {package.object_id} 已删除")
    if package.deletions.filter(status="requested").exists():
        raise DeletionError(f"信息包 {package.object_id} 已有待审批的删除申请")
    members = set(PackageRecord.objects.filter(package=package).values_list("record_id", flat=True))
    record_ids = _with_volume_items(set(records))
    if record_ids - members:
        raise DeletionError(
            f"档案 {sorted(record_ids - members)} 不属于信息包 {package.object_id}", "records"
        )
    component_ids = set(components)
    owners = dict(Component.objects.filter(pk__in=component_ids).values_list("pk", "record_id"))
    if component_ids - set(owners) or set(owners.values()) - members:
        raise DeletionError(f"电子文件 {sorted(component_ids)} 不都属于信息包 {package.object_id}")
    with transaction.atomic():
        req = DeletionRequest.objects.create(
            package=package,
            reason=reason,
            requested_by=user,
            records=sorted(record_ids),
            components=sorted(component_ids),
        )
        audit.record(
            "package_delete_request",
            "package",
            package.pk,
            {"reason": reason, "records": sorted(record_ids), "components": sorted(component_ids)},
        )
    return req


def request_record_disposal(record: Record, reason: str, *, user: User) -> DeletionRequest:
    """Ask for one preserved record (a 案卷 with its 卷内文件) to be removed."""
    package = preserved_package(record.pk)
    if package is None:
        raise DeletionError(f"档案“{record.reference_code}”不在已保存的信息包中：可直接删除")
    return request_deletion(package, reason, user=user, records=[record.pk])


def records_by_code(package: Package, codes: Iterable[str]) -> list[int]:
    """Record ids of the package for 档号 typed by a person; an unknown one is named."""
    wanted = [c.strip() for c in codes if c.strip()]
    found = dict(
        Record.objects.filter(package_link__package=package, reference_code__in=wanted).values_list(
            "reference_code", "pk"
        )
    )
    missing = [c for c in wanted if c not in found]
    if missing:
        raise DeletionError(
            f"档号 {'、'.join(missing)} 不在信息包 {package.object_id} 中", "records"
        )
    return sorted(set(found.values()))


def scope_zh(req: DeletionRequest) -> str:
    """What a request removes, for people."""
    if not req.records and not req.components:
        return "整个信息包"
    codes = list(
        Record.objects.filter(pk__in=req.records).order_by("reference_code")
        .values_list("reference_code", flat=True)
    )  # fmt: skip
    parts = []
    if req.records:
        parts.append(
            f"档案 {len(req.records)} 条" + (f"（{'、'.join(codes[:20])}）" if codes else "")
        )
    if req.components:
        parts.append(f"电子文件 {len(req.components)} 个")
    return "，".join(parts)


def _with_volume_items(ids: set[int]) -> set[int]:
    children = set(Record.objects.filter(parent_id__in=ids).values_list("pk", flat=True))
    return ids | children


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
        _dispose(package, req, user)
    from lantai.preservation import tasks

    transaction.on_commit(lambda: tasks.preserve_package(package.pk))


def _dispose(package: Package, req: DeletionRequest, user: User) -> None:
    members = Record.objects.filter(package_link__package=package)
    whole = not req.records and not req.components
    records = members if whole else members.filter(pk__in=req.records)
    components = Component.objects.filter(pk__in=req.components, record__in=members).exclude(
        record__in=records
    )
    if not whole and members.exclude(pk__in=records.values("pk")).count() == 0:
        whole = True  # nothing would be left: the package itself goes
    gone = packaging.deaccessioned_files(
        package,
        records=None if whole else set(records.values_list("pk", flat=True)),
        components=set(components.values_list("pk", flat=True)),
    )
    codes = list(records.order_by("reference_code").values_list("reference_code", flat=True))
    what = "删除信息包" if whole else "删除信息包中的部分档案或电子文件"
    events.record(
        package, "deaccession", "success",
        f"{what}（档案 {len(codes)} 条，电子文件 {len(gone)} 个）：{req.reason}",
        {"request": req.pk, "reason": req.reason, "whole": whole,
         "requested_by": req.requested_by.username, "approved_by": user.username,
         "records": len(codes), "record_codes": codes[:1000], "files": gone},
    )  # fmt: skip
    with _disposal():
        for record in records.order_by("-level", "-pk"):  # 卷内文件 before their 案卷
            catalog.delete_record(record)
        for component in components:
            component.delete()
    if whole:
        Package.objects.filter(pk=package.pk).update(status="deleted")
    replication.mark_changed(package.pk)
