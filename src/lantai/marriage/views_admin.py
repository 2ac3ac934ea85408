"""The marriage archivist's pages: import of civil-affairs exports with the row-by-row report, the
rights rules and their versions, the query log (PIPL), and the certificate issuer keys."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.catalog import importing as catalog_importing
from lantai.catalog.models import Repository
from lantai.catalog.services import visible_fonds, visible_repositories
from lantai.certificates import keys, lists
from lantai.certificates.models import IssuerKey
from lantai.core.roles import MARRIAGE, MARRIAGE_MANAGE
from lantai.standards import marriage_rights
from lantai.web.views.common import denied_message, forbidden, not_found, permission_required

from . import importing, labels, rules
from .forms import ImportForm, RulesForm, WithdrawForm
from .models import ImportRun, Query, RulesVersion

ALLOWED_SUFFIXES = (".xlsx", ".csv")
LIST_LIMIT = 200


def _actor(request: HttpRequest) -> str:
    user: Any = request.user
    return str(user.get_username())


# --- import -----------------------------------------------------------------------------------
def _safe_name(name: str, suffix: str) -> str:
    stem = "".join(c for c in Path(name).stem if c.isalnum() or c in "-_ .（）()")[:100].strip()
    return f"{stem or 'upload'}{suffix}"


@permission_required(MARRIAGE_MANAGE)
def import_upload(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    fonds = {f.pk: f for f in visible_fonds(user).order_by("repository__code", "code")}
    choices = [(pk, f"{f.code} {f.name}") for pk, f in fonds.items()]
    form = ImportForm(request.POST or None, request.FILES or None, fonds_choices=choices)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        chosen = fonds.get(int(form.cleaned_data["fonds"]))
        if suffix not in ALLOWED_SUFFIXES or chosen is None:
            form.add_error(
                "file",
                _(
                    "不支持的文件类型“%(suffix)s”：请上传 .xlsx 或 .csv 文件（.xls 请另存为 .xlsx）。"
                )
                % {"suffix": suffix or "—"},
            )
        else:
            path = catalog_importing.store_upload(upload.chunks(), upload.name)
            # the report names the file as the user knows it: its own name, in a private folder
            folder = path.with_suffix(".d")
            folder.mkdir(mode=0o750)
            named = folder / _safe_name(upload.name, suffix)
            path.rename(named)
            try:
                result = importing.import_file(
                    named, chosen, actor=_actor(request), user=user,
                    valid_rows_only=form.cleaned_data["valid_rows_only"],
                )  # fmt: skip
            except importing.FileUnreadable as e:
                form.add_error("file", e.message_zh.replace(named.name, upload.name))
            else:
                return redirect("marriage:import_run", pk=result.run_id)
            finally:
                named.unlink(
                    missing_ok=True
                )  # personal data: the report and SM3 stay, not the file
                folder.rmdir()
    runs = ImportRun.objects.filter(fonds__in=list(fonds)).select_related("fonds")[:20]
    return render(request, "marriage/import.html", {"form": form, "runs": list(runs)})


@permission_required(MARRIAGE_MANAGE)
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    run = ImportRun.objects.filter(pk=pk, fonds__in=visible_fonds(user)).select_related("fonds").first()  # fmt: skip
    if run is None:
        return not_found(request, _("导入记录不存在"))
    return render(request, "marriage/import_run.html", {"run": run, "errors": run.errors})


# --- rules ------------------------------------------------------------------------------------
@permission_required(MARRIAGE)
def rules_view(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    can_edit = user.has_perm_code(MARRIAGE_MANAGE)
    version, text = rules.current_text()
    form = RulesForm(initial={"text": text})
    error: marriage_rights.RulesError | None = None
    if request.method == "POST":
        if not can_edit:
            return forbidden(request, denied_message(request, MARRIAGE_MANAGE))
        form = RulesForm(request.POST)
        if form.is_valid():
            try:
                saved = rules.save_version(
                    form.cleaned_data["text"].replace("\r\n", "\n"), form.cleaned_data["note"],
                    user=user, actor=_actor(request),
                )  # fmt: skip
            except marriage_rights.RulesError as e:
                error = e
            else:
                messages.success(request, _("已保存查档规则第 %d 版") % saved.number)
                return redirect("marriage:rules")
    _v, ruleset = rules.current()
    return render(
        request,
        "marriage/rules.html",
        {
            "version": version, "text": text, "ruleset": ruleset, "form": form,
            "error": error, "can_edit": can_edit,
            "versions": list(RulesVersion.objects.select_related("created_by")[:100]),
        },
    )  # fmt: skip


@permission_required(MARRIAGE)
def rules_version(request: HttpRequest, number: int) -> HttpResponse:
    if number == 0:
        found: Any = {"number": 0, "text": rules.shipped_text(), "note": _("随系统发布的规则")}
    else:
        found = RulesVersion.objects.filter(number=number).select_related("created_by").first()
    if found is None:
        return not_found(request, _("没有这一版查档规则"))
    return render(request, "marriage/rules_version.html", {"v": found})


# --- the query log ----------------------------------------------------------------------------
def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@permission_required(MARRIAGE_MANAGE)
def query_log(request: HttpRequest) -> HttpResponse:
    since, until = _day(request.GET.get("since", "")), _day(request.GET.get("until", ""))
    rows = Query.objects.select_related("user")
    zone = timezone.get_current_timezone()
    if since:
        rows = rows.filter(created_at__gte=datetime.combine(since, time.min, zone))
    if until:
        rows = rows.filter(
            created_at__lt=datetime.combine(until + timedelta(days=1), time.min, zone)
        )
    _v, ruleset = rules.current()
    out = [
        {
            "q": q,
            "type_label": labels.labelled(ruleset.requester_types, q.requester_type),
            "proofs": [
                (labels.labelled(ruleset.proof_kinds, c), ref)
                for c, ref in (q.proofs or {}).items()
            ],
            "criteria": q.criteria,
        }
        for q in rows[:LIST_LIMIT]
    ]
    return render(
        request,
        "marriage/queries.html",
        {
            "rows": out, "limit": LIST_LIMIT,
            "since": since.isoformat() if since else "", "until": until.isoformat() if until else "",
        },
    )  # fmt: skip


# --- issuer keys ------------------------------------------------------------------------------
def _repositories(request: HttpRequest) -> list[Repository]:
    user: Any = request.user
    return list(visible_repositories(user).order_by("code"))


@permission_required(MARRIAGE_MANAGE)
def key_list(request: HttpRequest) -> HttpResponse:
    repositories = _repositories(request)
    now = timezone.now()
    rows = []
    for k in IssuerKey.objects.filter(repository__in=repositories).select_related("repository"):
        state = (
            _("已撤回") if k.withdrawn_at else _("已泄露") if k.compromised_since
            else _("签发中") if k.not_before <= now < k.not_after
            else _("仅供核验") if now < k.valid_until else _("已过期")
        )  # fmt: skip
        rows.append({"k": k, "state": state, "active": not k.withdrawn_at})
    return render(
        request,
        "marriage/keys.html",
        {"rows": rows, "repositories": repositories, "withdraw_form": WithdrawForm()},
    )


def _repository(request: HttpRequest) -> Repository | None:
    code = request.POST.get("repository", "")
    return next((r for r in _repositories(request) if r.code == code), None)


@permission_required(MARRIAGE_MANAGE)
@require_POST
def key_create(request: HttpRequest) -> HttpResponse:
    repository = _repository(request)
    if repository is None:
        messages.error(request, _("请选择档案馆"))
        return redirect("marriage:keys")
    key = keys.signing_key(repository, timezone.now().replace(microsecond=0))  # as issuing does
    messages.success(request, _("%(archives)s 的出证密钥：%(key)s") % {"archives": repository.name, "key": key.key_id})  # fmt: skip
    return redirect("marriage:keys")


@permission_required(MARRIAGE_MANAGE)
@require_POST
def key_rotate(request: HttpRequest) -> HttpResponse:
    repository = _repository(request)
    if repository is None:
        messages.error(request, _("请选择档案馆"))
        return redirect("marriage:keys")
    key = keys.rotate(repository, actor=_actor(request))
    messages.success(request, _("已轮换密钥，新密钥：%s") % key.key_id)
    return redirect("marriage:keys")


@permission_required(MARRIAGE_MANAGE)
@require_POST
def key_withdraw(request: HttpRequest, key_id: str) -> HttpResponse:
    key = IssuerKey.objects.filter(key_id=key_id, repository__in=_repositories(request)).first()
    if key is None:
        return not_found(request, _("没有这把出证密钥"))
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        messages.error(request, "；".join(str(m) for errs in form.errors.values() for m in errs))
        return redirect("marriage:keys")
    since = form.cleaned_data["compromised_since"]
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    try:
        keys.withdraw(key.key_id, form.cleaned_data["reason"], actor=_actor(request),
                      compromised_since=since)  # fmt: skip
    except keys.KeyProblem as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(request, _("已撤回密钥 %s，信任列表已更新") % key.key_id)
    return redirect("marriage:keys")


@permission_required(MARRIAGE_MANAGE)
def trust_list_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(lists.trust_list(), json_dumps_params={"ensure_ascii": False})


@permission_required(MARRIAGE_MANAGE)
def status_list_json(request: HttpRequest, code: str) -> HttpResponse:
    repository = next((r for r in _repositories(request) if r.code == code), None)
    if repository is None or not IssuerKey.objects.filter(repository=repository).exists():
        return not_found(request, _("该档案馆还没有状态列表"))
    return JsonResponse(lists.status_list(repository), json_dumps_params={"ensure_ascii": False})
