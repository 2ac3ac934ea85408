"""Data for the web tests, made with the services (as an operator at the console: actor None)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

PASSWORD = "Lantai#Archive2024"


@dataclass
class Site:
    repository: Any
    fonds: Any
    other_fonds: Any
    category: Any
    records: list[Any]
    users: dict[str, Any]


def make_site(records_per_year: int = 3) -> Site:
    from lantai.catalog import services
    from lantai.core import accounts

    repo = services.default_repository()
    fonds = services.create_fonds("Z109", "兰州市档案局", creator="兰州市档案局")
    other = services.create_fonds("J019", "兰州市教育局")
    category = services.create_category(fonds, "WS")
    services.create_category(other, "WS")
    records = []
    for year in (2022, 2023):
        for n in range(1, records_per_year + 1):
            record, issues = services.save_record(
                category,
                {
                    "title": f"关于{year}年档案工作的通知（第{n}号）",
                    "author": "兰州市档案局",
                    "document_number": f"兰档发〔{year}〕{n}号",
                    "date": f"{year}0{n}15",
                    "year": str(year),
                    "retention": "Y",
                    "org_code": "BGS",
                    "item_number": str(n),
                    "classification": "公开",
                },
            )
            assert record is not None, issues
            records.append(record)
    users = {
        "cataloguer": accounts.create_user(
            "zhangsan", role="cataloguer", password=PASSWORD, clearance=4, scope_all=True
        ),
        "noscope": accounts.create_user("lisi", role="cataloguer", password=PASSWORD),
        "reader": accounts.create_user(
            "wangwu", role="reading_room", password=PASSWORD, scope_all=True
        ),
        "system_admin": accounts.create_user("sysadmin", role="system_admin", password=PASSWORD),
        "security_admin": accounts.create_user(
            "secadmin", role="security_admin", password=PASSWORD
        ),
        "audit_admin": accounts.create_user("auditor", role="audit_admin", password=PASSWORD),
    }
    users["cataloguer"].first_name = "张三"
    users["cataloguer"].save(update_fields=["first_name"])
    return Site(repo, fonds, other, category, records, users)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2 at full strength costs most of this suite's time; the policy checks are unaffected."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def site(db: Any) -> Site:
    return make_site()


@pytest.fixture
def live_site(transactional_db: Any) -> Site:
    return make_site()
