"""The 长期保存 checks of DA/T 70 on stored packages, on demand and on a schedule, reported in the
same form as the 移交与接收 check: one result per check and object, pass / fail / warn / na.

For each package: every replica is restored into a scratch area and compared with the inventory
(3-4 recoverability), and fully verified in place (1-1 fixity, 1-5 package authenticity, 2-4
completeness); the catalogue is compared with the stored metadata (2-1 totals, 2-2 consistency);
the restored copy is re-validated with today's format tools (3-2) and re-scanned for viruses with
today's signatures (4-1).

Each check ends with one result for the package saying what it examined (decision 0017): the
replicas restored and verified, the records and files compared, the files validated and scanned.
No replica, nothing restored or no virus signatures is a failure with that reason, never a pass."""

from __future__ import annotations

import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from lantai.catalog.models import Component, Record
from lantai.core import audit
from lantai.formats import stage as format_stage
from lantai.formats.policy import load_policy
from lantai.ingest import virus
from lantai.ingest.summaries import summarize
from lantai.preservation import events, locations, ocfl, ocfl_check, packaging, record_xml
from lantai.preservation.models import LongTermCheck, Package, Replica
from lantai.preservation.storage import LocationUnavailable
from lantai.standards.dat70 import CheckResult, count_by_property

STAGE = "长期保存"
METADATA = "/metadata.xml"
_AUTHENTICITY_PROBLEMS = {"sidecar_mismatch", "inventory_invalid", "declaration", "extra_file",
                          "incomplete_version"}  # fmt: skip


def _result(
    key: str, status: str, obj: str, evidence: dict[str, Any] | None = None, tool: str = "lantai"
) -> CheckResult:
    return CheckResult.from_spec(key, status, object=obj, evidence=evidence or {}, tool=tool)


@dataclass
class Report:
    checks: list[CheckResult] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return "fail" if any(c.status == "fail" for c in self.checks) else "pass"

    def summary(self) -> dict[str, Any]:
        return {
            "packages": self.packages,
            "by_property": count_by_property(self.checks),
            "stage_seconds": {k: round(v, 3) for k, v in self.stages.items()},
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "stage": STAGE,
            "checks": [c.as_dict() for c in self.checks],
            "summary": self.summary(),
        }


def run(
    packages: list[Package] | None = None,
    *,
    sample: int | None = None,
    scanner: virus.Scanner | None = None,
) -> tuple[Report, LongTermCheck]:
    """Check `packages`, or the `sample` packages checked longest ago; store and return the report."""
    if packages is None:
        count = sample or settings.LONGTERM_SAMPLE
        packages = list(
            Package.objects.filter(version__gt=0)
            .exclude(status="deleted")
            .order_by(F("checked_at").asc(nulls_first=True), "pk")[:count]
        )
    scanner = scanner or virus.Scanner(Path(settings.DATA_DIR))
    report = Report()
    started = timezone.now()
    for package in packages:
        _check_package(package, scanner, report)
    stored = LongTermCheck.objects.create(
        started_at=started,
        finished_at=timezone.now(),
        result=report.result,
        summary=report.summary(),
        checks=[c.as_dict() for c in report.checks],
    )
    if not audit.is_system_actor(audit.current_actor()):  # started by hand (UI or CLI)
        audit.record(
            "longterm_check_run", "longterm_check", stored.pk,
            {"packages": len(packages), "sample": sample, "result": report.result},
        )  # fmt: skip
    return report, stored


def _timed(report: Report, stage: str, started: float) -> None:
    report.stages[stage] = report.stages.get(stage, 0.0) + time.perf_counter() - started


def _check_package(package: Package, scanner: virus.Scanner, report: Report) -> None:
    report.packages.append(package.object_id)
    first = len(report.checks)
    scratch = Path(settings.DATA_DIR, "scratch", uuid.uuid4().hex)
    restored: Path | None = None
    replicas = list(Replica.objects.filter(package=package).select_related("location"))
    try:
        for replica in replicas:
            t = time.perf_counter()
            copy = _restore(package, replica, scratch / replica.location.name, report)
            restored = restored or copy
            _timed(report, "restore", t)
            t = time.perf_counter()
            _verify_in_place(package, replica, report)
            _timed(report, "verify", t)
        _replica_summaries(package, replicas, report, first)
        t = time.perf_counter()
        _catalogue_consistency(package, report)
        _timed(report, "catalogue", t)
        if restored is not None:
            t = time.perf_counter()
            _formats(package, restored, report)
            _timed(report, "formats", t)
            t = time.perf_counter()
            _virus(package, restored, scanner, report)
            _timed(report, "virus", t)
        else:
            reason = "没有能完整恢复的副本，未能检测" if replicas else "没有副本，未能检测"
            for key in ("bc_format_usable", "bc_virus_scan"):
                report.checks.append(_result(key, "fail", package.object_id, {"reason": reason}))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    failed = any(c.status == "fail" for c in report.checks[first:])
    Package.objects.filter(pk=package.pk).update(checked_at=timezone.now())
    events.record(
        package,
        "validation",
        "failure" if failed else "success",
        "长期保存环节四性检测",
        {"failed": [c.as_dict() for c in report.checks[first:] if c.status == "fail"][:50]},
    )


