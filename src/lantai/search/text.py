"""Full text of electronic files (电子文件) for the search index.

`extract_text(path, name)` reads the text layer of a PDF (poppler's pdftotext, in a subprocess
with a timeout), the TextCode elements of an OFD (a zip of XML pages), the text nodes of an XML
file and plain text in UTF-8, UTF-16 or GB18030; anything else gives "" (OCR arrives later
through this same function). It never raises on a bad file: the reason is logged and "" returned.

Extracted text is cached under SEARCH_TEXT_CACHE_DIR by the file's SM3 and the extractor
version, so a reindex does not extract again."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import subprocess
import zipfile
from pathlib import Path

from django.conf import settings
from lxml import etree

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = 1  # bump when extraction changes: cached text of older versions is ignored
TEXT_SUFFIXES = {".txt", ".text", ".csv", ".tsv", ".md", ".log", ".json", ".yaml", ".yml"}
XML_SUFFIXES = {".xml"}
# An OFD page (Doc_0/Pages/Page_0/Content.xml); the numbers order the pages.
_OFD_PAGE = re.compile(r"^Doc_(\d+)/Pages/Page_(\d+)/Content\.xml$", re.IGNORECASE)
_OFD_MAX_ENTRY_BYTES = 64 * 1024**2  # one page's XML, uncompressed (zip-bomb guard)
_OFD_MAX_RATIO = 200  # uncompressed / compressed
_SHA = re.compile(r"^[0-9a-f]{64}$")
_HAN = r"\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
# A line break (with the blanks around it) between two Han characters or CJK punctuation is
# the layout's, not the text's: PDF and OFD lines wrap inside words. Joined again, a phrase
# split over two lines is still found.
_CJK_WRAP = re.compile(rf"(?<=[{_HAN}])[ \t\u3000]*\n[ \t\u3000]*(?=[{_HAN}])")
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
_NEWLINES = re.compile(r"\n\s*\n+")


def extract_text(path: Path, name: str = "", *, sm3: str = "") -> str:
    """The text of the file at `path` ("" where there is none or it cannot be read). `name` is
    the original file name (its extension helps to tell the format); with the file's `sm3` the
    result is cached."""
    cached = _cache_path(sm3)
    if cached is not None:
        try:
            return cached.read_text(encoding="utf-8")
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warning("search text cache %s unreadable: %s", cached, e)
    text = _extract(path, name or path.name)
    if cached is not None:
        _store(cached, text)
    return text


def _extract(path: Path, name: str) -> str:
    try:
        size = path.stat().st_size
        if size > settings.SEARCH_TEXT_MAX_FILE_BYTES:
            log.info("search text: %s skipped, %d bytes over the cap", name, size)
            return ""
        kind = detect_kind(path, name)
        if kind == "pdf":
            raw = pdf_text(path)
        elif kind == "ofd":
            raw = ofd_text(path)
        elif kind == "xml":
            raw = xml_text(path.read_bytes())
        elif kind == "text":
            raw = decode_text(path.read_bytes())
        else:
            return ""
        return normalise(raw)[: settings.SEARCH_TEXT_MAX_CHARS]
    except Exception as e:  # a bad file must never stop indexing: log why, index no text
        log.warning("search text: cannot extract text from %s (%s): %s", name, path, e)
        return ""


def detect_kind(path: Path, name: str) -> str:
    """pdf | ofd | xml | text | "" (not a format with text we read), from the content first."""
    with path.open("rb") as f:
        head = f.read(512)
    suffix = Path(name).suffix.lower()
    if head.startswith(b"%PDF-") or (suffix == ".pdf" and b"%PDF-" in head):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        if suffix == ".ofd":
            return "ofd"
        try:
            with zipfile.ZipFile(path) as z:
                return "ofd" if "OFD.xml" in z.namelist() else ""
        except zipfile.BadZipFile:
            return ""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in XML_SUFFIXES or stripped.startswith(b"<?xml"):
        return "xml"
    if suffix in TEXT_SUFFIXES:
        return "text"
    return ""


def pdf_text(path: Path) -> str:
    """The text layer of a PDF through pdftotext (poppler-utils), killed after the timeout and
    read up to the character cap."""
    exe = shutil.which("pdftotext")
    if exe is None:
        log.warning("search text: pdftotext not found (apt-get install poppler-utils)")
        return ""
    limit = settings.SEARCH_TEXT_MAX_CHARS * 4  # UTF-8 bytes
    try:
        done = subprocess.run(
            [exe, "-q", "-enc", "UTF-8", "-nopgbrk", str(path), "-"],
            capture_output=True,
            timeout=settings.SEARCH_TEXT_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        log.warning("search text: pdftotext timed out on %s", path)
        return ""
    if done.returncode != 0:
        log.warning("search text: pdftotext failed on %s (exit %d)", path, done.returncode)
        return ""
    return done.stdout[:limit].decode("utf-8", errors="ignore")


def _safe_parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: billion-laughs and XXE cannot get through.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
    )


def xml_text(data: bytes) -> str:
    """The text nodes of an XML document, one line per element that holds text."""
    root = etree.fromstring(data, _safe_parser())
    if root is None:
        return ""
    parts = [t.strip() for t in root.itertext() if t and t.strip()]
    return "\n".join(parts)


def ofd_text(path: Path) -> str:
    """The TextCode elements of every page of an OFD (GB/T 33190), pages in order."""
    pages: list[tuple[int, int, str]] = []
    total = 0
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            m = _OFD_PAGE.match(info.filename)
            if m is None:
                continue
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > _OFD_MAX_ENTRY_BYTES or ratio > _OFD_MAX_RATIO:
                log.warning("search text: OFD page %s of %s skipped (too big)", info.filename, path)
                continue
            total += info.file_size
            if total > settings.SEARCH_TEXT_MAX_FILE_BYTES:
                break
            pages.append((int(m[1]), int(m[2]), info.filename))
        out: list[str] = []
        for _, _, entry in sorted(pages):
            root = etree.fromstring(z.read(entry), _safe_parser())
            if root is None:
                continue
            lines = [
                "".join(el.itertext())
                for el in root.iter()
                if isinstance(el.tag, str) and etree.QName(el).localname == "TextCode"
            ]
            out.append("\n".join(lines))
    return "\n\n".join(out)


def decode_text(data: bytes) -> str:
    """Bytes of a plain-text file as text: UTF-8 (with or without BOM), UTF-16 with a BOM, else
    GB18030 (which covers GBK and GB2312); undecodable bytes are dropped, never guessed."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


def normalise(text: str) -> str:
    """Tidy extracted text: no control characters, blanks collapsed, lines wrapped inside
    Chinese text joined again, at most one empty line between paragraphs."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or ch >= " ")
    text = _BLANKS.sub(" ", text)
    text = _CJK_WRAP.sub("", text)
    text = _NEWLINES.sub("\n\n", text)
    return text.strip()


# --- cache ----------------------------------------------------------------------------------------
def _cache_path(sm3: str) -> Path | None:
    if not _SHA.match(sm3 or ""):
        return None
    root = Path(settings.SEARCH_TEXT_CACHE_DIR)
    return root / sm3[:2] / f"{sm3}.v{EXTRACTOR_VERSION}.txt"


def _store(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:  # a cache that cannot be written costs time, never correctness
        log.warning("search text cache %s not written: %s", path, e)
