"""Services of the catalogue (管). Views, the API, the CLI and jobs call these, never the tables.

Digital components (电子文件) live in `lantai.catalog.components` and thematic collections
(专题数据库) in `lantai.catalog.thematic`; both build on the permission checks and visibility here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum

from lantai.catalog.models import (
    Category,
    CodeRuleDefinition,
    Fonds,
    ImportBatch,
    Record,
    Repository,
    YearCount,
)
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import EDIT, MARRIAGE_MANAGE, STRUCTURE, VIEW
from lantai.standards import archival_code as ac
from lantai.standards import categories as std_categories
from lantai.standards import vocabularies as std_vocabularies
from lantai.standards.categories import MARRIAGE as MARRIAGE_CATEGORY
from lantai.standards.categories import load_categories

DEFAULT_REPOSITORY = {"code": "000001", "name": "本馆", "level": "provincial"}
FONDS_CODE = re.compile(r"^[A-Z0-9]{1,6}$")
REPOSITORY_CODE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
RULE_NAME = re.compile(r"^[\w.-]{1,64}$")
PAGE_SIZE = 50  # rows per page of a record list


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
    """Make `repo` the default 档案馆 (used where none is named). The default is installation-wide,
    so through the UI only a user whose scope is every 档案馆 may change it."""
    require(user, STRUCTURE)
    if user is not None and not user.scope_all:
        raise PermissionDenied("只有可访问全部档案馆的用户才能设置默认档案馆", "repository")
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
    """A new 档案馆. Through the UI only a user whose scope is every 档案馆 may add one (a user
    limited to some archives could not see the new one)."""
    require(user, STRUCTURE)
    if user is not None and not user.scope_all:
        raise PermissionDenied("只有可访问全部档案馆的用户才能新增档案馆", "code")
    code, name, region = code.strip(), name.strip(), region.strip()
    if not REPOSITORY_CODE.match(code):
        raise CatalogError(
            f"档案馆代码“{code}”不合规则：应为 1–32 位字母、数字或连字符（如 441900）", "code"
        )
    if not name:
        raise CatalogError("档案馆名称不能为空", "name")
    if level not in dict(Repository.LEVELS):
        raise CatalogError(f"级别“{level}”无效：应为省级、市级或县级", "level")
    if Repository.objects.filter(code=code).exists():
        raise CatalogError(f"档案馆代码“{code}”已存在", "code")
    return Repository.objects.create(code=code, name=name, level=level, region=region)


def writable_repositories(user: User | None) -> QuerySet[Repository]:
    """档案馆 in which `user` may set up 全宗: every one for a user whose scope is all, else those
    granted by repository (a grant of single fonds does not cover new ones)."""
    qs = Repository.objects.order_by("code")
    if user is None or user.scope_all:
        return qs
    if not user.has_perm_code(STRUCTURE):
        return qs.none()
    return qs.filter(pk__in=user.repositories.all())


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
    if user is not None and not writable_repositories(user).filter(pk=repo.pk).exists():
        raise PermissionDenied(f"无权在{repo.name}建立全宗", "repository")
    if Fonds.objects.filter(repository=repo, code=code).exists():
        raise CatalogError(f"{repo.name}已有全宗号“{code}”", "code")
    return Fonds.objects.create(
        repository=repo,
        code=code,
        name=name.strip(),
        creator=(creator or name).strip(),
        description=description.strip(),
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
    arrangement = arrangement or spec.arrangement  # never switched silently by the rule
    if arrangement not in _ARRANGEMENT_ZH:
        raise CatalogError(f"整理方式“{arrangement}”无效：应为按件或按卷", "arrangement")
    rule = get_code_rule(code_rule) if code_rule else None
    if rule is not None:
        if rule_level(rule) == "volume-item":
            raise CatalogError(
                f"档号规则“{rule.name}”（{rule.label_zh}）是卷内文件的档号规则，"
                "只能用作卷内文件档号规则（volume_item_rule），不能用作门类的档号规则",
                "code_rule",
            )
        _check_rule_arrangement(rule, arrangement, "code_rule")
    else:
        if arrangement != spec.arrangement:
            raise CatalogError(
                f"门类 {code} 默认{_ARRANGEMENT_ZH[spec.arrangement]}整理，"
                f"改为{_ARRANGEMENT_ZH[arrangement]}时须指定档号规则",
                "code_rule",
            )
        rule = get_code_rule(spec.code_rule)
    if arrangement == "volume":
        volume_item_rule = _volume_item_rule(rule, volume_item_rule, spec.volume_item_rule)
    else:
        volume_item_rule = ""  # items have no documents inside them
    rule_name = rule.name
    if Category.objects.filter(fonds=fonds, code=code).exists():
        raise CatalogError(f"全宗 {fonds.code} 已有门类 {code}", "code")
    return Category.objects.create(
        fonds=fonds, code=code, arrangement=arrangement, code_rule=rule_name,
        volume_item_rule=volume_item_rule or "",
    )  # fmt: skip


def repository_option(repo: Repository, *, given: bool = False) -> str:
    """`` --repository CODE`` for a hint that names a command, wherever the command would
    otherwise act on another 档案馆: the repository is not the default one, or the user named it."""
    return f" --repository {repo.code}" if given or not repo.is_default else ""


def missing_fonds_message(
    repo: Repository, fonds_code: str, *, given: bool = False, name_others: bool = False
) -> str:
    """Why `repo` has no fonds `fonds_code` and what to do: with `name_others` (the operator's
    CLI, which sees every archives) the 档案馆 that hold a fonds of that code (the user meant
    another one); else the command that creates it there. Web users are not told which other
    archives hold a fonds (their scope may not include them, decision 0022)."""
    fonds_code = fonds_code.upper()
    elsewhere = [
        f"{f.repository.name}（--repository {f.repository.code}）"
        for f in Fonds.objects.select_related("repository").filter(code=fonds_code)
        if name_others
    ]
    if elsewhere:
        return (
            f"{repo.name}（{repo.code}）没有全宗“{fonds_code}”；该全宗号在"
            f"{'、'.join(elsewhere)}：请指定其档案馆"
        )
    return (
        f"{repo.name}（{repo.code}）没有全宗“{fonds_code}”（如属其他档案馆，请指定该档案馆）："
        f"先运行 lantai fonds add {fonds_code} --name 全宗名称{repository_option(repo, given=given)}"
        f"（或在“档案馆、全宗与门类”页面的{repo.name}下新增）"
    )


def find_category(
    fonds_code: str,
    category_code: str,
    repository_code: str | None = None,
    *,
    name_others: bool = False,
) -> Category:
    repo = get_repository(repository_code)
    cat = (
        Category.objects.select_related("fonds", "fonds__repository")
        .filter(fonds__repository=repo, fonds__code=fonds_code.upper(), code=category_code.upper())
        .first()
    )
    if cat is None:
        fonds_code, category_code = fonds_code.upper(), category_code.upper()
        where = repository_option(repo, given=bool(repository_code))
        page = f"（或在“档案馆、全宗与门类”页面的{repo.name}下新增）"
        if not Fonds.objects.filter(repository=repo, code=fonds_code).exists():
            raise CatalogError(
                missing_fonds_message(
                    repo, fonds_code, given=bool(repository_code), name_others=name_others
                ),
                "fonds",
            )
        raise CatalogError(
            f"{repo.name}（{repo.code}）全宗“{fonds_code}”下没有门类“{category_code}”：先运行 "
            f"lantai category add {category_code} --fonds {fonds_code}{where}{page}",
            "category",
        )
    return cat


_ARRANGEMENT_ZH = {"item": "按件", "volume": "按卷"}


def _check_rule_arrangement(rule: ac.CodeRule, arrangement: str, field: str) -> None:
    if rule.arrangement != arrangement:
        raise CatalogError(
            f"档号规则“{rule.name}”（{rule.label_zh}）用于{_ARRANGEMENT_ZH[rule.arrangement]}"
            f"整理，与门类的整理方式（{_ARRANGEMENT_ZH[arrangement]}）不符",
            field,
        )


def rule_level(rule: ac.CodeRule) -> str:
    """What a 档号 rule numbers: ``item`` (件, arranged by item), ``volume`` (案卷: it ends with
    the 案卷号) or ``volume-item`` (卷内文件: a 件号 after the 案卷号)."""
    if rule.arrangement == "item":
        return "item"
    return "volume" if rule.sequence_field == "volume" else "volume-item"


def extends(item_rule: ac.CodeRule, volume_rule: ac.CodeRule) -> bool:
    """Whether every 卷内文件 code of `item_rule` is a code of `volume_rule` followed by a 件号
    (the volume-item rule is the volume rule plus one level)."""

    def shape(slots: Iterable[ac.Slot]) -> list[tuple[str, str, int | None]]:
        return [(s.separator, s.field.name, s.width) for s in slots]

    return shape(item_rule.slots[:-1]) == shape(volume_rule.slots)


def _volume_item_rule(volume_rule: ac.CodeRule, given: str | None, default: str | None) -> str:
    """The 卷内文件 rule of a category arranged by volume under `volume_rule`: the one given, else
    the standard category's if it fits, else the only built-in rule that extends `volume_rule`."""
    if given:
        rule = get_code_rule(given, "volume_item_rule")
        if rule_level(rule) != "volume-item" or not extends(rule, volume_rule):
            raise CatalogError(
                f"卷内文件档号规则“{rule.name}”（{rule.template}）与案卷档号规则"
                f"“{volume_rule.name}”（{volume_rule.template}）不配套：卷内文件档号应为"
                f"案卷档号加件号（{volume_rule.template}-{{item:3}}）",
                "volume_item_rule",
            )
        return rule.name
    candidates = [
        r.name
        for r in ac.load_rules().values()
        if rule_level(r) == "volume-item" and extends(r, volume_rule)
    ]
    if default and default in candidates:
        return default
    if len(candidates) == 1:
        return candidates[0]
    raise CatalogError(
        f"按卷整理的门类须指定卷内文件档号规则（volume_item_rule）：没有与案卷档号规则"
        f"“{volume_rule.name}”（{volume_rule.template}）配套的内置规则",
        "volume_item_rule",
    )


