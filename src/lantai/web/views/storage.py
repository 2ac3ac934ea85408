"""存 in the staff UI: the storage dashboard (locations, capacity, replica health, audit progress,
open alerts), storage locations, archival packages with their replicas and PREMIS events, on-demand
verification, two-person deletion and the DA/T 70 长期保存检测 reports. The work is done by lantai.preservation; these views read
its tables and call its services."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lantai.catalog import services as catalog
from lantai.catalog.models import Record
from lantai.catalog.services import CatalogError
from lantai.core import audit
from lantai.core.roles import PRESERVE
from lantai.jobs import huey
from lantai.preservation import deletion, locations, ocfl, tasks, verification
from lantai.preservation.models import (
    Alert,
    AuditRun,
    DeletionRequest,
    LongTermCheck,
    Package,
    Replica,
    StorageLocation,
)
from lantai.standards.dat70 import PROPERTIES, STATUSES, load_catalogue
from lantai.web.labels import english
from lantai.web.views.common import not_found, permission_required, whole_number
from lantai.web.views.transfers import (
    PROPERTY_LABELS,
    STATUS_LABELS,
    _content_status,
    _evidence,
)

LIST_PAGE = 50
EVENTS_PAGE = 50
RECORDS_PAGE = 50
ALERTS_SHOWN = 200
CHECKS_PAGE = 50
CHECK_CAP = 20  # failing/warning objects shown per content on a report; the rest on its own page
CHECK_DRILL_PAGE = 100
CHECK_SAMPLE_MAX = 1000
# 长期保存 contents Lantai does not check: carriers, environment and system security are for a
# person to inspect; the others (metadata accuracy, content attributes ...) it checks at ingest only
MANUAL_CONTENTS = ("3-3", "4-2", "4-3", "4-4")
NOT_CHECKED_MANUAL = gettext_noop("未检测（需人工检查：载体、环境、系统安全）")
NOT_CHECKED = gettext_noop("未检测（系统在长期保存环节不检测此项）")
CHECK_STAGE_LABELS = {
    "restore": gettext_noop("从副本恢复"),
    "verify": gettext_noop("原位校验"),
    "catalogue": gettext_noop("与目录比对"),
    "formats": gettext_noop("格式验证"),
    "virus": gettext_noop("病毒扫描"),
}
EVENT_LABELS = {
    "ingestion": gettext_noop("接收入库"),
    "message digest calculation": gettext_noop("计算数字摘要"),
    "replication": gettext_noop("复制"),
    "fixity check": gettext_noop("固定性检查"),
    "recovery": gettext_noop("修复"),
    "deaccession": gettext_noop("删除（撤出馆藏）"),
    "validation": gettext_noop("长期保存检测"),
}
OUTCOME_LABELS = {
    "success": gettext_noop("成功"),
    "failure": gettext_noop("失败"),
    "warning": gettext_noop("警告"),
}


def _label(table: dict[str, str], key: str) -> str:
    return gettext(table[key]) if key in table else key


def role_label(loc: StorageLocation) -> str:
    """主 (new versions are written there first), 必需 (every package needs a verified replica
    there before it counts as 已保存) or 可选."""
    if loc.is_primary:
        return gettext("主")
    return gettext("必需") if loc.required else gettext("可选")


def _missing_package(request: HttpRequest) -> HttpResponse:
    return not_found(request, gettext("信息包不存在。"))


# --- dashboard ---------------------------------------------------------------------------------
def _location_rows() -> list[dict[str, Any]]:
    """Each location with its replica counts: all, verified at the package's head version,
    damaged. (Replica.location has no reverse accessor, so the counts are grouped here.)"""
    current = Q(package__version__gt=0, version__gte=F("package__version"))
    counts = {
        row["location_id"]: row
        for row in Replica.objects.values("location_id").annotate(
            total=Count("pk"),
            current=Count("pk", filter=current),
            damaged=Count("pk", filter=Q(damaged=True)),
        )
    }
    rows = []
    for loc in StorageLocation.objects.all():
        c = counts.get(loc.pk, {})
        rows.append(
            {
                "loc": loc,
                "role": role_label(loc),
                "replicas": c.get("total", 0),
                "current": c.get("current", 0),
                "damaged": c.get("damaged", 0),
                "low": loc.free_bytes is not None
                and loc.free_bytes < settings.STORAGE_LOW_SPACE_BYTES,
            }
        )
    return rows


def _audit_progress() -> dict[str, Any]:
    now = timezone.now()
    cycle_start = now - timedelta(days=settings.AUDIT_CYCLE_DAYS)
    written = Replica.objects.filter(version__gt=0)
    total = written.count()
    audited = written.filter(audited_at__gte=cycle_start).count()
    day = AuditRun.objects.filter(started_at__gte=now - timedelta(hours=24)).aggregate(
        files=Sum("files"), bytes=Sum("bytes")
    )
    return {
        "cycle_days": settings.AUDIT_CYCLE_DAYS,
        "total": total,
        "audited": audited,
        "percent": round(100 * audited / total) if total else 0,
        "last_run": AuditRun.objects.exclude(finished_at=None).order_by("-finished_at").first(),
        "running": AuditRun.objects.filter(finished_at=None).count(),
        "files_24h": day["files"] or 0,
        "bytes_24h": day["bytes"] or 0,
    }


def _package_counts() -> list[dict[str, Any]]:
    by_status = dict(Package.objects.values_list("status").annotate(n=Count("pk")))
    return [
        {"code": code, "label": label, "n": by_status.get(code, 0)}
        for code, label in Package.STATUSES
    ]


@permission_required(PRESERVE)
def dashboard(request: HttpRequest) -> HttpResponse:
    alerts = Alert.objects.filter(resolved_at=None).select_related("location", "package")
    return render(
        request,
        "web/storage_dashboard.html",
        {
            "last_check": LongTermCheck.objects.defer("checks").order_by("-started_at").first(),
            "locations": _location_rows(),
            "package_counts": _package_counts(),
            "audit": _audit_progress(),
            "alerts": alerts[:ALERTS_SHOWN],
            "alert_count": alerts.count(),
            "deletions": DeletionRequest.objects.filter(status="requested")
            .select_related("package", "requested_by")
            .order_by("requested_at"),
            "low_space_bytes": settings.STORAGE_LOW_SPACE_BYTES,
            "waits_on_job": Package.objects.filter(status="pending").exists(),
            "waits": locations.preservation_waits(),
        },
    )


@require_POST
@permission_required(PRESERVE)
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        return not_found(request, gettext("告警不存在。"))
    if alert.resolved_at is not None:
        messages.info(request, gettext("该告警已处理。"))
        return redirect("web:storage")
    note = request.POST.get("note", "").strip()
    who = user.get_full_name() or user.username
    alert.resolved_at = timezone.now()
    alert.resolution = gettext("由 %(who)s 标记已处理") % {"who": who} + (
        f"：{note}" if note else ""
    )
    alert.save(update_fields=["resolved_at", "resolution"])
    audit.record(
        "storage_alert_resolve",
        "alert",
        alert.pk,
        {"kind": alert.kind, "message": alert.message, "note": note},
    )
    messages.success(request, gettext("告警已标记为已处理。"))
    return redirect("web:storage")


@require_POST
@permission_required(PRESERVE)
def audit_now(request: HttpRequest) -> HttpResponse:
    audit.record("fixity_audit_run", "storage", "", {"via": "web", "queued": True})
    tasks.audit_tick()
    messages.success(request, gettext("已安排一批固定性审计，结果稍后显示在审计进度中。"))
    return redirect("web:storage")


@require_POST
@permission_required(PRESERVE)
def check_locations(request: HttpRequest) -> HttpResponse:
    offline = []
    for loc in StorageLocation.objects.all():
        try:
            ok = locations.check_health(loc)
        except CatalogError as e:  # e.g. a secret that cannot be decrypted
            messages.error(request, e.message_zh)
            ok = False
        if not ok:
            offline.append(loc.name)
    if offline:
        messages.warning(
            request, gettext("以下存储位置不可达：%(names)s") % {"names": "、".join(offline)}
        )
    else:
        messages.success(request, gettext("全部存储位置均可访问。"))
    if request.POST.get("next") == "locations":
        return redirect("web:storage_locations")
    return redirect("web:storage")


# --- locations ---------------------------------------------------------------------------------
class LocationForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=64)
    kind = forms.ChoiceField(
        label=_("类型"), choices=StorageLocation.KINDS, widget=forms.RadioSelect, initial="local"
    )
    path = forms.CharField(
        label=_("本地目录"),
        max_length=500,
        required=False,
        help_text=_("服务器上的绝对路径，如另一块磁盘或网络存储的挂载点；目录不存在时自动创建。"),
    )
    s3_url = forms.CharField(
        label=_("S3 地址"),
        max_length=300,
        required=False,
        help_text=_("兼容 S3 的对象存储服务地址，如 https://oss.example.gov.cn"),
    )
    bucket = forms.CharField(label=_("存储桶"), max_length=100, required=False)
    prefix = forms.CharField(label=_("前缀"), max_length=200, required=False)
    access_key = forms.CharField(label=_("访问密钥 ID"), max_length=200, required=False)
    secret_key = forms.CharField(
        label=_("访问密钥"),
        max_length=200,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("加密保存，不再显示。"),
    )
    required = forms.BooleanField(
        label=_("必需副本（每个信息包都须在此有一份经校验的副本）"), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        path = data.get("path", "").strip()
        if data.get("kind") == "local" and not path:
            self.add_error("path", gettext("请填写本地目录。"))
        elif data.get("kind") == "local" and not path.startswith("/"):
            self.add_error("path", gettext("本地目录须为绝对路径（以 / 开头）。"))
        if data.get("kind") == "s3":
            if not data.get("s3_url", "").strip():
                self.add_error("s3_url", gettext("请填写 S3 地址。"))
            if not data.get("bucket", "").strip():
                self.add_error("bucket", gettext("请填写存储桶。"))
        return data


@permission_required(PRESERVE)
def location_list(request: HttpRequest) -> HttpResponse:
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        local = data["kind"] == "local"
        try:
            loc = locations.add_location(
                data["name"],
                path=data["path"].strip() if local else "",
                s3_url="" if local else data["s3_url"].strip(),
                bucket="" if local else data["bucket"].strip(),
                prefix="" if local else data["prefix"].strip(),
                access_key="" if local else data["access_key"].strip(),
                secret="" if local else data["secret_key"],
                required=data["required"],
                user=request.user,  # type: ignore[arg-type]
            )
        except CatalogError as e:
            field = "s3_url" if e.field == "path" and not local else e.field
            form.add_error(field if field in form.fields else None, e.message_zh)
        except ocfl.OCFLError as e:  # the place holds another OCFL layout or something else
            form.add_error("path" if local else "s3_url", str(e))
        except ValueError as e:  # boto3 refuses a malformed endpoint URL
            form.add_error("s3_url", gettext("S3 地址无效：%(error)s") % {"error": e})
        except OSError as e:  # the directory cannot be created (permissions, read-only disk)
            form.add_error("path", gettext("无法创建目录：%(error)s") % {"error": e})
        else:
            locations.check_health(loc)
            messages.success(request, gettext("已添加存储位置“%(name)s”。") % {"name": loc.name})
            if loc.required:
                messages.info(
                    request, gettext("全部信息包将在后台复制到新的必需存储位置，完成前为“待保存”。")
                )
            return redirect("web:storage_locations")
    return render(
        request,
        "web/storage_locations.html",
        {"form": form, "locations": _location_rows()},
    )


# --- packages ----------------------------------------------------------------------------------
@permission_required(PRESERVE)
def package_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    q = request.GET.get("q", "").strip()
    qs = Package.objects.all()
    if status in dict(Package.STATUSES):
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(object_id__icontains=q) | Q(label__icontains=q))
    qs = qs.annotate(
        n_replicas=Count("replicas"),
        n_current=Count("replicas", filter=Q(version__gt=0, replicas__version__gte=F("version"))),
        n_damaged=Count("replicas", filter=Q(replicas__damaged=True)),
    ).order_by("-created_at", "-pk")
    page = Paginator(qs, LIST_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/storage_packages.html",
        {"page": page, "status": status, "q": q, "statuses": Package.STATUSES},
    )


def _records_page(request: HttpRequest, package: Package) -> Any:
    """The package's records; titles only of those the user may see in the catalogue."""
    qs = Record.objects.filter(package_link__package=package).order_by("reference_code", "pk")
    page = Paginator(qs.only("pk", "reference_code", "title"), RECORDS_PAGE).get_page(
        request.GET.get("records")
    )
    ids = [r.pk for r in page.object_list]
    visible = set(
        catalog.visible_records(request.user).filter(pk__in=ids).values_list("pk", flat=True)  # type: ignore[arg-type]
    )
    rows = [{"record": r, "visible": r.pk in visible} for r in page.object_list]
    return page, rows


