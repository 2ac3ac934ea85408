"""The OFD rendition (GB/T 33190) with real components: the package is written by
lantai.certificates.ofd, read back by an independent OFD reader (easyofd, a test dependency; those
tests are skipped without it), drawn to PDF by that reader, rasterised (pypdfium2), and its QR code
read by zxing-cpp. Hostile packages are built by repacking a genuine one."""

from __future__ import annotations

import base64
import io
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from lxml import etree

from lantai.certificates import document
from lantai.certificates.document import CertificateContentError
from lantai.certificates.ofd import MAX_OFD_BYTES, read_ofd, render_ofd
from lantai.certificates.qr import make_qr, read_qr, render_page
from lantai.certificates.seal import seal_png
from lantai.standards.certificate_payload import PREFIX, b45encode

ARCHIVES = "深圳市南山区档案馆"
NUMBER = "ZM440305-2026-000123"
NS = {"ofd": "http://www.ofdspec.org/2016"}
PAYLOAD = PREFIX + b45encode(bytes(range(7, 7 + 197)))  # the largest realistic payload
RECORD: dict[str, Any] = {
    "kind_label": "结婚",
    "date": "2001-05-20",
    "office": "深圳市南山区民政局",
    "region_code": "440305",
    "certificate_number": "J440305-2001-001234",
    "parties": [
        {"name": "张三", "sex": "男", "id_masked": "4403**********123X"},
        {"name": "李四", "sex": "女", "id_masked": "4403**********5621"},
    ],
    "holding_archives": ARCHIVES,
    "reference_code": "440305-HY·2001-Y100-0123",
}


def content(**changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "number": NUMBER,
        "kind": "record",
        "title": "婚姻登记记录证明",
        "issuer": {"code": "440305", "name": ARCHIVES, "region": "440305"},
        "requester": {
            "type_label": "当事人本人",
            "name": "张三",
            "id_masked": "4403**********123X",
        },
        "records": [RECORD],
        "criteria": "",
        "basis": "《婚姻登记档案管理办法》",
        "purpose": "办理房产过户",
        "issued": "2026-12-06T10:20:00+08:00",
        "expires": "2027-03-06",
        "status_index": 17,
        "issuer_key_id": "a1b2c3d4e5f6a7b8",
    }
    value.update(changes)
    return value


@pytest.fixture(scope="module")
def seal() -> bytes:
    return seal_png(ARCHIVES, size_px=480)


@pytest.fixture(scope="module")
def qr_png() -> bytes:
    return make_qr(PAYLOAD).png


@pytest.fixture(scope="module")
def ofd(seal: bytes, qr_png: bytes) -> bytes:
    return render_ofd(content(), PAYLOAD, seal_png=seal, qr_png=qr_png)


def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


def page_texts(data: bytes) -> list[str]:
    """The TextCode strings of every page, in order."""
    found = parts(data)
    pages = sorted(n for n in found if re.fullmatch(r"Doc_0/Pages/Page_\d+/Content\.xml", n))
    return [
        code.text or ""
        for name in pages
        for code in etree.fromstring(found[name]).iterfind(".//ofd:TextCode", NS)
    ]


