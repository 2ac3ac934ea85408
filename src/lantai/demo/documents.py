"""Page images and PDFs of plausible Chinese documents, the demo's electronic files.

A page is drawn with Pillow like a scanned 公文: the issuing body in red (红头), the 文号, a red
rule, the title, body paragraphs, the body's name and date and a red seal; a 卷内文件 of a volume
gets a plain page (title, text, date). A PDF holds the page images of a scanned document, as
digitised paper records are delivered. The text is set in the Noto CJK fonts of Debian's
``fonts-noto-cjk`` (installed by scripts/setup.sh): nothing is downloaded at run time, and without
the fonts the demo says what to install instead of drawing empty boxes."""

from __future__ import annotations

import functools
import io
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .words import words

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_FILES = {"serif": "NotoSerifCJK-Regular.ttc", "bold": "NotoSerifCJK-Bold.ttc"}
FONT_PACKAGE = "fonts-noto-cjk"
WIDTH, HEIGHT = 827, 1169  # A4 at 100 dpi
MARGIN = 90
RED = (200, 20, 20)
INK = (25, 25, 30)


class FontMissing(RuntimeError):
    """The CJK fonts of fonts-noto-cjk are not installed."""


@dataclass(frozen=True)
class Document:
    issuer: str  # 发文机关 / 立档单位
    title: str
    date: str  # YYYY-MM-DD
    number: str = ""  # 文号
    topic: str = ""


def fonts_available() -> str | None:
    """None when the fonts are there, else what to do (a sentence for the demo's summary)."""
    missing = [name for name in FONT_FILES.values() if not (FONT_DIR / name).is_file()]
    if missing:
        return (
            f"缺少中文字体 {FONT_DIR / missing[0]}：请运行 scripts/setup.sh"
            f"（安装 Debian 软件包 {FONT_PACKAGE}），演示数据未附电子文件"
        )
    return None


@functools.cache
def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    path = FONT_DIR / FONT_FILES[kind]
    if not path.is_file():
        raise FontMissing(fonts_available() or str(path))
    return ImageFont.truetype(str(path), size, index=_sc_index(str(path)))


@functools.cache
def _sc_index(path: str) -> int:
    """The face of the collection that carries Simplified Chinese glyph forms."""
    for index in range(10):
        try:
            family = ImageFont.truetype(path, 12, index=index).getname()[0] or ""
        except OSError:
            break
        if family.endswith(" SC"):
            return index
    return 0


