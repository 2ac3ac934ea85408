"""专题数据库 for curators: a thematic collection described in fields of its own and published.

A database is a `catalog.ThematicCollection` (its records) with an `exhibits.Database` (slug,
kind, fields, rule, status) and one `Entry` per record (the record's values in those fields and
how it came in). Records come in by selection (ids the curator may see), by search (the hits of
a query through `lantai.search`, in the curator's scope) or by rule (a saved query, re-applied
on demand by a curator in his scope, or by `apply_rules()` for a periodic job or command, which
searches the database's own 档案馆 for unclassified records only: nothing classified comes in
without a person who may see it). Every change is written to the audit log.

Who may do what: building and describing needs `exhibits.curate` and a 档案馆 the user is granted
(or scope over all); publishing needs `exhibits.publish`. The public side is in
`database_browse`; it asks `catalog.public` on every request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lantai.catalog import thematic
from lantai.catalog.models import Record, Repository, ThematicCollection
from lantai.catalog.services import CatalogError, PermissionDenied, require, visible_records
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import CURATE, PUBLISH
from lantai.exhibits.models import Database, Entry
from lantai.search import services as search
from lantai.search.query import Query, Scope
from lantai.standards import exhibit_fields

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_SEARCH_ADD = 1000  # hits added by one search or one rule
MAX_SELECTION = 5000
TARGET = "exhibit_database"  # the audit log's target type


class DatabaseError(CatalogError):
    """A curator's mistake: `message_zh` names the place and the rule; `problems` lists each."""

    def __init__(self, message_zh: str, field: str = "", problems: list[str] | None = None):
        super().__init__(message_zh, field)
        self.problems = problems or [message_zh]


# --- who may do what ---------------------------------------------------------------------------
def curatable_repositories(user: User | None) -> QuerySet[Repository]:
    """档案馆 in which `user` may build databases: all for the console or a user whose scope is
    all, else those granted to him by repository; none without `exhibits.curate`."""
    qs = Repository.objects.order_by("code")
    if user is None or (user.scope_all and user.has_perm_code(CURATE)):
        return qs
    if not user.has_perm_code(CURATE):
        return qs.none()
    return qs.filter(pk__in=user.repositories.all())


def visible_databases(user: User | None) -> QuerySet[Database]:
    """The databases of the thematic collections the user may see (staff side)."""
    return (
        Database.objects.select_related("collection", "repository")
        .filter(collection__in=thematic.visible_collections(user))
        .order_by("repository__code", "slug")
    )


def visible_database(user: User | None, pk: int) -> Database | None:
    return visible_databases(user).filter(pk=pk).first()


def _require_curate(user: User | None, database: Database | None = None) -> None:
    require(user, CURATE)
    if (
        database is not None
        and user is not None
        and not curatable_repositories(user).filter(pk=database.repository_id).exists()
    ):
        raise PermissionDenied(f"无权修改专题数据库“{database.collection.name}”")


def can_curate(user: User | None, database: Database) -> bool:
    try:
        _require_curate(user, database)
    except PermissionDenied:
        return False
    return True


def can_publish(user: User | None, database: Database) -> bool:
    return can_curate(user, database) and (user is None or user.has_perm_code(PUBLISH))


# --- creating and editing ------------------------------------------------------------------------
def create_database(
    user: User | None,
    *,
    repository: Repository,
    code: str,
    name: str,
    slug: str,
    kind: str,
    description: str = "",
    collection: ThematicCollection | None = None,
) -> Database:
    """A new database over a new collection, or over `collection` (an existing one the user may
    see, which is not yet a database: its records become entries). Fields start as the kind's
    defaults."""
    require(user, CURATE)
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug):
        raise DatabaseError(
            "网址名只能由小写字母、数字和连字符组成（1–64 个字符，不以连字符开头或结尾）", "slug"
        )
    if kind not in {k.code for k in exhibit_fields.kinds()}:
        raise DatabaseError(f"数据库类型“{kind[:32]}”不存在", "kind")
    if collection is not None:
        repository = collection.repository
        if thematic.visible_collection(user, collection.pk) is None:
            raise PermissionDenied(f"无权使用专题“{collection.name}”")
        if Database.objects.filter(collection=collection).exists():
            raise DatabaseError(f"专题“{collection.name}”已经是专题数据库", "collection")
    if user is not None and not curatable_repositories(user).filter(pk=repository.pk).exists():
        raise PermissionDenied(f"无权在{repository.name}建立专题数据库", "repository")
    if Database.objects.filter(repository=repository, slug=slug).exists():
        raise DatabaseError(f"{repository.name}已有网址名为“{slug}”的专题数据库", "slug")
    with transaction.atomic():
        if collection is None:
            code = (code or "").strip()
            if not CODE.match(code):
                raise DatabaseError(
                    "专题代码只能由字母、数字、下划线和连字符组成（1–32 个字符）", "code"
                )
            collection = thematic.create_collection(repository, code, name, description, user=None)
        database = Database.objects.create(
            collection=collection,
            repository=repository,
            slug=slug,
            kind=kind,
            fields=exhibit_fields.default_fields(kind),
        )
        held = list(collection.records.values_list("pk", flat=True))
        Entry.objects.bulk_create(
            [Entry(database=database, record_id=pk, how="selection", added_by=user) for pk in held]
        )
        audit.record(
            "database_create",
            TARGET,
            database.pk,
            {"slug": slug, "kind": kind, "collection": collection.code, "entries": len(held)},
        )
    return database


