"""Services of the catalogue (管). Views, the API, the CLI and jobs call these, never the tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum

from lantai.catalog.models import (
    Category,
    CodeRuleDefinition,
    Fonds,
    ImportBatch,
    Record,
    Repository,
    ThematicCollection,
    YearCount,
)
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import EDIT, STRUCTURE, VIEW
from lantai.standards import archival_code as ac
from lantai.standards import categories as std_categories
from lantai.standards import vocabularies as std_vocabularies
from lantai.standards.categories import load_categories

DEFAULT_REPOSITORY = {"code": "000001", "name": "本馆", "level": "provincial"}
FONDS_CODE = re.compile(r"^[A-Z0-9]{1,6}$")


class CatalogError(Exception):
    def __init__(self, message_zh: str, field: str = "") -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.field = field


class PermissionDenied(CatalogError):
    pass


def require(user: User | None, permission: str) -> None:
    if user is not None and not user.has_perm_code(permission):
        raise PermissionDenied(f"用户 {user.username}（{user.role_label}）无此权限")


# --- structure -----------------------------------------------------------------------------------
def default_repository() -> Repository:
    """The repository used when none is named; an empty installation gets a placeholder 本馆."""
    repo = Repository.objects.filter(is_default=True).first()
    if repo is None:
        repo = Repository.objects.create(is_default=True, **DEFAULT_REPOSITORY)
    return repo


def set_default_repository(repo: Repository, user: User | None = None) -> None:
    require(user, STRUCTURE)
    with transaction.atomic():
        Repository.objects.filter(is_default=True).exclude(pk=repo.pk).update(is_default=False)
        if not repo.is_default:
            repo.is_default = True
            repo.save(update_fields=["is_default"])


def get_repository(code: str | None) -> Repository:
    if not code:
        return default_repository()
    repo = Repository.objects.filter(code=code).first()
    if repo is None:
        raise CatalogError(f"档案馆“{code}”不存在", "repository")
    return repo


def create_repository(
    code: str, name: str, level: str = "city", region: str = "", user: User | None = None
) -> Repository:
    require(user, STRUCTURE)
    if Repository.objects.filter(code=code).exists():
        raise CatalogError(f"档案馆代码“{code}”已存在", "code")
    return Repository.objects.create(code=code, name=name, level=level, region=region)


def create_fonds(
    code: str,
    name: str,
    *,
    creator: str | None = None,
    description: str = "",
    repository_code: str | None = None,
    repository: Repository | None = None,
    user: User | None = None,
) -> Fonds:
    require(user, STRUCTURE)
    code = code.strip().upper()
    if not FONDS_CODE.match(code):
        raise CatalogError(
            f"全宗号“{code}”不合规则：应为 1–6 位大写字母或数字（如 Z109、J019）", "code"
        )
    if not name.strip():
        raise CatalogError("全宗名称不能为空", "name")
    repo = repository or get_repository(repository_code)
    if user is not None and not (user.scope_all or user.repositories.filter(pk=repo.pk).exists()):
        raise PermissionDenied(f"无权在{repo.name}建立全宗", "repository")
    if Fonds.objects.filter(repository=repo, code=code).exists():
        raise CatalogError(f"{repo.name}已有全宗号“{code}”", "code")
    return Fonds.objects.create(
        repository=repo, code=code, name=name.strip(), creator=(creator or name).strip()
    )


def create_category(
    fonds: Fonds,
    code: str,
    *,
    arrangement: str | None = None,
    code_rule: str | None = None,
    volume_item_rule: str | None = None,
    user: User | None = None,
) -> Category:
    require(user, STRUCTURE)
    if user is not None and not can_see_fonds(user, fonds):
        raise PermissionDenied(f"无权修改全宗 {fonds.code}")
    code = code.strip().upper()
    known = load_categories()
    if code not in known:
        raise CatalogError(
            f"门类代码“{code}”不在 DA/T 13 门类代码表中（{'、'.join(known)}）", "code"
        )
    spec = known[code]
    arrangement = arrangement or spec.arrangement
    rule_name = code_rule or spec.code_rule
    get_code_rule(rule_name)  # must exist
    if arrangement == "volume":
        volume_item_rule = volume_item_rule or getattr(spec, "volume_item_rule", "") or ""
    if volume_item_rule:
        get_code_rule(volume_item_rule)
    if Category.objects.filter(fonds=fonds, code=code).exists():
        raise CatalogError(f"全宗 {fonds.code} 已有门类 {code}", "code")
    return Category.objects.create(
        fonds=fonds, code=code, arrangement=arrangement, code_rule=rule_name,
        volume_item_rule=volume_item_rule or "",
    )  # fmt: skip


def find_category(
    fonds_code: str, category_code: str, repository_code: str | None = None
) -> Category:
    repo = get_repository(repository_code)
    cat = (
        Category.objects.select_related("fonds", "fonds__repository")
        .filter(fonds__repository=repo, fonds__code=fonds_code.upper(), code=category_code.upper())
        .first()
    )
    if cat is None:
        if not Fonds.objects.filter(repository=repo, code=fonds_code.upper()).exists():
            raise CatalogError(f"{repo.name}没有全宗“{fonds_code}”", "fonds")
        raise CatalogError(f"全宗“{fonds_code}”下没有门类“{category_code}”", "category")
    return cat


def get_code_rule(name: str) -> ac.CodeRule:
    custom = CodeRuleDefinition.objects.filter(name=name).first()
    if custom is not None:
        return ac.CodeRule.from_template(
            custom.name, custom.template, custom.label, custom.arrangement
        )
    try:
        return ac.get_rule(name)
    except ac.CodeRuleError as e:
        raise CatalogError(f"档号规则“{name}”不存在", "code_rule") from e


def define_code_rule(
    name: str, template: str, label: str = "", arrangement: str = "item", user: User | None = None
) -> CodeRuleDefinition:
    require(user, STRUCTURE)
    try:
        ac.CodeRule.from_template(name, template, label, arrangement)
    except ac.CodeRuleError as e:
        raise CatalogError(str(e), "template") from e
    if name in ac.load_rules() or CodeRuleDefinition.objects.filter(name=name).exists():
        raise CatalogError(f"档号规则“{name}”已存在", "name")
    return CodeRuleDefinition.objects.create(
        name=name, template=template, label=label, arrangement=arrangement
    )


# --- thematic collections (专题数据库) -------------------------------------------------------------
def create_collection(
    repository: Repository, code: str, name: str, description: str = "", user: User | None = None
) -> ThematicCollection:
    require(user, STRUCTURE)
    if ThematicCollection.objects.filter(repository=repository, code=code).exists():
        raise CatalogError(f"{repository.name}已有专题“{code}”", "code")
    return ThematicCollection.objects.create(
        repository=repository, code=code, name=name, description=description
    )


def add_to_collection(
    collection: ThematicCollection, record_ids: Iterable[int], user: User | None = None
) -> int:
    """Add records to a collection (those already in it are skipped); returns how many were added."""
    require(user, EDIT)
    with transaction.atomic():
        held = set(collection.records.values_list("pk", flat=True))
        new = sorted(set(record_ids) - held)
        if new:
            collection.records.add(*new)
            audit.record(
                "collection_add",
                "thematic_collection",
                collection.pk,
                {"code": collection.code, "added": new},
            )
    return len(new)


# --- who sees what ---------------------------------------------------------------------------------
def visible_repositories(user: User | None) -> QuerySet[Repository]:
    qs = Repository.objects.all()
    if user is None or user.scope_all:
        return qs
    if not user.is_authenticated or not user.has_perm_code(VIEW):
        return qs.none()
    return qs.filter(Q(pk__in=user.repositories.all()) | Q(fonds__in=user.fonds.all())).distinct()


def visible_fonds(user: User | None) -> QuerySet[Fonds]:
    qs = Fonds.objects.select_related("repository")
    if user is None:
        return qs
    if not user.is_authenticated or not user.has_perm_code(VIEW):
        return qs.none()
    if user.scope_all:
        return qs
    return qs.filter(
        Q(repository__in=user.repositories.all()) | Q(pk__in=user.fonds.all())
    ).distinct()


def visible_records(user: User | None) -> QuerySet[Record]:
    """Records the user may see: within their repositories/fonds and at or below their clearance.
    Anonymous (public) users see only open, unclassified records."""
    qs = Record.objects.all()
    if user is None:
        return qs
    if not user.is_authenticated:
        return qs.filter(open_status="open", classification_level=0)
    if not user.has_perm_code(VIEW):
        return qs.none()
    qs = qs.filter(classification_level__lte=user.clearance)
    if user.scope_all:
        return qs
    return qs.filter(Q(repository__in=user.repositories.all()) | Q(fonds__in=user.fonds.all()))


def can_see_fonds(user: User | None, fonds: Fonds) -> bool:
    return visible_fonds(user).filter(pk=fonds.pk).exists()


def visible_categories(user: User | None) -> QuerySet[Category]:
    """Categories of the fonds the user may see, with their fonds and repository loaded."""
    return Category.objects.select_related("fonds", "fonds__repository").filter(
        fonds__in=visible_fonds(user)
    )


def visible_category(user: User | None, pk: int) -> Category | None:
    return visible_categories(user).filter(pk=pk).first()


def visible_record(user: User | None, pk: int) -> Record | None:
    """One record the user may see, with its category, fonds and repository loaded."""
    return (
        visible_records(user)
        .select_related("category", "fonds", "fonds__repository", "repository")
        .filter(pk=pk)
        .first()
    )


# --- browsing ------------------------------------------------------------------------------------
PAGE_SIZE = 50
TEXT_FILTERS = ("title", "author", "document_number")  # substring match
CODE_FILTERS = ("classification", "retention", "open_status")  # exact match


def filtered_records(
    user: User | None,
    *,
    fonds: Fonds | None = None,
    category: Category | None = None,
    year: int | None = None,
    filters: Mapping[str, str] | None = None,
) -> QuerySet[Record]:
    """The records a list page shows (unordered): visible to `user`, in `category` (else `fonds`),
    of `year`, and matching the list filters (title/author/document_number contain the text;
    classification/retention/open_status equal the code; code_prefix starts the 档号). Blank
    filters and unknown names are ignored. `browse` pages through these; the export writes them."""
    qs = visible_records(user)
    if category is not None:
        qs = qs.filter(category=category)
    elif fonds is not None:
        qs = qs.filter(fonds=fonds)
    if year is not None:
        qs = qs.filter(year=year)
    for field, value in (filters or {}).items():
        value = value.strip()
        if not value:
            continue
        if field in TEXT_FILTERS:
            qs = qs.filter(**{f"{field}__contains": value})
        elif field in CODE_FILTERS:
            qs = qs.filter(**{field: value})
        elif field == "code_prefix":
            qs = qs.filter(reference_code__startswith=value)
    return qs


def browse(
    user: User | None,
    *,
    fonds: Fonds | None = None,
    category: Category | None = None,
    year: int | None = None,
    after: tuple[str, int] | None = None,
    filters: Mapping[str, str] | None = None,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Record], tuple[str, int] | None]:
    """One page of records in 档号 order, keyset-paginated: `after` is the (code, id) of the last
    row of the previous page. Returns the rows and the cursor of the next page (None at the end)."""
    qs = filtered_records(user, fonds=fonds, category=category, year=year, filters=filters)
    qs = qs.exclude(level="volume_item")  # documents show inside their volume
    if after is not None:
        code, pk = after
        qs = qs.filter(Q(reference_code__gt=code) | Q(reference_code=code, pk__gt=pk))
    rows = list(qs.order_by("reference_code", "pk")[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return rows, ((rows[-1].reference_code, rows[-1].pk) if more else None)


def year_counts(category: Category) -> list[tuple[int | None, int]]:
    return list(
        YearCount.objects.filter(category=category, count__gt=0)
        .order_by("-year")
        .values_list("year", "count")
    )


def fonds_totals(fonds_ids: Iterable[int]) -> dict[int, int]:
    """Units held per fonds, from the per-year counters (no COUNT(*) over records)."""
    rows = (
        YearCount.objects.filter(category__fonds_id__in=list(fonds_ids))
        .values("category__fonds_id")
        .annotate(total=Sum("count"))
    )
    return {r["category__fonds_id"]: r["total"] or 0 for r in rows}


def category_totals(categories: Iterable[Category]) -> dict[int, int]:
    """Units held per category, from the per-year counters."""
    rows = (
        YearCount.objects.filter(category__in=list(categories))
        .values("category_id")
        .annotate(total=Sum("count"))
    )
    return {r["category_id"]: r["total"] or 0 for r in rows}


def adjust_year_counts(category_id: int, deltas: Mapping[int | None, int]) -> None:
    for year, delta in deltas.items():
        updated = YearCount.objects.filter(category_id=category_id, year=year).update(
            count=F("count") + delta
        )
        if not updated:
            YearCount.objects.create(category_id=category_id, year=year, count=delta)


# --- editing ------------------------------------------------------------------------------------
def save_record(
    category: Category,
    raw: Mapping[str, Any],
    *,
    user: User | None = None,
    record: Record | None = None,
) -> tuple[Record | None, list[Any]]:
    """Validate `raw` (field -> value, as typed) and create or update a record.
    Returns (record, []) on success or (None, issues) with the validation issues."""
    from lantai.catalog.validation import RecordValidator

    require(user, EDIT)
    if user is not None and not can_see_fonds(user, category.fonds):
        raise PermissionDenied("无权修改该全宗的档案")
    if record is not None:
        level = record.level
    else:
        level = "volume" if category.arrangement == "volume" else "item"
    clean, issues = RecordValidator(category, level=level).validate(raw)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        return None, issues
    clash = Record.objects.filter(
        repository=category.fonds.repository, reference_code=clean["reference_code"]
    )
    if record is not None:
        clash = clash.exclude(pk=record.pk)
    if clash.exists():
        from lantai.catalog.validation import Issue

        return None, [
            Issue(
                "reference_code",
                "duplicate",
                clean["reference_code"],
                f"档号“{clean['reference_code']}”已存在",
                "Archival code already exists",
            )
        ]
    with transaction.atomic():
        old_year = record.year if record is not None else None
        if record is None:
            record = Record(
                repository=category.fonds.repository, fonds=category.fonds, category=category
            )
        for k, v in clean.items():
            setattr(record, k, v)
        is_new = record.pk is None
        record.save()
        if record.level == "volume_item":
            pass  # counted with its volume
        elif is_new:
            adjust_year_counts(category.pk, {record.year: 1})
        elif old_year != record.year:
            adjust_year_counts(category.pk, {old_year: -1, record.year: 1})
    return record, issues


def record_as_input(record: Record) -> dict[str, Any]:
    """A stored record in the form the validator takes, e.g. to re-validate it after a change."""
    meta = record.metadata or {}
    return {
        "reference_code": record.reference_code,
        "title": record.title,
        "author": record.author,
        "document_number": record.document_number,
        "date": record.date.isoformat() if record.date else "",
        "year": record.year or "",
        "retention": record.retention_legacy or record.retention,
        "classification": record.classification,
        "secrecy_period": record.secrecy_period,
        "open_status": record.open_status,
        "pages": "" if record.pages is None else record.pages,
        "remarks": record.remarks,
        "org_code": record.org_code,
        "keywords": meta.get("keywords", ""),
        "extra": meta.get("extra") or {},
    }


def delete_record(record: Record, user: User | None = None) -> None:
    require(user, EDIT)
    if user is not None and not visible_records(user).filter(pk=record.pk).exists():
        raise PermissionDenied("无权删除该档案")
    with transaction.atomic():
        record.delete()
        if record.level != "volume_item":
            adjust_year_counts(record.category_id, {record.year: -1})


def code_gaps(category: Category) -> list[ac.Gap]:
    codes: Iterable[str] = (
        Record.objects.filter(category=category)
        .values_list("reference_code", flat=True)
        .iterator(5000)
    )
    return ac.find_gaps(codes, get_code_rule(category.code_rule))


# --- import batches -------------------------------------------------------------------------------
def import_batches(user: User | None, limit: int = 100) -> list[ImportBatch]:
    """The newest imports into categories of the fonds the user may see."""
    return list(
        ImportBatch.objects.select_related("category", "category__fonds", "created_by")
        .filter(category__fonds__in=visible_fonds(user))
        .order_by("-created_at", "-pk")[:limit]
    )


def visible_batch(user: User | None, pk: int) -> ImportBatch | None:
    return (
        ImportBatch.objects.select_related("category", "category__fonds", "created_by")
        .filter(pk=pk, category__fonds__in=visible_fonds(user))
        .first()
    )


# --- reference data from the standards ------------------------------------------------------------
def vocabulary_choices(name: str) -> tuple[std_vocabularies.Term, ...]:
    """The terms of a controlled vocabulary (retention, classification, open_status, …) in the
    standard's order, for select lists and labels; KeyError for an unknown vocabulary."""
    return std_vocabularies.get_vocabulary(name).terms


def standard_category(code: str) -> std_categories.Category | None:
    """The DA/T 13 category with this code (names, arrangement, default rules), None if unknown."""
    return load_categories().get(code)