def _replica_summaries(
    package: Package, replicas: list[Replica], report: Report, first: int
) -> None:
    """1-1, 1-5, 2-4 and 3-4 for the package: every replica restored and verified in place."""
    mine = report.checks[first:]
    names = [r.location.name for r in replicas]
    compared = {
        "bc_backup_recoverable": "从每个副本恢复的文件 vs 清单的 SHA-512",
        "bc_fixity": "每个副本上每个文件的 SM3、SHA-256 vs 入库时的值",
        "bc_package_authenticity": "每个副本的 OCFL 清单、清单摘要、对象声明 vs 入库时",
        "bc_package_completeness": "每个副本上清单所列文件是否齐全",
    }
    for key, what in compared.items():
        if not replicas:
            report.checks.append(_result(key, "fail", package.object_id, {
                "reason": "该信息包没有任何副本，无法检测", "replicas": 0,
            }))  # fmt: skip
            continue
        report.checks.append(summarize(
            key, mine, checked=len(replicas), compared=what, none_reason="没有副本",
            object=package.object_id, replicas=names,
        ))  # fmt: skip


def _restore(package: Package, replica: Replica, dest: Path, report: Report) -> Path | None:
    """Copy the head version's files from one replica into `dest`, by logical path, and compare
    each with the inventory (3-4). Returns `dest` when the restore is complete."""
    obj = f"{package.object_id} @ {replica.location.name}"
    try:
        backend = locations.open_location(replica.location)
        inventory = ocfl.read_inventory(backend, package.object_id)
        root = ocfl.object_root(package.object_id)
        bad = []
        for logical, content in ocfl.logical_state(inventory).items():
            target = dest / logical
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with (
                    backend.open(f"{root}/{content.content_path}") as src,
                    target.open("wb") as out,
                ):
                    shutil.copyfileobj(src, out, 1 << 20)
            except FileNotFoundError:
                bad.append({"path": logical, "found": "缺失"})
                continue
            if ocfl.hash_file(target).sha512 != content.sha512:
                bad.append({"path": logical, "found": "摘要不符"})
    except (LocationUnavailable, ocfl.InventoryError) as e:
        report.checks.append(_result("bc_backup_recoverable", "fail", obj, {"reason": str(e)}))
        return None
    if bad:
        report.checks.append(
            _result(
                "bc_backup_recoverable",
                "fail",
                obj,
                {"reason": "恢复的文件与清单不符", "files": bad[:100]},
            )
        )
        return None
    return dest


def _verify_in_place(package: Package, replica: Replica, report: Report) -> None:
    obj = f"{package.object_id} @ {replica.location.name}"
    try:
        problems = ocfl_check.verify_object(
            locations.open_location(replica.location), package.object_id
        )
    except LocationUnavailable as e:
        report.checks.append(
            _result("bc_package_completeness", "fail", obj, {"reason": f"存储位置不可达：{e}"})
        )
        return
    for p in problems:
        where = f"{obj}: {p.path}"
        evidence = {"expected": p.expected, "found": p.found, "reason": p.message}
        if p.kind == "missing":
            report.checks.append(_result("bc_package_completeness", "fail", where, evidence))
        elif p.kind == "digest_mismatch" and p.algorithm in ("sm3", "sha256"):
            report.checks.append(_result("bc_fixity", "fail", where, evidence))
        else:  # sha512 of the manifest, inventories, declarations, stray files
            report.checks.append(_result("bc_package_authenticity", "fail", where, evidence))


