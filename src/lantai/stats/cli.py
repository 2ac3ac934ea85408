"""`lantai stats …`: the annual statistics report (统计) from the command line.

    lantai stats report --year Y [--repository CODE] [--json] [--xlsx FILE]
    lantai stats verify [--repair] [--json]

`report` prints the report's figures for year Y beside those of Y-1 (stats/services.py); --xlsx
also writes it as an Excel workbook in the report's layout. The report is that of one archives
(填报单位): --repository CODE (its 档案馆代码), by default the installation's default archives
(the one `lantai` uses wherever none is named), never the sum of several; an unknown CODE exits 2
with the codes there are. `verify` compares the counters the
triggers keep with the plain aggregates over the catalogue; --repair recounts them (audited
stats_counters_repair). Exit codes: 0 printed / honest / repaired; 1 refused (a year outside
1900 … this year) or counters that differ; 2 usage (a missing or bad option, an unknown
--repository). With
--json the outcome, errors included, is one JSON object on stdout; a figure no room provides has
"available": false and "value": null, never 0."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lantai.cli_common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    cli_actor,
    django_setup,
    echo_json,
    fail,
)


@click.group()
def stats() -> None:
    """统计: the annual archives statistics report."""


@stats.command("report")
@click.option("--year", "year", required=True, type=int, help="统计年度")
@click.option(
    "--repository",
    "repository",
    default=None,
    help="档案馆代码（默认为默认档案馆）(the archives reporting; default: the default one)",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--xlsx", "xlsx", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="也写出 Excel 报表 (also write the report as an .xlsx workbook)")  # fmt: skip
def report_command(year: int, repository: str | None, as_json: bool, xlsx: Path | None) -> None:
    """Print the statistics report of one archives for YEAR with the previous year beside it."""
    django_setup()
    from lantai.standards import statistics as std
    from lantai.stats import services

    try:
        repo = services.get_repository(repository)
    except services.StatsError as e:
        fail(str(e), EXIT_UNREADABLE, as_json, year=year, repository=repository)
    try:
        result = services.report(year, repository=repo).as_json()
    except services.StatsError as e:
        fail(str(e), EXIT_REFUSED, as_json, year=year)
    if xlsx is not None:
        try:
            services.export_workbook(year, cli_actor(), destination=xlsx, repository=repo)
        except OSError as e:
            fail(f"无法写入 Excel 文件 {xlsx}：{e.strerror}", EXIT_REFUSED, as_json, year=year)
        result = {**result, "xlsx": str(xlsx)}
    if as_json:
        echo_json(result)
        sys.exit(EXIT_OK)
    click.echo(f"{repo.name}（{repo.code}）{year} 年度档案统计（括号内为 {year - 1} 年度）")
    for row in result["figures"]:
        if not row["available"]:
            shown = "无数据来源 not available"
        else:
            shown = f"{_number(row['value'])}（{_number(row['previous'])}）{row['unit']}"
        click.echo(f"  {row['label_zh']}：{shown}")
    for breakdown in result["breakdowns"].values():
        for entry in breakdown:
            name = entry.get("label_zh") or entry.get("retention")
            level = std.level_unit(entry["level"])
            click.echo(f"  {name}（{level}）：{entry['value']}（{entry['previous']}）")
    if xlsx is not None:
        click.echo(f"Excel 报表已写入 {xlsx}")
    sys.exit(EXIT_OK)


@stats.command("verify")
@click.option("--repair", is_flag=True, help="重新计数并重装触发器 (recount the counters)")
@click.option("--json", "as_json", is_flag=True)
def verify_command(repair: bool, as_json: bool) -> None:
    """Compare the statistics counters with the plain aggregates; --repair recounts them."""
    django_setup()
    from lantai.stats import services

    result = services.repair(cli_actor()) if repair else services.verify()
    code = EXIT_OK if result["honest"] else EXIT_REFUSED
    if as_json:
        echo_json(result)
        sys.exit(code)
    if repair:
        click.echo(f"已重新计数：修复前有 {result['repaired']} 处不一致")
    if result["honest"]:
        click.echo("统计计数器与档案目录一致")
    else:
        if result["missing_triggers"]:
            missing = "、".join(result["missing_triggers"])
            click.echo(f"统计计数器的触发器缺失：{missing}", err=True)
        click.echo(f"统计计数器有 {len(result['drifts'])} 处与档案目录不一致：", err=True)
        for drift in result["drifts"][:50]:
            click.echo(f"  {drift['table']} {drift['key']}：计数 {drift['counted']}，"
                       f"实际 {drift['actual']}", err=True)  # fmt: skip
        click.echo("运行 lantai stats verify --repair 重新计数", err=True)
    sys.exit(code)


def _number(value: float | int | None) -> str:
    return "—" if value is None else f"{value:,}"