def get_code_rule(name: str, field: str = "code_rule") -> ac.CodeRule:
    custom = CodeRuleDefinition.objects.filter(name=name).first()
    if custom is not None:
        return ac.CodeRule.from_template(
            custom.name, custom.template, custom.label, custom.arrangement
        )
    try:
        return ac.get_rule(name)
    except ac.CodeRuleError as e:
        raise CatalogError(f"档号规则“{name}”不存在", field) from e


def define_code_rule(
    name: str, template: str, label: str = "", arrangement: str = "item", user: User | None = None
) -> CodeRuleDefinition:
    """A custom 档号 rule from a template such as ``{fonds}-{category}·{year}-{item:4}``; the
    standards engine checks the template, and its Chinese message names what is wrong."""
    require(user, STRUCTURE)
    name, template, label = name.strip(), template.strip(), label.strip()
    if not RULE_NAME.match(name):
        raise CatalogError(
            f"规则名称“{name}”无效：应为 1–64 位字母、数字、下划线、点或连字符，不含空格", "name"
        )
    if arrangement not in _ARRANGEMENT_ZH:
        raise CatalogError(f"整理方式“{arrangement}”无效：应为按件或按卷", "arrangement")
    if not template:
        raise CatalogError("档号模板不能为空", "template")
    try:
        ac.CodeRule.from_template(name, template, label, arrangement)
    except ac.CodeRuleError as e:
        raise CatalogError(e.message_zh, "template") from e
    if name in ac.load_rules() or CodeRuleDefinition.objects.filter(name=name).exists():
        raise CatalogError(f"档号规则“{name}”已存在", "name")
    return CodeRuleDefinition.objects.create(
        name=name, template=template, label=label, arrangement=arrangement
    )