@permission_required(PRESERVE)
def package_detail(request: HttpRequest, pk: int) -> HttpResponse:
    package = Package.objects.filter(pk=pk).first()
    if package is None:
        return _missing_package(request)
    replicas = list(package.replicas.select_related("location").order_by("location__name"))
    for r in replicas:
        r.role = role_label(r.location)  # type: ignore[attr-defined]
        r.current = package.version > 0 and r.version >= package.version  # type: ignore[attr-defined]
    events = Paginator(package.events.order_by("-at", "-id"), EVENTS_PAGE).get_page(
        request.GET.get("events")
    )
    event_rows = [
        {
            "event": e,
            "type": _label(EVENT_LABELS, e.event_type),
            "outcome": _label(OUTCOME_LABELS, e.outcome),
        }
        for e in events.object_list
    ]
    records_page, record_rows = _records_page(request, package)
    user: Any = request.user
    last_check = _last_check_of(package) if package.checked_at else None
    pending = package.deletions.filter(status="requested").select_related("requested_by").first()
    return render(
        request,
        "web/storage_package.html",
        {
            "package": package,
            "replicas": replicas,
            "events": events,
            "event_rows": event_rows,
            "records_page": records_page,
            "record_rows": record_rows,
            "pending": pending,
            "waits_on_job": package.status == "pending",
            "pending_scope": deletion.scope_zh(pending) if pending else "",
            "own_request": pending is not None and pending.requested_by_id == user.pk,
            "last_check": last_check,
            "checkable": package.version > 0 and package.status != "deleted",
            "deletions": package.deletions.select_related("requested_by", "decided_by").order_by(
                "-requested_at"
            ),
        },
    )