def update_database(
    user: User | None,
    database: Database,
    *,
    name: str,
    description: str = "",
    name_en: str = "",
    description_en: str = "",
) -> None:
    _require_curate(user, database)
    name = " ".join((name or "").split())
    if not name:
        raise DatabaseError("数据库名称不能为空", "name")
    if len(name) > 200:
        raise DatabaseError("数据库名称不能超过 200 个字符", "name")
    with transaction.atomic():
        collection = database.collection
        collection.name, collection.description = name, (description or "").strip()
        collection.save(update_fields=["name", "description"])
        database.name_en = " ".join((name_en or "").split())[:200]
        database.description_en = (description_en or "").strip()
        database.save(update_fields=["name_en", "description_en", "updated_at"])
        audit.record("database_update", TARGET, database.pk, {"name": name})


def set_fields(user: User | None, database: Database, fields: Any) -> None:
    """Replace the database's own fields (checked by standards.exhibit_fields). Values of a
    removed field stay in the entries but are no longer shown."""
    _require_curate(user, database)
    clean, problems = exhibit_fields.check_fields(fields)
    if problems:
        raise DatabaseError("著录项定义有误", "fields", problems)
    old = [f.get("key") for f in database.fields]
    database.fields = clean
    database.save(update_fields=["fields", "updated_at"])
    audit.record(
        "database_fields", TARGET, database.pk, {"old": old, "new": [f["key"] for f in clean]}
    )


# --- adding and removing records -----------------------------------------------------------------
def add_records(
    user: User | None, database: Database, record_ids: Iterable[int], how: str = "selection"
) -> int:
    """Add records (the user must see every one); returns how many were new."""
    _require_curate(user, database)
    ids = {int(i) for i in record_ids if 0 < int(i) < 2**63}
    if len(ids) > MAX_SELECTION:
        raise DatabaseError(f"一次最多加入 {MAX_SELECTION} 件档案", "records")
    if not ids:
        return 0
    if user is not None and visible_records(user).filter(pk__in=ids).count() != len(ids):
        raise PermissionDenied("无权将不可查阅的档案加入专题数据库")
    if Record.objects.filter(pk__in=ids).count() != len(ids):
        raise DatabaseError("所选档案有的不存在", "records")
    with transaction.atomic():
        thematic.add_to_collection(database.collection, ids, user=None)  # checked above
        have = set(Entry.objects.filter(database=database).values_list("record_id", flat=True))
        new = sorted(ids - have)
        Entry.objects.bulk_create(
            [Entry(database=database, record_id=pk, how=how, added_by=user) for pk in new]
        )
        if new:
            audit.record("database_add", TARGET, database.pk, {"how": how, "added": new})
    return len(new)


def add_by_search(user: User | None, database: Database, text: str) -> int:
    """Add the hits of a search (the simple search box syntax) in the user's scope."""
    _require_curate(user, database)
    ids = _hits(text, user=user)
    return add_records(user, database, ids, how="search")


def set_rule(user: User | None, database: Database, rule: str) -> None:
    _require_curate(user, database)
    rule = " ".join((rule or "").split())
    if len(rule) > search.MAX_QUERY_CHARS:
        raise DatabaseError(f"收录规则不能超过 {search.MAX_QUERY_CHARS} 个字符", "rule")
    database.rule = rule
    database.save(update_fields=["rule", "updated_at"])
    audit.record("database_rule", TARGET, database.pk, {"rule": rule})