def _catalogue_consistency(package: Package, report: Report) -> None:
    backend = locations.open_location(locations.ensure_primary())
    state = ocfl.logical_state(ocfl.read_inventory(backend, package.object_id))
    records = list(Record.objects.filter(package_link__package=package).order_by("pk"))
    comps: dict[int, list[Component]] = {}
    for c in Component.objects.filter(record__in=records).order_by("pk"):
        comps.setdefault(c.record_id, []).append(c)
    stored_records = [p for p in state if p.startswith("records/") and p.endswith(METADATA)]
    stored_files = [p for p in state if p.startswith("records/") and not p.endswith(METADATA)]
    expected = {"records": len(records), "files": sum(len(v) for v in comps.values())}
    found = {"records": len(stored_records), "files": len(stored_files)}
    pending = package.written_changes < package.changes
    first = len(report.checks)
    if expected != found:
        status = "warn" if pending else "fail"
        reason = "目录已变更，新版本待写入" if pending else "保存的档案或文件数量与目录数据库不符"
        report.checks.append(
            _result("bc_totals", status, package.object_id,
                    {"expected": expected, "found": found, "reason": reason})
        )  # fmt: skip
    elif sum(expected.values()):
        report.checks.append(_result("bc_totals", "pass", package.object_id, {
            "checked": sum(expected.values()), "expected": expected, "found": found,
            "compared": "保存信息包中的档案数、文件数 vs 目录数据库",
        }))  # fmt: skip
    else:
        report.checks.append(_result("bc_totals", "na", package.object_id, {
            "reason": "信息包和目录中都没有档案",
        }))  # fmt: skip
    dirs = packaging.record_dirs(records)
    for r in records:
        path = f"{dirs[r.pk]}{METADATA}"
        want = packaging.record_dict(r, comps.get(r.pk, []))
        try:
            got = record_xml.parse(ocfl.read_logical(backend, package.object_id, path))
        except (ocfl.OCFLError, record_xml.RecordXMLError) as e:
            got, error = None, str(e)
        else:
            error = ""
        if got == want:
            continue
        differs = sorted(k for k in want if got is None or got.get(k) != want[k])
        report.checks.append(
            _result(
                "bc_metadata_consistency", "warn" if pending else "fail", path,
                {"reason": error or ("目录已变更，新版本待写入" if pending else "保存的元数据与目录不一致"),
                 "fields": differs[:20]},
            )
        )  # fmt: skip
    report.checks.append(summarize(
        "bc_metadata_consistency", report.checks[first:], checked=len(records),
        compared="每条档案保存的 metadata.xml vs 目录数据库", none_reason="信息包中没有档案",
        object=package.object_id,
    ))  # fmt: skip


def _content_paths(restored: Path) -> dict[str, Path]:
    return {
        p.relative_to(restored).as_posix(): p
        for p in sorted(restored.rglob("*"))
        if p.is_file()
        and p.relative_to(restored).as_posix().startswith("records/")
        and p.name != "metadata.xml"
    }


def _formats(package: Package, restored: Path, report: Report) -> None:
    """3-2: every content file opens with today's tools and is in the accepted-formats policy."""
    paths = _content_paths(restored)
    checked = format_stage.check_files(
        paths, processes=2, policy=load_policy(settings.ACCEPTED_FORMATS)
    )
    first = len(report.checks)
    for logical, checks in checked.items():
        for c in checks:
            if c.status in ("fail", "warn"):
                evidence = {"check": c.title, **c.evidence}
                report.checks.append(
                    CheckResult.from_spec("bc_format_usable", c.status, object=logical,
                                          evidence=evidence, tool=c.tool, tool_version=c.tool_version)
                )  # fmt: skip
    report.checks.append(summarize(
        "bc_format_usable", report.checks[first:], checked=len(paths),
        compared="用今天的格式工具打开、校验每个内容文件；格式 vs 接收格式策略",
        none_reason="信息包中没有内容文件", object=package.object_id,
    ))  # fmt: skip


def _virus(package: Package, restored: Path, scanner: virus.Scanner, report: Report) -> None:
    """4-1: every content file re-scanned with today's signatures (none loaded: not scanned)."""
    paths = _content_paths(restored)
    first = len(report.checks)
    for c in scanner.scan(list(paths.values()), list(paths)):
        if c.status != "pass":
            report.checks.append(
                CheckResult.from_spec("bc_virus_scan", c.status, object=c.object,
                                      evidence=c.evidence, tool=c.tool, tool_version=c.tool_version)
            )  # fmt: skip
    report.checks.append(summarize(
        "bc_virus_scan", report.checks[first:], checked=len(paths),
        compared="ClamAV 以今天的病毒库重新扫描每个内容文件", none_reason="信息包中没有内容文件",
        object=package.object_id,
    ))  # fmt: skip