@require_POST
@permission_required(PRESERVE)
def package_verify(request: HttpRequest, pk: int) -> HttpResponse:
    package = Package.objects.filter(pk=pk).first()
    if package is None:
        return _missing_package(request)
    try:
        result = verification.verify_package(package.object_id)
    except verification.NotFound:
        return _missing_package(request)
    if result["intact"]:
        messages.success(
            request,
            gettext("校验完成：%(n)d 个副本的全部版本、全部文件均完好。")
            % {"n": len(result["replicas"])},
        )
    else:
        problems = [
            f"{name}：{'；'.join(found[:3])}" for name, found in result["replicas"].items() if found
        ]
        messages.error(
            request,
            gettext("校验发现问题：%(problems)s")
            % {"problems": " / ".join(problems) or gettext("没有副本")},
        )
    return redirect("web:storage_package", pk=package.pk)


@require_POST
@permission_required(PRESERVE)
def deletion_request(request: HttpRequest, pk: int) -> HttpResponse:
    package = Package.objects.filter(pk=pk).first()
    if package is None:
        return _missing_package(request)
    try:
        codes = request.POST.get("codes", "").split()  # empty: the whole package
        deletion.request_deletion(
            package,
            request.POST.get("reason", ""),
            user=request.user,  # type: ignore[arg-type]
            records=deletion.records_by_code(package, codes),
        )
    except CatalogError as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(request, gettext("删除申请已提交，须由另一位保管员审批后才会执行。"))
    return redirect("web:storage_package", pk=package.pk)


