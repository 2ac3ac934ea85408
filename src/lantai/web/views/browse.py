"""Home, the repository → fonds → category → year tree, the record list and export."""

from __future__ import annotations

import os
import secrets
from collections import OrderedDict
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from lantai.catalog import exporting, services
from lantai.catalog.services import CatalogError
from lantai.core import audit
from lantai.core.roles import AUDIT, DIGITIZE, EXPORT, GRANTS, USERS, VIEW
from lantai.web import labels
from lantai.web.forms import RecordFilterForm
from lantai.web.views.common import keyset_cursor, not_found, permission_required, whole_number

EXPORT_FORMATS = {
    "xlsx": (".xlsx", "utf-8-sig"),
    "csv": (".csv", "utf-8-sig"),
    "csv-gb18030": (".csv", "gb18030"),
}


def _fonds_tree(user: Any) -> list[dict[str, Any]]:
    """[{repository, fonds: [(fonds, count)]}] for the fonds the user may see."""
    fonds = list(services.visible_fonds(user).order_by("repository__code", "code"))
    totals = services.fonds_totals([f.pk for f in fonds])
    tree: OrderedDict[int, dict[str, Any]] = OrderedDict()
    for f in fonds:
        node = tree.setdefault(f.repository_id, {"repository": f.repository, "fonds": []})
        node["fonds"].append((f, totals.get(f.pk, 0)))
    return list(tree.values())


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    if not user.has_perm_code(VIEW):
        if user.has_perm_code(USERS):
            return redirect("web:users")
        if user.has_perm_code(GRANTS):
            return redirect("web:grants")
        if user.has_perm_code(AUDIT):
            return redirect("web:audit")
        if user.has_perm_code(DIGITIZE):  # a scanning vendor: its batches
            return redirect("web:digitization_batches")
        return render(request, "web/home.html", {"tree": [], "no_role": True})
    return render(request, "web/home.html", {"tree": _fonds_tree(user)})


@permission_required(VIEW)
def browse(request: HttpRequest) -> HttpResponse:
    return render(request, "web/browse.html", {"tree": _fonds_tree(request.user)})


@permission_required(VIEW)
def fonds_detail(request: HttpRequest, pk: int) -> HttpResponse:
    fonds = services.visible_fonds_by_id(request.user, pk)
    if fonds is None:
        return not_found(request, gettext("全宗不存在，或您无权查阅。"))
    categories = list(fonds.categories.all().order_by("code"))
    totals = services.category_totals(categories)
    rows = [(c, labels.category_name(c.code), totals.get(c.pk, 0)) for c in categories]
    return render(request, "web/fonds.html", {"fonds": fonds, "categories": rows})


@permission_required(VIEW)
def category_detail(request: HttpRequest, pk: int) -> HttpResponse:
    category = services.visible_category(request.user, pk)
    if category is None:
        return not_found(request, gettext("门类不存在，或您无权查阅。"))
    years = services.year_counts(category)
    return render(
        request,
        "web/category.html",
        {
            "category": category,
            "category_name": labels.category_name(category.code),
            "years": years,
            "total": sum(n for _, n in years),
        },
    )


def _year(request: HttpRequest) -> int | None:
    return whole_number(request.GET.get("year"))


@permission_required(VIEW)
def record_list(request: HttpRequest, pk: int) -> HttpResponse:
    category = services.visible_category(request.user, pk)
    if category is None:
        return not_found(request, gettext("门类不存在，或您无权查阅。"))
    year = _year(request)
    form = RecordFilterForm(request.GET)
    filters = form.filters()
    after = keyset_cursor(request)
    rows, next_cursor = services.browse(
        request.user, category=category, year=year, after=after, filters=filters
    )
    base = {**({"year": str(year)} if year is not None else {}), **filters}
    next_query = (
        urlencode({**base, "after_code": next_cursor[0], "after_id": next_cursor[1]})
        if next_cursor
        else ""
    )
    records = labels.record_rows(rows)
    return render(
        request,
        "web/records.html",
        {
            "category": category,
            "category_name": labels.category_name(category.code),
            "year": year,
            "form": form,
            "records": records,
            "first_query": urlencode(base),
            "next_query": next_query,
            "is_first_page": after is None,
            "export_formats": [
                ("xlsx", gettext("导出 Excel（.xlsx）")),
                ("csv", gettext("导出 CSV（UTF-8）")),
                ("csv-gb18030", gettext("导出 CSV（GB18030）")),
            ],
            "export_query": urlencode(base),
        },
    )


@permission_required(EXPORT)
def export(request: HttpRequest, pk: int) -> HttpResponse:
    category = services.visible_category(request.user, pk)
    if category is None:
        return not_found(request, gettext("门类不存在，或您无权查阅。"))
    fmt = request.GET.get("format", "xlsx")
    if fmt not in EXPORT_FORMATS:
        return not_found(request, gettext("不支持的导出格式。"))
    suffix, encoding = EXPORT_FORMATS[fmt]
    year = _year(request)
    form = RecordFilterForm(request.GET)
    records = services.filtered_records(
        request.user, category=category, year=year, filters=form.filters()
    )
    out_dir = settings.DATA_DIR / "exports"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{secrets.token_hex(16)}{suffix}"
    try:
        count = exporting.export_file(path, category, year=year, encoding=encoding, records=records)
    except CatalogError as e:
        path.unlink(missing_ok=True)
        return render(request, "web/error.html", {"message": e.message_zh}, status=400)
    audit.record(
        "export",
        "category",
        category.pk,
        {"format": fmt, "year": year, "rows": count, "filters": form.filters()},
    )
    handle = path.open("rb")
    os.unlink(path)  # the open handle keeps the data until the response is sent
    name = f"{category.fonds.code}-{category.code}"
    if year is not None:
        name += f"-{year}"
    title = gettext("归档文件目录")
    name += f"-{title}"
    if fmt == "csv-gb18030":
        name += "-GB18030"
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if suffix == ".xlsx"
        else f"text/csv; charset={'gb18030' if encoding == 'gb18030' else 'utf-8'}"
    )
    return FileResponse(
        handle, as_attachment=True, filename=name + suffix, content_type=content_type
    )
