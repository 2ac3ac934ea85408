"""The image of the archives' seal (印章图形) printed on a certificate: a red ring, a five-pointed
star in the centre, the archives' name along the upper arc and the seal's purpose (档案查询专用章)
below the star, on a transparent background, in the manner of Chinese official seals (GB/T 33481).

It is a picture only; what makes a certificate authentic is the PAdES signature and the signed QR
payload. The font is a Noto CJK face found through fontconfig, never a file shipped or fetched.
"""

from __future__ import annotations

import functools
import io
import math
import subprocess

__all__ = ["SealFontError", "seal_png"]

RED = (218, 37, 29, 255)  # 印章红
_FONT_PATTERNS = (
    "Noto Serif CJK SC:style=Bold",
    "Noto Sans CJK SC:style=Bold",
    "Noto Serif CJK SC",
    "Noto Sans CJK SC",
    ":lang=zh-cn",
)


class SealFontError(RuntimeError):
    """No font with simplified Chinese characters: an operator's problem (install fonts-noto-cjk)."""


@functools.lru_cache(maxsize=4)
def cjk_font(patterns: tuple[str, ...] = _FONT_PATTERNS) -> tuple[str, int]:
    """(file, face index) of the first fontconfig match of ``patterns`` that covers zh-cn."""
    for pattern in patterns:
        try:
            result = subprocess.run(
                ["fc-match", "-f", "%{file}\n%{index}\n%{lang}", pattern],
                capture_output=True, text=True, timeout=20, check=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError) as exc:
            raise SealFontError(
                f"无法运行 fc-match 查找中文字体：{exc}（请安装 fontconfig 与 fonts-noto-cjk）— "
                f"cannot run fc-match to find a Chinese font: {exc} "
                "(install fontconfig and fonts-noto-cjk)"
            ) from exc
        file, index, langs = (result.stdout.split("\n") + ["", "", ""])[:3]
        if file and "zh-cn" in langs.split("|"):
            return file, int(index or 0)
    raise SealFontError(
        "找不到含简体中文字形的字体，无法绘制印章或排版证明（请安装 fonts-noto-cjk）— "
        "no font with simplified Chinese glyphs was found for the seal or the certificate "
        "(install fonts-noto-cjk)"
    )


def seal_png(archives_name: str, label: str = "档案查询专用章", size_px: int = 600) -> bytes:
    """The seal as PNG bytes (RGBA, transparent outside the red marks), ``size_px`` square."""
    name, label = archives_name.strip(), label.strip()
    if not name:
        raise ValueError("印章须有档案馆名称 — the seal needs the archives' name")
    if not 120 <= size_px <= 4000:
        raise ValueError(f"size_px must lie between 120 and 4000, got {size_px}")
    return _draw(name, label, size_px)


@functools.lru_cache(maxsize=32)
def _draw(name: str, label: str, size: int) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    file, index = cjk_font()
    # drawn at twice the size and scaled down: smooth edges without a blurred look
    big = size * 2
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre = big / 2
    ring = big * 0.47
    ring_width = max(2, round(big * 0.028))
    draw.ellipse(
        (centre - ring, centre - ring, centre + ring, centre + ring), outline=RED, width=ring_width
    )

    star_radius = big * 0.15
    _star(draw, centre, centre - big * 0.02, star_radius)

    # the name along the upper arc, read clockwise from the lower left to the lower right
    text_radius = ring - ring_width - big * 0.085
    span = min(
        250.0, max(180.0, 28.0 * (len(name) - 1))
    )  # degrees covered by the characters' centres
    char_size = round(min(big * 0.115, 2 * math.pi * text_radius * (span / 360) / len(name) * 1.08))
    font = ImageFont.truetype(file, char_size, index=index)
    step = span / (len(name) - 1) if len(name) > 1 else 0.0
    for i, char in enumerate(name):
        angle = -span / 2 + i * step  # 0° is straight up
        tile = Image.new("RGBA", (char_size * 2, char_size * 2), (0, 0, 0, 0))
        ImageDraw.Draw(tile).text((char_size, char_size), char, font=font, fill=RED, anchor="mm")
        tile = tile.rotate(-angle, resample=Image.Resampling.BICUBIC)
        rad = math.radians(angle)
        x = centre + text_radius * math.sin(rad)
        y = centre - text_radius * math.cos(rad)
        image.alpha_composite(tile, (round(x - char_size), round(y - char_size)))

    if label:
        label_size = round(min(big * 0.075, big * 0.56 / len(label)))
        label_font = ImageFont.truetype(file, label_size, index=index)
        draw.text((centre, centre + big * 0.25), label, font=label_font, fill=RED, anchor="mm")

    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _star(draw: object, cx: float, cy: float, radius: float) -> None:
    from PIL import ImageDraw

    assert isinstance(draw, ImageDraw.ImageDraw)
    inner = radius * math.sin(math.radians(18)) / math.sin(math.radians(126))
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else inner
        a = math.radians(-90 + 36 * k)
        points.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    draw.polygon(points, fill=RED)