@require_POST
@permission_required(PRESERVE)
def deletion_decide(request: HttpRequest, pk: int) -> HttpResponse:
    req = DeletionRequest.objects.filter(pk=pk).select_related("package").first()
    if req is None:
        return not_found(request, gettext("删除申请不存在。"))
    approve = request.POST.get("decision") == "approve"
    try:
        deletion.decide(
            req,
            approve,
            user=request.user,  # type: ignore[arg-type]
            note=request.POST.get("note", "").strip(),
        )
    except CatalogError as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(
            request,
            gettext("已批准删除：档案已从目录中移除，墓碑版本将写入各存储位置。")
            if approve
            else gettext("已驳回删除申请。"),
        )
    return redirect("web:storage_package", pk=req.package_id)


# --- 长期保存检测 (DA/T 70, stage bc) ------------------------------------------------------------
RECENT_RUNS = 100  # how far back the package page looks for the run that last checked it


def _last_check_of(package: Package) -> LongTermCheck | None:
    """The newest of the recent runs that checked `package` (the package list is in the summary)."""
    for run in LongTermCheck.objects.only("pk", "started_at", "result", "summary").order_by(
        "-started_at", "-pk"
    )[:RECENT_RUNS]:
        if package.object_id in (run.summary or {}).get("packages", []):
            return run
    return None


