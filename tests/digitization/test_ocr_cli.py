"""`lantai ocr` (the command object, through click's CliRunner): text and --json output, exit 0
when every file is read, 2 with the house JSON error shape when one is not. No data directory,
no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image, ImageDraw, ImageFont

from lantai.digitization.ocr_cli import ocr

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def _page(text: str) -> Image.Image:
    img = Image.new("L", (520, 110), 255)
    ImageDraw.Draw(img).text((30, 25), text, font=ImageFont.truetype(FONT, 44, index=2), fill=0)
    return img


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ocr-cli")
    _page("档案数字化").save(d / "a.png")
    frames = [_page("第一页内容"), _page("第二页内容")]
    frames[0].save(d / "b.tif", save_all=True, append_images=frames[1:])
    (d / "bad.png").write_bytes((d / "a.png").read_bytes()[:200])
    return {"a": d / "a.png", "b": d / "b.tif", "bad": d / "bad.png"}


def test_text_output_and_json_shape(files: dict[str, Path]) -> None:
    runner = CliRunner()
    text = runner.invoke(ocr, [str(files["a"])])
    assert text.exit_code == 0, text.output
    assert text.output.strip() == "档案数字化"
    result = runner.invoke(ocr, [str(files["a"]), str(files["b"]), "--json", "--threads", "1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["pages"]
    a, b = str(files["a"]), str(files["b"])  # the paths as given, #N for each frame
    assert [p["file"] for p in data["pages"]] == [a, f"{b}#1", f"{b}#2"]
    assert [p["text"] for p in data["pages"]] == ["档案数字化", "第一页内容", "第二页内容"]
    page = data["pages"][0]
    assert set(page) == {"file", "text", "lines", "seconds"} and page["seconds"] > 0
    (line,) = page["lines"]
    assert set(line) == {"text", "box", "confidence"} and len(line["box"]) == 4
    assert 20 <= line["box"][0] <= 40 and 0.5 < line["confidence"] <= 1


def test_unreadable_file_exits_2_with_valid_json_and_the_pages_that_were_read(
    files: dict[str, Path],
) -> None:
    result = CliRunner().invoke(ocr, [str(files["a"]), str(files["bad"]), "--json"])
    assert result.exit_code == 2
    data = json.loads(result.output)
    assert data["ok"] is False and "bad.png" in data["error"] and "bad.png" in data["error_en"]
    assert [e["file"] for e in data["errors"]] == [str(files["bad"])]
    assert [p["text"] for p in data["pages"]] == ["档案数字化"]
    missing = CliRunner().invoke(ocr, [str(files["a"].with_name("nope.jpg"))])
    assert missing.exit_code == 2 and "nope.jpg" in missing.output


def test_tesseract_engine_option(files: dict[str, Path]) -> None:
    result = CliRunner().invoke(ocr, [str(files["a"]), "--engine", "tesseract", "--json"])
    assert result.exit_code == 0, result.output
    assert "".join(json.loads(result.output)["pages"][0]["text"].split()) == "档案数字化"
