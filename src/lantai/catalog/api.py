"""REST endpoints of the catalogue (管): structure, records and catalogue imports.

Thin: every endpoint resolves its objects through the services' visibility rules (the same ones
the UI uses) and calls the services to change anything. Objects outside the user's scope or
clearance answer 404, exactly as if they did not exist. Writes run inside `acting_as(username)`
so that the audit log names the user.
"""

import datetime as dt
from typing import Any, Literal

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from lantai.catalog import components, importing, services, tasks, thematic
from lantai.catalog.models import Category, Fonds, ImportBatch, Record
from lantai.catalog.readers import FileUnreadable
from lantai.core.audit import acting_as
from lantai.core.downloads import attachment_response
from lantai.core.models import User
from lantai.core.roles import EDIT, IMPORT, STRUCTURE, VIEW
from lantai.standards.categories import load_categories

router = Router()

TAG_STRUCTURE = "档案馆、全宗与门类 structure"
TAG_RECORDS = "档案 records"
TAG_IMPORTS = "目录导入 imports"
TAG_COMPONENTS = "电子文件 components"
TAG_COLLECTIONS = "专题数据库 collections"
NOT_FOUND = "未找到，或无权查看（not found）"
MAX_PAGE = 200


# --- schemas -------------------------------------------------------------------------------------
class ErrorOut(Schema):
    detail: str
    field: str = ""


class RepositoryOut(Schema):
    id: int
    code: str = Field(description="档案馆代码")
    name: str
    level: str
    region: str


class FondsOut(Schema):
    id: int
    code: str = Field(description="全宗号")
    name: str
    creator: str = Field(description="立档单位")
    description: str
    repository: str = Field(description="档案馆代码")

    @staticmethod
    def resolve_repository(obj: Fonds) -> str:
        return obj.repository.code


class FondsIn(Schema):
    code: str = Field(description="全宗号, 1–6 uppercase letters or digits, e.g. Z109")
    name: str
    creator: str | None = Field(None, description="立档单位; the fonds name when left out")
    description: str = Field("", description="全宗介绍")
    repository: str | None = Field(None, description="档案馆代码; the default repository if absent")


class CategoryOut(Schema):
    id: int
    code: str = Field(description="门类代码 (DA/T 13)")
    name: str = Field(description="门类名称")
    arrangement: str = Field(description="item 按件 | volume 按卷")
    code_rule: str
    volume_item_rule: str
    fonds: str = Field(description="全宗号")
    fonds_id: int

    @staticmethod
    def resolve_name(obj: Category) -> str:
        spec = load_categories().get(obj.code)
        return spec.name_zh if spec else ""

    @staticmethod
    def resolve_fonds(obj: Category) -> str:
        return obj.fonds.code


class CategoryIn(Schema):
    code: str = Field(description="门类代码, e.g. WS")
    arrangement: Literal["item", "volume"] | None = None
    code_rule: str | None = Field(
        None, description="档号规则 name; the category's default if absent"
    )
    volume_item_rule: str | None = None


class YearCountOut(Schema):
    year: int | None
    count: int


class RecordOut(Schema):
    id: int
    reference_code: str = Field(description="档号")
    title: str = Field(description="题名")
    author: str = Field(description="责任者")
    document_number: str = Field(description="文号")
    date: dt.date | None = Field(description="日期")
    year: int | None = Field(description="年度")
    retention: str = Field(description="保管期限 Y | D30 | D10")
    classification: str = Field(description="密级 public | restricted | confidential | …")
    secrecy_period: str = Field(description="保密期限")
    open_status: str = Field(description="开放状态 closed | open | restricted_use")
    open_due_date: dt.date | None = Field(description="到期开放日期")
    pages: int | None = Field(description="页数")
    remarks: str = Field(description="备注")
    org_code: str = Field(description="机构（问题）")
    level: str = Field(description="聚合层次 item | volume | volume_item")
    repository: str = Field(description="档案馆代码")
    fonds: str = Field(description="全宗号")
    category: str = Field(description="门类代码")
    metadata: dict[str, Any]

    @staticmethod
    def resolve_repository(obj: Record) -> str:
        return obj.repository.code

    @staticmethod
    def resolve_fonds(obj: Record) -> str:
        return obj.fonds.code

    @staticmethod
    def resolve_category(obj: Record) -> str:
        return obj.category.code


class Cursor(Schema):
    after_code: str
    after_id: int


class RecordPage(Schema):
    items: list[RecordOut]
    next: Cursor | None = Field(description="pass as after_code/after_id for the next page")


