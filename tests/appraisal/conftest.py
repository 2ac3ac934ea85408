"""Fixtures of the appraisal tests: an appraisal group (two 保管员, a 审核员), a cataloguer who is
not in it, and records of a 文书 category with various 年度, 保管期限 and 密级."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

PASSWORD = "Pw-12345678x"
LEGACY = {"长期": "D30", "短期": "D10"}


@dataclass
class Group:
    category: Any
    alice: Any  # preservation_officer: APPRAISE + PRESERVE
    bob: Any  # preservation_officer
    carol: Any  # reviewer: APPRAISE
    cataloguer: Any  # no APPRAISE


def make_record(category: Any, number: int, *, year: int = 2010, retention: str = "D10",
                classification: str = "", secrecy_period: str = "", pages: int = 3) -> Any:  # fmt: skip
    from lantai.catalog import services as catalog

    record, issues = catalog.save_record(
        category,
        {
            "reference_code": f"Z109-WS·{year}-{LEGACY.get(retention, retention)}-BGS-{number:04d}",
            "title": f"关于档案工作的通知（第{number}号）",
            "date": f"{year}-05-06",
            "retention": retention,
            "classification": classification,
            "secrecy_period": secrecy_period,
            "author": "岭南省人民政府办公厅",
            "pages": pages,
        },
    )
    assert record is not None, issues
    return record


@pytest.fixture
def group(db: Any) -> Group:
    from lantai.catalog import services as catalog
    from lantai.core import accounts

    category = catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    mk = accounts.create_user
    return Group(
        category=category,
        alice=mk("alice", role="preservation_officer", password=PASSWORD, scope_all=True, clearance=4),
        bob=mk("bob", role="preservation_officer", password=PASSWORD, scope_all=True, clearance=4),
        carol=mk("carol", role="reviewer", password=PASSWORD, scope_all=True, clearance=4),
        cataloguer=mk("dave", role="cataloguer", password=PASSWORD, scope_all=True, clearance=4),
    )  # fmt: skip
