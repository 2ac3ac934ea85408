"""Audit of issue 19 (statistics): defects found from outside, each written as a failing test
before it was fixed and kept as a regression test."""

from __future__ import annotations

from typing import Any

from lantai.catalog import services
from lantai.catalog.models import Record
from tests.stats.conftest import _figures, _item, catalogue  # noqa: F401 - fixture


def test_the_report_counts_only_the_reporting_archives(catalogue: dict[str, Record]) -> None:  # noqa: F811
    city = services.create_repository("441900", "岭东市档案馆", level="city")
    ws = services.create_category(
        services.create_fonds("C001", "岭东市民政局", repository=city), "WS"
    )
    for n in (1, 2, 3, 4):
        _item(ws, n, "永久", "未开放", 2024)
    rows: dict[str, Any] = _figures(2025)
    assert rows["holdings_items"]["value"] == 5  # the default archives' 5 items, not 9
    assert rows["open_ratio"]["value"] == 60.0


def test_the_english_statistics_page_has_no_chinese_chrome(catalogue: dict[str, Record]) -> None:  # noqa: F811
    from django.test import Client

    from lantai.core import accounts

    user = accounts.create_user(
        "u-cat", role="cataloguer", password="Lantai#Stats2024", scope_all=True
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    body = client.get("/stats/", {"year": "2025"}).content.decode()
    assert 'lang="en"' in body and "administrative records" in body
    assert "馆藏档案（按门类）" not in body and "文书（件）" not in body and ">件<" not in body