@dataclass(frozen=True)
class CodeRuleChoice:
    """A 档号 rule as the UI lists it: built-in (standards) or custom (defined by a user)."""

    name: str
    label: str
    template: str
    description: str  # the template in words: 全宗号-门类代码·年度-…-件号
    example: str
    arrangement: str  # item | volume
    custom: bool


def code_rule_choices(arrangement: str | None = None) -> list[CodeRuleChoice]:
    """The built-in 档号 rules (in the standards' order) and then the custom ones (by name),
    optionally only those for one arrangement."""
    out = [
        CodeRuleChoice(
            r.name, r.label_zh, r.template, r.describe_zh(), r.example, r.arrangement, False
        )
        for r in ac.load_rules().values()
    ]
    for d in CodeRuleDefinition.objects.order_by("name"):
        try:
            rule = ac.CodeRule.from_template(d.name, d.template, d.label, d.arrangement)
        except ac.CodeRuleError:  # stored before a change to the template syntax: not offered
            continue
        out.append(
            CodeRuleChoice(
                d.name,
                d.label or d.name,
                rule.template,
                rule.describe_zh(),
                "",
                d.arrangement,
                True,
            )
        )
    if arrangement is not None:
        out = [c for c in out if c.arrangement == arrangement]
    return out


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
    Anonymous (public) users see only open, unclassified records. Marriage registration records
    (门类 HY) are left out for all but the marriage archivist: others reach them only through the
    marriage counter, under the rights rules and the query log (marriage/)."""
    qs = records_in_scope(user)
    if _staff(user) and not user.has_perm_code(MARRIAGE_MANAGE):
        qs = qs.exclude(
            category_id__in=Category.objects.filter(code=MARRIAGE_CATEGORY).values("pk")
        )
    return qs


def records_in_scope(user: User | None) -> QuerySet[Record]:
    """``visible_records`` with the marriage records of the user's scope: for the marriage
    counter, which applies the rights rules and logs every query itself."""
    qs = Record.objects.all()
    if user is None:
        return qs
    if not user.is_authenticated:  # the public: open, unclassified, under no access hold
        from lantai.catalog.holds import not_held

        return qs.filter(not_held("access"), open_status="open", classification_level=0)
    if not user.has_perm_code(VIEW):
        return qs.none()
    qs = qs.filter(classification_level__lte=user.clearance)
    if user.scope_all:
        return qs
    return qs.filter(Q(repository__in=user.repositories.all()) | Q(fonds__in=user.fonds.all()))


def visible_fonds_by_id(user: User | None, pk: int) -> Fonds | None:
    """One fonds the user may see; one that exists outside their scope is None and audited."""
    fonds = visible_fonds(user).filter(pk=pk).first()
    if fonds is None and _staff(user):
        code = Fonds.objects.filter(pk=pk).values_list("code", flat=True).first()
        if code is not None:
            _refused_hidden(user, "fonds", pk, f"全宗 {code} 不在本人的范围内")
    return fonds


def can_see_fonds(user: User | None, fonds: Fonds) -> bool:
    return visible_fonds(user).filter(pk=fonds.pk).exists()


def visible_categories(user: User | None) -> QuerySet[Category]:
    """Categories of the fonds the user may see, with their fonds and repository loaded (the
    marriage category only for the marriage archivist, as ``visible_records``)."""
    qs = Category.objects.select_related("fonds", "fonds__repository").filter(
        fonds__in=visible_fonds(user)
    )
    if _staff(user) and not user.has_perm_code(MARRIAGE_MANAGE):
        qs = qs.exclude(code=MARRIAGE_CATEGORY)
    return qs


def visible_category(user: User | None, pk: int) -> Category | None:
    """One category the user may see; one that exists outside their scope is None and audited."""
    category = visible_categories(user).filter(pk=pk).first()
    if category is None and _staff(user):
        fonds = Category.objects.filter(pk=pk).values_list("fonds__code", flat=True).first()
        if fonds is not None:
            _refused_hidden(user, "category", pk, f"门类 {pk}（全宗 {fonds}）不在本人的范围内")
    return category


def visible_record(user: User | None, pk: int) -> Record | None:
    """One record the user may see, with its category, fonds and repository loaded. One that
    exists above their clearance or outside their scope is None, and the refusal is audited."""
    record = (
        visible_records(user)
        .select_related(
            "category", "category__fonds__repository", "fonds", "fonds__repository", "repository"
        )
        .filter(pk=pk)
        .first()
    )
    if record is None and _staff(user):
        level = Record.objects.filter(pk=pk).values_list("classification_level", flat=True).first()
        if level is not None:
            why = "密级高于本人的涉密等级" if level > user.clearance else "不在本人的范围内"
            _refused_hidden(user, "record", pk, f"档案 {pk}：{why}")
    return record


def _staff(user: User | None) -> TypeGuard[User]:
    """A signed-in user (not the console, not a visitor of the public portal)."""
    return user is not None and user.is_authenticated


def _refused_hidden(user: User, target_type: str, pk: int, reason: str) -> None:
    """`user` asked for one object that exists but lies outside their clearance or scope. They are
    answered as if it did not exist (its existence is not revealed); the refusal is audited
    (issue 12, point 18). List pages never call this: they only leave such rows out."""
    if not user.has_perm_code(VIEW):
        reason = f"{reason}（无查阅档案权限）"
    audit.denied_here(reason, user.get_username(), target_type, pk)


# --- browsing ------------------------------------------------------------------------------------
TEXT_FILTERS = ("title", "author", "document_number")  # substring match
CODE_FILTERS = ("classification", "retention", "open_status")  # exact match


# The list filters of filtered_records, in form order (the UI and the API offer the same ones).
BROWSE_FILTERS = (
    "title", "author", "document_number", "classification", "retention", "open_status", "code_prefix",
)  # fmt: skip


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
        qs = after_cursor(qs, code, pk)
    rows = list(qs.order_by("reference_code", "pk")[: page_size + 1])
    more = len(rows) > page_size
    rows = rows[:page_size]
    return rows, ((rows[-1].reference_code, rows[-1].pk) if more else None)


def after_cursor(qs: QuerySet[Record], code: str, pk: int) -> QuerySet[Record]:
    """Rows after (code, pk) in 档号 order. The `>=` conjunct lets SQLite and PostgreSQL seek the
    index to the cursor; the OR alone would make them scan from the first row."""
    return qs.filter(reference_code__gte=code).filter(
        Q(reference_code__gt=code) | Q(reference_code=code, pk__gt=pk)
    )


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
    from lantai.catalog.row_stream import row_hash
    from lantai.catalog.validation import RecordValidator

    require(user, EDIT)
    if user is not None and not can_see_fonds(user, category.fonds):
        raise PermissionDenied("无权修改该全宗的档案")
    if record is not None:
        if user is not None and not visible_records(user).filter(pk=record.pk).exists():
            raise PermissionDenied("无权修改该档案")
        level = record.level
    else:
        level = "volume" if category.arrangement == "volume" else "item"
    clean, issues = RecordValidator(category, level=level).validate(raw)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        return None, issues
    if (refusal := clearance_issue(user, clean)) is not None:
        return None, [refusal]
    clean["row_hash"] = row_hash(clean)  # so that re-importing the record is recognised
    clash = Record.objects.filter(
        repository=category.fonds.repository, reference_code=clean["reference_code"]
    )
    if record is not None:
        clash = clash.exclude(pk=record.pk)
    clashing = clash.values_list("pk", flat=True).first()
    if clashing is not None:
        from lantai.catalog.validation import Issue

        # The 档号 is unique, so its existence cannot be hidden; one the user may not see is
        # answered alike, and the attempt is audited (probing for hidden 档号 shows in the log).
        if _staff(user) and not visible_records(user).filter(pk=clashing).exists():
            _refused_hidden(user, "record", clashing, "所用档号属于本人不可见的档案")

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


def clearance_issue(user: User | None, clean: Mapping[str, Any]) -> Any:
    """The refusal (a validation Issue on 密级) of a record, new or changed, whose 密级 is above
    `user`'s clearance, or None. Nobody describes, raises or imports a record above their own
    clearance; the console (user None) is not limited."""
    from lantai.catalog.validation import Issue

    ceiling = None if user is None else user.clearance
    if ceiling is None or clean["classification_level"] <= ceiling:
        return None
    labels = {t.level: t.label_zh for t in vocabulary_choices("classification")}
    given = labels.get(clean["classification_level"], clean["classification"])
    own = labels.get(ceiling, str(ceiling))
    return Issue(
        "classification",
        "clearance",
        given,
        f"密级“{given}”高于您的涉密等级（{own}）：不能著录、导入或将档案改为此密级",
        f"Classification {clean['classification']} is above your clearance ({ceiling}): you "
        "may not create, import or raise a record to it",
    )


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


class ProtectedRecord(CatalogError):
    """A record a higher room protects from deletion (a preserved record: only the two-person
    disposal path of preservation removes it)."""


# Checks registered by higher rooms (the floor rule: catalog imports none of them). Each returns
# the refusal in Chinese, or None when it has no objection.
_delete_guards: list[Callable[[Record], str | None]] = []


def register_delete_guard(guard: Callable[[Record], str | None]) -> None:
    if guard not in _delete_guards:
        _delete_guards.append(guard)


def delete_refusal(record: Record) -> str | None:
    """Why `record` may not be deleted by the catalogue's delete, or None."""
    for guard in _delete_guards:
        reason = guard(record)
        if reason:
            return reason
    return None


