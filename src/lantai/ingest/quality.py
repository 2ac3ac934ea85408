"""进馆档案质量 (quality of incoming archives): a filing unit's self-check of its package with the
very 移交与接收 checks of a transfer (``pipeline.check_transfer``) — nothing is registered,
accepted or preserved; the package is removed after the check, its SM3 and results are kept —
the receiving team's quality figures per unit and check item (from self-checks and from the check
records of real transfers), and its visits and advice to a unit."""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Fonds
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import RECEIVE, SUBMIT
from lantai.ingest import receipt, virus
from lantai.ingest.models import CheckRecord, TransferVersion
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.quality_models import QualityVisit, SelfCheck, SelfCheckItem
from lantai.ingest.services import IngestError, submitting_units, unit_name
from lantai.ingest.unpack import UnreadableSource
from lantai.standards import transfer_quality as rule
from lantai.standards.dat70 import CheckResult, load_catalogue

SELF_CHECK_PROCESS = "自检不经登记接收：移交过程在正式移交时检测"
FINDINGS_PER_CHECK = 50  # failed/warned objects kept per check item
FINDINGS_CAP = 1000
SEVERITY = {"fail": 3, "warn": 2, "pass": 1, "na": 0}


# --- who may do what -----------------------------------------------------------------------------
def self_check_units(user: User | None) -> QuerySet[Fonds]:
    """The units `user` may self-check for: every unit for receiving staff and the console (a
    check run with a unit during a visit), the units in scope for a filing unit."""
    if user is None or user.has_perm_code(RECEIVE):
        return catalog.visible_fonds(None).order_by("repository__code", "code")
    if user.has_perm_code(SUBMIT):
        return submitting_units(user)
    return Fonds.objects.none()


def scope_fonds(user: User | None) -> QuerySet[Fonds] | None:
    """The units a receiving user works on (the catalogue's scope); None for every unit
    (scope_all, the console)."""
    if user is None or user.scope_all:
        return None
    return catalog.visible_fonds(user)


def visible_self_checks(user: User | None) -> QuerySet[SelfCheck]:
    qs = SelfCheck.objects.select_related("fonds", "fonds__repository", "created_by")
    if user is None or user.has_perm_code(RECEIVE):
        within = scope_fonds(user)
        return qs if within is None else qs.filter(fonds__in=within.values("pk"))
    if user.has_perm_code(SUBMIT):
        return qs.filter(fonds__in=submitting_units(user))
    return qs.none()


def visible_self_check(user: User | None, pk: int) -> SelfCheck | None:
    """The self-check `pk` if `user` may read it; one of another unit is None and audited."""
    found = visible_self_checks(user).filter(pk=pk).first()
    if found is None and user is not None and SelfCheck.objects.filter(pk=pk).exists():
        audit.denied_here(
            "自检报告属于其他立档单位，不在本人的范围内", user.username, "self_check", pk
        )
    return found


# --- the self-check ------------------------------------------------------------------------------
def start(package_name: str, fonds: Fonds, user: User | None = None) -> SelfCheck:
    """Register nothing but the self-check itself (result empty until `run`)."""
    if user is not None and not self_check_units(user).filter(pk=fonds.pk).exists():
        raise IngestError(
            f"全宗 {fonds.code} 不在您的权限范围内：只能为本单位（您范围内的立档单位）自检"
        )
    return SelfCheck.objects.create(
        fonds=fonds, package_name=Path(package_name).name[:255], created_by=user
    )


def run(
    sc: SelfCheck,
    source: Path,
    *,
    scanner: virus.Scanner | None = None,
    remove_source: bool = False,
    today: date | None = None,
) -> SelfCheck:
    """Run the 移交与接收 checks of a transfer on `source` and keep the results on `sc`. An
    unreadable package or a crash becomes a failed self-check with the reason, never an error.
    `remove_source`: delete the package afterwards (an upload: the archives keeps no copy)."""
    work = Path(settings.DATA_DIR, "ingest", "selfcheck", str(sc.pk))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report: TransferCheck | None = None
    error = ""
    try:
        sc.package_sm3 = receipt.original_sm3(source) if source.exists() else ""
        process = CheckResult.from_spec(
            "transfer_process", "na", evidence={"reason": SELF_CHECK_PROCESS}
        )
        report = check_transfer(
            source, work,
            scanner=scanner if scanner is not None else virus.Scanner(Path(settings.DATA_DIR)),
            today=today, transfer_process=process,
        )  # fmt: skip
    except UnreadableSource as e:
        error = e.message_zh
    except Exception as e:  # a tool that fails yields a failed self-check, never a stuck one
        error = f"检测出错：{type(e).__name__}: {e}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if remove_source:
            _remove(source)
    checks = report.checks if report is not None else [
        CheckResult.from_spec("package_structure", "fail", evidence={"reason": error})
    ]  # fmt: skip
    _store(sc, checks, report, error)
    return sc


