"""Thematic collections (专题数据库): curated sets of records within a 档案馆. Permission checks,
visibility and keyset paging come from `lantai.catalog.services`."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet

from lantai.catalog.models import Record, Repository, ThematicCollection
from lantai.catalog.services import (
    PAGE_SIZE,
    CatalogError,
    PermissionDenied,
    after_cursor,
    require,
    visible_records,
    visible_repositories,
    writable_repositories,
)
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import EDIT, STRUCTURE


def create_collection(
    repository: Repository, code: str, name: str, description: str = "", user: User | None = None
) -> ThematicCollection:
    require(user, STRUCTURE)
    code, name = code.strip(), name.strip()
    if not code:
        raise CatalogError("专题代码不能为空", "code")
    if not name:
        raise CatalogError("专题名称不能为空", "name")
    if user is not None and not writable_repositories(user).filter(pk=repository.pk).exists():
        raise PermissionDenied(f"无权在{repository.name}建立专题", "repository")
    if ThematicCollection.objects.filter(repository=repository, code=code).exists():
        raise CatalogError(f"{repository.name}已有专题“{code}”", "code")
    return ThematicCollection.objects.create(
        repository=repository, code=code, name=name, description=description.strip()
    )


def add_to_collection(
    collection: ThematicCollection, record_ids: Iterable[int], user: User | None = None
) -> int:
    """Add records to a collection (those already in it are skipped); returns how many were added.
    A user must see the collection and every record."""
    require(user, EDIT)
    ids = set(record_ids)
    if user is not None:
        if not visible_collections(user).filter(pk=collection.pk).exists():
            raise PermissionDenied(f"无权修改专题“{collection.name}”")
        if len(ids) != visible_records(user).filter(pk__in=ids).count():
            raise PermissionDenied("无权将不可查阅的档案加入专题")
    with transaction.atomic():
        held = set(collection.records.values_list("pk", flat=True))
        new = sorted(ids - held)
        if new:
            collection.records.add(*new)
            audit.record(
                "collection_add",
                "thematic_collection",
                collection.pk,
                {"code": collection.code, "added": new},
            )
    return len(new)


def visible_collections(user: User | None) -> QuerySet[ThematicCollection]:
    """专题数据库 of the 档案馆 the user may see (their records are filtered one by one)."""
    return (
        ThematicCollection.objects.select_related("repository")
        .filter(repository__in=visible_repositories(user))
        .order_by("repository__code", "code")
    )


def visible_collection(user: User | None, pk: int) -> ThematicCollection | None:
    return visible_collections(user).filter(pk=pk).first()


def collection_records(
    user: User | None,
    collection: ThematicCollection,
    after: tuple[str, int] | None = None,
    page_size: int = PAGE_SIZE,
) -> tuple[list[Record], tuple[str, int] | None]:
    """One page of the collection's records that `user` may see, in 档号 order, keyset-paginated
    like `browse` (`after` is the (code, id) of the previous page's last row)."""
    qs = visible_records(user).filter(collections=collection)
    if after is not None:
        code, pk = after
        qs = after_cursor(qs, code, pk)
    rows = list(
        qs.select_related("fonds", "category").order_by("reference_code", "pk")[: page_size + 1]
    )
    more = len(rows) > page_size
    rows = rows[:page_size]
    return rows, ((rows[-1].reference_code, rows[-1].pk) if more else None)


def record_collections(user: User | None, record: Record) -> list[ThematicCollection]:
    """The collections (visible to `user`) that hold `record`."""
    return list(visible_collections(user).filter(records=record))