def _run_counts(run: LongTermCheck) -> dict[str, int]:
    counts: dict[str, int] = {}
    for per in ((run.summary or {}).get("by_property") or {}).values():
        for status, n in per.items():
            counts[status] = counts.get(status, 0) + n
    return counts


def _start_check(request: HttpRequest, package_ids: list[int] | None, sample: int | None) -> Any:
    """Queue the check; with jobs run inline (LANTAI_JOBS_IMMEDIATE) it is done on return and
    this redirects to its report, otherwise to the list where it will appear."""
    before = LongTermCheck.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    user: Any = request.user
    tasks.longterm_check(package_ids, sample, actor=user.username)
    if huey.immediate:
        run = LongTermCheck.objects.filter(pk__gt=before).order_by("-pk").first()
        if run is None:
            messages.error(request, gettext("长期保存检测未能完成，请查看系统日志。"))
            return None
        messages.success(request, gettext("长期保存检测已完成。"))
        return run
    messages.info(request, gettext("长期保存检测已在后台开始，完成后报告显示在列表中。"))
    return None


@permission_required(PRESERVE)
def check_list(request: HttpRequest) -> HttpResponse:
    qs = LongTermCheck.objects.defer("checks").order_by("-started_at", "-pk")
    page = Paginator(qs, CHECKS_PAGE).get_page(request.GET.get("page"))
    rows = []
    for run in page.object_list:
        counts = _run_counts(run)
        rows.append(
            {
                "run": run,
                "packages": len((run.summary or {}).get("packages", [])),
                "seconds": (run.finished_at - run.started_at).total_seconds(),
                "fail": counts.get("fail", 0),
                "warn": counts.get("warn", 0),
            }
        )
    return render(
        request,
        "web/storage_checks.html",
        {
            "page": page,
            "rows": rows,
            "catalogue_version": load_catalogue().version,
            "sample": settings.LONGTERM_SAMPLE,
            "sample_max": CHECK_SAMPLE_MAX,
            "packages": Package.objects.filter(version__gt=0).exclude(status="deleted").count(),
            "never_checked": Package.objects.filter(version__gt=0, checked_at=None)
            .exclude(status="deleted")
            .count(),
        },
    )


@require_POST
@permission_required(PRESERVE)
def check_run(request: HttpRequest) -> HttpResponse:
    sample = whole_number(request.POST.get("sample", "").strip())
    sample = settings.LONGTERM_SAMPLE if sample is None else sample
    sample = max(1, min(sample, CHECK_SAMPLE_MAX))
    run = _start_check(request, None, sample)
    if run is not None:
        return redirect("web:storage_check_report", pk=run.pk)
    return redirect("web:storage_checks")


@require_POST
@permission_required(PRESERVE)
def package_check(request: HttpRequest, pk: int) -> HttpResponse:
    package = Package.objects.filter(pk=pk).first()
    if package is None:
        return _missing_package(request)
    if package.version == 0 or package.status == "deleted":
        messages.error(request, gettext("该信息包尚未写入存储或已删除，无法进行长期保存检测。"))
        return redirect("web:storage_package", pk=package.pk)
    run = _start_check(request, [package.pk], None)
    if run is not None:
        return redirect("web:storage_check_report", pk=run.pk)
    return redirect("web:storage_package", pk=package.pk)