def delete_record(record: Record, user: User | None = None) -> None:
    """Delete a record with its components' rows (the stored files stay: content-addressed, they
    may be shared). A 案卷 that still holds 卷内文件 is refused: delete or move those first. A
    record a higher room protects (a preserved one) is refused with that room's reason."""
    require(user, EDIT)
    if user is not None and not visible_records(user).filter(pk=record.pk).exists():
        raise PermissionDenied("无权删除该档案")
    refusal = delete_refusal(record)
    if refusal:
        raise ProtectedRecord(refusal)
    with transaction.atomic():
        held = Record.objects.filter(parent=record).count()
        if held:
            raise CatalogError(
                f"案卷“{record.reference_code}”内还有 {held} 份卷内文件，不能删除："
                "请先删除卷内文件",
                "",
            )
        record.delete()
        if record.level != "volume_item":
            adjust_year_counts(record.category_id, {record.year: -1})


def record_children(user: User | None, record: Record, limit: int = 1000) -> list[Record]:
    """The 卷内文件 of a 案卷 that `user` may see, in 档号 order (at most `limit`)."""
    return list(
        visible_records(user).filter(parent=record).order_by("reference_code", "pk")[:limit]
    )


def record_parent(user: User | None, record: Record) -> Record | None:
    """The 案卷 holding a 卷内文件, if `user` may see it."""
    if record.parent_id is None:
        return None
    return visible_records(user).filter(pk=record.parent_id).first()