class RecordFields(Schema):
    """A record as typed: values are checked and normalised by the catalogue's validator
    (e.g. 保管期限 永久 → Y, 密级 秘密 → confidential, dates in the usual Chinese forms)."""

    reference_code: str | None = Field(
        None, description="档号; built from the other fields if absent"
    )
    title: str | None = None
    author: str | None = None
    document_number: str | None = None
    date: str | None = Field(None, description="日期, e.g. 2011-05-03 or 20110503")
    year: int | str | None = None
    retention: str | None = None
    classification: str | None = None
    secrecy_period: str | None = None
    open_status: str | None = None
    pages: int | str | None = None
    remarks: str | None = None
    org_code: str | None = None
    item_number: int | str | None = Field(None, description="件号, used to build the 档号")
    keywords: str | None = Field(None, description="主题词")
    extra: dict[str, str] | None = Field(None, description="other descriptive elements")


class RecordCreate(RecordFields):
    category: int = Field(description="id of the 门类 the record belongs to")


class IssueOut(Schema):
    field: str
    rule: str
    value: str
    message: str
    severity: str


class IssuesOut(Schema):
    issues: list[IssueOut]


class RecordQuery(Schema):
    fonds: int | None = Field(None, description="全宗 id")
    category: int | None = Field(None, description="门类 id")
    year: int | None = None
    title: str | None = Field(None, description="题名 contains")
    author: str | None = Field(None, description="责任者 contains")
    document_number: str | None = Field(None, description="文号 contains")
    classification: str | None = None
    retention: str | None = None
    open_status: str | None = None
    code_prefix: str | None = Field(None, description="档号 starts with")
    after_code: str | None = Field(None, description="档号 of the last row of the previous page")
    after_id: int | None = Field(None, description="id of the last row of the previous page")
    limit: int = Field(services.PAGE_SIZE, ge=1, le=MAX_PAGE)


class ImportRowError(Schema):
    row: int
    column: str
    rule: str
    value: str
    message: str


class ImportOut(Schema):
    id: int
    status: str = Field(description="pending | running | imported | rejected | failed")
    file_name: str
    file_sm3: str
    valid_rows_only: bool
    default_classification: str = Field(
        description="the 密级 code chosen for rows with a blank 密级 (empty: such rows are errors)"
    )
    created: list[tuple[str, str, int]] = Field(
        description="the 档号 the import created, as runs [first, last, count]"
    )
    category_id: int
    fonds: str
    category: str
    rows_total: int
    rows_imported: int
    rows_unchanged: int
    rows_rejected: int
    progress: float = Field(description="0–1")
    rows_processed: int | None = Field(None, description="rows read so far by a queued import")
    errors: list[ImportRowError]
    message: str
    created_by: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class ComponentOut(Schema):
    id: int
    record_id: int
    name: str = Field(description="计算机文件名 (the name as uploaded)")
    size: int = Field(description="bytes")
    mime_type: str = Field(description="格式信息, guessed from the file name")
    sm3: str
    sha256: str
    created_at: dt.datetime


class CollectionOut(Schema):
    id: int
    code: str = Field(description="专题代码")
    name: str
    description: str
    repository: str = Field(description="档案馆代码")

    @staticmethod
    def resolve_repository(obj: Any) -> str:
        return str(obj.repository.code)


class CodeRuleOut(Schema):
    name: str
    label: str
    template: str = Field(description="e.g. {fonds}-{category}·{year}-{retention}-{org}-{item:4}")
    description: str
    example: str
    arrangement: str = Field(description="item 按件 | volume 按卷")
    custom: bool = Field(description="defined by a user rather than built in")


# --- helpers -------------------------------------------------------------------------------------
def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def _not_found() -> HttpError:
    return HttpError(404, NOT_FOUND)


def _language(request: HttpRequest) -> str:
    return (
        "en"
        if request.headers.get("Accept-Language", "").strip().lower().startswith("en")
        else "zh-hans"
    )


def _fonds(user: User, fonds_id: int) -> Fonds:
    services.require(user, VIEW)
    fonds = services.visible_fonds_by_id(user, fonds_id)  # a hidden one is audited there
    if fonds is None:
        raise _not_found()
    return fonds


def _category(user: User, category_id: int) -> Category:
    services.require(user, VIEW)
    cat = services.visible_category(user, category_id)  # a hidden one is audited there
    if cat is None:
        raise _not_found()
    return cat


def _record(user: User, record_id: int) -> Record:
    services.require(user, VIEW)
    record = services.visible_record(user, record_id)  # a hidden one is audited there
    if record is None:
        raise _not_found()
    return record