def repack(data: bytes, changes: dict[str, bytes | None], *, extra: int = 0) -> bytes:
    """``data`` with parts replaced (None removes one) and ``extra`` empty parts added."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for name, body in {**parts(data), **changes}.items():
            if body is not None:
                package.writestr(name, body)
        for i in range(extra):
            package.writestr(f"Doc_0/Res/pad_{i}.bin", b"")
    return out.getvalue()


# --- the package ----------------------------------------------------------------------------


def test_the_package_has_the_parts_of_an_ofd(ofd: bytes, seal: bytes, qr_png: bytes) -> None:
    found = parts(ofd)
    root = etree.fromstring(found["OFD.xml"])
    assert root.tag == "{http://www.ofdspec.org/2016}OFD" and root.get("DocType") == "OFD"
    assert root.findtext("ofd:DocBody/ofd:DocRoot", namespaces=NS) == "Doc_0/Document.xml"
    assert re.fullmatch(r"[0-9a-f]{32}", root.findtext(".//ofd:DocID", namespaces=NS))
    assert root.findtext(".//ofd:CustomData[@Name='证明编号']", namespaces=NS) == NUMBER
    doc = etree.fromstring(found["Doc_0/Document.xml"])
    assert doc.findtext(".//ofd:PageArea/ofd:PhysicalBox", namespaces=NS) == "0 0 210 297"
    assert [p.get("BaseLoc") for p in doc.iterfind("ofd:Pages/ofd:Page", NS)] == [
        "Pages/Page_0/Content.xml"
    ]
    assert found["Doc_0/Res/image_seal.png"] == seal
    assert found["Doc_0/Res/image_qr.png"] == qr_png
    page = etree.fromstring(found["Doc_0/Pages/Page_0/Content.xml"])
    images = {i.get("ResourceID"): i for i in page.iterfind(".//ofd:ImageObject", NS)}
    assert set(images) == {"3", "4"}  # the seal and the QR code
    qr_box = [float(v) for v in images["4"].get("Boundary").split()]
    assert qr_box[2] == qr_box[3] >= 32  # the symbol at least 32 mm, as in the PDF
    assert qr_box[0] >= 0 and qr_box[0] + qr_box[2] <= 210 and qr_box[1] + qr_box[3] <= 297


def test_the_page_shows_the_certificate_text(ofd: bytes) -> None:
    text = "".join("".join(page_texts(ofd)).split())
    for shown in (
        "婚姻登记记录证明",
        f"证明编号：{NUMBER}",
        "出证机构：深圳市南山区档案馆（行政区划代码440305）",
        "申请人：张三（当事人本人），身份证件号码4403**********123X",
        "登记日期：2001年5月20日",
        "结婚证字号：J440305-2001-001234",
        "李四（女）4403**********5621",
        "档号：440305-HY·2001-Y100-0123",
        "查询依据：《婚姻登记档案管理办法》",
        "办理房产过户",
        "有效期至：2027年3月6日",
        "特此证明。",
        "不含电子签章",
    ):
        assert shown in text, shown
    # no TextCode begins or ends with white space (readers strip it and shift the DeltaX)
    assert all(t == t.strip() for t in page_texts(ofd))


def test_the_embedded_font_is_a_small_truetype_subset_with_every_character(ofd: bytes) -> None:
    found = parts(ofd)
    resources = etree.fromstring(found["Doc_0/PublicRes.xml"])
    (font_element,) = resources.iterfind(".//ofd:Font", NS)
    assert font_element.get("FamilyName") == "宋体"
    font_file = found[f"Doc_0/Res/{font_element.findtext('ofd:FontFile', namespaces=NS)}"]
    assert font_file[:4] == b"\x00\x01\x00\x00"  # TrueType outlines (glyf), not CFF
    assert len(font_file) < 200_000  # the Noto .ttc is 20 MB
    font = TTFont(io.BytesIO(font_file))
    assert "glyf" in font and "CFF " not in font
    cmap = font.getBestCmap()
    glyf = font["glyf"]
    for char in set("".join(page_texts(ofd))) - {" ", "\u3000"}:
        assert ord(char) in cmap, char
        assert glyf[cmap[ord(char)]].numberOfContours != 0, char  # an outline, not a blank
    assert len(cmap) < 250  # only what the page uses


def test_the_same_content_gives_the_same_bytes(ofd: bytes, seal: bytes, qr_png: bytes) -> None:
    assert render_ofd(content(), PAYLOAD, seal_png=seal, qr_png=qr_png) == ofd
    later = render_ofd(content(issued="2026-12-07"), PAYLOAD, seal_png=seal, qr_png=qr_png)
    assert later != ofd and b"<ofd:CreationDate>2026-12-07<" in parts(later)["OFD.xml"]


def test_read_ofd_gives_the_attachments(ofd: bytes) -> None:
    evidence = read_ofd(ofd)
    assert evidence.readable and evidence.problem is None
    assert evidence.content_bytes == document.canonical_content(content())
    assert evidence.payload_text == PAYLOAD


def test_the_no_record_certificate(seal: bytes, qr_png: bytes) -> None:
    data = render_ofd(
        content(kind="none_found", title="档案查询证明", records=[],
                criteria="姓名：王五；出生年份：1980 年前后 2 年"),
        PAYLOAD, seal_png=seal, qr_png=qr_png,
    )  # fmt: skip
    text = "".join("".join(page_texts(data)).split())
    assert "档案查询证明" in text and "姓名：王五；出生年份：1980年前后2年" in text
    assert "本馆未查到符合上述条件的婚姻登记记录。" in text
    assert "登记类别" not in text


def test_many_records_flow_onto_numbered_pages_each_with_the_qr(seal: bytes, qr_png: bytes) -> None:
    data = render_ofd(content(records=[RECORD] * 8), PAYLOAD, seal_png=seal, qr_png=qr_png)
    found = parts(data)
    pages = sorted(n for n in found if n.endswith("/Content.xml"))
    assert len(pages) >= 3
    for name in pages:
        page = etree.fromstring(found[name])
        assert [i.get("ResourceID") for i in page.iterfind(".//ofd:ImageObject", NS)].count(
            "4"
        ) == 1
        for text in page.iterfind(".//ofd:TextObject", NS):  # nothing runs into the footer
            x, y, w, h = (float(v) for v in text.get("Boundary").split())
            assert x >= 0 and x + w <= 210 and y + h <= 297
    text = "".join(page_texts(data))
    assert text.count("结婚证字号") == 8
    assert f"第 {len(pages)} 页／共 {len(pages)} 页" in text
    assert read_ofd(data).readable


def test_render_refuses_a_qr_image_that_does_not_carry_the_payload(seal: bytes) -> None:
    other = make_qr(PREFIX + b45encode(b"another certificate")).png
    with pytest.raises(CertificateContentError, match="二维码图像"):
        render_ofd(content(), PAYLOAD, seal_png=seal, qr_png=other)
    with pytest.raises(CertificateContentError, match="二维码图像"):
        render_ofd(content(), PAYLOAD, seal_png=seal, qr_png=b"GIF89a not a png")
    with pytest.raises(CertificateContentError, match="二维码图像"):
        render_ofd(content(), PAYLOAD, seal_png=seal, qr_png=b"\x89PNG\r\n\x1a\n but cut")


def test_render_refuses_content_the_pdf_refuses(seal: bytes, qr_png: bytes) -> None:
    with pytest.raises(CertificateContentError, match="purpose"):
        render_ofd(content(purpose=""), PAYLOAD, seal_png=seal, qr_png=qr_png)
    with pytest.raises(CertificateContentError, match="印章"):
        render_ofd(content(), PAYLOAD, seal_png=b"\xff\xd8 a jpeg", qr_png=qr_png)


# --- an independent reader ------------------------------------------------------------------


@pytest.fixture
def easyofd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    # easyofd unpacks into the working directory and puts it and ".." on sys.path on import
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    pytest.importorskip("easyofd", reason="easyofd (the independent OFD reader) is not installed")
    from easyofd.draw import font_tools

    # its drawing never uses the list of installed fonts, which takes ~20 s to build
    monkeypatch.setattr(font_tools.FontTool, "get_installed_fonts", lambda self: ["宋体"])
    return sys.modules["easyofd"]


def test_an_independent_reader_draws_the_page_and_its_qr_verifies(ofd: bytes, easyofd: Any) -> None:
    from easyofd.draw.draw_pdf import DrawPDF
    from easyofd.parser_ofd import OFDParser
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as ReportlabFont

    parsed = OFDParser(base64.b64encode(ofd).decode("ascii"))()
    (doc,) = parsed
    assert [float(v) for v in doc["default_page_size"]] == [0, 0, 210, 297]
    texts = [t["text"] for page in doc["page_info"].values() for t in page["text_list"]]
    assert f"证明编号：{NUMBER}" in texts
    (font,) = doc["fonts"].values()
    # easyofd draws all text in a font it names 宋体 and registers only from simsun.ttc; a
    # conformant reader uses the embedded font, so it is registered under that name here
    pdfmetrics.registerFont(ReportlabFont("宋体", io.BytesIO(base64.b64decode(font["font_b64"]))))
    pdf = DrawPDF(parsed)()
    png = render_page(pdf, 0, dpi=150)
    assert PAYLOAD in read_qr(png)

    from PIL import Image

    with Image.open(io.BytesIO(png)) as page:
        grey = page.convert("L")
        scale = grey.width / 210
        title = grey.crop((int(70 * scale), int(25 * scale), int(140 * scale), int(35 * scale)))
        assert title.getextrema()[0] < 64  # the title's glyphs are drawn (dark ink)


# --- hostile packages -----------------------------------------------------------------------


def _bomb() -> bytes:
    return b"\x00" * (12 * 1024 * 1024)  # deflates to ~12 KB


@pytest.mark.parametrize(
    ("changes", "extra", "problem"),
    [
        ({"OFD.xml": None}, 0, "OFD.xml"),
        ({"Doc_0/Document.xml": None}, 0, "Document.xml"),
        ({"Doc_0/Attachs/Attachments.xml": None}, 0, "Attachments.xml"),
        ({"Doc_0/Attachs/payload.txt": None}, 0, "payload.txt"),
        ({"../../etc/evil": b"x"}, 0, "越出包外"),
        ({"/etc/evil": b"x"}, 0, "不安全"),
        ({"Doc_0\\evil": b"x"}, 0, "不安全"),
        ({"Doc_0/Attachs/certificate.json": _bomb()}, 0, "ZIP 炸弹"),
        ({}, 250, "超过 200"),
        (
            {"OFD.xml": b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]>'
                        b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">&a;</ofd:OFD>'},
            0, "DTD",
        ),
        ({"OFD.xml": b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'><unclosed>"}, 0, "XML"),
        ({"OFD.xml": b"<OFD xmlns='urn:other'/>"}, 0, "根元素"),
    ],
)  # fmt: skip
def test_hostile_or_broken_packages_are_unreadable(
    ofd: bytes, changes: dict[str, bytes | None], extra: int, problem: str
) -> None:
    evidence = read_ofd(repack(ofd, changes, extra=extra))
    assert not evidence.readable
    assert evidence.content_bytes is None and evidence.payload_text is None
    assert evidence.problem and problem in evidence.problem


@pytest.mark.parametrize(
    "location", ["../../../etc/passwd", "/../secret.json", "C:/Windows/win.ini", "..\\x.json"]
)
def test_an_attachment_pointing_outside_the_package_is_refused(ofd: bytes, location: str) -> None:
    listing = parts(ofd)["Doc_0/Attachs/Attachments.xml"].replace(
        b"<ofd:FileLoc>certificate.json<", f"<ofd:FileLoc>{location}<".encode()
    )
    evidence = read_ofd(repack(ofd, {"Doc_0/Attachs/Attachments.xml": listing}))
    assert not evidence.readable and evidence.problem


def test_an_absolute_location_inside_the_package_is_followed(ofd: bytes) -> None:
    listing = parts(ofd)["Doc_0/Attachs/Attachments.xml"].replace(
        b"<ofd:FileLoc>payload.txt<", b"<ofd:FileLoc>/Doc_0/Attachs/payload.txt<"
    )
    assert read_ofd(repack(ofd, {"Doc_0/Attachs/Attachments.xml": listing})).payload_text == PAYLOAD


def test_a_part_larger_than_its_zip_header_says_is_unreadable(ofd: bytes) -> None:
    """The sizes in a ZIP's headers are the sender's word; a part that inflates past them is cut
    off and fails its CRC."""
    data = bytearray(repack(ofd, {"Doc_0/Attachs/certificate.json": _bomb()}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as package:
        info = package.getinfo("Doc_0/Attachs/certificate.json")
    declared = (1024).to_bytes(4, "little")
    data[info.header_offset + 22 : info.header_offset + 26] = declared  # local header
    name = info.filename.encode()
    central = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02"))
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24 : central + 28] = declared  # central directory
    evidence = read_ofd(bytes(data))
    assert not evidence.readable and evidence.problem and "certificate.json" in evidence.problem, (
        evidence.problem
    )


@pytest.mark.parametrize(
    "data", [b"", b"%PDF-1.7 not a zip", b"PK\x03\x04 truncated", b"PK" + b"\x00" * 100]
)
def test_bytes_that_are_not_a_zip_are_unreadable(data: bytes) -> None:
    evidence = read_ofd(data)
    assert not evidence.readable and evidence.problem


def test_an_oversized_file_is_refused_before_it_is_opened() -> None:
    evidence = read_ofd(b"PK" + b"\x00" * MAX_OFD_BYTES)
    assert not evidence.readable and evidence.problem and "MB" in evidence.problem