def code_gaps(category: Category, level: str | None = None) -> list[ac.Gap]:
    """漏号: serial numbers missing under each prefix. `level` None checks the category's units
    (items or volumes) under its 档号 rule; "volume_item" checks the documents inside volumes
    under the 卷内文件 rule."""
    qs = Record.objects.filter(category=category)
    if level == "volume_item":
        if not category.volume_item_rule:
            return []
        rule = get_code_rule(category.volume_item_rule)
        qs = qs.filter(level="volume_item")
    else:
        rule = get_code_rule(category.code_rule)
        if category.arrangement == "volume":
            qs = qs.exclude(level="volume_item")
    codes: Iterable[str] = qs.values_list("reference_code", flat=True).iterator(5000)
    return ac.find_gaps(codes, rule)


@dataclass
class GapReport:
    """What the 漏号 page shows for a category: gaps per level and 档号 duplicated once written
    the same way (full-width/half-width variants of the same code)."""

    sections: list[tuple[str, list[ac.Gap]]]  # (level: item | volume | volume_item, gaps)
    duplicates: dict[str, int]
    total: int  # records checked


def gap_report(category: Category) -> GapReport:
    unit = "volume" if category.arrangement == "volume" else "item"
    sections = [(unit, code_gaps(category))]
    if category.arrangement == "volume":
        sections.append(("volume_item", code_gaps(category, "volume_item")))
    codes = Record.objects.filter(category=category).values_list("reference_code", flat=True)
    all_codes = list(codes.iterator(5000))
    return GapReport(sections, ac.find_duplicates(all_codes), len(all_codes))


