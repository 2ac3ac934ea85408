"""`lantai accession …`: 征集/接收登记 from the command line.

    lantai accession list [--year Y] [--json]

lists the accessions (of every repository) with number, kind, donor, date received, items,
campaign and donor restrictions; with --json one JSON array (errors: one JSON object).
Exit codes (cli_common): 0 listed; 2 usage (a bad option, a database never initialised)."""

from __future__ import annotations

import sys

import click

from lantai.cli_common import EXIT_OK, django_setup, echo_json


@click.group()
def accession() -> None:
    """征集/接收登记: list accessions."""


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
