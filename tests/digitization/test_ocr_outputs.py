"""ALTO v4 and the searchable PDF: well-formed, in order, and the text comes back out exactly
(lxml for ALTO; qpdf --check, pdftotext and pdfimages for the PDF)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from lxml import etree
from PIL import Image

from lantai.digitization.ocr import OcrLine, OcrPage
from lantai.digitization.ocr_outputs import ALTO_NS, alto_xml, lines_from_alto, searchable_pdf
from lantai.digitization.page_images import load_pages

SM3 = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
LINES = [
    OcrLine("关于做好档案移交工作的通知", (100, 40, 900, 90), 0.9912),
    OcrLine("京档发〔2024〕12号 & <附件>", (120, 120, 860, 160), 0.875),
    OcrLine("𠀀生僻字", (100, 200, 400, 250), 0.7),
]
PAGE = OcrPage(LINES, 1000, 300, 0.5, "rapidocr 3.10.0 PP-OCRv6 small det/rec", False)


def test_alto_is_v4_in_order_and_round_trips() -> None:
    data = alto_xml(PAGE, image_name="A001-WS-2024-0001-0001.jpg", sm3=SM3)
    root = etree.fromstring(data)
    assert root.tag == f"{{{ALTO_NS}}}alto"
    ns = {"a": ALTO_NS}
    assert [c.tag.split("}")[1] for c in root] == ["Description", "Layout"]
    desc = root.find("a:Description", ns)
    assert [c.tag.split("}")[1] for c in desc] == [
        "MeasurementUnit",
        "sourceImageInformation",
        "OCRProcessing",
    ]
    assert desc.findtext("a:MeasurementUnit", namespaces=ns) == "pixel"
    ident = desc.find("a:sourceImageInformation/a:fileIdentifier", ns)
    assert ident.text == SM3 and ident.get("fileIdentifierLocation") == "SM3"
    sw = desc.find(".//a:processingSoftware/a:softwareName", ns).text
    assert sw == "rapidocr"
    page = root.find("a:Layout/a:Page", ns)
    assert (page.get("WIDTH"), page.get("HEIGHT")) == ("1000", "300")
    tl = page.find("a:PrintSpace/a:TextBlock/a:TextLine", ns)
    assert (tl.get("HPOS"), tl.get("VPOS"), tl.get("WIDTH"), tl.get("HEIGHT")) == (
        "100",
        "40",
        "800",
        "50",
    )
    assert tl.find("a:String", ns).get("WC") == "0.9912"
    assert lines_from_alto(data) == LINES


def test_alto_of_a_blank_page_has_no_lines() -> None:
    data = alto_xml(OcrPage([], 10, 10, 0.1, "x 1"), image_name="b.png", sm3=SM3)
    assert lines_from_alto(data) == []


def _pdftotext(pdf: Path) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_searchable_pdf_text_is_extracted_exactly_and_qpdf_accepts_it(tmp_path: Path) -> None:
    img = Image.new("L", (1000, 300), 255)
    vertical = OcrPage(
        [
            OcrLine("有評是是非", (300, 20, 360, 280), 0.9),
            OcrLine("是非不得問", (200, 20, 260, 280), 0.9),
        ],
        400,
        300,
        0.2,
        "rapidocr",
        True,
    )
    data = searchable_pdf(
        [(img, PAGE, 300.0), (Image.new("RGB", (400, 300), "white"), vertical, 150.0)]
    )
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = _pdftotext(path)
    squeezed = "".join(text.split())
    for line in [*LINES, *vertical.lines]:
        assert "".join(line.text.split()) in squeezed, (line.text, text)
    # page sizes follow the dpi: 1000 px at 300 dpi = 240 pt, 400 px at 150 dpi = 192 pt
    info = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "2", str(path)], capture_output=True, text=True
    ).stdout
    assert "240 x 72 pts" in info and "192 x 144 pts" in info
    # the text layer sits where the line is: the first line's words inside its box
    bbox = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"], capture_output=True, text=True
    ).stdout
    assert 'xMin="24.0' in bbox


def test_jpeg_pages_are_embedded_without_reencoding(tmp_path: Path) -> None:
    src = tmp_path / "p.jpg"
    Image.effect_noise((200, 100), 40).convert("RGB").save(src, quality=70)
    (page,) = load_pages(src)
    data = searchable_pdf([(page.image, OcrPage([], 200, 100, 0.1, "x"), 100.0)])
    assert src.read_bytes() in data  # the JPEG stream, byte for byte
    png = tmp_path / "q.png"
    Image.new("1", (64, 64), 1).save(png)
    (bw,) = load_pages(png)
    flate = searchable_pdf([(bw.image, OcrPage([], 64, 64, 0.1, "x"), 300.0)])
    (tmp_path / "q.pdf").write_bytes(flate)
    listing = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / "q.pdf")], capture_output=True, text=True
    ).stdout
    assert " image " in listing and "gray" in listing and " 1 " in listing
    assert io.BytesIO(flate).getvalue().startswith(b"%PDF-")
