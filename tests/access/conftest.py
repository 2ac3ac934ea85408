"""Data for the portal tests: open and closed records in three fonds, with page images and PDFs,
made with the catalogue services and indexed with the search service (each test has its own
index directory and its own rate-limit buckets)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Lantai#Archive2024"
SECRET_WORD = "秘藏"  # only in the titles and text of records that are not open
OPEN_WORD = "婚姻"


@dataclass
class Portal:
    repository: Any
    open_fonds: Any
    mixed_fonds: Any
    closed_fonds: Any
    open_records: list[Any]
    closed_records: list[Any]  # 未开放, 控制使用, and an open-status record with 密级
    images: dict[int, Any] = field(default_factory=dict)  # record pk -> image component
    pdfs: dict[int, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)


def png_bytes(size: tuple[int, int] = (800, 1100), colour: str = "#f4efe2") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle((50, 50, size[0] - 50, 120), fill="#333333")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(out, "PDF")
    return out.getvalue()


def make_portal() -> Portal:
    from lantai.catalog import services
    from lantai.catalog.components import attach_component
    from lantai.core import accounts
    from lantai.search import services as search

    repo = services.default_repository()
    open_fonds = services.create_fonds("Z109", "兰州市民政局", creator="兰州市民政局")
    mixed = services.create_fonds("Z110", "兰州市教育局", creator="兰州市教育局")
    closed = services.create_fonds("J999", "秘藏全宗机关", creator="秘藏全宗机关")
    cats = {f.code: services.create_category(f, "WS") for f in (open_fonds, mixed, closed)}

    def add(fonds: Any, n: int, title: str, status: str, classification: str = "公开") -> Any:
        record, issues = services.save_record(
            cats[fonds.code],
            {
                "title": title,
                "author": fonds.name,
                "document_number": f"兰发〔1985〕{n}号",
                "date": f"198503{n:02d}",
                "year": "1985",
                "retention": "Y",
                "item_number": str(n),
                "org_code": "BGS",
                "classification": classification,
                "open_status": status,
            },
        )
        assert record is not None, issues
        return record

    opened = [
        add(open_fonds, 1, "关于婚姻登记工作的通知", "开放"),
        add(open_fonds, 2, "关于1985年婚姻登记统计的报告", "开放"),
        add(mixed, 3, "关于中小学校舍建设的请示", "开放"),
    ]
    hidden = [
        add(mixed, 4, "关于秘藏婚姻案件的报告", "未开放"),
        add(mixed, 5, "秘藏档案控制使用目录", "控制使用"),
        add(closed, 6, "秘藏全宗机关婚姻档案", "未开放"),
        add(mixed, 7, "内部密件登记簿", "开放", classification="秘密"),
    ]
    portal = Portal(repo, open_fonds, mixed, closed, opened, hidden)
    for record in opened + hidden:
        portal.images[record.pk] = attach_component(
            record, [png_bytes()], f"{record.reference_code}-0001.png", user=None
        )
        portal.pdfs[record.pk] = attach_component(
            record, [pdf_bytes()], f"{record.reference_code}.pdf", user=None
        )
    search.index_records([r.pk for r in opened + hidden])
    portal.users = {
        "reader": accounts.create_user(
            "wangwu", role="reading_room", password=PASSWORD, scope_all=True
        ),
        "reader2": accounts.create_user(
            "zhaoliu", role="reading_room", password=PASSWORD, scope_all=True
        ),
        "cataloguer": accounts.create_user(
            "zhangsan", role="cataloguer", password=PASSWORD, scope_all=True
        ),
    }
    return portal


@pytest.fixture(autouse=True)
def _portal_settings(settings: Any, tmp_path: Path) -> Any:
    """Generous rate limits (the limit tests lower them), no minimum fill time, a fresh index."""
    from django.core.cache import cache

    from lantai.search import services as search

    for name in (
        "PUBLIC_RATE",
        "PUBLIC_SEARCH_RATE",
        "PUBLIC_SUGGEST_RATE",
        "PUBLIC_CONTENT_RATE",
        "PUBLIC_TILE_RATE",
        "PUBLIC_FORM_RATE",
    ):
        setattr(settings, name, "100000/min")
    settings.PUBLIC_FORM_MIN_SECONDS = 0
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    search.reset_backends()
    cache.clear()
    yield
    search.reset_backends()


@pytest.fixture
def portal(db: Any) -> Portal:
    return make_portal()


@pytest.fixture
def live_portal(transactional_db: Any) -> Portal:
    return make_portal()


def resident_id(prefix17: str = "62010219850301123") -> str:
    """A resident ID number with a correct GB 11643 check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(prefix17, weights, strict=True))
    return prefix17 + "10X98765432"[total % 11]
