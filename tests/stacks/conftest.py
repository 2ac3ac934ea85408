"""Fixtures of the stacks tests: a repository with records (件, a 案卷 with its 卷内文件, a
classified 件), a building with a paper stack room, shelves and boxes, a keeper (保管员: STACKS
and VIEW), a cataloguer (VIEW only) and a system administrator (neither)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest


@dataclass
class Stacks:
    repo: Any
    keeper: Any  # preservation_officer: STACKS + VIEW, clearance 0
    cataloguer: Any  # VIEW, not STACKS
    sysadmin: Any  # neither
    building: Any
    room: Any
    shelf: Any  # 1 metre, 3 box positions
    shelf2: Any  # 0.1 metre, positions not counted
    box: Any  # B-0001 on A-01
    box2: Any  # B-0002 on A-01
    records: dict[str, Any] = field(default_factory=dict)


def make_record(
    category: Any, code: str, level: str = "item", parent: Any = None, **extra: Any
) -> Any:
    from lantai.catalog.models import Record

    return Record.objects.create(
        repository=category.fonds.repository, fonds=category.fonds, category=category, level=level,
        reference_code=code, sequence_prefix=code.rsplit("-", 1)[0] + "-",
        sequence_number=int(code.rsplit("-", 1)[1]), year=2019, retention="Y",
        title=f"题名 {code}", parent=parent, **extra,
    )  # fmt: skip


@pytest.fixture
def stacks(db: Any) -> Stacks:
    from lantai.catalog import services as catalog
    from lantai.core import accounts
    from lantai.stacks import services as st

    repo = catalog.default_repository()
    fonds = catalog.create_fonds("Z109", "兰州市民政局", creator="兰州市民政局")
    ws = catalog.create_category(fonds, "WS")
    records = {
        f"Z109-WS·2019-Y-{n:04d}": make_record(ws, f"Z109-WS·2019-Y-{n:04d}") for n in range(1, 7)
    }
    volume = make_record(ws, "Z109-WS·2019-Y-0100", level="volume")
    records[volume.reference_code] = volume
    inner = make_record(ws, "Z109-WS·2019-Y-0100-0001", level="volume_item", parent=volume)
    records[inner.reference_code] = inner
    secret = make_record(ws, "Z109-WS·2019-Y-0200", classification="secret", classification_level=2)
    records[secret.reference_code] = secret
    keeper = accounts.create_user(
        "zhaoyan", role="preservation_officer", password="Pw-12345678x", scope_all=True
    )
    building = st.create_building(None, repo, "K1", "一号库房楼")
    room = st.create_room(None, building, "K1-101", "纸质档案库一", "paper")
    shelf = st.create_shelf(None, room, "A-01", "1", 3)
    shelf2 = st.create_shelf(None, room, "A-02", Decimal("0.1"))
    return Stacks(
        repo=repo,
        keeper=keeper,
        cataloguer=accounts.create_user(
            "liming", role="cataloguer", password="Pw-12345678x", scope_all=True
        ),
        sysadmin=accounts.create_user("admin2", role="system_admin", password="Pw-12345678x"),
        building=building,
        room=room,
        shelf=shelf,
        shelf2=shelf2,
        box=st.create_box(None, "A-01", "B-0001", 40, "2019年 文书 1-6"),
        box2=st.create_box(None, "A-01", "B-0002", 40),
        records=records,
    )


def code(n: int) -> str:
    return f"Z109-WS·2019-Y-{n:04d}"
