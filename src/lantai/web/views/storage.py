"""存 in the staff UI: the storage dashboard (locations, capacity, replica health, audit progress,
open alerts), storage locations, archival packages with their replicas and PREMIS events, on-demand
verification and two-person deletion. The work is done by lantai.preservation; these views read
its tables and call its services."""

from __future__ import annotations

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
from lantai.preservation import deletion, locations, ocfl, tasks, verification
from lantai.preservation.models import (
    Alert,
    AuditRun,
    DeletionRequest,
    Package,
    Replica,
    StorageLocation,
)
from lantai.web.views.common import not_found, permission_required

LIST_PAGE = 50
EVENTS_PAGE = 50
RECORDS_PAGE = 50
ALERTS_SHOWN = 200
EVENT_LABELS = {
    "ingestion": gettext_noop("接收入库"),
    "message digest calculation": gettext_noop("计算数字摘要"),
    "replication": gettext_noop("复制"),
    "fixity check": gettext_noop("固定性检查"),
    "recovery": gettext_noop("修复"),
    "deaccession": gettext_noop("删除（撤出馆藏）"),
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
            "locations": _location_rows(),
            "package_counts": _package_counts(),
            "audit": _audit_progress(),
            "alerts": alerts[:ALERTS_SHOWN],
            "alert_count": alerts.count(),
            "deletions": DeletionRequest.objects.filter(status="requested")
            .select_related("package", "requested_by")
            .order_by("requested_at"),
            "low_space_bytes": settings.STORAGE_LOW_SPACE_BYTES,
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
            "own_request": pending is not None and pending.requested_by_id == user.pk,
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
        deletion.request_deletion(
            package,
            request.POST.get("reason", ""),
            user=request.user,  # type: ignore[arg-type]
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
