"""Copies delivered to the public: watermarked page images (JPEG) and stamped PDFs.

A derivative is rendered once and kept on disk under DATA_DIR/delivery/<kind>/, named by a hash
of what it is made of (the source's SM3, the stamp text, the rendering parameters and VERSION):
it is served again until one of those changes, and a change makes a new one. While a queued job
renders it, a `.queued` marker beside it stops the job from being queued twice; when it cannot be
rendered (a damaged file, a decompression bomb) a `.failed` marker keeps the reason, so the
portal says so at once instead of trying again on every request (it tries again after a day).

Nothing here knows who may see what: `lantai.access.services` checks that first.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)
VERSION = 2  # raise when the rendering changes: every derivative is then rendered again
MAX_SOURCE_PIXELS = 300_000_000  # larger images are refused; a 600 dpi A0 scan is ~220 MP
QUEUED_STALE_SECONDS = 3600  # a job queued longer ago than this is queued again (worker died)
FAILED_RETRY_SECONDS = 86400
_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
_SUFFIX = {"image": ".jpg", "pdf": ".pdf", "video": ".mp4"}


class RenderError(Exception):
    """A source that cannot be delivered; `message` (Chinese) says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def cache_path(kind: str, source_sm3: str, stamp: str, params: str = "") -> Path:
    key = hashlib.sha256(f"v{VERSION}|{kind}|{source_sm3}|{params}|{stamp}".encode()).hexdigest()
    return Path(settings.DATA_DIR) / "delivery" / kind / key[:2] / f"{key[:40]}{_SUFFIX[kind]}"


def marker(target: Path, name: str) -> Path:
    return target.with_name(f"{target.name}.{name}")


def _age(path: Path) -> float | None:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None


def failure(target: Path) -> str:
    """Why `target` could not be rendered lately, or ""."""
    flag = marker(target, "failed")
    age = _age(flag)
    if age is None or age > FAILED_RETRY_SECONDS:
        return ""
    try:
        return flag.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def claim(target: Path) -> bool:
    """Mark `target` as queued for rendering: True when the caller should queue the job, False
    when a job for it is queued already (and not stale)."""
    flag = marker(target, "queued")
    flag.parent.mkdir(parents=True, exist_ok=True)
    age = _age(flag)
    if age is not None and age <= QUEUED_STALE_SECONDS:
        return False
    if age is not None:  # a stale claim (its worker died); never another process's fresh one
        flag.unlink(missing_ok=True)
    try:
        os.close(os.open(flag, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640))
    except FileExistsError:  # another process claimed it a moment ago
        return False
    return True


def unclaim(target: Path) -> None:
    marker(target, "queued").unlink(missing_ok=True)


def render(kind: str, source: Path, stamp: str, target: Path) -> None:
    """Render the derivative of `source` into `target` (atomically); RenderError, recorded in the
    `.failed` marker, when it cannot be done. The `.queued` marker is removed either way."""
    draw: Callable[[Path, str, Path], None] = {
        "image": _render_image, "pdf": _stamp_pdf, "video": _burn_video
    }[kind]  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{secrets.token_hex(8)}.tmp")
    try:
        try:
            draw(source, stamp, tmp)
        except RenderError:
            raise
        except MemoryError as e:
            raise RenderError("文件过大，无法生成在线查阅的副本") from e
        except Exception as e:  # a file no library expected: logged, and said so to the reader
            log.exception("rendering the %s copy of %s failed", kind, source.name)
            raise RenderError("文件无法生成在线查阅的副本") from e
        os.replace(tmp, target)
        marker(target, "failed").unlink(missing_ok=True)
    except RenderError as e:
        marker(target, "failed").write_text(e.message, encoding="utf-8")
        raise
    finally:
        tmp.unlink(missing_ok=True)
        unclaim(target)


# --- page images -------------------------------------------------------------------------------
_ORIENTATION = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE",
                6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"}  # fmt: skip