def self_check(
    source: Path,
    fonds: Fonds,
    *,
    user: User | None = None,
    scanner: virus.Scanner | None = None,
    today: date | None = None,
) -> SelfCheck:
    """Start and run a self-check of the package at `source` (kept: a console path)."""
    if not source.exists():
        raise IngestError(f"“{source}”不存在")
    return run(start(source.name, fonds, user), source, scanner=scanner, today=today)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _store(
    sc: SelfCheck, checks: list[CheckResult], report: TransferCheck | None, error: str
) -> None:
    by_key: dict[str, SelfCheckItem] = {}
    findings: list[dict[str, Any]] = []
    kept: Counter[str] = Counter()
    for c in checks:
        key = c.check or c.content_code
        item = by_key.setdefault(key, SelfCheckItem(self_check=sc, check_key=key, status="na"))
        item.checked += 1
        if SEVERITY[c.status] > SEVERITY[item.status]:
            item.status = c.status
        if c.status in ("fail", "warn"):
            item.failed += c.status == "fail"
            item.warned += c.status == "warn"
            if kept[key] < FINDINGS_PER_CHECK and len(findings) < FINDINGS_CAP:
                kept[key] += 1
                findings.append(c.as_dict())
    failed = any(c.status == "fail" for c in checks)
    with transaction.atomic():
        SelfCheckItem.objects.filter(self_check=sc).delete()
        SelfCheckItem.objects.bulk_create(by_key.values())
        sc.result = "fail" if failed or error else "pass"
        sc.summary = report.summary() if report is not None else {}
        sc.package_kind = (report.kind or "") if report is not None else ""
        sc.findings, sc.error, sc.checked_at = findings, error, timezone.now()
        sc.save()
        audit.record(
            "transfer_self_check", "fonds", sc.fonds_id,
            {"self_check": sc.pk, "result": sc.result, "package_sm3": sc.package_sm3,
             "failed_checks": sorted(k for k, i in by_key.items() if i.status == "fail")},
        )  # fmt: skip


# --- the report a unit reads ---------------------------------------------------------------------
@dataclass
class ReportItem:
    key: str
    title: str
    property: str
    content_code: str
    status: str
    failed: int
    warned: int
    checked: int
    guidance: str
    findings: list[dict[str, Any]] = field(default_factory=list)


def report(sc: SelfCheck, english: bool = False) -> list[ReportItem]:
    """The self-check's items in catalogue order, the failed and warned ones first, each with
    its guidance and the objects that failed."""
    catalogue = load_catalogue()
    order = {k: i for i, k in enumerate(catalogue.checks)}
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in sc.findings:
        found[f.get("check") or f.get("content_code", "")].append(f)
    items = []
    for it in SelfCheckItem.objects.filter(self_check=sc).order_by("pk"):
        spec = catalogue.checks.get(it.check_key)
        items.append(
            ReportItem(
                key=it.check_key,
                title=spec.title(english) if spec else it.check_key,
                property=spec.property if spec else "",
                content_code=spec.content_code if spec else it.check_key,
                status=it.status,
                failed=it.failed,
                warned=it.warned,
                checked=it.checked,
                guidance=rule.guidance(it.check_key, english),
                findings=found.get(it.check_key, []),
            )  # fmt: skip
        )
    rank = {"fail": 0, "warn": 1, "pass": 2, "na": 3}
    return sorted(items, key=lambda i: (rank.get(i.status, 4), order.get(i.key, 999)))


def report_json(sc: SelfCheck, english: bool = False) -> dict[str, Any]:
    return {
        "self_check": sc.pk,
        "unit": unit_name(sc.fonds),
        "fonds": sc.fonds.code,
        "package": sc.package_name,
        "package_sm3": sc.package_sm3,
        "result": sc.result,
        "error": sc.error or None,
        "registered": False,
        "summary": sc.summary,
        "items": [
            {
                "check": i.key,
                "title": i.title,
                "content_code": i.content_code,
                "status": i.status,
                "failed": i.failed,
                "warned": i.warned,
                "guidance": i.guidance if i.status in ("fail", "warn") else "",
                "objects": [
                    {
                        "object": f.get("object"),
                        "status": f.get("status"),
                        "reason": (f.get("evidence") or {}).get("reason", ""),
                    }
                    for f in i.findings
                ],
            }  # fmt: skip
            for i in report(sc, english)
        ],
    }