# --- import batches -------------------------------------------------------------------------------
def import_batches(user: User | None, limit: int = 100) -> list[ImportBatch]:
    """The newest imports into categories of the fonds the user may see."""
    return list(
        ImportBatch.objects.select_related("category", "category__fonds", "created_by")
        .filter(category__fonds__in=visible_fonds(user))
        .order_by("-created_at", "-pk")[:limit]
    )


def visible_batch(user: User | None, pk: int) -> ImportBatch | None:
    """One import the user may see; one into a fonds outside their scope is None and audited."""
    batch = (
        ImportBatch.objects.select_related("category", "category__fonds__repository", "created_by")
        .filter(pk=pk, category__fonds__in=visible_fonds(user))
        .first()
    )
    if batch is None and _staff(user):
        fonds = (
            ImportBatch.objects.filter(pk=pk)
            .values_list("category__fonds__code", flat=True)
            .first()
        )
        if fonds is not None:
            _refused_hidden(
                user, "import_batch", pk, f"导入批次 {pk}（全宗 {fonds}）不在本人的范围内"
            )
    return batch


# --- reference data from the standards ------------------------------------------------------------
def vocabulary_choices(name: str) -> tuple[std_vocabularies.Term, ...]:
    """The terms of a controlled vocabulary (retention, classification, open_status, …) in the
    standard's order, for select lists and labels; KeyError for an unknown vocabulary."""
    return std_vocabularies.get_vocabulary(name).terms


def standard_categories() -> list[std_categories.Category]:
    """The DA/T 13 categories in the standard's order (for the 新增门类 form)."""
    return list(load_categories().values())


def repository_levels() -> list[tuple[str, str]]:
    """(code, label) of the 档案馆 levels: 省级, 市级, 县级."""
    return [(code, str(label)) for code, label in Repository.LEVELS]


def standard_category(code: str) -> std_categories.Category | None:
    """The DA/T 13 category with this code (names, arrangement, default rules), None if unknown."""
    return load_categories().get(code)
