"""`lantai export …`: finding aids for exchange.

lantai export ead --fonds F [--repository R] [--ead3] --out FILE [--json]
    the EAD 2002 (or EAD3) finding aid of fonds F of archives R (default: this archives)
    → {"ok": true, "fonds", "repository", "format", "records", "out"};
    exit 0 written, 2 no such archives or fonds, or FILE cannot be written."""

from __future__ import annotations

from pathlib import Path

import click

from lantai.cli_common import EXIT_UNREADABLE, django_setup, echo_json, fail


@click.group()
def export() -> None:
    """导出: finding aids (EAD 2002, EAD3) for exchange with other archives."""


@export.command("ead")
@click.option("--fonds", "fonds_code", required=True, help="全宗号")
@click.option("--repository", default=None, help="档案馆代码 (default: this archives)")
@click.option("--ead3", is_flag=True, help="EAD3 instead of EAD 2002")
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--json", "as_json", is_flag=True)
def export_ead(
    fonds_code: str, repository: str | None, ead3: bool, out: Path, as_json: bool
) -> None:
    """The finding aid of a whole fonds: open and closed records (closed ones with their access
    restriction), never marriage records or records with a 密级."""
    django_setup()
    from lantai.catalog.services import CatalogError
    from lantai.core import audit
    from lantai.interop import ead

    try:
        fonds = ead.find_fonds(fonds_code, repository)
    except CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field=e.field or "fonds")
    if out.is_dir():
        fail(f"无法写入 {out}：这是一个目录，请给出文件名", EXIT_UNREADABLE, as_json, field="out")
    try:
        count = ead.write_fonds(fonds, out, ead3=ead3)
    except OSError as e:
        fail(f"无法写入 {out}：{e.strerror or e}", EXIT_UNREADABLE, as_json, field="out")
    fmt = "ead3" if ead3 else "ead2002"
    audit.record("export", "fonds", fonds.pk, {"format": fmt, "rows": count, "out": str(out)})
    result = {
        "ok": True, "fonds": fonds.code, "repository": fonds.repository.code, "format": fmt,
        "records": count, "out": str(out),
    }  # fmt: skip
    if as_json:
        echo_json(result)
    else:
        click.echo(f"{fonds.code} {fonds.name}: {count} 条 → {out} ({fmt})")
