"""信息级开放: the redacted open copy. Real files throughout: a page image drawn with Pillow and
attached as a digitized page with known OCR lines, a born-digital PDF made with WeasyPrint; the
open copy is read back with pdftotext, pdftoppm and pikepdf. The text to withhold is drawn in
red, so that its every pixel can be found in the original and checked to be black in the copy."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import cast

import numpy as np
import pikepdf
import pytest
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from lantai.catalog import components, services
from lantai.catalog.models import Component, Record
from lantai.digitization.models import Batch, Item, Page
from lantai.review import texts
from lantai.review.redaction import (
    MARK,
    Passage,
    RedactionError,
    make_open_copy,
    verify_open_copy,
)
from lantai.review.texts import Section
from lantai.search.text import extract_text

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
ID = "110101199003077777"
NAME = "张伟明"
RED = (220, 0, 0)
# (before, withheld, after) per line of the page image
PAGE_LINES = [
    ("关于", NAME, "同志的情况说明"),
    ("身份证号：", ID, "，住址东城区"),
    ("此件经审核后开放", "", ""),
    ("病历记载：", "左肺结", ""),  # the passage runs on over the line break ...
    ("", "核", "住院三个月"),  # ... into the next line
]


@pytest.fixture
def record(db: None) -> Record:
    fonds = services.create_fonds("Z109", "岭南省人民政府办公厅")
    ws = services.create_category(fonds, "WS")
    raw = {"title": f"关于{NAME}同志的情况说明", "author": "办公厅", "date": "19950315",
           "year": "1995", "retention": "永久", "org_code": "BGS", "item_number": "1"}  # fmt: skip
    made, issues = services.save_record(ws, raw)
    assert made is not None, issues
    return made


def _red(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 110) & (rgb[..., 2] < 110)


def _draw_page() -> tuple[bytes, list[list[object]]]:
    """A JPEG page with PAGE_LINES (withheld parts red) and its OCR lines as OCR would store them."""
    image = Image.new("RGB", (1400, 1000), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 48, index=2)
    lines: list[list[object]] = []
    for n, parts in enumerate(PAGE_LINES):
        x, y = 100.0, 100 + n * 150
        colours: tuple[str | tuple[int, int, int], ...] = ("black", RED, "black")
        for text, colour in zip(parts, colours, strict=True):
            draw.text((x, y), text, font=font, fill=colour)
            x += draw.textlength(text, font=font)
        x0, y0, x1, y1 = draw.textbbox((100, y), "".join(parts), font=font)
        lines.append(["".join(parts), [x0 - 4, y0 - 6, x1 + 4, y1 + 6], 0.98])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, dpi=(300, 300))
    return out.getvalue(), lines


def _attach_page(record: Record) -> Page:
    data, lines = _draw_page()
    stored = components.store_chunks([data])
    component = components.add_stored(record, stored, "0001.jpg")
    batch = Batch.objects.create(repository=record.repository, name="扫描批次")
    item = Item.objects.create(batch=batch, record=record, reference_code=record.reference_code)
    return Page.objects.create(
        batch=batch, item=item, number=1, source_name="0001.jpg", component=component,
        width=1400, height=1000, dpi=300, ocr_status="done", ocr_lines=lines,
        ocr_engine="test", **Page.fields_of(stored),
    )  # fmt: skip


def _attach_pdf(record: Record) -> Component:
    import weasyprint

    html = f"""<html><head><style>body {{ font-family: "Noto Sans CJK SC"; font-size: 14pt }}
    .w {{ color: rgb(220, 0, 0) }} .n {{ font-family: "DejaVu Sans Mono" }}</style></head><body>
    <p>干部登记表 第二部分 家庭成员情况</p>
    <p>配偶姓名：<span class="w">{NAME}</span>，公民身份号码（填表时由本人核对无误）：<span class="w n">{ID}</span>，工作单位岭南省农业厅。</p>
    <p>本表由组织部门填写，共二页。</p></body></html>"""
    stored = components.store_chunks([weasyprint.HTML(string=html).write_pdf()])
    return components.add_stored(record, stored, "登记表.pdf")


def _text_of(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-q", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")


def _images(pdf: bytes) -> list[np.ndarray]:
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        out = []
        for page in opened.pages:
            for raw in page.get_images().values():
                assert raw.get("/Filter") != "/DCTDecode"  # never the scanner's own JPEG
                out.append(
                    np.asarray(
                        pikepdf.PdfImage(cast(pikepdf.Stream, raw)).as_pil_image().convert("RGB")
                    )
                )
        return out


def _passage(section: Section, text: str, nth: int = 0) -> Passage:
    at = -1
    for _ in range(nth + 1):
        at = section.text.index(text, at + 1)
    return Passage(section.key, at, at + len(text))


def test_a_page_image_loses_the_passages_from_its_pixels_and_its_text(record: Record) -> None:
    page = _attach_page(record)
    master = (Path(page.stored().relative), page.sm3, list(page.ocr_lines))
    sections = texts.sections(record)
    byk = {s.key: s for s in sections}
    title, scan = byk["field:title"], byk[f"page:{page.pk}"]
    assert NAME in scan.text and ID in scan.text
    across = "左肺结\n核"  # ends one line, begins the next
    passages = [_passage(title, NAME), _passage(scan, NAME), _passage(scan, ID),
                _passage(scan, across)]  # fmt: skip

    copy = make_open_copy(record, sections, passages)

    extracted = _text_of(copy.pdf)
    flat = "".join(extracted.split())
    for gone in (NAME, ID, "左肺结核", "肺结", "结核"):
        assert gone not in flat
    for kept in (
        "同志的情况说明",
        "住址东城区",
        "此件经审核后开放",
        "病历记载",
        "住院三个月",
        "办公厅",
    ):
        assert kept in flat
    assert copy.fields == {"title": f"关于{MARK}同志的情况说明"}
    assert f"病历记载：{MARK}\n{MARK}住院三个月" in copy.text
    assert NAME not in copy.text and ID not in copy.text
    assert copy.evidence["ok"] and copy.evidence["found"] == []
    assert copy.evidence["searched"] >= 4 and copy.evidence["pages"] == 2  # text page + image

    # every pixel of the withheld glyphs is black in the copy; no red is left anywhere
    original = np.asarray(Image.open(io.BytesIO(_draw_page()[0])).convert("RGB"))
    (painted,) = _images(copy.pdf)
    assert painted.shape == original.shape
    withheld = _red(original)
    assert withheld.sum() > 2000
    assert (painted[withheld] == 0).all()
    assert not _red(painted).any()
    # the text around the passages is still there: most black ink outside the boxes survives
    ink = (original.max(axis=2) < 80) & ~withheld
    assert (painted[ink].max(axis=1) < 80).mean() > 0.5

    # the closed master is unchanged
    page.refresh_from_db()
    stored = Path(settings.MEDIA_ROOT) / master[0]
    assert components.store_file(stored).sm3 == master[1] and page.ocr_lines == master[2]


def test_a_born_digital_pdf_is_rebuilt_without_the_id_number_and_the_name(
    record: Record, tmp_path: Path
) -> None:
    component = _attach_pdf(record)
    path = Path(settings.MEDIA_ROOT) / component.path
    section = Section(f"component:{component.pk}", component.name, extract_text(path, "a.pdf"))
    assert ID in section.text and NAME in section.text
    copy = make_open_copy(record, [section], [_passage(section, ID), _passage(section, NAME)])

    flat = "".join(_text_of(copy.pdf).split())
    assert ID not in flat and NAME not in flat and "19900307" not in flat
    for kept in (
        "干部登记表第二部分家庭成员情况",
        "公民身份号码",
        "工作单位岭南省农业厅",
        "共二页",
    ):
        assert kept in flat
    assert copy.text.count(MARK) == 2 and copy.evidence["ok"]

    # the red glyphs of the original, rendered as the copy was, are black in the copy
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "o")],
                   check=True)  # fmt: skip
    original = np.asarray(Image.open(tmp_path / "o.png").convert("RGB"))
    (painted,) = _images(copy.pdf)
    assert painted.shape == original.shape
    withheld = _red(original)
    assert withheld.sum() > 500
    assert (painted[withheld] == 0).all() and not _red(painted).any()


def test_a_pdf_passage_that_cannot_be_placed_reliably_is_refused(record: Record) -> None:
    component = _attach_pdf(record)
    path = Path(settings.MEDIA_ROOT) / component.path
    # text that is not the PDF's own: "工作单位" is placed (once in both), "临时工" is not there
    text = "（摘录）" + extract_text(path, "a.pdf") + "\n临时工"
    section = Section(f"component:{component.pk}", component.name, text)
    placed = make_open_copy(record, [section], [_passage(section, "工作单位")])
    assert "工作单位" not in "".join(_text_of(placed.pdf).split())
    with pytest.raises(RedactionError) as caught:
        make_open_copy(record, [section], [_passage(section, "临时工")])
    assert "无法" in caught.value.message_zh and component.name in caught.value.message_zh


def test_bad_passages_are_refused_with_the_section_named(record: Record) -> None:
    page = _attach_page(record)
    sections = texts.sections(record)
    scan = next(s for s in sections if s.key == f"page:{page.pk}")
    for bad, why in (
        (Passage(scan.key, 0, len(scan.text) + 1), "超出文本范围"),
        (Passage(scan.key, 5, 5), "超出文本范围"),
        (Passage(scan.key, -1, 3), "超出文本范围"),
        (Passage("page:999999", 0, 1), "不在该档案"),
    ):
        with pytest.raises(RedactionError, match=why):
            make_open_copy(record, sections, [bad])
    # the name is marked on the page but left in the title: it would survive
    with pytest.raises(RedactionError, match="仍未标注") as caught:
        make_open_copy(record, sections, [_passage(scan, NAME)])
    assert caught.value.message_en


def test_a_passage_on_a_line_typed_by_a_person_is_refused(record: Record) -> None:
    page = _attach_page(record)
    page.corrections.create(line=len(PAGE_LINES), original="", text="手写批注：王建国")
    sections = texts.sections(record)
    scan = next(s for s in sections if s.key == f"page:{page.pk}")
    with pytest.raises(RedactionError, match="人工补录"):
        make_open_copy(record, sections, [_passage(scan, "王建国")])


def test_without_passages_the_copy_verifies_and_equals_the_content(record: Record) -> None:
    _attach_page(record)
    sections = texts.sections(record)
    copy = make_open_copy(record, sections, [])
    assert copy.text == "\n\n".join(s.text for s in sections)
    assert copy.fields == {} and copy.evidence["ok"] and copy.evidence["searched"] == 0
    flat = "".join(_text_of(copy.pdf).split())
    for s in sections:
        assert "".join(s.text.split()) in flat


def test_verification_finds_surviving_text_and_an_empty_copy(tmp_path: Path) -> None:
    import weasyprint

    pdf = weasyprint.HTML(string=f"<p>号码 {ID[:9]}\n{ID[9:]} 结束</p>").write_pdf()
    found = verify_open_copy(pdf, ["某", "无关的字", ID])
    assert not found["ok"] and found["found"] == [{"index": 2, "length": len(ID)}]
    assert found["searched"] == 2 and found["pages"] == 1 and ID not in str(found)
    blank = weasyprint.HTML(string="<p></p>").write_pdf()
    assert not verify_open_copy(blank, [ID])["ok"]
    assert verify_open_copy(blank, [ID], expect_text=False)["ok"]
    assert not verify_open_copy(b"not a pdf", [ID])["ok"]
