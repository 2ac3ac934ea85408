"""Page images from the files of a scanning run: PNG, JPEG, TIFF (every frame), JPEG 2000 and PDF
(every page). Anything that cannot be read completely — unknown, empty, corrupt, truncated, too
large — raises `UnreadableImage` with the file and the reason in Chinese and English; a page is
never returned half-decoded (Pillow's LOAD_TRUNCATED_IMAGES stays False)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, UnidentifiedImageError

# An A0 drawing scanned at 600 dpi is about 19900 × 28100 px (560 Mpx): allowed; beyond, refused
# before decoding (a header can claim any size; decoding it would take the memory).
MAX_PAGE_PIXELS = 600_000_000
PDF_DPI = 300  # pages that are not a single image are rasterised at this resolution
TOOL_TIMEOUT = 120  # seconds for one poppler call on one page
FORMATS = {"PNG", "JPEG", "TIFF", "JPEG2000", "MPO"}
# where a JPEG page came from, unchanged: the searchable PDF embeds these bytes (no re-encoding)
JPEG_SOURCE = "lantai.jpeg_source"


@dataclass
class PageImage:
    label: str  # "a.tif" for a one-page file, "a.tif#2" for the second frame/page of several
    frame: int  # 1-based
    image: Image.Image
    dpi: tuple[float, float] | None


class UnreadableImage(Exception):
    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} — {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


def _unreadable(path: Path, zh: str, en: str) -> UnreadableImage:
    return UnreadableImage(
        f"无法读取页面图像 {path.name}：{zh}", f"cannot read page image {path.name}: {en}"
    )


@contextmanager
def bomb_limit() -> Iterator[None]:
    """Pillow refuses images over 2 × MAX_IMAGE_PIXELS and warns above it: during our calls the
    limit is ours and the warning an error."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _dpi(info: Mapping[Any, Any]) -> tuple[float, float] | None:
    value = info.get("dpi")
    if isinstance(value, tuple) and len(value) == 2:
        try:
            x, y = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
        if x > 1 and y > 1:
            return (round(x, 2), round(y, 2))
    return None


def _check_size(path: Path, size: tuple[int, int]) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise _unreadable(path, f"图像尺寸无效（{w}×{h}）", f"invalid image size ({w}×{h})")
    if w * h > MAX_PAGE_PIXELS:
        raise _unreadable(
            path,
            f"图像过大（{w}×{h} 像素，上限 {MAX_PAGE_PIXELS} 像素），可能是解压炸弹",
            f"image too large ({w}×{h} px, limit {MAX_PAGE_PIXELS} px), possibly a decompression bomb",
        )


def load_pages(path: Path) -> Iterator[PageImage]:
    """Every page of the file at `path`, in order. Raises `UnreadableImage` (also midway, for a
    corrupt later frame)."""
    path = Path(path)
    if not path.is_file():
        raise _unreadable(path, "文件不存在", "no such file")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # something switched it on: never accept half a page
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as e:
        raise _unreadable(path, f"无法打开（{e.strerror}）", f"cannot open ({e.strerror})") from e
    if not head:
        raise _unreadable(path, "文件为空（0 字节）", "empty file (0 bytes)")
    if head.startswith(b"%PDF-"):
        yield from _pdf_pages(path)
        return
    yield from _raster_pages(path)


def _raster_pages(path: Path) -> Iterator[PageImage]:
    data = path.read_bytes()
    try:
        with bomb_limit():
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise _unreadable(
            path,
            "图像尺寸过大，可能是解压炸弹",
            f"image too large, possibly a decompression bomb ({e})",
        ) from e
    except UnidentifiedImageError as e:
        raise _unreadable(path, "不是可识别的图像格式", "not a recognised image format") from e
    except Exception as e:  # SyntaxError, struct.error, OSError from damaged headers
        raise _unreadable(path, f"图像文件头已损坏（{e}）", f"damaged image header ({e})") from e
    if im.format not in FORMATS:
        raise _unreadable(
            path,
            f"不支持的图像格式 {im.format}（支持 PNG、JPEG、TIFF、JPEG 2000、PDF）",
            f"unsupported image format {im.format} (PNG, JPEG, TIFF, JPEG 2000, PDF are)",
        )
    try:
        frames = int(getattr(im, "n_frames", 1) or 1)
    except Exception as e:
        raise _unreadable(path, "多页图像的页目录已损坏", f"damaged frame directory ({e})") from e
    if im.format == "MPO":  # a JPEG with an embedded preview: the first frame is the page
        frames = 1
    for n in range(1, frames + 1):
        try:
            with bomb_limit():
                if n > 1:
                    im.seek(n - 1)
                _check_size(path, im.size)
                im.load()
                page = im.copy()
        except UnreadableImage:
            raise
        except Exception as e:  # OSError "image file is truncated", decoder errors, EOFError
            where = f"第 {n} 页" if frames > 1 else ""
            raise _unreadable(
                path,
                f"{where}图像数据不完整或已损坏（{e}）",
                f"{f'frame {n}: ' if frames > 1 else ''}image data truncated or damaged ({e})",
            ) from e
        page.info = dict(im.info)
        if im.format in ("JPEG", "MPO") and frames == 1 and page.mode in ("L", "RGB"):
            page.info[JPEG_SOURCE] = data
        label = f"{path.name}#{n}" if frames > 1 else path.name
        yield PageImage(label=label, frame=n, image=page, dpi=_dpi(page.info))


