"""Full text of electronic files: PDF text layer, OFD, XML, plain text in UTF-8 and GB18030;
bad files give "" (never an exception), and extracted text is cached by SM3."""

from __future__ import annotations

import functools
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lantai.search import text


@pytest.fixture(autouse=True)
def _cache(settings: Any, tmp_path: Path) -> None:
    settings.SEARCH_TEXT_CACHE_DIR = tmp_path / "text-cache"


@functools.cache
def pdf_with_text(body: str) -> bytes:
    """A real PDF with a text layer (WeasyPrint embeds the Noto CJK font)."""
    import weasyprint

    html = f"<html><body><p style='font-family: \"Noto Sans CJK SC\", sans-serif'>{body}</p></body></html>"
    pdf: bytes = weasyprint.HTML(string=html).write_pdf()
    return pdf


def ofd_with_text(pages: list[list[str]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "OFD.xml", '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'
        )
        for n, lines in enumerate(pages):
            objs = "".join(
                f'<ofd:TextObject ID="{i}"><ofd:TextCode X="0" Y="0">{t}</ofd:TextCode></ofd:TextObject>'
                for i, t in enumerate(lines)
            )
            z.writestr(
                f"Doc_0/Pages/Page_{n}/Content.xml",
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer>'
                f"{objs}</ofd:Layer></ofd:Content></ofd:Page>",
            )
    return buf.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_pdf_text_layer_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "a.pdf", pdf_with_text("兰州市婚姻登记处关于档案移交的报告"))
    assert "婚姻登记处" in text.extract_text(path, "a.pdf")


def test_ofd_pages_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "a.ofd", ofd_with_text([["第一页", "婚姻"], ["第二页"]] * 6))
    got = text.extract_text(path, "a.ofd")
    assert got.index("第一页") < got.index("第二页")
    assert "婚姻" in got
    # pages sort numerically: Page_10 comes after Page_2
    assert text.ofd_text(path).count("第一页") == 6


def test_xml_text_and_no_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<r><题名>关于档案工作的通知</题名><b>&x;</b></r>"
    ).encode()
    got = text.extract_text(write(tmp_path, "a.xml", xml), "a.xml")
    assert "关于档案工作的通知" in got
    assert "TOPSECRET" not in got


def test_plain_text_in_gb18030_and_utf8(tmp_path: Path) -> None:
    body = "全宗号Z109，婚姻登记档案"
    gb = write(tmp_path, "gb.txt", body.encode("gb18030"))
    utf = write(tmp_path, "u.txt", b"\xef\xbb\xbf" + body.encode("utf-8"))
    assert text.extract_text(gb, "gb.txt") == body
    assert text.extract_text(utf, "u.txt") == body


def test_lines_wrapped_inside_chinese_are_joined() -> None:
    assert text.normalise("婚\n姻登记\n\n第二段 text\nmore") == "婚姻登记\n\n第二段 text\nmore"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("broken.pdf", b"%PDF-1.7\n garbage"),
        ("broken.ofd", b"PK\x03\x04 not a zip"),
        ("broken.xml", b"<?xml version='1.0'?><a><b></a>"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
        ("empty.txt", b""),
    ],
)
def test_bad_or_unknown_files_give_no_text(tmp_path: Path, name: str, data: bytes) -> None:
    assert isinstance(text.extract_text(write(tmp_path, name, data), name), str)
    assert text.extract_text(tmp_path / "missing.pdf", "missing.pdf") == ""


def test_oversized_file_is_skipped(tmp_path: Path, settings: Any) -> None:
    settings.SEARCH_TEXT_MAX_FILE_BYTES = 10
    assert text.extract_text(write(tmp_path, "a.txt", "婚姻登记档案".encode()), "a.txt") == ""


def test_text_is_cached_by_sm3(tmp_path: Path, settings: Any) -> None:
    sm3 = "ab" * 32
    path = write(tmp_path, "a.txt", "婚姻登记".encode())
    assert text.extract_text(path, "a.txt", sm3=sm3) == "婚姻登记"
    path.write_bytes("改动".encode())  # the same sm3 means the same content: the cache answers
    assert text.extract_text(path, "a.txt", sm3=sm3) == "婚姻登记"
    assert list(Path(settings.SEARCH_TEXT_CACHE_DIR).rglob(f"{sm3}*"))