NO_LINE_START = "，。、；：？！）》」』”’"


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int, indent: int = 2) -> list[str]:
    """Lines no wider than ``width`` (half-width digits take half the room); a closing
    punctuation mark never begins a line (it hangs at the end of the previous one)."""
    lines, line = [], "\u3000" * indent
    for ch in text:
        if line and ch not in NO_LINE_START and font.getlength(line + ch) > width:
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def _balanced(lines: list[str]) -> list[str]:
    """A title's lines of about equal length (no lone last character)."""
    if len(lines) < 2:
        return lines
    text = "".join(lines)
    per = -(-len(text) // len(lines))
    return [text[i : i + per] for i in range(0, len(text), per)]


def _paragraphs(doc: Document, rng: random.Random, n: int) -> list[str]:
    phrases = words()["document_phrases"]
    topic = doc.topic or subject(doc.title)
    opening = rng.choice(phrases["openings"]).format(topic=topic)
    body = [p.format(topic=topic) for p in phrases["points"][:n]]
    return [opening, *body, rng.choice(phrases["closings"])]


def subject(title: str) -> str:
    """关于做好2020年防汛工作的通知 → 做好2020年防汛工作 (what the body text is about)."""
    text = title.removeprefix("关于")
    for tail in ("的通知", "的报告", "的请示", "的批复", "的意见", "的决定", "的函", "的总结报告"):
        if text.endswith(tail):
            return text.removesuffix(tail)
    return text


def _paper(year: int, rng: random.Random) -> Image.Image:
    """Whiter paper for recent documents, yellowed for old ones."""
    age = max(0, min(70, 2025 - year))
    tint = (255 - age // 3, 252 - age // 2, 240 - age)
    jitter = rng.randint(-3, 3)
    return Image.new("RGB", (WIDTH, HEIGHT), tuple(max(0, c + jitter) for c in tint))


def _seal(draw: ImageDraw.ImageDraw, centre: tuple[int, int], name: str) -> None:
    x, y = centre
    r = 70
    draw.ellipse((x - r, y - r, x + r, y + r), outline=RED, width=5)
    draw.text((x, y - 8), "★", font=_font("bold", 40), fill=RED, anchor="mm")
    label = name[-8:]
    draw.text((x, y + 38), label, font=_font("bold", 15), fill=RED, anchor="mm")


def render_pages(
    doc: Document, *, pages: int = 1, red_header: bool = True, seed: int = 0
) -> list[Image.Image]:
    """``pages`` page images of ``doc`` (the first with the header and title, the last with the
    date and seal)."""
    rng = random.Random(f"{seed}:{doc.title}:{doc.date}")
    year = int(doc.date[:4]) if doc.date[:4].isdigit() else 2000
    body_font = _font("serif", 21)
    out = []
    for page in range(pages):
        img = _paper(year, rng)
        draw = ImageDraw.Draw(img)
        y = MARGIN
        if page == 0:
            if red_header:
                header = f"{doc.issuer}文件"
                hsize = min(54, (WIDTH - 2 * MARGIN) // max(1, len(header)))
                draw.text(
                    (WIDTH // 2, y + 20), header, font=_font("bold", hsize), fill=RED, anchor="mm"
                )
                y += 70
                if doc.number:
                    draw.text((WIDTH // 2, y), doc.number, font=body_font, fill=INK, anchor="mm")
                    y += 26
                draw.line((MARGIN, y, WIDTH - MARGIN, y), fill=RED, width=3)
                y += 40
            title_font = _font("bold", 28)
            for line in _balanced(_wrap(doc.title, title_font, WIDTH - 2 * MARGIN, indent=0)):
                draw.text((WIDTH // 2, y), line, font=title_font, fill=INK, anchor="mm")
                y += 42
            y += 20
        if red_header:
            for text in _paragraphs(doc, rng, rng.randint(2, 4)):
                for line in _wrap(text, body_font, WIDTH - 2 * MARGIN):
                    if y > HEIGHT - MARGIN - 200:
                        break
                    draw.text((MARGIN, y), line, font=body_font, fill=INK)
                    y += 36
        else:
            _ledger(draw, y, rng)
        if page == pages - 1:
            right = WIDTH - MARGIN - 40
            draw.text(
                (right, HEIGHT - MARGIN - 130), doc.issuer, font=body_font, fill=INK, anchor="rm"
            )
            day = _chinese_date(doc.date)
            draw.text((right, HEIGHT - MARGIN - 95), day, font=body_font, fill=INK, anchor="rm")
            if red_header:
                _seal(draw, (right - 90, HEIGHT - MARGIN - 115), doc.issuer)
        label = f"— {page + 1} —"
        draw.text((WIDTH // 2, HEIGHT - 45), label, font=_font("serif", 16), fill=INK, anchor="mm")
        out.append(img)
    return out


def _ledger(draw: ImageDraw.ImageDraw, top: int, rng: random.Random) -> None:
    """A voucher-like table (序号, 摘要, 金额) for the pages of a 卷内文件."""
    font = _font("serif", 19)
    columns = (MARGIN, MARGIN + 80, WIDTH - MARGIN - 180, WIDTH - MARGIN)
    entries = words()["ledger_entries"]
    rows = [("序号", "摘要", "金额（元）")] + [
        (str(n), rng.choice(entries), f"{rng.randint(200, 980000) / 100:,.2f}")
        for n in range(1, rng.randint(6, 12) + 1)
    ]
    height = 40
    for i, row in enumerate(rows):
        y = top + i * height
        draw.line((columns[0], y, columns[-1], y), fill=INK, width=1)
        for x, cell, right in zip(columns, row, (False, False, True), strict=False):
            if right:
                draw.text((columns[-1] - 10, y + 20), cell, font=font, fill=INK, anchor="rm")
            else:
                draw.text((x + 10, y + 20), cell, font=font, fill=INK, anchor="lm")
    bottom = top + len(rows) * height
    draw.line((columns[0], bottom, columns[-1], bottom), fill=INK, width=1)
    for x in columns:
        draw.line((x, top, x, bottom), fill=INK, width=1)


def _chinese_date(date: str) -> str:
    try:
        y, m, d = (int(p) for p in date[:10].split("-"))
    except ValueError:
        return date
    return f"{y}年{m}月{d}日"


def jpeg_bytes(page: Image.Image) -> bytes:
    buf = io.BytesIO()
    page.save(buf, "JPEG", quality=70, optimize=False, dpi=(100, 100))
    return buf.getvalue()


def pdf_bytes(pages: list[Image.Image], title: str) -> bytes:
    """A PDF of the page images (a scanned document), each page A4 at 100 dpi."""
    buf = io.BytesIO()
    first, *rest = pages
    first.save(
        buf, "PDF", save_all=True, append_images=rest, resolution=100.0, quality=70, title=title
    )
    return buf.getvalue()
