"""Catalogue records and generated page images for the 数字化 tests."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from lantai.catalog import services
from lantai.catalog.models import Category, Record

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
# Lines of the generated pages: each page gets its own, so pages never look alike.
TEXTS = [
    "关于加强档案数字化工作的通知",
    "各市县档案馆要按照规范开展扫描",
    "请于年底前报送数字化成果清单",
    "省档案馆负责组织抽检和验收工作",
    "馆藏纸质档案数字化率达到九成",
    "婚姻登记档案实行全区通查异地出证",
    "红色档案专题数据库建设方案",
    "音像档案数字化转换技术要求",
]


@pytest.fixture
def ws(db: None) -> Category:
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    return services.create_category(fonds, "WS")


@pytest.fixture
def make_record(ws: Category) -> Callable[..., Record]:
    def make(number: int, pages: int | None = 2, title: str = "关于档案工作的通知") -> Record:
        raw = {
            "title": title, "author": "办公厅", "date": "20110315", "year": "2011",
            "retention": "永久", "org_code": "BGS", "item_number": str(number),
            "pages": "" if pages is None else str(pages),
        }  # fmt: skip
        record, issues = services.save_record(ws, raw)
        assert record is not None, issues
        return record

    return make


def page_image(
    text: str,
    *,
    dpi: int = 300,
    size: tuple[int, int] = (850, 1100),
    angle: float = 0.0,
    blank: bool = False,
    fmt: str = "JPEG",
) -> bytes:
    """A small page: black Chinese text on white, `dpi` written into the file."""
    image = Image.new("L", size, 255)
    if not blank:
        draw = ImageDraw.Draw(image)
        font = ImageFont.truetype(FONT, 40, index=2)
        start = sum(map(ord, text))
        for i in range(6):
            line = text if i == 0 else TEXTS[(start + i * 3) % len(TEXTS)][: 4 + (start * i) % 11]
            draw.text((80 + (start * i) % 200, 120 + i * 150), line, font=font, fill=0)
    if angle:
        image = image.rotate(angle, expand=False, fillcolor=255, resample=Image.BICUBIC)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, "JPEG", quality=90, dpi=(dpi, dpi))
    else:
        image.save(out, fmt, dpi=(dpi, dpi))
    return out.getvalue()


@pytest.fixture
def write_page() -> Callable[..., Path]:
    def write(path: Path, text: str, **kw: object) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(page_image(text, **kw))  # type: ignore[arg-type]
        return path

    return write
