"""The archival structure: 档案馆, 全宗, 门类, custom 档号 rules, the 漏号 report and the
thematic collections (专题数据库). Every change goes through lantai.catalog.services."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from lantai.catalog import services, thematic
from lantai.catalog.services import CatalogError, PermissionDenied
from lantai.core.roles import STRUCTURE, VIEW
from lantai.web import labels
from lantai.web.forms import (
    CategoryForm,
    CodeRuleForm,
    CollectionForm,
    FondsForm,
    RepositoryForm,
)
from lantai.web.views.common import (
    forbidden,
    keyset_cursor,
    not_found,
    permission_required,
    whole_number,
)


def _refuse(form: Form, error: CatalogError) -> None:
    """Show a service's refusal on the field it names, else above the form."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message_zh)


# --- overview -------------------------------------------------------------------------------------
@permission_required(STRUCTURE)
def structure(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    repositories = list(services.visible_repositories(user).order_by("code"))
    fonds = list(services.visible_fonds(user).order_by("repository__code", "code"))
    by_repo: dict[int, list[Any]] = {}
    for f in fonds:
        by_repo.setdefault(f.repository_id, []).append(f)
    return render(
        request,
        "web/structure.html",
        {
            "repositories": [
                {
                    "repository": r,
                    "level": labels.repository_level_label(r.level),
                    "fonds": by_repo.get(r.pk, []),
                }
                for r in repositories
            ],
            "rules": services.code_rule_choices(),
            "can_manage_repositories": user.scope_all,
            "can_add_fonds": services.writable_repositories(user).exists(),
        },
    )


# --- 档案馆 ----------------------------------------------------------------------------------------
@permission_required(STRUCTURE)
def repository_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.scope_all:
        return forbidden(request, gettext("只有可访问全部档案馆的用户才能新增档案馆。"))
    form = RepositoryForm(request.POST or None, levels=services.repository_levels())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            repo = services.create_repository(
                data["code"], data["name"], data["level"], data["region"], user=user
            )
            if data["is_default"]:
                services.set_default_repository(repo, user=user)
        except CatalogError as e:
            _refuse(form, e)
        else:
            messages.success(request, gettext("已新增档案馆 %(name)s。") % {"name": repo.name})
            return redirect("web:structure")
    return render(request, "web/structure_form.html", _form_page(form, gettext("新增档案馆")))


@require_POST
@permission_required(STRUCTURE)
def repository_default(request: HttpRequest, pk: int) -> HttpResponse:
    repo = services.visible_repositories(request.user).filter(pk=pk).first()
    if repo is None:
        return not_found(request, gettext("档案馆不存在，或您无权查阅。"))
    try:
        services.set_default_repository(repo, user=request.user)  # type: ignore[arg-type]
    except CatalogError as e:
        return forbidden(request, e.message_zh)
    messages.success(request, gettext("已将 %(name)s 设为默认档案馆。") % {"name": repo.name})
    return redirect("web:structure")


# --- 全宗 ------------------------------------------------------------------------------------------
@permission_required(STRUCTURE)
def fonds_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    repositories = list(services.writable_repositories(user))
    if not repositories:
        return forbidden(
            request,
            gettext("您没有可建立全宗的档案馆：请安全保密管理员授予档案馆范围。"),
        )
    initial = {}
    wanted = whole_number(request.GET.get("repository"))
    if wanted is not None:
        initial["repository"] = str(wanted)
    form = FondsForm(request.POST or None, initial=initial, repositories=repositories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        repo = next(r for r in repositories if str(r.pk) == data["repository"])
        try:
            fonds = services.create_fonds(
                data["code"],
                data["name"],
                creator=data["creator"] or None,
                description=data["description"],
                repository=repo,
                user=user,
            )
        except CatalogError as e:
            _refuse(form, e)
        else:
            messages.success(
                request,
                gettext("已新增全宗 %(code)s %(name)s。")
                % {"code": fonds.code, "name": fonds.name},
            )
            return redirect("web:fonds", pk=fonds.pk)
    return render(request, "web/structure_form.html", _form_page(form, gettext("新增全宗")))


# --- 门类 ------------------------------------------------------------------------------------------
@permission_required(STRUCTURE)
def category_create(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user
    fonds = services.visible_fonds_by_id(user, pk)
    if fonds is None:
        return not_found(request, gettext("全宗不存在，或您无权查阅。"))
    categories = services.standard_categories()
    rules = services.code_rule_choices()
    form = CategoryForm(request.POST or None, categories=categories, rules=rules)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            category = services.create_category(
                fonds,
                data["code"],
                arrangement=data["arrangement"] or None,
                code_rule=data["code_rule"] or None,
                volume_item_rule=data["volume_item_rule"] or None,
                user=user,
            )
        except CatalogError as e:
            _refuse(form, e)
        else:
            messages.success(
                request,
                gettext("已在全宗 %(fonds)s 下新增门类 %(code)s %(name)s。")
                % {
                    "fonds": fonds.code,
                    "code": category.code,
                    "name": labels.category_name(category.code),
                },
            )
            return redirect("web:category", pk=category.pk)
    defaults = [
        {
            "code": c.code,
            "name": labels.standard_category_label(c),
            "arrangement": labels.arrangement_label(c.arrangement),
            "code_rule": c.code_rule,
            "volume_item_rule": c.volume_item_rule or "",
        }
        for c in categories
    ]
    return render(
        request,
        "web/category_form.html",
        {"form": form, "fonds": fonds, "rules": rules, "defaults": defaults},
    )


# --- custom 档号 rules ----------------------------------------------------------------------------
@permission_required(STRUCTURE)
def code_rule_create(request: HttpRequest) -> HttpResponse:
    form = CodeRuleForm(request.POST or None, initial={"arrangement": "item"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rule = services.define_code_rule(
                data["name"],
                data["template"],
                data["label"],
                data["arrangement"],
                user=request.user,  # type: ignore[arg-type]
            )
        except CatalogError as e:
            _refuse(form, e)
        else:
            messages.success(request, gettext("已定义档号规则 %(name)s。") % {"name": rule.name})
            return redirect("web:structure")
    return render(
        request,
        "web/code_rule_form.html",
        {"form": form, "rules": services.code_rule_choices()},
    )


# --- 漏号 report -----------------------------------------------------------------------------------
@permission_required(VIEW)
def category_gaps(request: HttpRequest, pk: int) -> HttpResponse:
    category = services.visible_category(request.user, pk)
    if category is None:
        return not_found(request, gettext("门类不存在，或您无权查阅。"))
    report = services.gap_report(category)
    sections = [
        {
            "level": labels.level_label(level),
            "rule": services.get_code_rule(
                category.volume_item_rule if level == "volume_item" else category.code_rule
            ),
            "gaps": gaps,
            "missing": sum(len(g.missing) for g in gaps),
        }
        for level, gaps in report.sections
    ]
    return render(
        request,
        "web/category_gaps.html",
        {
            "category": category,
            "category_name": labels.category_name(category.code),
            "sections": sections,
            "duplicates": sorted(report.duplicates.items()),
            "total": report.total,
        },
    )


# --- thematic collections (专题数据库) -------------------------------------------------------------
@permission_required(VIEW)
def collection_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request,
        "web/collections.html",
        {
            "collections": list(thematic.visible_collections(user)),
            "can_create": user.has_perm_code(STRUCTURE),
        },
    )


@permission_required(VIEW)
def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    collection = thematic.visible_collection(request.user, pk)
    if collection is None:
        return not_found(request, gettext("专题不存在，或您无权查阅。"))
    after = keyset_cursor(request)
    rows, next_cursor = thematic.collection_records(request.user, collection, after)
    records = labels.record_rows(rows)
    return render(
        request,
        "web/collection.html",
        {
            "collection": collection,
            "records": records,
            "is_first_page": after is None,
            "next_query": (
                urlencode({"after_code": next_cursor[0], "after_id": next_cursor[1]})
                if next_cursor
                else ""
            ),
        },
    )


@permission_required(STRUCTURE)
def collection_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    repositories = list(services.writable_repositories(user))
    if not repositories:
        return forbidden(request, gettext("您没有可建立专题的档案馆。"))
    form = CollectionForm(request.POST or None, repositories=repositories)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        repo = next(r for r in repositories if str(r.pk) == data["repository"])
        try:
            collection = thematic.create_collection(
                repo, data["code"], data["name"], data["description"], user=user
            )
        except PermissionDenied as e:
            return forbidden(request, e.message_zh)
        except CatalogError as e:
            _refuse(form, e)
        else:
            messages.success(request, gettext("已新增专题 %(name)s。") % {"name": collection.name})
            return redirect("web:collection", pk=collection.pk)
    return render(request, "web/structure_form.html", _form_page(form, gettext("新增专题")))


def _form_page(form: Form, title: str) -> dict[str, Any]:
    return {"form": form, "title": title}
