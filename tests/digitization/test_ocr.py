"""The OCR engine on small generated pages and the vertical-text sample: real rapidocr (the
models in its wheel), real tesseract. The engine is made once per process (`get_engine`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from lantai.digitization.ocr import (
    OcrEngine,
    OcrLine,
    TesseractEngine,
    get_engine,
    order_lines,
    threads_for_worker,
)

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
VERTICAL = Path("/work/shared/corpora/rapidocr-test-images/text_vertical_words.png")


def render(
    lines: list[str], *, size: int = 40, width: int = 900, at: tuple[int, int] = (40, 30)
) -> Image.Image:
    font = ImageFont.truetype(FONT, size, index=2)
    img = Image.new("L", (width, at[1] * 2 + len(lines) * size * 2), 255)
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        draw.text((at[0], at[1] + i * size * 2), text, font=font, fill=0)
    return img


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return get_engine(1)


def test_reads_a_small_page_in_order_with_boxes_in_original_pixels(engine: OcrEngine) -> None:
    lines = ["关于做好档案移交工作的通知", "各有关单位：请于年底前报送。"]
    img = render(lines, at=(120, 30))
    page = engine.read(img)
    assert page.text.split("\n") == lines
    assert (page.width, page.height) == img.size and not page.vertical
    first = page.lines[0].box
    # the first line starts near x=120 and sits in the top band, in this image's pixels
    assert 100 <= first[0] <= 140 and first[1] < 60 and first[3] < 110
    assert page.lines[1].box[1] > first[3] - 5
    assert 0.8 < page.mean_confidence <= 1.0
    assert "rapidocr 3.10.0" in page.engine and page.seconds > 0
    assert get_engine(1) is engine  # one engine per process


def test_large_page_is_downscaled_for_the_detector_but_boxes_stay_in_original_coordinates(
    engine: OcrEngine,
) -> None:
    img = Image.new("L", (2600, 1400), 255)
    small = render(["数字化成果质量检查"], size=60, width=800)
    img.paste(small, (1700, 1200))
    page = engine.read(img)
    assert page.text == "数字化成果质量检查"
    x0, y0, x1, y1 = page.lines[0].box
    assert 1700 <= x0 <= 1780 and 1200 <= y0 <= 1260 and x1 > 2200 and y1 <= 1400


def test_vertical_page_reads_columns_right_to_left(engine: OcrEngine) -> None:
    page = engine.read(Image.open(VERTICAL))
    assert page.vertical
    assert page.lines[0].text.startswith("有評是是非非之士")
    assert page.lines[1].text.startswith("是非不得問之人")
    assert [ln.box[0] for ln in page.lines] == sorted(
        (ln.box[0] for ln in page.lines), reverse=True
    )


def test_blank_page_has_no_lines(engine: OcrEngine) -> None:
    page = engine.read(Image.new("RGB", (300, 200), "white"))
    assert page.lines == [] and page.text == "" and page.mean_confidence == 0.0


def test_reading_order_joins_a_row_left_to_right() -> None:
    a = OcrLine("右", (500, 102, 600, 150), 0.9)
    b = OcrLine("左", (10, 100, 120, 148), 0.9)
    c = OcrLine("下", (10, 200, 300, 250), 0.9)
    ordered, vertical = order_lines([c, a, b])
    assert [ln.text for ln in ordered] == ["左", "右", "下"] and not vertical


def test_threads_for_worker_shares_the_cores() -> None:
    assert threads_for_worker(2, 2) == 1
    assert threads_for_worker(3, 16) == 5
    assert threads_for_worker(8, 2) == 1
    assert threads_for_worker(1) >= 1


@pytest.mark.skipif(not shutil.which("tesseract"), reason="tesseract not installed")
def test_tesseract_engine_reads_chinese_lines() -> None:
    img = render(["档案移交清单", "永久保管"], size=48, width=700)
    page = TesseractEngine(1).read(img)
    assert "".join(page.text.split()) == "档案移交清单永久保管"
    assert len(page.lines) == 2 and page.lines[0].box[1] < page.lines[1].box[1]
    assert page.engine.startswith("tesseract")


def test_a_gpu_worker_without_a_cuda_onnxruntime_refuses_instead_of_using_the_cpu() -> None:
    import onnxruntime

    from lantai.digitization.ocr import OcrEngine

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has a CUDA onnxruntime")
    with pytest.raises(RuntimeError, match="onnxruntime-gpu"):
        OcrEngine(1, device="cuda")
    with pytest.raises(ValueError, match="cpu or cuda"):
        OcrEngine(1, device="tpu")
