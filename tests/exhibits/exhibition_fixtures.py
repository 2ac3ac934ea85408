"""Data for the exhibition tests: an open record with two page images, a second open record with
one, a closed record with one, made with the catalogue services; a curator who builds, a second
curator who publishes, a cataloguer (CURATE, not PUBLISH) and a reading-room user (neither)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Lantai#Archive2024"


@dataclass
class Hall:
    repository: Any
    category: Any
    open_record: Any  # two page images
    other_record: Any  # one page image
    closed_record: Any
    images: dict[int, list[Any]] = field(default_factory=dict)  # record pk -> components
    users: dict[str, Any] = field(default_factory=dict)


def png_bytes(size: tuple[int, int] = (800, 1100), colour: str = "#f4efe2") -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).rectangle((50, 50, size[0] - 50, 120), fill="#333333")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def add_record(hall_category: Any, n: int, title: str, status: str) -> Any:
    from lantai.catalog import services

    record, issues = services.save_record(
        hall_category,
        {
            "title": title,
            "author": "中共广西省委",
            "date": f"194910{n:02d}",
            "year": "1949",
            "retention": "Y",
            "item_number": str(n),
            "org_code": "BGS",
            "classification": "公开",
            "open_status": status,
        },  # fmt: skip
    )
    assert record is not None, issues
    return record


def set_open_status(record: Any, status: str) -> None:
    """Open or close a record through the catalogue services, as an archivist would."""
    from lantai.catalog import services

    values = services.record_as_input(record)
    values["open_status"] = status
    saved, issues = services.save_record(record.category, values, record=record)
    assert saved is not None, issues


def make_hall() -> Hall:
    from lantai.catalog import services
    from lantai.catalog.components import attach_component
    from lantai.core import accounts

    repo = services.default_repository()
    fonds = services.create_fonds("G001", "中共广西省委", creator="中共广西省委")
    category = services.create_category(fonds, "WS")
    opened = add_record(category, 1, "关于广西解放的布告", "开放")
    other = add_record(category, 2, "南宁市军事管制委员会通告", "开放")
    closed = add_record(category, 3, "秘藏会议记录", "未开放")
    hall = Hall(repo, category, opened, other, closed)
    for record, count in ((opened, 2), (other, 1), (closed, 1)):
        hall.images[record.pk] = [
            attach_component(
                record,
                [png_bytes((800 + 100 * i, 1100), "#f4efe2" if i else "#e8dcc0")],
                f"{record.reference_code}-{i + 1:04d}.png",
                user=None,
            )  # fmt: skip
            for i in range(count)
        ]
    hall.users = {
        "curator": accounts.create_user("liqing", role="curator", password=PASSWORD, scope_all=True),
        "publisher": accounts.create_user("zhouyun", role="curator", password=PASSWORD, scope_all=True),
        "cataloguer": accounts.create_user("zhangsan", role="cataloguer", password=PASSWORD, scope_all=True),
        "reader": accounts.create_user("wangwu", role="reading_room", password=PASSWORD, scope_all=True),
    }  # fmt: skip
    return hall


def item(
    hall: Hall, record: Any = None, n: int = 0, alt: str = "布告原件", **extra: Any
) -> dict[str, Any]:
    record = record or hall.open_record
    return {"record": record.pk, "component": hall.images[record.pk][n].pk, "alt": alt, **extra}


def build(hall: Hall, slug: str = "red-guangxi") -> Any:
    """A two-page exhibition over the open records, built through the services."""
    from lantai.exhibits import exhibitions as ex

    user = hall.users["curator"]
    exhibition = ex.create(
        user, slug=slug, title="红色广西——革命历史档案史料展", repository=hall.repository
    )
    ex.add_section(user, exhibition, "解放", "Liberation")
    ex.add_page(user, exhibition, 0, "proclamation", "解放布告", "The proclamation")
    ex.add_block(
        user,
        exhibition,
        0,
        0,
        {
            "kind": "text",
            "heading": "序",
            "body": "1949年12月，广西解放。",
            "body_en": "Guangxi was liberated in December 1949.",
        },
    )
    ex.add_block(user, exhibition, 0, 0, {"kind": "image", "items": [item(hall, caption="布告")]})
    ex.add_page(user, exhibition, 0, "notices", "军管会通告")
    ex.add_block(
        user,
        exhibition,
        0,
        1,
        {
            "kind": "gallery",
            "items": [item(hall, n=1, alt="布告第二页"), item(hall, hall.other_record, alt="通告")],
        },
    )
    ex.add_block(
        user,
        exhibition,
        0,
        1,
        {
            "kind": "quote",
            "text": "人民解放军所到之处",
            "source": "布告",
            "record": hall.open_record.pk,
        },
    )
    return ex.staff_exhibition(user, exhibition.pk)


def publish(hall: Hall, exhibition: Any, **when: Any) -> Any:
    from lantai.exhibits import exhibitions as ex

    ex.submit(hall.users["curator"], exhibition)
    return ex.approve(hall.users["publisher"], exhibition, **when)


@pytest.fixture(autouse=True)
def _exhibition_settings(settings: Any, tmp_path: Path) -> Any:
    from django.core.cache import cache

    for name in ("PUBLIC_RATE", "PUBLIC_SEARCH_RATE", "PUBLIC_SUGGEST_RATE", "PUBLIC_CONTENT_RATE",
                 "PUBLIC_FORM_RATE"):  # fmt: skip
        setattr(settings, name, "100000/min")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    cache.clear()
    yield


@pytest.fixture
def hall(db: Any) -> Hall:
    return make_hall()


@pytest.fixture
def live_hall(transactional_db: Any) -> Hall:
    return make_hall()