# --- quality figures -----------------------------------------------------------------------------
@dataclass
class Run:
    """One check of one unit's package: a self-check or a checked transfer version."""

    source: str  # self | transfer
    fonds_id: int
    year: int
    result: str
    statuses: dict[str, str]


def runs(fonds_ids: list[int] | None = None) -> list[Run]:
    """Every self-check and checked transfer version (of a transfer with its unit), with the worst
    status per check item: aggregated in the database, one row per run and item."""
    out: list[Run] = []
    selfs = SelfCheck.objects.filter(result__in=("pass", "fail"), checked_at__isnull=False)
    versions = TransferVersion.objects.filter(
        result__in=("pass", "fail"), checked_at__isnull=False, transfer__fonds__isnull=False
    )
    if fonds_ids is not None:
        selfs = selfs.filter(fonds_id__in=fonds_ids)
        versions = versions.filter(transfer__fonds_id__in=fonds_ids)
    self_rows = {pk: (f, at, r) for pk, f, at, r in
                 selfs.values_list("pk", "fonds_id", "checked_at", "result")}  # fmt: skip
    statuses: dict[int, dict[str, str]] = defaultdict(dict)
    for sid, key, status in SelfCheckItem.objects.filter(
        self_check_id__in=list(self_rows)
    ).values_list("self_check_id", "check_key", "status"):
        statuses[sid][key] = status
    for pk, (fid, at, result) in self_rows.items():
        out.append(Run("self", fid, timezone.localtime(at).year, result, statuses[pk]))
    version_rows = {pk: (f, at, r) for pk, f, at, r in
                    versions.values_list("pk", "transfer__fonds_id", "checked_at", "result")}  # fmt: skip
    vstatuses: dict[int, dict[str, str]] = defaultdict(dict)
    agg = (
        CheckRecord.objects.filter(version_id__in=list(version_rows))
        .exclude(check_key="")
        .values("version_id", "check_key")
        .annotate(
            fail=Count("pk", filter=Q(status="fail")),
            warn=Count("pk", filter=Q(status="warn")),
            ok=Count("pk", filter=Q(status="pass")),
        )
    )
    for row in agg:
        status = "fail" if row["fail"] else "warn" if row["warn"] else "pass" if row["ok"] else "na"
        vstatuses[row["version_id"]][row["check_key"]] = status
    for pk, (fid, at, result) in version_rows.items():
        out.append(Run("transfer", fid, timezone.localtime(at).year, result, vstatuses[pk]))
    return out


@dataclass
class ItemFigure:
    key: str
    title: str
    applicable: int = 0  # runs where the item was examined (pass, warn or fail)
    failed: int = 0
    guidance: str = ""

    @property
    def pass_rate(self) -> float | None:
        return None if not self.applicable else (self.applicable - self.failed) / self.applicable

    @property
    def pct(self) -> float | None:
        """The pass rate in per cent, one decimal (for the pages)."""
        rate = self.pass_rate
        return None if rate is None else round(rate * 100, 1)


@dataclass
class Figures:
    runs: int
    passed: int
    items: list[ItemFigure]  # in catalogue order
    common_failures: list[ItemFigure]  # most failed first
    trend: list[dict[str, Any]]  # per year: self / transfer runs and passes

    @property
    def pass_rate(self) -> float | None:
        return None if not self.runs else self.passed / self.runs

    @property
    def pct(self) -> float | None:
        """The pass rate in per cent, one decimal (for the pages)."""
        rate = self.pass_rate
        return None if rate is None else round(rate * 100, 1)

    def as_dict(self) -> dict[str, Any]:
        def rate(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "runs": self.runs,
            "passed": self.passed,
            "pass_rate": rate(self.pass_rate),
            "items": [
                {
                    "check": i.key,
                    "title": i.title,
                    "applicable": i.applicable,
                    "failed": i.failed,
                    "pass_rate": rate(i.pass_rate),
                }  # fmt: skip
                for i in self.items
            ],
            "common_failures": [
                {"check": i.key, "title": i.title, "failed": i.failed} for i in self.common_failures
            ],
            "trend": self.trend,
        }


