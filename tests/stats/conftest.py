"""A small catalogue made through the catalogue services for the statistics tests; creation
times are then set to the years under test (the services stamp "now")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from lantai.catalog import services
from lantai.catalog.models import Category, Component, Record
from lantai.core import figures
from lantai.stats import services as stats


def _at(year: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, 6, 1, 12))


def _item(ws: Category, n: int, retention: str, open_status: str, created: int) -> Record:
    record, issues = services.save_record(
        ws,
        {
            "title": f"关于档案工作的通知（{n}）", "author": "办公厅", "date": "20110315",
            "year": "2011", "retention": retention, "org_code": "BGS", "item_number": str(n),
            "classification": "公开", "open_status": open_status,
        },
    )  # fmt: skip
    assert record is not None, issues
    Record.objects.filter(pk=record.pk).update(created_at=_at(created))
    return record


@pytest.fixture
def catalogue(db: None) -> dict[str, Record]:
    """WS items: 3 made in 2024 (永久 open, 永久 closed, 30年 open), 2 more in 2025 (10年)."""
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    ws = services.create_category(fonds, "WS")
    made = {
        "a": _item(ws, 1, "永久", "开放", 2024),
        "b": _item(ws, 2, "永久", "未开放", 2024),
        "c": _item(ws, 3, "30年", "开放", 2024),
        "d": _item(ws, 4, "10年", "开放", 2025),
        "e": _item(ws, 5, "10年", "未开放", 2025),
    }
    for name, size, year in (("a.pdf", 1000, 2024), ("d.pdf", 500, 2025)):
        owner = made[name[0]]
        component = Component.objects.create(
            record=owner, name=name, size=size, sm3="0" * 64, sha256="0" * 64, path=name
        )
        Component.objects.filter(pk=component.pk).update(created_at=_at(year))
    return made


@pytest.fixture
def no_providers() -> Iterator[None]:
    """No same-floor room registered (as when access is not installed); restored afterwards."""
    saved = figures.provided()
    figures._providers.clear()
    yield
    figures._providers.update(saved)


def _figures(year: int) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in stats.report(year).as_json()["figures"]}
