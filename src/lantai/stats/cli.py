"""`lantai stats …`: the annual statistics report (统计) from the command line.

    lantai stats report --year Y [--json]

prints the report's figures for year Y beside those of Y-1 (stats/services.py). Exit codes: 0
printed; 1 refused (a year outside 1900 … this year); 2 usage (a missing or bad option). With
--json the outcome, errors included, is one JSON object on stdout; a figure no room provides has
"available": false and "value": null, never 0."""

from __future__ import annotations

import sys

import click

from lantai.cli_common import EXIT_OK, EXIT_REFUSED, django_setup, echo_json, fail

LEVELS = {"item": "件", "volume": "卷"}


@click.group()
def stats() -> None:
    """统计: the annual archives statistics report."""


@stats.command("report")
@click.option("--year", "year", required=True, type=int, help="统计年度")
@click.option("--json", "as_json", is_flag=True)
def report_command(year: int, as_json: bool) -> None:
    """Print the statistics report for YEAR with the previous year beside it."""
    django_setup()
    from lantai.stats import services

    try:
        result = services.report(year).as_json()
    except services.StatsError as e:
        fail(str(e), EXIT_REFUSED, as_json, year=year)
    if as_json:
        echo_json(result)
        sys.exit(EXIT_OK)
    click.echo(f"{year} 年度档案统计（括号内为 {year - 1} 年度）")
    for row in result["figures"]:
        if not row["available"]:
            shown = "无数据来源 not available"
        else:
            shown = f"{_number(row['value'])}（{_number(row['previous'])}）{row['unit']}"
        click.echo(f"  {row['label_zh']}：{shown}")
    for breakdown in result["breakdowns"].values():
        for entry in breakdown:
            name = entry.get("label_zh") or entry.get("retention")
            level = LEVELS.get(entry["level"], entry["level"])
            click.echo(f"  {name}（{level}）：{entry['value']}（{entry['previous']}）")
    sys.exit(EXIT_OK)


def _number(value: float | int | None) -> str:
    return "—" if value is None else f"{value:,}"