def _issues(issues: list[Any], language: str) -> dict[str, Any]:
    return {
        "issues": [
            {
                "field": i.field,
                "rule": i.rule,
                "value": "" if i.value is None else str(i.value),
                "message": i.message(language),
                "severity": i.severity,
            }
            for i in issues
        ]
    }


# --- structure -----------------------------------------------------------------------------------
@router.get("/repositories", response=list[RepositoryOut], tags=[TAG_STRUCTURE])
def list_repositories(request: HttpRequest) -> Any:
    """档案馆 the user may work in."""
    user = _user(request)
    services.require(user, VIEW)
    return services.visible_repositories(user)


@router.get("/fonds", response=list[FondsOut], tags=[TAG_STRUCTURE])
def list_fonds(request: HttpRequest, repository: str | None = None) -> Any:
    """全宗 visible to the user, optionally of one 档案馆 (by its code)."""
    user = _user(request)
    services.require(user, VIEW)
    qs = services.visible_fonds(user)
    if repository:
        qs = qs.filter(repository__code=repository)
    return qs.order_by("repository__code", "code")


@router.post("/fonds", response={201: FondsOut, 403: ErrorOut, 422: ErrorOut}, tags=[TAG_STRUCTURE])
def create_fonds(request: HttpRequest, body: FondsIn) -> Any:
    """Create a 全宗 (needs the structure permission and the 档案馆 in the user's scope)."""
    user = _user(request)
    services.require(user, STRUCTURE)
    repo = services.get_repository(body.repository)
    with acting_as(user.username):
        fonds = services.create_fonds(
            body.code,
            body.name,
            creator=body.creator,
            description=body.description,
            repository=repo,
            user=user,
        )
    return Status(201, fonds)


@router.get("/fonds/{fonds_id}", response={200: FondsOut, 404: ErrorOut}, tags=[TAG_STRUCTURE])
def get_fonds(request: HttpRequest, fonds_id: int) -> Any:
    return _fonds(_user(request), fonds_id)


@router.get(
    "/fonds/{fonds_id}/categories",
    response={200: list[CategoryOut], 404: ErrorOut},
    tags=[TAG_STRUCTURE],
)
def list_categories(request: HttpRequest, fonds_id: int) -> Any:
    fonds = _fonds(_user(request), fonds_id)
    return Category.objects.filter(fonds=fonds).select_related("fonds").order_by("code")


