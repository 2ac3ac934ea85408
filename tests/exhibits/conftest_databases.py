"""Data for the 专题数据库 tests (imported explicitly by tests/exhibits/test_database*.py):
a red archives database over open records of two fonds (one closed record, one classified
record), page images, the search index, and users: a curator (CURATE + PUBLISH), a cataloguer
(CURATE only), a reading-room user (neither), and a curator granted only another 档案馆."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Lantai#Archive2024"


@dataclass
class Archive:
    repository: Any
    other_repository: Any
    category: Any
    records: dict[str, Any] = field(default_factory=dict)
    images: dict[int, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 800), "#efe6cf").save(out, "PNG")
    return out.getvalue()


def set_open_status(record: Any, status: str) -> None:
    """Close or open a record through the catalogue services, as an archivist would."""
    from lantai.catalog import services

    values = services.record_as_input(record)
    values["open_status"] = status
    saved, issues = services.save_record(record.category, values, record=record)
    assert saved is not None, issues


def make_archive() -> Archive:
    from lantai.catalog import services
    from lantai.catalog.components import attach_component
    from lantai.core import accounts
    from lantai.search import services as search

    repo = services.default_repository()
    other = services.create_repository("450100", "南宁市档案馆", level="city", region="南宁市")
    fonds = services.create_fonds("G045", "中共广西特委", creator="中共广西特委")
    category = services.create_category(fonds, "WS")

    def add(
        n: int, title: str, date: str, status: str = "开放", classification: str = "公开"
    ) -> Any:
        record, issues = services.save_record(
            category,
            {
                "title": title,
                "author": "中共广西特委",
                "date": date,
                "year": date[:4],
                "retention": "Y",
                "item_number": str(n),
                "org_code": "BGS",
                "classification": classification,
                "open_status": status,
            },  # fmt: skip
        )
        assert record is not None, issues
        return record

    archive = Archive(repo, other, category)
    archive.records = {
        "baise": add(1, "百色起义宣言", "19291211"),
        "longzhou": add(2, "龙州起义布告", "19300201"),
        "donglan": add(3, "东兰农民运动讲习所章程", "19251001"),
        "xiangjiang": add(4, "湘江战役伤亡统计", "19341201"),
        "closed": add(5, "秘藏特委会议记录", "19300301", status="未开放"),
        "classified": add(6, "内部密件登记", "19300401", classification="秘密"),
    }
    for record in archive.records.values():
        archive.images[record.pk] = attach_component(
            record, [png_bytes()], f"{record.reference_code}-0001.png", user=None
        )
    search.index_records([r.pk for r in archive.records.values()])
    archive.users = {
        "curator": accounts.create_user("liqing", role="curator", password=PASSWORD, scope_all=True, clearance=3),
        "cataloguer": accounts.create_user("zhangsan", role="cataloguer", password=PASSWORD, scope_all=True),
        "reader": accounts.create_user("wangwu", role="reading_room", password=PASSWORD, scope_all=True),
        "outsider": accounts.create_user("zhaoliu", role="curator", password=PASSWORD),
    }  # fmt: skip
    archive.users["outsider"].repositories.add(other)
    return archive


def red_database(archive: Archive, slug: str = "red") -> Any:
    """A published red archives database with the four open records described, plus the closed
    and the classified record (which the public must never see)."""
    from lantai.exhibits import databases as service

    curator = archive.users["curator"]
    database = service.create_database(
        curator, repository=archive.repository, code="HS01", name="红色档案专题数据库",
        slug=slug, kind="red", description="广西革命历史档案",
    )  # fmt: skip
    service.add_records(curator, database, [r.pk for r in archive.records.values()])
    values = {
        "baise": {"period": "土地革命战争时期", "event": "百色起义", "people": "邓小平、张云逸",
                  "places": "百色起义纪念馆", "carrier": "纸质"},
        "longzhou": {"period": "土地革命战争时期", "event": "龙州起义", "places": ["龙州县"]},
        "donglan": {"period": "大革命时期", "people": ["韦拔群"], "places": ["广西东兰", "火星基地"]},
        "xiangjiang": {"period": "土地革命战争时期", "places": ["全州县", "兴安", "灌阳"]},
        "closed": {"period": "土地革命战争时期", "event": "秘藏事件", "places": ["凭祥"]},
        "classified": {"period": "土地革命战争时期", "event": "密件事件", "places": ["宁明"]},
    }  # fmt: skip
    for key, v in values.items():
        entry = service.entry_for(curator, database, archive.records[key].pk)
        service.describe(curator, entry, v)
    service.publish(curator, database)
    database.refresh_from_db()
    return database


@pytest.fixture(autouse=True)
def _database_settings(settings: Any, tmp_path: Path) -> Any:
    """A fresh search index per test; quick password hashing."""
    from lantai.search import services as search

    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    search.reset_backends()
    yield
    search.reset_backends()


@pytest.fixture
def archive(db: Any) -> Archive:
    return make_archive()
