"""DA/T 31 checks of one file as a whole: what it is from its content (format, compression, JPEG
quality, frames, dpi) and whether it decodes completely (:func:`file_facts`), and the
file_integrity and file_format findings (:func:`evaluate_file`). No Django here."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFile

from lantai.digitization.page_images import bomb_limit
from lantai.standards import dat31
from lantai.standards.dat31 import Finding, make_finding

__all__ = ["FileFacts", "evaluate_file", "file_facts", "jpeg_quality", "sniff_format"]


@dataclass(frozen=True)
class FileFacts:
    """What one file is, from its content and a full decode."""

    path: str
    size: int
    format: str  # from the magic bytes, "unknown" when none matched
    suffix: str  # the name's suffix, lower case (evidence only: the content decides)
    compression: str | None  # of the first frame
    frame_compressions: tuple[str, ...]
    jpeg_quality: int | None
    frames: int
    width: int | None
    height: int | None
    dpi: tuple[float, float] | None
    pillow_mode: str | None
    readable: bool  # decoded completely
    truncated: bool
    error: str | None
    notes: tuple[str, ...] = ()  # the decoder's warnings (e.g. corrupt EXIF), evidence only


# ------------------------------------------------------------------------------------ file facts

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"II*\x00", 0, "TIFF"),
    (b"MM\x00*", 0, "TIFF"),
    (b"II+\x00", 0, "TIFF"),  # BigTIFF
    (b"MM\x00+", 0, "TIFF"),
    (b"\xff\xd8\xff", 0, "JPEG"),
    (b"\x89PNG\r\n\x1a\n", 0, "PNG"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "JPEG2000"),
    (b"\xffO\xffQ", 0, "JPEG2000"),  # raw J2K codestream
    (b"%PDF-", 0, "PDF"),
    (b"BM", 0, "BMP"),
    (b"GIF8", 0, "GIF"),
    (b"WEBP", 8, "WEBP"),
)
_SUFFIX_FORMAT = {
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jp2": "JPEG2000",
    ".j2k": "JPEG2000",
    ".jpf": "JPEG2000",
    ".jpx": "JPEG2000",
    ".png": "PNG",
    ".pdf": "PDF",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".webp": "WEBP",
}
_TIFF_COMPRESSION = {
    "raw": "none",
    "tiff_lzw": "lzw",
    "group4": "group4",
    "group3": "group3",
    "tiff_ccitt": "ccitt-rle",
    "packbits": "packbits",
    "tiff_adobe_deflate": "deflate",
    "tiff_deflate": "deflate",
    "jpeg": "jpeg",
    "tiff_jpeg": "jpeg",
    "tiff_raw_16": "none",
    "webp": "webp",
}
_PDF_FILTERS = {
    "/DCTDecode": "jpeg",
    "/JPXDecode": "jpeg2000",
    "/CCITTFaxDecode": "ccitt",
    "/JBIG2Decode": "jbig2",
    "/FlateDecode": "deflate",
    "/LZWDecode": "lzw",
    "/RunLengthDecode": "packbits",
}
# ITU-T T.81 Annex K luminance table, natural order: the base of libjpeg's quality scaling
_JPEG_LUMA = np.array(
    [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
     14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
     18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99],
    dtype=np.int64,
)  # fmt: skip


def sniff_format(head: bytes) -> str:
    """The image/document format from the first bytes of a file, "unknown" when none matches."""
    for magic, at, name in _MAGIC:
        if head[at : at + len(magic)] == magic:
            return name
    return "unknown"


def jpeg_quality(table: Sequence[int]) -> int | None:
    """The libjpeg quality (1–100) whose scaled Annex K table is nearest the luminance table
    ``table`` (natural order, as Pillow gives it); None for a table far from any (a custom one)."""
    q = np.asarray(list(table)[:64], dtype=np.int64)
    if q.size != 64:
        return None
    best, best_error = 0, None
    for quality in range(1, 101):
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
        candidate = np.clip((_JPEG_LUMA * scale + 50) // 100, 1, 255)
        error = int(np.abs(candidate - q).sum())
        if best_error is None or error < best_error:
            best, best_error = quality, error
    assert best_error is not None
    return best if best_error <= 64 else None


def _dpi(info: Mapping[Any, Any]) -> tuple[float, float] | None:
    value = info.get("dpi")
    if not value:
        return None
    try:
        x, y = float(value[0]), float(value[1])
    except (TypeError, ValueError, IndexError):
        return None
    return (x, y) if x > 1 and y > 1 else None  # JFIF "aspect ratio only" reads as 1×1


def _pdf_facts(path: Path, data_tail: bytes) -> dict[str, Any]:
    import pikepdf  # only PDFs need it

    out: dict[str, Any] = {"frames": 0, "compressions": [], "error": None, "truncated": False}
    if b"%%EOF" not in data_tail:
        out["truncated"] = True
        out["error"] = "no %%EOF at the end of the PDF"
    try:
        with pikepdf.open(path) as pdf:
            out["frames"] = len(pdf.pages)
            for page in pdf.pages:
                for _, xobject in page.get_images().items():
                    raw = xobject.read_raw_bytes()  # the stream must be there in full
                    filters = xobject.get("/Filter")
                    names = filters if isinstance(filters, pikepdf.Array) else [filters]
                    label = "+".join(
                        _PDF_FILTERS.get(str(f), str(f)) for f in names if f is not None
                    )
                    out["compressions"].append(label or ("none" if raw else "empty"))
    except Exception as exc:  # any parse failure is the finding itself
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def _tiff_ifd_offset(head: bytes) -> int:
    """Where the first image directory of a classic TIFF starts (0 when unknown or BigTIFF)."""
    if head[:4] == b"II*\x00":
        return int.from_bytes(head[4:8], "little")
    if head[:4] == b"MM\x00*":
        return int.from_bytes(head[4:8], "big")
    return 0


def file_facts(path: Path) -> FileFacts:
    """Identify ``path`` by content, read its compression, and decode every frame completely
    (a truncated or corrupt file is a finding, never an exception)."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(32)
        fh.seek(max(0, size - 1024))
        tail = fh.read()
    fmt = sniff_format(head)
    facts: dict[str, Any] = {
        "path": str(path),
        "size": size,
        "format": fmt,
        "suffix": path.suffix.lower(),
        "compression": None,
        "frame_compressions": (),
        "jpeg_quality": None,
        "frames": 0,
        "width": None,
        "height": None,
        "dpi": None,
        "pillow_mode": None,
        "readable": False,
        "truncated": False,
        "error": None,
    }
    if size == 0:
        return FileFacts(**{**facts, "error": "empty file (0 bytes)", "truncated": True})
    if fmt == "PDF":
        pdf = _pdf_facts(path, tail)
        comps = tuple(dict.fromkeys(pdf["compressions"]))
        return FileFacts(
            **{
                **facts,
                "frames": pdf["frames"],
                "frame_compressions": comps,
                "compression": comps[0] if comps else None,
                "readable": pdf["error"] is None and pdf["frames"] > 0,
                "truncated": pdf["truncated"],
                "error": pdf["error"] or (None if pdf["frames"] else "no pages"),
            }
        )
    # a process-wide switch another library may have flipped would hide truncation
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        facts["error"] = "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on: truncation undetectable"
    compressions: list[str] = []
    caught: list[warnings.WarningMessage] = []
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            bomb_limit(),
            Image.open(path) as im,
        ):
            facts.update(
                width=im.size[0], height=im.size[1], pillow_mode=im.mode, dpi=_dpi(im.info)
            )
            if fmt == "unknown" and im.format:
                facts["format"] = str(im.format)
            if fmt == "JPEG":
                tables = getattr(im, "quantization", None) or {}
                facts["jpeg_quality"] = jpeg_quality(tables[0]) if 0 in tables else None
            frames = getattr(im, "n_frames", 1)
            for index in range(frames):
                im.seek(index)
                im.load()
                raw = im.info.get("compression")
                if fmt == "TIFF":
                    compressions.append(_TIFF_COMPRESSION.get(str(raw), str(raw)))
                elif fmt == "JPEG":
                    compressions.append("jpeg")
                elif fmt == "PNG":
                    compressions.append("deflate")
                elif fmt == "JPEG2000":
                    compressions.append("jpeg2000")
                elif raw is not None:
                    compressions.append("none" if raw == 0 else str(raw))
            facts["frames"] = frames
        if fmt == "PNG":  # load() may stop before the last chunks; verify() reads them all
            with Image.open(path) as im:
                im.verify()
        if fmt == "JPEG" and b"\xff\xd9" not in tail:
            raise OSError("no JPEG end-of-image marker: the file is truncated")
        facts["readable"] = facts["error"] is None
    except Exception as exc:  # the decoder's complaint is the evidence
        # the evidence names the file, never where the server keeps it
        message = f"{type(exc).__name__}: {exc}".replace(str(path), path.name)
        if fmt == "TIFF" and _tiff_ifd_offset(head) >= size:
            # Pillow writes the directory after the image data: a cut file loses it first
            message = f"first TIFF directory at byte {_tiff_ifd_offset(head)}, file has {size}"
        facts["error"] = message
        facts["truncated"] = (
            "truncat" in message.lower() or "end-of-image" in message or "file has" in message
        )
    comps = tuple(compressions)
    return FileFacts(
        **{
            **facts,
            "notes": tuple(dict.fromkeys(str(w.message) for w in caught)),
            "frame_compressions": tuple(dict.fromkeys(comps)),
            "compression": comps[0] if comps else None,
        }
    )


def evaluate_file(facts: FileFacts) -> list[Finding]:
    """file_integrity and file_format of one file."""
    ev: dict[str, Any] = {"examined": f"{facts.format} file, full decode", "size": facts.size}
    if facts.readable:
        integrity = make_finding("file_integrity", "pass", {**ev, "frames": facts.frames})
    else:
        error = facts.error or "not decodable"
        ev.update(error=error, truncated=facts.truncated)
        integrity = make_finding("file_integrity", "fail", ev)
    accepted = list(dat31.threshold("file_format", "accepted"))
    fmt: dict[str, Any] = {"examined": "magic bytes", "format": facts.format}
    fmt["suffix"] = facts.suffix or "-"
    if facts.format not in accepted:
        fmt["accepted"] = accepted
        kind = make_finding("file_format", "fail", fmt, accepted_text=", ".join(accepted))
    else:
        matches = _SUFFIX_FORMAT.get(facts.suffix) == facts.format
        kind = make_finding("file_format", "pass" if matches else "warn", fmt)
    return [integrity, kind]