@router.post(
    "/fonds/{fonds_id}/categories",
    response={201: CategoryOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    tags=[TAG_STRUCTURE],
)
def create_category(request: HttpRequest, fonds_id: int, body: CategoryIn) -> Any:
    """Add a 门类 to a 全宗 (structure permission)."""
    user = _user(request)
    fonds = _fonds(user, fonds_id)
    with acting_as(user.username):
        cat = services.create_category(
            fonds,
            body.code,
            arrangement=body.arrangement,
            code_rule=body.code_rule,
            volume_item_rule=body.volume_item_rule,
            user=user,
        )
    return Status(201, cat)


@router.get("/code-rules", response=list[CodeRuleOut], tags=[TAG_STRUCTURE])
def list_code_rules(request: HttpRequest) -> Any:
    """档号 rules a 门类 may use: the built-in ones (DA/T 13, DA/T 22) and custom ones."""
    services.require(_user(request), VIEW)
    return [vars(c) for c in services.code_rule_choices()]


@router.get(
    "/categories/{category_id}/years",
    response={200: list[YearCountOut], 404: ErrorOut},
    tags=[TAG_STRUCTURE],
)
def category_years(request: HttpRequest, category_id: int) -> Any:
    """Units per 年度 in a 门类, newest first (the browse tree)."""
    cat = _category(_user(request), category_id)
    return [{"year": year, "count": count} for year, count in services.year_counts(cat)]


# --- records -------------------------------------------------------------------------------------
@router.get(
    "/records", response={200: RecordPage, 404: ErrorOut, 422: ErrorOut}, tags=[TAG_RECORDS]
)
def list_records(request: HttpRequest, q: Query[RecordQuery]) -> Any:
    """Records in 档号 order, keyset-paginated: pass the `next` cursor of a page as
    after_code/after_id to get the following page."""
    user = _user(request)
    services.require(user, VIEW)
    fonds = _fonds(user, q.fonds) if q.fonds is not None else None
    cat = _category(user, q.category) if q.category is not None else None
    if fonds is not None and cat is not None and cat.fonds_id != fonds.pk:
        raise services.CatalogError(f"门类 {cat.code} 不属于全宗 {fonds.code}", "category")
    if (q.after_code is None) != (q.after_id is None):
        raise services.CatalogError("after_code 与 after_id 须同时给出", "after_id")
    after = (
        (q.after_code, q.after_id) if q.after_code is not None and q.after_id is not None else None
    )
    filters = {name: value for name in services.BROWSE_FILTERS if (value := getattr(q, name))}
    rows, cursor = services.browse(
        user,
        fonds=fonds,
        category=cat,
        year=q.year,
        after=after,
        filters=filters,
        page_size=q.limit,
    )
    prefetch_related_objects(rows, "repository", "fonds", "category")
    nxt = {"after_code": cursor[0], "after_id": cursor[1]} if cursor else None
    return {"items": rows, "next": nxt}


@router.get("/records/{record_id}", response={200: RecordOut, 404: ErrorOut}, tags=[TAG_RECORDS])
def get_record(request: HttpRequest, record_id: int) -> Any:
    return _record(_user(request), record_id)


@router.post(
    "/records",
    response={201: RecordOut, 403: ErrorOut, 404: ErrorOut, 422: IssuesOut},
    tags=[TAG_RECORDS],
)
def create_record(request: HttpRequest, body: RecordCreate) -> Any:
    """Create a record in a 门类. Validation problems answer 422 with every issue (field, rule,
    value, message); messages are in English when Accept-Language starts with "en"."""
    user = _user(request)
    cat = _category(user, body.category)
    raw = body.dict(exclude_unset=True, exclude={"category"})
    with acting_as(user.username):
        record, issues = services.save_record(cat, raw, user=user)
    if record is None:
        return Status(422, _issues(issues, _language(request)))
    return Status(201, record)


@router.patch(
    "/records/{record_id}",
    response={200: RecordOut, 403: ErrorOut, 404: ErrorOut, 422: IssuesOut},
    tags=[TAG_RECORDS],
)
def update_record(request: HttpRequest, record_id: int, body: RecordFields) -> Any:
    """Change some fields of a record; the whole record is validated again."""
    user = _user(request)
    record = _record(user, record_id)
    raw = {**services.record_as_input(record), **body.dict(exclude_unset=True)}
    with acting_as(user.username):
        saved, issues = services.save_record(record.category, raw, user=user, record=record)
    if saved is None:
        return Status(422, _issues(issues, _language(request)))
    return Status(200, saved)


@router.delete(
    "/records/{record_id}", response={204: None, 403: ErrorOut, 404: ErrorOut}, tags=[TAG_RECORDS]
)
def delete_record(request: HttpRequest, record_id: int) -> Any:
    user = _user(request)
    record = _record(user, record_id)
    with acting_as(user.username):
        services.delete_record(record, user=user)
    return Status(204, None)


# --- imports -------------------------------------------------------------------------------------
def _import_out(batch: ImportBatch) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": batch.pk,
        "status": batch.status,
        "file_name": batch.file_name,
        "file_sm3": batch.file_sm3,
        "valid_rows_only": batch.valid_rows_only,
        "default_classification": batch.default_classification,
        "created": batch.created_codes or [],
        "category_id": batch.category_id,
        "fonds": batch.category.fonds.code,
        "category": batch.category.code,
        "rows_total": batch.rows_total,
        "rows_imported": batch.rows_imported,
        "rows_unchanged": batch.rows_unchanged,
        "rows_rejected": batch.rows_rejected,
        "progress": batch.progress,
        "rows_processed": None,
        "errors": batch.errors or [],
        "message": batch.message,
        "created_by": batch.created_by.username if batch.created_by else "",
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
    }
    if batch.status in ("pending", "running"):
        live = tasks.read_progress(batch.pk)
        out["rows_processed"] = live.get("rows")
        if live.get("status") == "failed":  # the job found the file unreadable
            out["status"], out["message"] = "failed", live.get("message", "")
    return out


