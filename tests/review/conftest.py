"""Fixtures of the open-review workflow tests: a catalogue with two forming units' fonds, the
people of a review (two reviewers, two seniors, the forming units' accounts), a fresh search index
per test, and helpers that walk an item through its stages with the real services.

Jobs run inline (LANTAI_JOBS_IMMEDIATE=1); the screening job is queued on commit, so a task is
made inside `django_capture_on_commit_callbacks(execute=True)` (`make_task`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Lantai#Review2026"


def resident_id(prefix17: str) -> str:
    """An 18-digit resident ID with a correct ISO 7064 MOD 11-2 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]


ID_NUMBER = resident_id("62010219650301123")  # born 1965-03-01


@pytest.fixture
def index(settings: Any, tmp_path: Path) -> Iterator[str]:
    """A fresh tantivy index for this test, used by the search services."""
    from lantai.search import services as search

    settings.SEARCH_BACKEND = "tantivy"
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.SEARCH_TEXT_CACHE_DIR = tmp_path / "text"
    settings.SEARCH_TABLE_PREFIX = f"s{uuid.uuid4().hex[:12]}"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    for name in (
        "PUBLIC_RATE",
        "PUBLIC_SEARCH_RATE",
        "PUBLIC_SUGGEST_RATE",
        "PUBLIC_CONTENT_RATE",
        "PUBLIC_FORM_RATE",
    ):
        setattr(settings, name, "100000/min")
    search.reset_backends()
    yield "tantivy"
    search.reset_backends()


@dataclass
class Archive:
    repository: Any
    z109: Any  # 兰州市民政局 (forming unit A)
    z110: Any  # 兰州市教育局 (forming unit B)
    ws109: Any
    ws110: Any
    kj109: Any  # 科技 (an early-open 门类)
    users: dict[str, Any] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)

    def record(
        self,
        title: str,
        *,
        category: Any = None,
        date: str = "19850301",
        year: str = "",
        status: str = "未开放",
        classification: str = "公开",
        secrecy: str = "",
        remarks: str = "",
        author: str = "",
    ) -> Any:
        from lantai.catalog import services as catalog

        category = category or self.ws109
        key = f"{category.pk}"
        self.numbers[key] = self.numbers.get(key, 0) + 1
        raw = {
            "title": title, "author": author or category.fonds.name, "date": date,
            "year": year or date[:4], "retention": "Y", "org_code": "BGS",
            "item_number": str(self.numbers[key]), "classification": classification,
            "secrecy_period": secrecy, "open_status": status, "remarks": remarks,
        }  # fmt: skip
        record, issues = catalog.save_record(category, raw)
        assert record is not None, issues
        return record


def _user(username: str, role: str, *, clearance: int = 4, scope_all: bool = True) -> Any:
    from lantai.core import accounts

    return accounts.create_user(
        username, role=role, password=PASSWORD, clearance=clearance, scope_all=scope_all,
        display_name=username,
    )  # fmt: skip


@pytest.fixture
def archive(db: None, settings: Any) -> Archive:
    from lantai.catalog import services as catalog
    from lantai.core import accounts
    from lantai.core.models import User

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    repo = catalog.default_repository()
    z109 = catalog.create_fonds("Z109", "兰州市民政局", creator="兰州市民政局")
    z110 = catalog.create_fonds("Z110", "兰州市教育局", creator="兰州市教育局")
    a = Archive(
        repo, z109, z110, catalog.create_category(z109, "WS"),
        catalog.create_category(z110, "WS"),
        catalog.create_category(z109, "KJ", arrangement="item", code_rule="dat22"),
    )  # fmt: skip
    users = {
        "r1": _user("reviewer_li", "reviewer"),
        "r2": _user("reviewer_wang", "reviewer"),
        "senior": _user("senior_zhao", "senior_reviewer"),
        "senior2": _user("senior_qian", "senior_reviewer"),
        "unit109": _user("unit_minzheng", "filing_unit", clearance=0, scope_all=False),
        "unit110": _user("unit_jiaoyu", "filing_unit", clearance=0, scope_all=False),
    }
    accounts.grant(users["unit109"], actor=None, fonds_ids=[z109.pk])
    accounts.grant(users["unit110"], actor=None, fonds_ids=[z110.pk])
    a.users = {k: User.objects.get(pk=u.pk) for k, u in users.items()}
    return a


@pytest.fixture
def make_task(django_capture_on_commit_callbacks: Any, archive: Archive) -> Callable[..., Any]:
    """A review task over `records` made by the senior, screened by the (inline) queued job."""
    from lantai.review import services

    def make(records: list[Any], **kw: Any) -> Any:
        kw.setdefault("name", "1985年文书档案到期开放审核")
        kw.setdefault("reviewers", [archive.users["r1"], archive.users["r2"]])
        kw.setdefault("sample_rate", 0.0)
        with django_capture_on_commit_callbacks(execute=True):
            task = services.create_task(archive.users["senior"], records=records, **kw)
        return task

    return make


def item_of(task: Any, record: Any) -> Any:
    from lantai.review.models import ReviewItem

    return ReviewItem.objects.select_related("record", "task").get(task=task, record=record)


def fresh(item: Any) -> Any:
    from lantai.review.models import ReviewItem

    return ReviewItem.objects.select_related("record", "task").get(pk=item.pk)


def passage(record: Any, section_key: str, text: str, nth: int = 0) -> dict[str, Any]:
    """The place of the `nth` occurrence of `text` in the record's section `section_key`."""
    from lantai.review import texts

    body = texts.section_map(record)[section_key].text
    start = -1
    for _ in range(nth + 1):
        start = body.index(text, start + 1)
    return {
        "section": section_key,
        "start": start,
        "end": start + len(text),
        "category": "personal_info",
    }


@pytest.fixture
def walk(archive: Archive) -> Callable[..., Any]:
    """Take an item from 初审 to the end of its task's stages with one proposal: the first
    reviewer, another reviewer's 复审, a third person's 抽查 when drawn, the unit's agreement,
    the senior's 馆审定. Stops before `stop` (a stage code) when given."""
    from lantai.review import services

    u = archive.users

    def go(item: Any, proposal: Any, stop: str = "") -> Any:
        for _ in range(8):
            item = fresh(item)
            if item.stage == stop or item.stage == "published":
                return item
            if item.stage == "unit":
                unit = u["unit109"] if item.record.fonds_id == archive.z109.pk else u["unit110"]
                services.unit_opinion([item], unit, agrees=True)
                continue
            first = item.first_reviewer or u["r1"]
            people = {
                "first": first, "second": u["r2"] if first.pk == u["r1"].pk else u["r1"],
                "sample": u["senior2"], "approval": u["senior"],
            }  # fmt: skip
            services.decide(item, people[item.stage], proposal, seconds=3.0)
        raise AssertionError(f"item stuck at {item.stage}")

    return go