def open_image(source: Path) -> Any:
    """The image at `source`, opened (header only), RenderError for what cannot be shown."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS  # warns above, raises above twice as many
    try:
        opened = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise RenderError("页面图像过大，无法在线显示") from e
    except (OSError, ValueError) as e:
        raise RenderError("页面图像已损坏或格式不受支持，无法在线显示") from e
    width, height = opened.size
    if width * height > MAX_SOURCE_PIXELS:
        opened.close()
        raise RenderError("页面图像过大，无法在线显示")
    return opened


def source_pixels(source: Path) -> int:
    """Width × height of the image at `source`, read from its header (nothing is decoded)."""
    with open_image(source) as opened:
        width, height = opened.size
    return int(width * height)


def font(size: int) -> Any:
    from PIL import ImageFont

    for candidate in _FONTS:
        if Path(candidate).is_file():
            return ImageFont.truetype(candidate, size)
    return ImageFont.load_default(size)


def _orientation(image: Any) -> int:
    """The EXIF orientation (1 = upright); 1 when the metadata cannot be read."""
    try:
        return int(image.getexif().get(0x0112, 1))
    except Exception:  # damaged metadata does not stop the page from being shown
        return 1


def _render_image(source: Path, text: str, out: Path) -> None:
    """A JPEG of the first frame, at most PUBLIC_IMAGE_MAX_PX on its longest side, with `text`
    tiled across it at 30° and written in a band at its foot."""
    from PIL import Image, ImageDraw

    limit = int(settings.PUBLIC_IMAGE_MAX_PX)
    try:
        with open_image(source) as opened:
            opened.seek(0)  # first frame of a multi-page TIFF
            orientation = _orientation(opened)
            opened.draft("RGB", (limit, limit))  # JPEG: decode at a fraction of the size
            image = opened  # scaled in place: the full-size pixels are held once
            if image.mode not in ("RGB", "L"):
                image = image.convert("L" if image.mode == "1" else "RGB")
            image.thumbnail((limit, limit))
            image = image.convert("RGB")
    except (OSError, ValueError, EOFError) as e:
        raise RenderError("页面图像已损坏或格式不受支持，无法在线显示") from e
    if orientation in _ORIENTATION:
        image = image.transpose(getattr(Image.Transpose, _ORIENTATION[orientation]))
    width, height = image.size
    size = max(14, min(width, height) // 22)
    face = font(size)
    # Tile the text on a square layer, rotate it 30° and lay it over the page.
    side = int((width**2 + height**2) ** 0.5) + size * 4
    layer = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=face)
    step_x, step_y = int(right - left) + size * 3, int(bottom - top) + size * 4
    for row, y in enumerate(range(0, side, step_y)):
        offset = (row % 2) * step_x // 2
        for x in range(-step_x + offset, side, step_x):
            draw.text((x, y), text, font=face, fill=(160, 30, 20, 80))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    cx, cy = (side - width) // 2, (side - height) // 2
    layer = layer.crop((cx, cy, cx + width, cy + height))
    # A plain band at the foot states the same, readable whatever the page looks like.
    band = max(size + size // 2, 20)
    canvas = Image.new("RGB", (width, height + band), (255, 255, 255))
    canvas.paste(image, (0, 0))
    page = canvas.convert("RGBA")
    page.alpha_composite(layer, (0, 0))
    foot = ImageDraw.Draw(page)
    foot.rectangle((0, height, width, height + band), fill=(35, 64, 90, 255))
    foot.text((size // 2, height + (band - size) // 2 - 2), text, font=font(size * 3 // 4 or 1),
              fill=(255, 255, 255, 255))  # fmt: skip
    page.convert("RGB").save(out, "JPEG", quality=85, optimize=True)


@functools.lru_cache(maxsize=16)
def placeholder_png(message: str) -> bytes:
    """A small grey page saying `message` (e.g. 正在生成…), shown while a page is rendered."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), (238, 236, 230))
    draw = ImageDraw.Draw(image)
    face = font(36)
    left, top, right, bottom = draw.textbbox((0, 0), message, font=face)
    draw.text(((600 - (right - left)) // 2, (800 - (bottom - top)) // 2), message, font=face,
              fill=(90, 90, 90))  # fmt: skip
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


# --- PDFs ---------------------------------------------------------------------------------------
def _stamp_page(width: float, height: float, text: str) -> bytes:
    """A one-page PDF of `width` × `height` points, transparent but for `text`: tiled at 30° in
    light red, and in a band at the foot (fonts embedded, so that the text can be read and found)."""
    import weasyprint

    def refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise ValueError(f"the stamp loads no resource: {url}")

    size = max(6.0, min(width, height) / 24)
    line = html.escape(("\u3000" * 3).join([text] * 4))
    tiles = "".join(f"<p>{line}</p>" for _ in range(int(height * 2 / (size * 4)) + 2))
    document = f"""<!doctype html><html><head><style>
@page {{ size: {width:.2f}pt {height:.2f}pt; margin: 0 }}
html, body {{ margin: 0; font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif }}
.tiles {{ position: absolute; left: -50%; top: -50%; width: 200%; height: 200%; overflow: hidden;
  transform: rotate(-30deg); font-size: {size:.2f}pt; color: rgba(160, 30, 20, 0.28) }}
.tiles p {{ margin: 0 0 {size * 3:.2f}pt 0; white-space: nowrap }}
.tiles p:nth-child(even) {{ margin-left: {size * 6:.2f}pt }}
.foot {{ position: absolute; left: 0; bottom: 0; width: 100%; box-sizing: border-box;
  padding: 2pt 6pt; background: rgba(35, 64, 90, 0.85); color: white;
  font-size: {max(5.0, size * 0.6):.2f}pt; white-space: nowrap; overflow: hidden }}
</style></head><body><div class="tiles">{tiles}</div><div class="foot">{html.escape(text)}</div>
</body></html>"""
    pdf: bytes = weasyprint.HTML(string=document, url_fetcher=refuse).write_pdf()
    return pdf


def _stamp_pdf(source: Path, text: str, out: Path) -> None:
    """A copy of the PDF at `source` with the stamp laid over every page; scripts, automatic
    actions and embedded files are left out of the copy."""
    import pikepdf

    try:
        pdf = pikepdf.open(source)
    except pikepdf.PasswordError as e:
        raise RenderError("PDF 文件已加密，无法在线显示") from e
    except (pikepdf.PdfError, OSError, ValueError) as e:
        raise RenderError("PDF 文件已损坏，无法在线显示") from e
    with pdf:
        root = pdf.Root
        for key in ("/AA", "/OpenAction"):
            if key in root:
                del root[key]
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            for key in ("/JavaScript", "/EmbeddedFiles"):
                if key in names:
                    del names[key]
        stamps: dict[tuple[int, int], Any] = {}  # one stamp per page size, kept open to the end
        try:
            for page in pdf.pages:
                box = [float(v) for v in page.cropbox]
                width, height = abs(box[2] - box[0]), abs(box[3] - box[1])
                if int(page.obj.get("/Rotate", 0)) % 180:  # shown turned by a quarter:
                    width, height = height, width  # the stamp is drawn as shown, qpdf turns it
                shown = (round(width), round(height))
                if shown not in stamps:
                    stamps[shown] = pikepdf.open(io.BytesIO(_stamp_page(width, height, text)))
                page.add_overlay(stamps[shown].pages[0], pikepdf.Rectangle(*box))
            pdf.save(out)
        except (pikepdf.PdfError, ValueError, KeyError) as e:
            raise RenderError("PDF 文件已损坏，无法在线显示") from e


# --- video ---------------------------------------------------------------------------------------
VIDEO_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
VIDEO_TIMEOUT_SECONDS = 6 * 3600  # a long tape at the access copy's size, on a busy worker


def _filter_path(path: Path) -> str:
    """A path as a value of an ffmpeg filter option (':' and '\\' and quotes escaped)."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


def video_filter(text_file: Path, font_file: str = VIDEO_FONT) -> str:
    """The drawtext filters that burn the watermark into every frame, as on a page image: the
    text large and faint across the middle, and plain in a dark band at the foot. The text is
    read from a file, so that no character of it is taken for filter syntax."""
    common = f"fontfile={_filter_path(Path(font_file))}:textfile={_filter_path(text_file)}"
    middle = (
        f"drawtext={common}:fontsize=h/14:fontcolor=0xA01E14@0.35:x=(w-text_w)/2:y=(h-text_h)/2"
    )
    foot = (
        f"drawtext={common}:fontsize=h/24:fontcolor=white:box=1:boxcolor=0x23405A@0.85"
        ":boxborderw=8:x=12:y=h-text_h-16"
    )
    return f"{middle},{foot}"


def video_command(source: Path, text_file: Path, out: Path) -> list[str]:
    """ffmpeg re-encoding the access copy (H.264/AAC MP4, faststart) with the watermark; the
    audio is copied as it is."""
    from lantai.digitization import av

    return [
        av.FFMPEG, "-nostdin", "-hide_banner", "-v", "error", "-y", "-i", str(source),
        "-map", "0:v:0", "-map", "0:a?", "-vf", video_filter(text_file),
        "-c:v", "libx264", "-preset", av.X264_PRESET, "-crf", str(av.X264_CRF),
        "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
        "-map_metadata", "-1", "-f", "mp4", str(out),
    ]  # fmt: skip


def _burn_video(source: Path, text: str, out: Path) -> None:
    import subprocess
    import tempfile

    if not Path(VIDEO_FONT).is_file():
        raise RenderError("缺少中文字体，无法生成带水印的录像")
    with tempfile.TemporaryDirectory(prefix="lantai-watermark-") as tmp:
        text_file = Path(tmp) / "stamp.txt"
        text_file.write_text(text, encoding="utf-8")
        cmd = video_command(source, text_file, out)
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=VIDEO_TIMEOUT_SECONDS
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RenderError("录像的水印副本未能生成") from e
    if done.returncode != 0:
        log.warning("ffmpeg watermark of %s failed: %s", source.name, done.stderr[-2000:])
        raise RenderError("录像文件无法生成在线播放的副本")
