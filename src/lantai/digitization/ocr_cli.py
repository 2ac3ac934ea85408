"""`lantai ocr IMAGE... [--json]`: read the text of page image files (PNG, JPEG, TIFF — every
frame —, JPEG 2000, PDF — every page) without registering anything: no data directory, no
database, no Django.

Text output: each page's lines in reading order; with several pages each is headed
``==> label <==`` (label = the path as given, ``path#N`` for page N of a multipage file).

``--json`` prints one object:
  ``{"pages": [{"file", "text", "lines": [{"text", "box": [x0, y0, x1, y1], "confidence"}],
  "seconds"}]}`` when every file was read (exit 0);
  when a file cannot be read, the other files are still read and the object is
  ``{"ok": false, "error": message (Chinese), "error_en": message, "errors": [{"file",
  "message", "message_en"}], "pages": [... the pages that were read ...]}`` (exit 2), the house
  error shape of `lantai.cli_common.fail`.
Exit codes: 0 all read, 2 an unreadable, missing or unsupported file (nothing else is skipped).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import EXIT_UNREADABLE, echo_json, fail


@click.command("ocr")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="JSON 输出 JSON output")
@click.option(
    "--engine",
    type=click.Choice(["rapidocr", "tesseract"]),
    default="rapidocr",
    show_default=True,
    help="识别引擎 OCR engine",
)
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    default=None,
    help="onnxruntime 线程数（默认：全部核心） threads (default: all cores)",
)
def ocr(images: tuple[Path, ...], as_json: bool, engine: str, threads: int | None) -> None:
    """识别页面图像中的文字（不登记） OCR page images without registering them."""
    from lantai.digitization.ocr import TesseractEngine, get_engine, threads_for_worker
    from lantai.digitization.page_images import UnreadableImage, load_pages

    n_threads = threads or threads_for_worker(1, None)
    reader: Any = TesseractEngine(n_threads) if engine == "tesseract" else get_engine(n_threads)
    pages: list[dict[str, Any]] = []
    errors: list[dict[str, str]] = []
    show_labels = len(images) > 1
    for path in images:
        try:
            for page in load_pages(path):
                result = reader.read(page.image)
                # the path as given (two x.png in different folders stay apart), #N per frame
                label = os.fspath(path) + page.label[len(path.name) :]
                pages.append(
                    {
                        "file": label,
                        "text": result.text,
                        "lines": [
                            {"text": ln.text, "box": list(ln.box), "confidence": ln.confidence}
                            for ln in result.lines
                        ],
                        "seconds": result.seconds,
                    }
                )
                if not as_json:
                    if show_labels or page.frame > 1 or "#" in page.label:
                        click.echo(f"==> {label} <==")
                    if result.text:
                        click.echo(result.text)
        except UnreadableImage as e:
            errors.append(
                {"file": os.fspath(path), "message": e.message_zh, "message_en": e.message_en}
            )
            if not as_json:
                click.echo(f"{e.message_zh} — {e.message_en}", err=True)
    if errors:
        first = errors[0]
        more = f"（另有 {len(errors) - 1} 个文件无法读取）" if len(errors) > 1 else ""
        if as_json:
            fail(
                first["message"] + more,
                EXIT_UNREADABLE,
                True,
                error_en=first["message_en"],
                errors=errors,
                pages=pages,
            )
        raise SystemExit(EXIT_UNREADABLE)
    if as_json:
        echo_json({"pages": pages})