def _check_rows(checks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    catalogue, en = load_catalogue(), english()
    return [
        {
            "object": c.get("object", ""),
            "title": catalogue.check_title(c.get("check", ""), c.get("title", ""), en),
            "status": c.get("status", ""),
            "status_label": _label(STATUS_LABELS, c.get("status", "")),
            "item_code": c.get("item_code"),
            "tool": " ".join(x for x in (c.get("tool"), c.get("tool_version")) if x),
            "evidence": _evidence(c.get("evidence") or {}),
        }
        for c in checks
    ]


def _check_report_context(request: HttpRequest, run: LongTermCheck) -> dict[str, Any]:
    """The report of one run in the form of the ingest report: the summary by property, every
    长期保存 content of DA/T 70 (those Lantai does not check as 不适用, with the reason) and up to
    CHECK_CAP failing/warning objects per content, all of one content on its own page."""
    catalogue = load_catalogue()
    checks: list[dict[str, Any]] = list(run.checks or [])
    counts: dict[tuple[str, str], int] = {}
    by_content: dict[str, dict[str, int]] = {}
    for check in checks:
        key = (check.get("property", ""), check.get("status", ""))
        counts[key] = counts.get(key, 0) + 1
        per = by_content.setdefault(check.get("content_code", ""), {})
        per[key[1]] = per.get(key[1], 0) + 1
    summary_rows = [
        {
            "property": p,
            "label": _label(PROPERTY_LABELS, p),
            "counts": [counts.get((p, s), 0) for s in STATUSES],
            "status": _content_status({s: counts.get((p, s), 0) for s in STATUSES}),
        }
        for p in PROPERTIES
    ]
    order = {"fail": 0, "warn": 1}
    problems = sorted(
        (c for c in checks if c.get("status") in order), key=lambda c: order[c["status"]]
    )
    focus = request.GET.get("content", "")
    contents = []
    for c in catalogue.contents("bc"):
        checked = bool(catalogue.checks_for(c.code, "bc"))
        c_counts = by_content.get(c.code, {})
        status = _content_status(c_counts) if checked else "na"
        bad = c_counts.get("fail", 0) + c_counts.get("warn", 0)
        mine = [p for p in problems if p.get("content_code") == c.code]
        contents.append(
            {
                "code": c.code,
                "title": c.title(english()),
                "method": c.method(english()),
                "property_label": _label(PROPERTY_LABELS, c.property),
                "checked": checked,
                "note": ""
                if checked
                else gettext(NOT_CHECKED_MANUAL if c.code in MANUAL_CONTENTS else NOT_CHECKED),
                "status": status,
                "status_label": _label(STATUS_LABELS, status),
                "counts": [c_counts.get(s, 0) for s in STATUSES],
                "bad": bad,
                "rows": _check_rows(mine[:CHECK_CAP]) if bad and not focus else [],
                "more": bad > CHECK_CAP,
            }
        )
    focused = None
    if focus:
        content = next((c for c in contents if c["code"] == focus), None)
        if content is not None:
            page = Paginator(
                [p for p in problems if p.get("content_code") == focus], CHECK_DRILL_PAGE
            ).get_page(request.GET.get("page"))
            focused = {"content": content, "page": page, "rows": _check_rows(page.object_list)}
    summary = run.summary or {}
    object_ids = list(summary.get("packages", []))
    found = {p.object_id: p for p in Package.objects.filter(object_id__in=object_ids)}
    stage_seconds = summary.get("stage_seconds", {})
    return {
        "run": run,
        "catalogue": catalogue,
        "packages": [{"object_id": o, "package": found.get(o)} for o in object_ids],
        "status_headers": [_label(STATUS_LABELS, s) for s in STATUSES],
        "summary_rows": summary_rows,
        "contents": contents,
        "focused": focused,
        "stages": [
            {"label": _label(CHECK_STAGE_LABELS, k), "seconds": v} for k, v in stage_seconds.items()
        ],
        "total_seconds": round(sum(stage_seconds.values()), 3),
        "seconds": round((run.finished_at - run.started_at).total_seconds(), 1),
    }


@permission_required(PRESERVE)
def check_report(request: HttpRequest, pk: int) -> HttpResponse:
    run = LongTermCheck.objects.filter(pk=pk).first()
    if run is None:
        return not_found(request, gettext("检测记录不存在。"))
    return render(request, "web/storage_check.html", _check_report_context(request, run))