def apply_rule(user: User | None, database: Database) -> int:
    """Re-apply the saved rule: add what it finds now (nothing is removed). By a curator: in his
    scope; by the system (user None): the database's 档案馆, unclassified records only."""
    if not database.rule:
        return 0
    if user is None:
        scope = Scope(public=False, repository_ids=frozenset({database.repository_id}))
        ids = _hits(database.rule, scope=scope)
        ids = list(
            Record.objects.filter(
                pk__in=ids, repository_id=database.repository_id, classification_level=0
            ).values_list("pk", flat=True)
        )
    else:
        _require_curate(user, database)
        ids = _hits(database.rule, user=user)
    added = add_records(user, database, ids, how="rule")
    audit.record("database_rule_apply", TARGET, database.pk, {"added": added})
    return added


def apply_rules() -> dict[str, int]:
    """Re-apply every database's rule as the system (for a periodic job or command)."""
    done: dict[str, int] = {}
    for database in Database.objects.exclude(rule="").select_related("repository", "collection"):
        done[f"{database.repository.code}/{database.slug}"] = apply_rule(None, database)
    return done


def _hits(text: str, *, user: User | None = None, scope: Scope | None = None) -> list[int]:
    text = " ".join((text or "").split())
    if not text:
        raise DatabaseError("检索词不能为空", "q")
    try:
        results = search.search(user, Query(text=text, limit=MAX_SEARCH_ADD), scope=scope)
    except search.SearchError as e:
        raise DatabaseError(str(e), "q") from e
    return [h.id for h in results.hits]


def remove_records(user: User | None, database: Database, record_ids: Iterable[int]) -> int:
    _require_curate(user, database)
    ids = {int(i) for i in record_ids if 0 < int(i) < 2**63}
    with transaction.atomic():
        gone = sorted(
            Entry.objects.filter(database=database, record_id__in=ids).values_list(
                "record_id", flat=True
            )
        )
        Entry.objects.filter(database=database, record_id__in=gone).delete()
        database.collection.records.remove(*ids)
        if gone:
            audit.record("database_remove", TARGET, database.pk, {"removed": gone})
    return len(gone)


# --- describing -----------------------------------------------------------------------------------
def entry_for(user: User | None, database: Database, record_id: int) -> Entry | None:
    """An entry whose record the user may see."""
    if not 0 < record_id < 2**63:
        return None
    entry = (
        Entry.objects.select_related("record")
        .filter(database=database, record_id=record_id)
        .first()
    )
    if entry is None or visible_records(user).filter(pk=record_id).first() is None:
        return None
    return entry


def describe(user: User | None, entry: Entry, values: Any) -> Entry:
    """Set an entry's values (checked against the database's fields; nothing is saved when a
    value breaks a rule)."""
    database = entry.database
    _require_curate(user, database)
    clean, problems = exhibit_fields.check_values(database.fields, values)
    if problems:
        raise DatabaseError("著录内容有误", "values", problems)
    # values of fields the database no longer has are kept (a field put back shows them again)
    known = {f["key"] for f in database.fields}
    kept = {k: v for k, v in entry.values.items() if k not in known}
    entry.values = {**kept, **clean}
    entry.save(update_fields=["values", "updated_at"])
    audit.record(
        "entry_describe",
        TARGET,
        database.pk,
        {"record": entry.record_id, "values": clean},
    )
    return entry


# --- publishing -----------------------------------------------------------------------------------
def publish(user: User | None, database: Database) -> None:
    require(user, PUBLISH)
    _require_curate(user, database)
    database.status, database.published_at = "published", timezone.now()
    database.save(update_fields=["status", "published_at", "updated_at"])
    audit.record("database_publish", TARGET, database.pk, {"slug": database.slug})


def unpublish(user: User | None, database: Database) -> None:
    require(user, PUBLISH)
    _require_curate(user, database)
    database.status = "draft"
    database.save(update_fields=["status", "updated_at"])
    audit.record("database_unpublish", TARGET, database.pk, {"slug": database.slug})


def staff_entries(user: User | None, database: Database) -> QuerySet[Entry]:
    """The database's entries whose records the user may see, by 档号."""
    return (
        Entry.objects.filter(database=database, record__in=visible_records(user))
        .select_related("record", "record__repository")
        .order_by("record__reference_code", "record_id")
    )
