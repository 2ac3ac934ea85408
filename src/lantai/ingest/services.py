"""Services of 收: register a transfer, check it, accept or return it, resubmit a corrected package.

The original package is copied into quarantine untouched and stays there until the transfer is
decided; checks run on a working copy and can be re-run (idempotent: a version's results are
replaced as a whole). Accepting creates the catalogue records and their files in one transaction.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Fonds, Record
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import RECEIVE, SUBMIT
from lantai.ingest import receipt, records, virus
from lantai.ingest.memo import Memo
from lantai.ingest.models import CheckRecord, Transfer, TransferVersion
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.signals import transfer_accepted
from lantai.ingest.unpack import UnreadableSource, copy_received
from lantai.standards.dat70 import CheckResult

__all__ = [
    "IngestError",
    "UnreadableSource",
    "accept",
    "find_unit",
    "receive",
    "record_check_error",
    "resubmit",
    "return_transfer",
    "run_check",
    "submitting_units",
    "visible_transfer",
    "visible_transfers",
]


class IngestError(Exception):
    def __init__(self, message_zh: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh


def _area(*parts: object) -> Path:
    return Path(settings.DATA_DIR, "ingest", *map(str, parts))


def submitting_units(user: User | None) -> QuerySet[Fonds]:
    """The units (their fonds, whose 立档单位 is the 移交单位) `user` may transfer for: the fonds
    in their scope; every fonds for the console (None)."""
    return catalog.visible_fonds(user).order_by("repository__code", "code")


def unit_name(fonds: Fonds) -> str:
    """The 移交单位 of a transfer from `fonds`: its 立档单位 (else the fonds' name)."""
    return (fonds.creator or fonds.name).strip()


def find_unit(text: str, repository_code: str | None = None) -> Fonds:
    """The one fonds a console operator names by 全宗号, 立档单位 or fonds name; IngestError
    when none or several match (the message lists them)."""
    repo = catalog.get_repository(repository_code) if repository_code else None
    qs = submitting_units(None)
    if repo is not None:
        qs = qs.filter(repository=repo)
    text = text.strip()
    found = list(qs.filter(Q(code=text.upper()) | Q(creator=text) | Q(name=text))[:10])
    if len(found) != 1:
        listed = "、".join(f"{f.repository.code}/{f.code}（{unit_name(f)}）" for f in found)
        raise IngestError(
            f"移交单位“{text}”须恰好对应一个全宗（按全宗号、立档单位或全宗名称查找）："
            + (f"找到 {listed}" if found else "没有找到")
        )
    return found[0]


def receive(
    source: Path,
    unit: str = "",
    *,
    fonds: Fonds | None = None,
    title: str = "",
    opening_opinion: str = "",
    disclosure_status: str = "",
    classification_changes: str = "",
    user: User | None = None,
) -> Transfer:
    """Register a transfer and quarantine its package (version 1). Checking is a separate step.

    The 移交单位 is the submitting unit's own: `fonds`, chosen from the submitter's scope
    (`submitting_units`), whose 立档单位 becomes `unit`. A person must choose one; only the
    console (user None) may register a transfer by the unit's name alone."""
    if fonds is not None:
        if user is not None and not submitting_units(user).filter(pk=fonds.pk).exists():
            raise IngestError(
                f"全宗 {fonds.code} 不在您的权限范围内：移交单位须从您范围内的立档单位中选择"
            )
        unit = unit_name(fonds)
    elif user is not None:
        raise IngestError("须从您权限范围内的立档单位中选择移交单位")
    if not unit.strip():
        raise IngestError("须填写移交单位")
    if not source.exists():
        raise IngestError(f"“{source}”不存在")
    with transaction.atomic():
        t = Transfer.objects.create(
            unit=unit.strip(), fonds=fonds, title=title, opening_opinion=opening_opinion,
            disclosure_status=disclosure_status, classification_changes=classification_changes,
            created_by=user,
        )  # fmt: skip
        _add_version(t, source)
    return t


def inbox_entries() -> list[str]:
    """The packages waiting in the transfer inbox on the server's disk (LANTAI_TRANSFER_INBOX):
    its folders, .zip and .xml files, links excluded."""
    inbox = Path(settings.TRANSFER_INBOX)
    if not inbox.is_dir():
        return []
    return sorted(
        p.name
        for p in inbox.iterdir()
        if not p.is_symlink() and (p.is_dir() or p.suffix.lower() in (".zip", ".xml"))
    )


def inbox_path(name: str) -> Path:
    """The inbox entry called `name`; anything but a direct, listed entry is refused."""
    if name not in inbox_entries():
        raise IngestError(f"服务器接收目录中没有“{name}”")
    return Path(settings.TRANSFER_INBOX) / name


def resubmit(transfer: Transfer, source: Path, user: User | None = None) -> TransferVersion:
    """A corrected package for a returned or failed transfer becomes its next version."""
    if transfer.status not in ("returned", "failed"):
        raise IngestError("只有已退回或检测不通过的移交才能重新提交")
    with transaction.atomic():
        version = _add_version(transfer, source)
        transfer.status, transfer.return_reason = "pending", ""
        transfer.save()
    return version


def _add_version(transfer: Transfer, source: Path) -> TransferVersion:
    number = transfer.versions.count() + 1
    target = _area("quarantine", transfer.pk, f"v{number}", source.name)
    # A folder left by an attempt whose transaction rolled back belongs to no transfer.
    shutil.rmtree(target.parent, ignore_errors=True)
    target.parent.mkdir(parents=True)
    if source.is_dir():
        # links are copied as links and special files as nodes, then refused by the check
        shutil.copytree(source, target, symlinks=True, copy_function=copy_received)
    else:
        shutil.copy2(source, target)
    digest = receipt.original_sm3(target)
    version = TransferVersion.objects.create(
        transfer=transfer,
        number=number,
        original=str(target.relative_to(settings.DATA_DIR)),
        original_sm3=digest,
    )
    audit.record(
        "transfer_receive",
        "transfer",
        transfer.pk,
        {"version": number, "sm3": digest, "unit": transfer.unit},
    )
    return version


def visible_transfers(user: Any) -> QuerySet[Transfer]:
    """Receiving staff see every transfer; a filing unit only the transfers it submitted."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Transfer.objects.none()
    if user.has_perm_code(RECEIVE):
        return Transfer.objects.all()
    if user.has_perm_code(SUBMIT):
        return Transfer.objects.filter(created_by=user)
    return Transfer.objects.none()


def visible_transfer(user: Any, pk: int) -> Transfer | None:
    return visible_transfers(user).filter(pk=pk).first()


def run_check(
    version: TransferVersion,
    *,
    scanner: virus.Scanner | None = None,
    progress: Callable[[str], None] | None = None,
    resume: bool = False,
) -> TransferCheck:
    """Run the 移交与接收 checks on a version and store every result (re-running replaces them).
    `progress` is called with each stage's name as it starts. `resume` continues an interrupted
    check: the work folder and its memo of finished files are kept (a memo of another original is
    discarded), so only the unfinished files are checked; otherwise the check starts clean."""
    transfer = version.transfer
    Transfer.objects.filter(pk=transfer.pk).update(status="checking")
    work = _area("work", version.pk)
    if not resume:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    with Memo(work / "memo.jsonl", owner=version.original_sm3) as memo:
        report = check_transfer(
            Path(settings.DATA_DIR, version.original), work,
            scanner=scanner if scanner is not None else virus.Scanner(Path(settings.DATA_DIR)),
            progress=progress, memo=memo, transfer_process=receipt.transfer_process(version),
        )  # fmt: skip
    working_sm3 = receipt.write_working_manifest(work, report.working)
    with transaction.atomic():
        CheckRecord.objects.filter(version=version).delete()
        CheckRecord.objects.bulk_create(
            (
                CheckRecord(
                    version=version,
                    property=c.property,
                    content_code=c.content_code,
                    item_code=c.item_code or "",
                    title=c.title,
                    status=c.status,
                    object=c.object[:1000],
                    evidence=c.evidence,
                    tool=c.tool,
                    tool_version=c.tool_version,
                    check_key=c.check,
                    catalogue_revision=c.catalogue_revision,
                )  # fmt: skip
                for c in report.checks
            ),
            batch_size=2000,
        )
        version.result, version.summary = report.result, report.summary()
        version.package_kind, version.checked_at = report.kind or "", timezone.now()
        version.working_sm3 = working_sm3
        version.save()
        transfer.status = "passed" if report.result == "pass" else "failed"
        transfer.save(update_fields=["status", "updated_at"])
        audit.record(
            "transfer_check",
            "transfer",
            transfer.pk,
            {"version": version.number, "result": report.result},
        )
    return report


def record_check_error(version: TransferVersion, message: str) -> None:
    """A check that could not run at all (unreadable package, a crash) is stored as one failed
    check with the error, and the transfer is failed: never left 检测中."""
    failed = CheckResult.from_spec("package_structure", "fail", evidence={"reason": message})
    with transaction.atomic():
        CheckRecord.objects.filter(version=version).delete()
        CheckRecord.objects.create(
            version=version, property=failed.property, content_code=failed.content_code,
            item_code=failed.item_code or "", title=failed.title, status="fail",
            object=failed.object, evidence=failed.evidence, tool=failed.tool,
            check_key=failed.check, catalogue_revision=failed.catalogue_revision,
        )  # fmt: skip
        version.result, version.checked_at = "fail", timezone.now()
        version.summary = {
            "by_property": {failed.property: {"fail": 1}},
            "notes": [],
            "stage_seconds": {},
            "error": message,
        }
        version.save()
        Transfer.objects.filter(pk=version.transfer_id).update(
            status="failed", updated_at=timezone.now()
        )
        audit.record(
            "transfer_check",
            "transfer",
            version.transfer_id,
            {"version": version.number, "result": "fail", "error": message},
        )


def _warned_message(warned: QuerySet[CheckRecord]) -> str:
    """'检测有警告项…' naming the first five warned checks (content code, title, object)."""
    shown = [f"{c.content_code} {c.title}（{c.object}）" for c in warned[:5]]
    total = warned.count()
    more = f"等，共 {total} 项" if total > len(shown) else f"，共 {total} 项"
    return f"检测有警告项：{'；'.join(shown)}{more}。接收前须填写接收说明"


def accept(
    transfer: Transfer,
    *,
    user: User | None = None,
    reason: str = "",
    repository_code: str | None = None,
    fonds_code: str | None = None,
    category_code: str | None = None,
) -> int:
    """Create the catalogue records and files of a checked transfer, all in one transaction.
    Accepting with warnings needs a written reason; a failed transfer cannot be accepted.
    ``fonds_code``/``category_code``: where the 待著录 items of a package without a catalogue go
    (see :mod:`lantai.ingest.records`). The 档号 are looked up in ``repository_code``'s archives,
    by default the archives of the transfer's own unit (its fonds), else the default one."""
    catalog.require(user, RECEIVE)
    if repository_code is None and transfer.fonds is not None:
        repository_code = transfer.fonds.repository.code
    version = transfer.versions.order_by("-number").first()
    if version is None or transfer.status != "passed":
        raise IngestError("只有检测通过的移交才能接收")
    warned = version.checks.filter(status="warn").order_by("pk")
    if not reason.strip() and warned.exists():
        raise IngestError(_warned_message(warned))
    from lantai.standards.transfer.detect import read_package

    work = _area("work", version.pk)
    problems = receipt.verify(version, work)
    if problems:
        audit.record("transfer_accept_refused", "transfer", transfer.pk, {
            "version": version.number, "problems": problems[:50], "count": len(problems),
        })  # fmt: skip
        shown = "；".join(problems[:5]) + (f"；等 {len(problems)} 处" if len(problems) > 5 else "")
        raise IngestError(f"拒绝接收：文件与检测时不一致，未写入任何档案。{shown}")
    package = read_package(work / "content", work / "extracted")
    try:
        return _create_accepted(transfer, version, package, user, reason, repository_code,
                                fonds_code, category_code)  # fmt: skip
    except _OutsideScope as e:  # rolled back: nothing was written
        submitter = transfer.created_by.username if transfer.created_by else transfer.unit
        audit.record("transfer_accept_refused", "transfer", transfer.pk, {
            "version": version.number, "rule": "fonds_outside_submitter_scope",
            "submitter": submitter, "codes": e.codes[:5],
        })  # fmt: skip
        shown = "、".join(e.codes[:5]) + ("等" if len(e.codes) > 5 else "")
        raise IngestError(
            f"拒绝接收：档号 {shown} 所属的全宗不在移交单位（{submitter}）的权限范围内，"
            "未写入任何档案"
        ) from None


def _create_accepted(
    transfer: Transfer,
    version: TransferVersion,
    package: Any,
    user: User | None,
    reason: str,
    repository_code: str | None,
    fonds_code: str | None,
    category_code: str | None,
) -> int:
    """The records of an accepted transfer and its package, in one transaction."""
    with transaction.atomic():
        try:
            created_ids = records.create_records(
                package, unit=transfer.unit, user=user, repository_code=repository_code,
                fonds_code=fonds_code, category_code=category_code,
            )  # fmt: skip
        except records.RecordsError as e:
            raise IngestError(e.message_zh) from e
        if outside := _outside_submitter_scope(transfer, created_ids):
            raise _OutsideScope(outside)
        created = len(created_ids)
        # preservation (a floor above) subscribes and makes the package, in this transaction
        transfer_accepted.send(
            sender=Transfer, transfer=transfer, records=created_ids,
            label=f"移交 {transfer.pk}：{transfer.title or transfer.unit}",
        )  # fmt: skip
        transfer.status, transfer.accept_reason = "accepted", reason
        transfer.save()
        audit.record(
            "transfer_accept",
            "transfer",
            transfer.pk,
            {"version": version.number, "records": created, "reason": reason},
        )
    return created


def _outside_submitter_scope(transfer: Transfer, record_ids: list[int]) -> list[str]:
    """档号 (the first six) of records whose fonds lies outside the scope of the user who
    submitted the transfer: a unit transfers only its own records. A transfer registered at the
    console for a unit (no submitting user) takes the fonds of that 立档单位 in its archives;
    one registered before units were chosen is not limited."""
    if transfer.created_by is not None:
        allowed = submitting_units(transfer.created_by)
    elif transfer.fonds is not None:
        unit = transfer.fonds
        allowed = Fonds.objects.filter(repository_id=unit.repository_id).filter(
            Q(pk=unit.pk) | Q(creator=unit.creator)
        )
    else:
        return []
    outside = (
        Record.objects.filter(pk__in=record_ids)
        .exclude(fonds__in=allowed)
        .order_by("reference_code")
    )
    return list(outside.values_list("reference_code", flat=True)[:6])


class _OutsideScope(Exception):
    def __init__(self, codes: list[str]) -> None:
        super().__init__(codes)
        self.codes = codes


def return_transfer(transfer: Transfer, reason: str, *, user: User | None = None) -> None:
    catalog.require(user, RECEIVE)
    if not reason.strip():
        raise IngestError("退回须填写理由")
    if transfer.status == "accepted":
        raise IngestError("已接收的移交不能退回")
    transfer.status, transfer.return_reason = "returned", reason
    transfer.save()
    audit.record("transfer_return", "transfer", transfer.pk, {"reason": reason})