@router.post(
    "/imports",
    response={201: ImportOut, 202: ImportOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    tags=[TAG_IMPORTS],
)
def create_import(
    request: HttpRequest,
    file: File[UploadedFile],
    category: Form[int],
    valid_rows_only: Form[bool] = False,
    level: Form[Literal["item", "volume", "volume_item"] | None] = None,
    default_classification: Form[str] = "",
) -> Any:
    """Import a catalogue (.xlsx or .csv, 归档文件目录) into a 门类. All or nothing unless
    valid_rows_only. `level`: item (按件), volume (案卷目录) or volume_item (卷内文件目录,
    each document linked to its volume by the 档号); by default items or volumes as the 门类 is
    arranged. A blank 密级 is a row error unless `default_classification` (a 密级 code or label)
    is given for the file; rows above the caller's clearance are refused. A small file is
    imported at once (201, with the report); a large one is queued (202): poll
    GET /api/imports/{id}."""
    user = _user(request)
    services.require(user, IMPORT)
    cat = _category(user, category)
    try:
        importing.check_level(cat, level)
    except FileUnreadable as e:
        return Status(400, {"detail": e.message_zh, "field": "level"})
    try:
        importing.default_classification_code(default_classification)
    except FileUnreadable as e:
        return Status(400, {"detail": e.message_zh, "field": "default_classification"})
    path = importing.store_upload(file.chunks(), file.name or "")
    with acting_as(user.username):
        try:
            batch, result = importing.start_import(
                path, file.name or "", cat, user=user, valid_rows_only=valid_rows_only, level=level,
                default_classification=default_classification,
            )  # fmt: skip
        except FileUnreadable as e:
            return Status(400, {"detail": e.message_zh, "field": "file"})
    batch.refresh_from_db()
    return Status(202 if result is None else 201, _import_out(batch))


@router.get("/imports/{batch_id}", response={200: ImportOut, 404: ErrorOut}, tags=[TAG_IMPORTS])
def get_import(request: HttpRequest, batch_id: int) -> Any:
    """An import's status, counts, row errors and, while it runs, its progress."""
    user = _user(request)
    services.require(user, IMPORT)
    batch = services.visible_batch(user, batch_id)  # a hidden one is audited there
    if batch is None:
        raise _not_found()
    return _import_out(batch)


# --- digital components (电子文件) ----------------------------------------------------------------
@router.get(
    "/records/{record_id}/components",
    response={200: list[ComponentOut], 404: ErrorOut},
    tags=[TAG_COMPONENTS],
)
def list_components(request: HttpRequest, record_id: int) -> Any:
    """The digital files attached to a record."""
    return components.record_components(_record(_user(request), record_id))


@router.post(
    "/records/{record_id}/components",
    response={201: ComponentOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    tags=[TAG_COMPONENTS],
)
def upload_component(request: HttpRequest, record_id: int, file: File[UploadedFile]) -> Any:
    """Attach a file (multipart field `file`) to a record (edit permission). It is stored under
    its SM3 digest; SM3, SHA-256, size and a MIME type from the name are recorded. Empty files
    and names with path separators or control characters answer 422."""
    user = _user(request)
    record = _record(user, record_id)
    services.require(user, EDIT)
    with acting_as(user.username):
        component = components.attach_component(record, file.chunks(), file.name or "", user=user)
    return Status(201, component)


@router.get(
    "/components/{component_id}/download",
    response={200: None, 404: ErrorOut},
    tags=[TAG_COMPONENTS],
)
def download_component(request: HttpRequest, component_id: int) -> Any:
    """The file as an attachment (never rendered inline); 404 when its record is not visible."""
    user = _user(request)
    services.require(user, VIEW)
    component = components.visible_component(user, component_id)
    if component is None:
        raise _not_found()
    with acting_as(user.username):
        handle = components.open_component(component, user=user)
    return attachment_response(handle, component.name)


# --- thematic collections (专题数据库) -------------------------------------------------------------
@router.get("/collections", response=list[CollectionOut], tags=[TAG_COLLECTIONS])
def list_collections(request: HttpRequest) -> Any:
    """专题数据库 of the 档案馆 the user may see."""
    user = _user(request)
    services.require(user, VIEW)
    return thematic.visible_collections(user)


@router.get(
    "/collections/{collection_id}/records",
    response={200: RecordPage, 404: ErrorOut, 422: ErrorOut},
    tags=[TAG_COLLECTIONS],
)
def collection_records(
    request: HttpRequest,
    collection_id: int,
    after_code: str | None = None,
    after_id: int | None = None,
    limit: int = services.PAGE_SIZE,
) -> Any:
    """The collection's records the user may see, in 档号 order, keyset-paginated like
    GET /api/records."""
    user = _user(request)
    services.require(user, VIEW)
    collection = thematic.visible_collection(user, collection_id)
    if collection is None:
        raise _not_found()
    if (after_code is None) != (after_id is None):
        raise services.CatalogError("after_code 与 after_id 须同时给出", "after_id")
    if not 1 <= limit <= MAX_PAGE:
        raise services.CatalogError(f"limit 须在 1–{MAX_PAGE} 之间", "limit")
    after = (after_code, after_id) if after_code is not None and after_id is not None else None
    rows, cursor = thematic.collection_records(user, collection, after, page_size=limit)
    prefetch_related_objects(rows, "repository", "fonds", "category")
    nxt = {"after_code": cursor[0], "after_id": cursor[1]} if cursor else None
    return {"items": rows, "next": nxt}
