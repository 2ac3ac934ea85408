"""`lantai accession …`: 征集/接收登记 from the command line.

    lantai accession list [--year Y] [--json]
    lantai accession show NUMBER [--repository CODE] [--json]
    lantai accession certificate NUMBER --out FILE [--thanks] [--repository CODE] [--json]
    lantai accession restrictions [--json]

`list` lists the accessions (of every repository) with number, kind, donor, date received, items,
campaign, status, event and donor restrictions; with --json one JSON array (errors: one JSON
object). `show` prints one accession with its items, linked records and documents.
`certificate` writes the donation certificate (捐赠证书; with --thanks the thanks letter 感谢信)
of an accepted accession to FILE as PDF, issuing it (numbered, audited) the first time; later
runs write the same bytes. `restrictions` lists the donor restrictions in force today with the
number of records they hold.
Exit codes (cli_common): 0 done; 1 refused (no such accession, not accepted, not a donation);
2 usage (a bad option, --out not a file path, a database never initialised)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    django_setup,
    echo_json,
    fail,
)


@click.group()
def accession() -> None:
    """征集/接收登记: list accessions, print certificates."""


@accession.command("list")
@click.option("--year", type=click.IntRange(1000, 9999), default=None, help="接收年份")
@click.option("--json", "as_json", is_flag=True)
def list_command(year: int | None, as_json: bool) -> None:
    """List the accessions (of YEAR), oldest first."""
    django_setup()
    from lantai.holdings import services

    rows = [services.accession_summary(a) for a in services.list_accessions(None, year=year)]
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            restricted = f"  限制{len(r['restrictions'])}条" if r["restrictions"] else ""
            click.echo(
                f"{r['number']}  {r['received_on']}  {r['kind']}  {r['donor']['name']}"
                f"  {r['items']}件{restricted}"
            )
        click.echo(f"共{len(rows)}条征集登记")
    sys.exit(EXIT_OK)


def _find(number: str, repository: str | None, as_json: bool) -> Any:
    from lantai.catalog import services as catalog
    from lantai.holdings.models import Accession

    qs = Accession.objects.filter(number=number.strip())
    if repository:
        qs = qs.filter(repository__code=repository)
    else:
        qs = qs.filter(repository=catalog.default_repository())
    found = qs.select_related("donor", "campaign", "repository").first()
    if found is None:
        where = f"档案馆 {repository}" if repository else "本馆"
        fail(f"{where}没有登记号为 {number} 的征集登记", EXIT_REFUSED, as_json, number=number)
    return found


@accession.command("show")
@click.argument("number")
@click.option("--repository", default=None, help="档案馆代码（默认本馆）")
@click.option("--json", "as_json", is_flag=True)
def show_command(number: str, repository: str | None, as_json: bool) -> None:
    """One accession with its items, linked records and documents."""
    django_setup()
    from lantai.holdings import received

    found = _find(number, repository, as_json)
    data = received.accession_detail(found)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{data['number']}  {data['kind']}  {data['donor']['name']}  {data['status']}")
        click.echo(
            f"  接收 {data['received_on']}，{data['items']}件，著录档案 {data['records']} 件"
        )
        for item in data["received_items"]:
            click.echo(f"  实物：{item['description']} ×{item['count']}  {item['digitization']}")
        for doc in data["documents"]:
            click.echo(f"  {doc['kind']} {doc['number']} {doc['issued_on']}")
    sys.exit(EXIT_OK)


@accession.command("certificate")
@click.argument("number")
@click.option("--out", "out", required=True, help="PDF 文件路径")
@click.option("--thanks", is_flag=True, help="感谢信（默认：捐赠证书）")
@click.option("--repository", default=None, help="档案馆代码（默认本馆）")
@click.option("--json", "as_json", is_flag=True)
def certificate_command(
    number: str, out: str, thanks: bool, repository: str | None, as_json: bool
) -> None:
    """Write the donation certificate (or thanks letter) of accession NUMBER to OUT as PDF."""
    django_setup()
    from lantai.cli_common import cli_actor
    from lantai.core.audit import acting_as
    from lantai.holdings import documents
    from lantai.holdings.services import HoldingsError

    target = Path(out)
    if target.is_dir() or not target.parent.is_dir():
        fail(f"--out 须为一个文件路径（所在目录须已存在）：{out}", EXIT_UNREADABLE, as_json)
    found = _find(number, repository, as_json)
    kind = "thanks" if thanks else "certificate"
    try:
        with acting_as(cli_actor()):
            doc, issued = documents.issue(None, found, kind)
            pdf = documents.pdf_of(None, doc)
    except HoldingsError as e:
        fail(str(e), EXIT_REFUSED, as_json, number=number)
    try:
        target.write_bytes(pdf)
    except OSError as e:
        fail(f"无法写入 {out}：{e.strerror}", EXIT_REFUSED, as_json, number=number)
    result = {"ok": True, "accession": found.number, "kind": kind, "number": doc.number,
              "issued_on": doc.issued_on.isoformat(), "issued_now": issued, "sm3": doc.sm3,
              "bytes": len(pdf), "out": str(out)}  # fmt: skip
    if as_json:
        echo_json(result)
    else:
        verb = "已出具" if issued else "已重新生成"
        click.echo(f"{verb}{documents.TITLE[kind]} {doc.number}（{found.number}）→ {out}")
    sys.exit(EXIT_OK)


@accession.command("restrictions")
@click.option("--json", "as_json", is_flag=True)
def restrictions_command(as_json: bool) -> None:
    """The donor restrictions in force today, with the records they hold."""
    django_setup()
    from lantai.holdings import donor_restrictions

    rows = donor_restrictions.restrictions_in_force()
    if as_json:
        echo_json(rows)
    else:
        for r in rows:
            until = r["until"] or "未定期限"
            click.echo(
                f"{r['accession']}  {r['scope']}  至 {until}  档案{r['records']}件  {r['text']}"
            )
        click.echo(f"共{len(rows)}条生效中的捐赠者限制")
    sys.exit(EXIT_OK)
