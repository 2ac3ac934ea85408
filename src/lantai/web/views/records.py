"""Record detail, edit, create and delete, its digital components (upload, download) and adding
it to a thematic collection. Validation and saving are the catalogue services'."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lantai.access import record_pages
from lantai.catalog import columns, components, public, services, thematic
from lantai.catalog.services import CatalogError, PermissionDenied
from lantai.core.downloads import attachment_response
from lantai.core.roles import EDIT, PRESERVE, VIEW
from lantai.preservation import deletion
from lantai.web import labels
from lantai.web.forms import ComponentUploadForm
from lantai.web.views import digitized
from lantai.web.views.common import (
    forbidden,
    language,
    not_found,
    permission_required,
    whole_number,
)

# (field, label, widget, vocabulary or help)
FORM_FIELDS: list[tuple[str, Any, str, str]] = [
    ("reference_code", _("档号"), "text", ""),
    ("item_number", _("件号"), "text", "create"),
    ("title", _("题名"), "textarea", ""),
    ("author", _("责任者"), "text", ""),
    ("document_number", _("文号"), "text", ""),
    ("date", _("日期"), "text", ""),
    ("year", _("年度"), "text", ""),
    ("retention", _("保管期限"), "select", "retention"),
    ("classification", _("密级"), "select", "classification"),
    ("secrecy_period", _("保密期限"), "text", ""),
    ("open_status", _("开放状态"), "select", "open_status"),
    ("org_code", _("机构（问题）"), "text", ""),
    ("pages", _("页数"), "text", ""),
    ("keywords", _("主题词"), "text", ""),
    ("remarks", _("备注"), "textarea", ""),
]
HELP = {
    "reference_code": _("留空则按本门类的档号规则由年度、保管期限、机构（问题）和件号生成。"),
    "date": _("如 20230115、2023-01-15 或 2023年1月15日"),
    "year": _("4 位数字；留空则取日期的年份"),
}


def _initial(record: Any) -> dict[str, str]:
    def s(v: Any) -> str:
        return "" if v is None else str(v)

    return {
        "reference_code": record.reference_code,
        "item_number": "",
        "title": record.title,
        "author": record.author,
        "document_number": record.document_number,
        "date": record.date.isoformat() if record.date else "",
        "year": s(record.year),
        "retention": record.retention,
        "classification": record.classification,
        "secrecy_period": record.secrecy_period,
        "open_status": record.open_status,
        "org_code": record.org_code,
        "pages": s(record.pages),
        "keywords": s((record.metadata or {}).get("keywords", "")),
        "remarks": record.remarks,
    }


def _form_rows(
    values: dict[str, str], errors: dict[str, list[str]], creating: bool, user: Any
) -> list[Any]:
    """The form's fields; 密级 offers only the levels at or below `user`'s clearance (the
    catalogue refuses a higher one in any case)."""
    allowed = {t.code for t in services.vocabulary_choices("classification")
               if (t.level or 0) <= getattr(user, "clearance", 0)}  # fmt: skip
    rows = []
    for name, label, widget, extra in FORM_FIELDS:
        if extra == "create" and not creating:
            continue
        choices: list[tuple[str, str]] = []
        if widget == "select":
            choices = [("", "—"), *labels.vocab_choices(extra)]
            if name == "classification":
                choices = [c for c in choices if c[0] in allowed]
        rows.append(
            {
                "name": name,
                "label": label,
                "widget": widget,
                "value": values.get(name, ""),
                "choices": choices,
                "errors": errors.get(name, []),
                "help": HELP.get(name, ""),
                "required": name == "title",
            }
        )
    return rows


def _split_issues(
    issues: list[Any], lang: str
) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """Errors by form field, errors about fields not on the form, warnings."""
    on_form = {name for name, *_ in FORM_FIELDS}
    label = {name: str(text) for name, text, *_ in FORM_FIELDS}
    by_field: dict[str, list[str]] = {}
    other: list[str] = []
    warnings: list[str] = []
    for issue in issues:
        text = issue.message(lang)
        if issue.severity != "error":
            warnings.append(f"{label.get(issue.field) or columns.field_label(issue.field)}：{text}")
        elif issue.field in on_form:
            by_field.setdefault(issue.field, []).append(text)
        else:
            other.append(f"{label.get(issue.field) or columns.field_label(issue.field)}：{text}")
    return by_field, other, warnings


@permission_required(VIEW)
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = services.visible_record(request.user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    metadata = record.metadata or {}
    fields = [
        (_("档号"), record.reference_code),
        (_("题名"), record.title),
        (_("责任者"), record.author),
        (_("文号"), record.document_number),
        (_("日期"), record.date.isoformat() if record.date else ""),
        (_("年度"), record.year or ""),
        (_("保管期限"), labels.vocab_label("retention", record.retention)),
        (_("原保管期限"), record.retention_legacy),
        (_("密级"), labels.vocab_label("classification", record.classification)),
        (_("保密期限"), record.secrecy_period),
        (_("开放状态"), labels.vocab_label("open_status", record.open_status)),
        (_("到期开放日期"), record.open_due_date.isoformat() if record.open_due_date else ""),
        (_("机构（问题）"), record.org_code),
        (_("页数"), record.pages if record.pages is not None else ""),
        (_("主题词"), metadata.get("keywords", "")),
        (_("备注"), record.remarks),
        (_("聚合层次"), record.get_level_display()),
    ]
    user: Any = request.user
    can_edit = user.has_perm_code(EDIT)
    in_collections = thematic.record_collections(user, record)
    attached = components.record_components(record)
    return render(
        request,
        "web/record_detail.html",
        {
            "record": record,
            "fields": fields,
            "extra": sorted((metadata.get("extra") or {}).items()),
            "components": attached,
            "viewer": _staff_viewer(attached),
            "category_name": labels.category_name(record.category.code),
            "children": (
                services.record_children(user, record) if record.level == "volume" else []
            ),
            "parent": services.record_parent(user, record),
            "collections": in_collections,
            "other_collections": (
                [c for c in thematic.visible_collections(user) if c not in in_collections]
                if can_edit
                else []
            ),
            "upload_form": ComponentUploadForm() if can_edit else None,
            **digitized.record_section(request, record),  # 数字化页面, 录音录像
        },
    )


def _staff_viewer(attached: Any) -> dict[str, Any]:
    """The IIIF viewer of the record's page images from the reading room's image service (no
    watermark; it checks again that the user may see the record)."""
    images = record_pages.page_images(c for c in attached if public.content_kind(c) == "image")
    page_labels = [gettext("第 %(n)s 页") % {"n": n} for n in range(1, len(images.shown) + 1)]
    return record_pages.viewer_context(images.shown, page_labels, staff=True)


@permission_required(EDIT)
def record_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation page (GET) and the deletion (POST)."""
    record = services.visible_record(request.user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    children = services.record_children(request.user, record, limit=1)
    error = ""
    # a preserved record goes only through the two-person disposal path (decision 0021)
    protected = services.delete_refusal(record) or ""
    package = deletion.preserved_package(record.pk) if protected else None
    if request.method == "POST" and protected:
        error = protected
    elif request.method == "POST":
        category_pk, code = record.category_id, record.reference_code
        try:
            services.delete_record(record, user=request.user)  # type: ignore[arg-type]
        except PermissionDenied as e:
            return forbidden(request, e.message_zh)
        except CatalogError as e:
            error = e.message_zh
        else:
            messages.success(request, gettext("已删除档案 %(code)s。") % {"code": code})
            return redirect("web:category", pk=category_pk)
    return render(
        request,
        "web/record_delete.html",
        {
            "record": record,
            "category_name": labels.category_name(record.category.code),
            "has_children": bool(children),
            "components": components.record_components(record),
            "error": error,
            "protected": protected,
            "package": package,
            "can_preserve": request.user.has_perm_code(PRESERVE),  # type: ignore[union-attr]
        },
        status=400 if error else 200,
    )


@require_POST
@permission_required(EDIT)
def component_upload(request: HttpRequest, pk: int) -> HttpResponse:
    record = services.visible_record(request.user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    form = ComponentUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, gettext("请选择要上传的电子文件。"))
        return redirect("web:record", pk=record.pk)
    f = form.cleaned_data["file"]
    try:
        component = components.attach_component(
            record,
            f.chunks(),
            f.name or "",
            user=request.user,  # type: ignore[arg-type]
        )
    except PermissionDenied as e:
        return forbidden(request, e.message_zh)
    except CatalogError as e:
        messages.error(request, e.message_zh)
    else:
        messages.success(request, gettext("已上传电子文件 %(name)s。") % {"name": component.name})
    return redirect("web:record", pk=record.pk)


@permission_required(VIEW)
def component_download(request: HttpRequest, pk: int) -> HttpResponse:
    component = components.visible_component(request.user, pk)
    if component is None:
        return not_found(request, gettext("电子文件不存在，或您无权查阅。"))
    try:
        handle = components.open_component(component, user=request.user)  # type: ignore[arg-type]
    except CatalogError as e:
        return render(request, "web/error.html", {"message": e.message_zh}, status=404)
    return attachment_response(handle, component.name)


@require_POST
@permission_required(EDIT)
def record_add_to_collection(request: HttpRequest, pk: int) -> HttpResponse:
    record = services.visible_record(request.user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    number = whole_number(request.POST.get("collection"))
    collection = thematic.visible_collection(request.user, number) if number is not None else None
    if collection is None:
        messages.error(request, gettext("请选择一个专题。"))
        return redirect("web:record", pk=record.pk)
    try:
        added = thematic.add_to_collection(collection, [record.pk], user=request.user)  # type: ignore[arg-type]
    except CatalogError as e:
        return forbidden(request, e.message_zh)
    if added:
        messages.success(request, gettext("已加入专题 %(name)s。") % {"name": collection.name})
    else:
        messages.info(request, gettext("该档案已在专题 %(name)s 中。") % {"name": collection.name})
    return redirect("web:record", pk=record.pk)


def _save(request: HttpRequest, category: Any, record: Any | None) -> HttpResponse:
    creating = record is None
    values = {name: request.POST.get(name, "").strip() for name, *_ in FORM_FIELDS}
    if creating:
        raw: dict[str, Any] = dict(values)
    else:
        raw = {k: v for k, v in values.items() if k != "item_number"}
        if extra := (record.metadata or {}).get("extra"):
            raw["extra"] = extra  # metadata kept from the import survives an edit
    try:
        saved, issues = services.save_record(category, raw, user=request.user, record=record)
    except CatalogError as e:
        return forbidden(request, e.message_zh)
    lang = language(request)
    if saved is None:
        by_field, other, warnings = _split_issues(issues, lang)
        return render(
            request,
            "web/record_form.html",
            {
                "category": category,
                "category_name": labels.category_name(category.code),
                "record": record,
                "rows": _form_rows(values, by_field, creating, request.user),
                "other_errors": other,
                "warnings": warnings,
                "has_errors": True,
            },
            status=400,
        )
    _, _, warnings = _split_issues(issues, lang)
    if creating:
        messages.success(request, gettext("已新增档案 %(code)s。") % {"code": saved.reference_code})
    else:
        messages.success(request, gettext("已保存档案 %(code)s。") % {"code": saved.reference_code})
    for w in warnings:
        messages.warning(request, w)
    return redirect("web:record", pk=saved.pk)


@permission_required(EDIT)
def record_edit(request: HttpRequest, pk: int) -> HttpResponse:
    record = services.visible_record(request.user, pk)
    if record is None:
        return not_found(request, gettext("档案不存在，或您无权查阅。"))
    if request.method == "POST":
        return _save(request, record.category, record)
    return render(
        request,
        "web/record_form.html",
        {
            "category": record.category,
            "category_name": labels.category_name(record.category.code),
            "record": record,
            "rows": _form_rows(_initial(record), {}, False, request.user),
        },
    )


@permission_required(EDIT)
def record_create(request: HttpRequest, pk: int) -> HttpResponse:
    category = services.visible_category(request.user, pk)
    if category is None:
        return not_found(request, gettext("门类不存在，或您无权查阅。"))
    if request.method == "POST":
        return _save(request, category, None)
    year = whole_number(request.GET.get("year"))
    initial = {"year": "" if year is None else str(year), "classification": "public"}
    return render(
        request,
        "web/record_form.html",
        {
            "category": category,
            "category_name": labels.category_name(category.code),
            "record": None,
            "rows": _form_rows(initial, {}, True, request.user),
        },
    )