# --- PDF -----------------------------------------------------------------------------------------


def _poppler(path: Path, args: list[str]) -> str:
    exe = shutil.which(args[0])
    if not exe:
        raise _unreadable(
            path,
            f"未安装 {args[0]}（poppler-utils）",
            f"{args[0]} (poppler-utils) is not installed",
        )
    try:
        proc = subprocess.run(
            [exe, *args[1:]], capture_output=True, timeout=TOOL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise _unreadable(
            path, f"{args[0]} 超时（{TOOL_TIMEOUT} 秒）", f"{args[0]} timed out ({TOOL_TIMEOUT} s)"
        ) from e
    err = proc.stderr.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise _unreadable(
            path, f"PDF 无法解析（{err[-300:]}）", f"PDF cannot be parsed ({err[-300:]})"
        )
    return proc.stdout.decode(errors="replace")


def _pdf_pages(path: Path) -> Iterator[PageImage]:
    info = _poppler(path, ["pdfinfo", "-f", "1", "-l", "100000", str(path)])
    match = re.search(r"^Pages:\s+(\d+)", info, re.M)
    if not match or int(match.group(1)) < 1:
        raise _unreadable(path, "PDF 没有页面", "PDF has no pages")
    count = int(match.group(1))
    sizes = {
        int(m.group(1)): (float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+)", info, re.M)
    }
    rotations = {
        int(m.group(1)): int(m.group(2))
        for m in re.finditer(r"^Page\s+(\d+) rot:\s+(\d+)", info, re.M)
    }
    with tempfile.TemporaryDirectory(prefix="lantai-pdf-") as tmp:
        for n in range(1, count + 1):
            label = f"{path.name}#{n}" if count > 1 else path.name
            image, dpi = _pdf_page(path, n, sizes.get(n), rotations.get(n, 0), Path(tmp))
            yield PageImage(label=label, frame=n, image=image, dpi=dpi)


def _pdf_page(
    path: Path, n: int, size_pt: tuple[float, float] | None, rotation: int, tmp: Path
) -> tuple[Image.Image, tuple[float, float] | None]:
    listing = _poppler(path, ["pdfimages", "-list", "-f", str(n), "-l", str(n), str(path)])
    rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
    # a scanned page: one image (no soft mask), covering the page, the page not rotated
    if len(rows) == 1 and rows[0][2] == "image" and size_pt and rotation % 360 == 0:
        try:
            width, height = int(rows[0][3]), int(rows[0][4])
            xppi, yppi = float(rows[0][12]), float(rows[0][13])
        except (ValueError, IndexError):
            width = height = 0
            xppi = yppi = 0.0
        covers = (
            xppi > 0
            and yppi > 0
            and abs(width / xppi * 72 - size_pt[0]) <= 0.03 * size_pt[0]
            and abs(height / yppi * 72 - size_pt[1]) <= 0.03 * size_pt[1]
        )
        if covers:
            _check_size(path, (width, height))
            prefix = tmp / f"img-{n}"
            _poppler(
                path, ["pdfimages", "-png", "-f", str(n), "-l", str(n), str(path), str(prefix)]
            )
            found = sorted(tmp.glob(f"img-{n}-*.png"))
            if found:
                return _read_extracted(path, found[0], n), (xppi, yppi)
    if size_pt:
        _check_size(path, (round(size_pt[0] / 72 * PDF_DPI), round(size_pt[1] / 72 * PDF_DPI)))
    prefix = tmp / f"page-{n}"
    _poppler(
        path,
        [
            "pdftoppm",
            "-r",
            str(PDF_DPI),
            "-png",
            "-f",
            str(n),
            "-l",
            str(n),
            "-singlefile",
            str(path),
            str(prefix),
        ],
    )
    return _read_extracted(path, prefix.with_suffix(".png"), n), (float(PDF_DPI), float(PDF_DPI))


def _read_extracted(path: Path, png: Path, n: int) -> Image.Image:
    try:
        with bomb_limit(), Image.open(png) as im:
            _check_size(path, im.size)
            im.load()
            return im.copy()
    except UnreadableImage:
        raise
    except Exception as e:
        raise _unreadable(
            path, f"PDF 第 {n} 页无法转为图像（{e}）", f"PDF page {n} cannot be rendered ({e})"
        ) from e
    finally:
        png.unlink(missing_ok=True)