def figures(all_runs: list[Run], english: bool = False, top: int = 8) -> Figures:
    catalogue = load_catalogue()
    items = {
        k: ItemFigure(k, spec.title(english), guidance=rule.guidance(k, english))
        for k, spec in catalogue.checks.items()
        if spec.stage == "yj"
    }
    trend: dict[int, Counter[str]] = defaultdict(Counter)
    for r in all_runs:
        trend[r.year][f"{r.source}_runs"] += 1
        trend[r.year][f"{r.source}_passed"] += r.result == "pass"
        for key, status in r.statuses.items():
            item = items.get(key)
            if item is None or status == "na":
                continue
            item.applicable += 1
            item.failed += status == "fail"
    years = []
    for year in sorted(trend):
        t = trend[year]
        row: dict[str, Any] = {"year": year}
        for source in ("self", "transfer"):
            n, ok = t.get(f"{source}_runs", 0), t.get(f"{source}_passed", 0)
            row[source] = {"runs": n, "passed": ok, "pass_rate": round(ok / n, 4) if n else None}
        years.append(row)
    listed = list(items.values())
    common = sorted((i for i in listed if i.failed), key=lambda i: (-i.failed, i.key))[:top]
    return Figures(
        runs=len(all_runs),
        passed=sum(r.result == "pass" for r in all_runs),
        items=listed,
        common_failures=common,
        trend=years,
    )


@dataclass
class UnitQuality:
    fonds_id: int
    runs: int = 0
    passed: int = 0
    self_checks: int = 0
    last_self_check: date | None = None
    top_failure: str = ""

    @property
    def pass_rate(self) -> float | None:
        return None if not self.runs else self.passed / self.runs

    @property
    def pct(self) -> float | None:
        """The pass rate in per cent, one decimal (for the pages)."""
        rate = self.pass_rate
        return None if rate is None else round(rate * 100, 1)


def per_unit(all_runs: list[Run], english: bool = False) -> dict[int, UnitQuality]:
    """Runs, passes and the most failed check item of each unit (dashboard rows)."""
    catalogue = load_catalogue()
    out: dict[int, UnitQuality] = {}
    fails: dict[int, Counter[str]] = defaultdict(Counter)
    for r in all_runs:
        u = out.setdefault(r.fonds_id, UnitQuality(r.fonds_id))
        u.runs += 1
        u.passed += r.result == "pass"
        u.self_checks += r.source == "self"
        fails[r.fonds_id].update(k for k, s in r.statuses.items() if s == "fail")
    last = (
        SelfCheck.objects.filter(fonds_id__in=list(out), checked_at__isnull=False)
        .values("fonds_id")
        .annotate(at=Max("checked_at"))
        .values_list("fonds_id", "at")
    )
    for fid, at in last:
        out[fid].last_self_check = timezone.localtime(at).date()
    for fid, counter in fails.items():
        if counter:
            key = counter.most_common(1)[0][0]
            spec = catalogue.checks.get(key)
            out[fid].top_failure = spec.title(english) if spec else key
    return out


# --- visits --------------------------------------------------------------------------------------
def add_visit(
    fonds: Fonds,
    *,
    visited_on: date,
    visitors: str,
    advice: str,
    follow_up: str = "",
    user: User | None = None,
) -> QualityVisit:
    """Record a visit of the receiving team to a unit and the advice given (RECEIVE)."""
    catalog.require(user, RECEIVE)
    if not visitors.strip():
        raise IngestError("须填写指导人员")
    if not advice.strip():
        raise IngestError("须填写指导意见")
    if visited_on > timezone.localdate():
        raise IngestError(f"指导日期 {visited_on.isoformat()} 晚于今天：只能登记已进行的指导")
    with transaction.atomic():
        visit = QualityVisit.objects.create(
            fonds=fonds, visited_on=visited_on, visitors=visitors.strip(),
            advice=advice.strip(), follow_up=follow_up.strip(), created_by=user,
        )  # fmt: skip
        audit.record(
            "quality_visit_record", "fonds", fonds.pk,
            {"visit": visit.pk, "visited_on": visited_on.isoformat(), "visitors": visit.visitors},
        )  # fmt: skip
    return visit


def update_follow_up(
    visit: QualityVisit, *, follow_up: str, done: bool, user: User | None = None
) -> QualityVisit:
    catalog.require(user, RECEIVE)
    with transaction.atomic():
        visit.follow_up, visit.follow_up_done = follow_up.strip(), done
        visit.save(update_fields=["follow_up", "follow_up_done"])
        audit.record(
            "quality_visit_follow_up", "fonds", visit.fonds_id,
            {"visit": visit.pk, "done": done},
        )  # fmt: skip
    return visit


def visits(
    fonds: Fonds | None = None, limit: int = 200, *, user: User | None = None
) -> list[QualityVisit]:
    """The latest visits (to `fonds`, or to every unit in `user`'s scope)."""
    qs = QualityVisit.objects.select_related("fonds", "fonds__repository")
    if fonds is not None:
        qs = qs.filter(fonds=fonds)
    within = scope_fonds(user)
    if within is not None:
        qs = qs.filter(fonds__in=within.values("pk"))
    return list(qs.order_by("-visited_on", "-pk")[:limit])
