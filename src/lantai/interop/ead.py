"""EAD 2002 / EAD3 finding aid of a whole fonds (staff export, UI and CLI).

Decision: it is a staff export of the description, so records that are not open are included,
each with an accessrestrict (未开放 / 控制使用); marriage registration records (门类 HY) and records
with a 密级 are never included (the file leaves the catalogue's access controls). A signed-in user
exports what `visible_records` gives them of the fonds; the console (user None) everything else.
Records stream from the database (iterator) into the file: a 100,000-record fonds is never one
tree in memory."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db.models import Max, Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from lantai.catalog import services
from lantai.catalog.models import Fonds
from lantai.standards import categories as std_categories
from lantai.standards import ead as std_ead


def fonds_records(fonds: Fonds, user: Any = None) -> Any:
    """The records of `fonds` the export may carry (see the module's docstring)."""
    return (
        services.visible_records(user)
        .filter(fonds=fonds, classification_level=0)
        .exclude(category__code=std_categories.MARRIAGE)
    )


def finding_aid(fonds: Fonds, records: Any) -> std_ead.FindingAid:
    years = records.aggregate(first=Min("year"), last=Max("year"))
    return std_ead.FindingAid(
        repository_code=fonds.repository.code,
        repository_name=fonds.repository.name,
        fonds_code=fonds.code,
        fonds_name=fonds.name,
        creator=fonds.creator,
        description=fonds.description,
        first_year=years["first"],
        last_year=years["last"],
        created=timezone.localtime(),
    )


def _units(records: Any) -> Iterator[std_ead.Unit]:
    names = std_categories.load_categories()
    # a 卷内文件 sorts under its 案卷's year, right after it (its 档号 extends the 案卷's)
    rows = (
        records.annotate(sort_year=Coalesce("parent__year", "year"))
        .order_by("category__code", "sort_year", "reference_code", "pk")
        .values_list(
            "pk",
            "parent_id",
            "level",
            "category__code",
            "sort_year",
            "reference_code",
            "title",
            "author",
            "date",
            "open_status",
        )  # fmt: skip
        .iterator(chunk_size=2000)
    )
    for pk, parent, level, cat, year, code, title, author, day, status in rows:
        known = names.get(cat)
        yield std_ead.Unit(
            id=pk, parent_id=parent, level=level, category_code=cat,
            category_name=known.name_zh if known else cat, year=year, reference_code=code,
            title=title, author=author, date=day, open_status=status,
        )  # fmt: skip


def write_fonds(fonds: Fonds, out: Path, *, ead3: bool = False, user: Any = None) -> int:
    """Write the finding aid of `fonds` to `out` (replaced only once complete); the record count."""
    records = fonds_records(fonds, user)
    aid = finding_aid(fonds, records)
    version = std_ead.EAD3 if ead3 else std_ead.EAD2002
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ead-", suffix=".xml", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20) as f:
            count = std_ead.write_finding_aid(f, aid, _units(records), version)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


def find_fonds(fonds_code: str, repository_code: str | None) -> Fonds:
    """The fonds `fonds_code` of the archives `repository_code` (the default one for None);
    CatalogError naming what is missing."""
    repo = services.get_repository(repository_code)
    fonds = (
        Fonds.objects.select_related("repository")
        .filter(repository=repo, code=fonds_code.upper())
        .first()
        or Fonds.objects.select_related("repository")
        .filter(repository=repo, code=fonds_code)
        .first()
    )
    if fonds is None:
        raise services.CatalogError(
            services.missing_fonds_message(
                repo, fonds_code, given=repository_code is not None, name_others=True
            ),
            "fonds",
        )
    return fonds
