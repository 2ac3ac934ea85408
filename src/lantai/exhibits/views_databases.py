"""Staff pages of the 专题数据库: list, create (or turn a thematic collection into a database),
edit name and fields, add records by selection (档号 or ids), by search and by rule, remove,
describe an entry, record carrier condition and conservation actions, publish and unpublish."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.catalog import thematic
from lantai.catalog.services import CatalogError, PermissionDenied, visible_records
from lantai.core.roles import CURATE
from lantai.exhibits import conservation
from lantai.exhibits import database_browse as browse
from lantai.exhibits import databases as service
from lantai.exhibits.databases import DatabaseError
from lantai.exhibits.models import Database
from lantai.standards import exhibit_fields, gazetteer
from lantai.web.views.common import forbidden, not_found, permission_required, whole_number

PAGE_SIZE = 50
BLANK_FIELD_ROWS = 3
MAX_LINES = 5000


def _db(request: HttpRequest, pk: int) -> Database | None:
    return service.visible_database(request.user, pk)  # type: ignore[arg-type]


def _missing(request: HttpRequest) -> HttpResponse:
    return not_found(request, _("专题数据库不存在，或您无权查阅。"))


def _problems(request: HttpRequest, error: DatabaseError) -> None:
    for problem in error.problems:
        messages.error(request, problem)


def _to_detail(pk: int) -> HttpResponse:
    return redirect("exhibit_databases:detail", pk=pk)


@permission_required(CURATE)
def database_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    databases = list(service.visible_databases(user))
    taken = {d.collection_id for d in databases}
    collections = [c for c in thematic.visible_collections(user) if c.pk not in taken]
    return render(
        request,
        "exhibits/database_staff_list.html",
        {"databases": databases, "collections": collections},
    )


@permission_required(CURATE)
def database_create(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    repositories = list(service.curatable_repositories(user))
    if not repositories:
        return forbidden(request, _("您没有可建立专题数据库的档案馆。"))
    source = request.POST if request.method == "POST" else request.GET
    collection = None
    collection_pk = whole_number(source.get("collection"))
    if collection_pk is not None:
        collection = thematic.visible_collection(user, collection_pk)
        if collection is None:
            return not_found(request, _("专题不存在，或您无权查阅。"))
    form = {
        k: source.get(k, "") for k in ("repository", "code", "name", "slug", "kind", "description")
    }
    if request.method == "POST":
        repo = next((r for r in repositories if str(r.pk) == form["repository"]), None)
        if repo is None and collection is None:
            messages.error(request, _("请选择档案馆"))
        else:
            try:
                database = service.create_database(
                    user,
                    repository=repo or collection.repository,  # type: ignore[union-attr]
                    code=form["code"],
                    name=form["name"].strip() or (collection.name if collection else ""),
                    slug=form["slug"],
                    kind=form["kind"],
                    description=form["description"],
                    collection=collection,
                )
            except PermissionDenied as e:
                return forbidden(request, e.message_zh)
            except DatabaseError as e:
                _problems(request, e)
            except CatalogError as e:
                messages.error(request, e.message_zh)
            else:
                messages.success(request, _("专题数据库已建立"))
                return _to_detail(database.pk)
    return render(
        request,
        "exhibits/database_staff_create.html",
        {
            "form": form,
            "repositories": repositories,
            "kinds": exhibit_fields.kinds(),
            "collection": collection,
        },
    )


@permission_required(CURATE)
def database_detail(request: HttpRequest, pk: int) -> HttpResponse:
    database = _db(request, pk)
    if database is None:
        return _missing(request)
    user: Any = request.user
    entries = service.staff_entries(user, database)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"entry": e, "values": browse.shown_values(database.fields, e.values)} for e in page]
    _points, _places, unresolved = browse.map_data(
        database, [browse.Row(e, e.record, "", "", "", "") for e in entries], ""
    )
    return render(
        request,
        "exhibits/database_staff_detail.html",
        {
            "database": database,
            "page": page,
            "rows": rows,
            "unresolved": unresolved,
            "gazetteer_problem": gazetteer.local_problem(),
            "can_curate": service.can_curate(user, database),
            "can_publish": service.can_publish(user, database),
            "public_url": browse.database_url(database),
        },
    )


@permission_required(CURATE)
def database_edit(request: HttpRequest, pk: int) -> HttpResponse:
    database = _db(request, pk)
    if database is None:
        return _missing(request)
    c = database.collection
    form = {
        "name": c.name,
        "description": c.description,
        "name_en": database.name_en,
        "description_en": database.description_en,
    }
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        try:
            service.update_database(request.user, database, **form)  # type: ignore[arg-type]
        except PermissionDenied as e:
            return forbidden(request, e.message_zh)
        except DatabaseError as e:
            _problems(request, e)
        else:
            messages.success(request, _("已保存"))
            return _to_detail(pk)
    return render(
        request, "exhibits/database_staff_edit.html", {"database": database, "form": form}
    )


def _posted_fields(post: Any) -> list[dict[str, Any]]:
    """Field rows of the fields form (key_N, label_N, …); a row with neither key nor label is
    left out, so a curator removes a field by clearing both."""
    fields = []
    count = min(whole_number(post.get("rows")) or 0, 60)
    for n in range(count):
        key = post.get(f"key_{n}", "").strip()
        label = post.get(f"label_{n}", "").strip()
        if not key and not label:
            continue
        row: dict[str, Any] = {
            "key": key,
            "label": label,
            "label_en": post.get(f"label_en_{n}", ""),
            "type": post.get(f"type_{n}", ""),
            "facet": post.get(f"facet_{n}") == "on",
            "required": post.get(f"required_{n}") == "on",
        }
        if row["type"] == "choice":
            row["choices"] = [c for c in post.get(f"choices_{n}", "").splitlines() if c.strip()]
        fields.append(row)
    return fields


@permission_required(CURATE)
def database_fields(request: HttpRequest, pk: int) -> HttpResponse:
    database = _db(request, pk)
    if database is None:
        return _missing(request)
    fields = list(database.fields)
    if request.method == "POST":
        fields = _posted_fields(request.POST)
        try:
            service.set_fields(request.user, database, fields)  # type: ignore[arg-type]
        except PermissionDenied as e:
            return forbidden(request, e.message_zh)
        except DatabaseError as e:
            _problems(request, e)
        else:
            messages.success(request, _("著录项已保存"))
            return redirect("exhibit_databases:fields", pk=pk)
    rows = [
        {**f, "choices_text": "\n".join(f.get("choices") or [])}
        for f in fields + [{} for _n in range(BLANK_FIELD_ROWS)]
    ]
    return render(
        request,
        "exhibits/database_staff_fields.html",
        {
            "database": database,
            "rows": rows,
            "row_count": len(rows),
            "types": [(t, exhibit_fields.TYPE_LABELS[t]) for t in exhibit_fields.TYPES],
        },
    )


def _selected_ids(request: HttpRequest, database: Database) -> tuple[list[int], list[str]]:
    """Record ids from the selection box: one 档号 or record id a line (档号 of the database's
    档案馆 first); the lines that name no record the user may see."""
    lines = [ln.strip() for ln in request.POST.get("records", "").splitlines() if ln.strip()]
    ids, unknown = [], []
    visible = visible_records(request.user)  # type: ignore[arg-type]
    for line in lines[:MAX_LINES]:
        found = visible.filter(reference_code=line).values_list("pk", "repository_id")
        match = sorted(found, key=lambda r: (r[1] != database.repository_id, r[0]))
        if not match and whole_number(line) is not None:
            match = list(visible.filter(pk=int(line)).values_list("pk", "repository_id"))
        if match:
            ids.append(match[0][0])
        else:
            unknown.append(line[:100])
    return ids, unknown


def _act(
    request: HttpRequest, database: Database | None, act: Any, back: HttpResponse
) -> HttpResponse:
    """Run a POST action of the staff pages: `act(database)` returns the success message; a
    refusal is a 403 page, a broken rule a message on the page `back` leads to."""
    if database is None:
        return _missing(request)
    try:
        done = act(database)
    except PermissionDenied as e:
        return forbidden(request, e.message_zh)
    except DatabaseError as e:
        _problems(request, e)
    else:
        messages.success(request, done)
    return back


@permission_required(CURATE)
@require_POST
def database_add(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user

    def add(database: Database) -> str:
        ids, unknown = _selected_ids(request, database)
        for line in unknown[:20]:
            messages.error(request, _("“%(line)s”：没有这件档案，或您无权查阅") % {"line": line})
        return _("已加入 %(n)s 件档案") % {"n": service.add_records(user, database, ids)}

    return _act(request, _db(request, pk), add, _to_detail(pk))


@permission_required(CURATE)
@require_POST
def database_search_add(request: HttpRequest, pk: int) -> HttpResponse:
    def add(database: Database) -> str:
        added = service.add_by_search(request.user, database, request.POST.get("q", ""))  # type: ignore[arg-type]
        return _("检索命中的档案已加入 %(n)s 件") % {"n": added}

    return _act(request, _db(request, pk), add, _to_detail(pk))


@permission_required(CURATE)
@require_POST
def database_rule(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user

    def rule(database: Database) -> str:
        if request.POST.get("rule") is not None and request.POST.get("rule") != database.rule:
            service.set_rule(user, database, request.POST.get("rule", ""))
        if request.POST.get("apply") and database.rule:
            return _("按规则加入 %(n)s 件档案") % {"n": service.apply_rule(user, database)}
        return _("收录规则已保存")

    return _act(request, _db(request, pk), rule, _to_detail(pk))


@permission_required(CURATE)
@require_POST
def database_remove(request: HttpRequest, pk: int) -> HttpResponse:
    ids = [n for n in map(whole_number, request.POST.getlist("record")) if n is not None]

    def remove(database: Database) -> str:
        removed = service.remove_records(request.user, database, ids)  # type: ignore[arg-type]
        return _("已移出 %(n)s 件档案") % {"n": removed}

    return _act(request, _db(request, pk), remove, _to_detail(pk))


@permission_required(CURATE)
@require_POST
def database_publish(request: HttpRequest, pk: int) -> HttpResponse:
    user: Any = request.user

    def publish(database: Database) -> str:
        if request.POST.get("action") == "unpublish":
            service.unpublish(user, database)
            return _("已停止发布")
        service.publish(user, database)
        return _("已发布")

    return _act(request, _db(request, pk), publish, _to_detail(pk))


def _entry_context(database: Database, entry: Any, values: dict[str, Any]) -> dict[str, Any]:
    conditions, actions = conservation.history(entry.record_id)
    fields = []
    for f in database.fields:
        value = values.get(f["key"], "")
        fields.append({**f, "value": "、".join(value) if isinstance(value, list) else value})
    return {
        "database": database,
        "entry": entry,
        "record": entry.record,
        "fields": fields,
        "conditions": conditions,
        "actions": actions,
        "carriers": exhibit_fields.conservation_terms("carriers"),
        "grades": exhibit_fields.conservation_terms("grades"),
        "damage": exhibit_fields.conservation_terms("damage"),
        "action_kinds": exhibit_fields.conservation_terms("actions"),
    }


@permission_required(CURATE)
def entry_edit(request: HttpRequest, pk: int, record_id: int) -> HttpResponse:
    database = _db(request, pk)
    entry = service.entry_for(request.user, database, record_id) if database else None  # type: ignore[arg-type]
    if database is None or entry is None:
        return _missing(request)
    values = dict(entry.values)
    if request.method == "POST":
        values = {f["key"]: request.POST.get(f"v_{f['key']}", "") for f in database.fields}
        try:
            service.describe(request.user, entry, values)  # type: ignore[arg-type]
        except PermissionDenied as e:
            return forbidden(request, e.message_zh)
        except DatabaseError as e:
            _problems(request, e)
        else:
            messages.success(request, _("著录已保存"))
            return redirect("exhibit_databases:entry", pk=pk, record_id=record_id)
    return render(
        request, "exhibits/database_staff_entry.html", _entry_context(database, entry, values)
    )


def _entry_database(request: HttpRequest, pk: int, record_id: int) -> Database | None:
    """The database, when the record is one of its entries the user may describe."""
    database = _db(request, pk)
    if database is None or service.entry_for(request.user, database, record_id) is None:  # type: ignore[arg-type]
        return None
    return database


@permission_required(CURATE)
@require_POST
def condition_add(request: HttpRequest, pk: int, record_id: int) -> HttpResponse:
    def add(database: Database) -> str:
        conservation.add_condition(
            request.user,  # type: ignore[arg-type]
            record_id,
            carrier=request.POST.get("carrier", ""),
            grade=request.POST.get("grade", ""),
            damage=request.POST.getlist("damage"),
            note=request.POST.get("note", ""),
            assessed_on=request.POST.get("assessed_on", ""),
        )
        return _("保护状况已记录")

    back = redirect("exhibit_databases:entry", pk=pk, record_id=record_id)
    return _act(request, _entry_database(request, pk, record_id), add, back)


@permission_required(CURATE)
@require_POST
def action_add(request: HttpRequest, pk: int, record_id: int) -> HttpResponse:
    def add(database: Database) -> str:
        conservation.add_action(
            request.user,  # type: ignore[arg-type]
            record_id,
            kind=request.POST.get("kind", ""),
            done_on=request.POST.get("done_on", ""),
            done_by=request.POST.get("done_by", ""),
            note=request.POST.get("note", ""),
        )
        return _("保护措施已记录")

    back = redirect("exhibit_databases:entry", pk=pk, record_id=record_id)
    return _act(request, _entry_database(request, pk, record_id), add, back)
