"""`lantai exhibition …`: 网上展厅 from the command line.

    lantai exhibition export SLUG --out DIR [--json]

writes the published version of an exhibition as a static HTML package (exhibits/export.py).
Exit codes: 0 written; 1 refused (not published, withdrawn, out of its dates, target not empty,
an image that can no longer be fetched); 2 usage (a missing or bad option). With --json the
outcome, errors included, is one JSON object on stdout."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lantai.cli_common import EXIT_OK, EXIT_REFUSED, django_setup, echo_json, fail


@click.group()
def exhibition() -> None:
    """网上展厅: export a published exhibition as a static HTML package."""


@exhibition.command("export")
@click.argument("slug")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="目标目录（须不存在或为空）")  # fmt: skip
@click.option("--lang", type=click.Choice(["zh-hans", "en"]), default="zh-hans")
@click.option("--json", "as_json", is_flag=True)
def export_command(slug: str, out: Path, lang: str, as_json: bool) -> None:
    """Write the published version of exhibition SLUG to DIR (index.html, pages, images,
    manifest.json with SHA-256 and SM3)."""
    django_setup()
    from django.utils import translation

    from lantai.cli_common import cli_actor
    from lantai.core.audit import acting_as
    from lantai.exhibits import export

    try:
        with translation.override(lang), acting_as(cli_actor()):
            summary = export.export(slug, out, lang)
    except export.ExportRefused as e:
        fail(str(e), EXIT_REFUSED, as_json)
    if as_json:
        echo_json(summary)
    else:
        click.echo(
            f"已导出展览 {slug}（第{summary['version']}版）：{summary['pages']}页，"
            f"{summary['images']}幅图像，{summary['files']}个文件 → {out}"
        )
    sys.exit(EXIT_OK)
