"""`lantai transfer …` (移交与接收, the DA/T 70 four-properties check) and `lantai clamav …` (the
virus signatures the check scans with). Exit codes (cli_common): 0 done; 1 refused; 2 unreadable."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import (
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    JsonCommand,
    cli_actor,
    django_setup,
    echo_json,
    exit_unreadable,
    fail,
    repository_or_exit,
)


# --- transfers (收) -------------------------------------------------------------------------------
@click.group()
def transfer() -> None:
    """移交与接收 transfers and the DA/T 70 four-properties check (四性检测)."""


@transfer.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def transfer_check(path: Path, as_json: bool) -> None:
    """Run the 移交与接收 checks on a folder, .zip, EEP file or bag without registering anything.
    Exit 0 when every check passes (warnings allowed), 1 when any fails, 2 when PATH is unreadable."""
    import tempfile

    django_setup()
    from django.conf import settings

    from lantai.ingest import unpack, virus
    from lantai.ingest.pipeline import check_transfer

    if not path.exists():
        exit_unreadable(f"“{path}”不存在", as_json, key="result")
    with tempfile.TemporaryDirectory(prefix="lantai-check-", dir=settings.DATA_DIR) as work:
        try:
            scanner = virus.Scanner(settings.DATA_DIR)
            report = check_transfer(path, Path(work), scanner=scanner)
        except unpack.UnreadableSource as e:
            exit_unreadable(e.message_zh, as_json, key="result")
    if as_json:
        echo_json(report.as_json())
    else:
        for line in report_lines(report):
            click.echo(line)
    sys.exit(1 if report.result == "fail" else 0)


@transfer.command("receive")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--unit", required=True, help="移交单位: the unit's 全宗号, 立档单位 or fonds name")
@click.option("--title", default="", help="交接工作名称")
@click.option("--accept", "accept_it", is_flag=True, help="Accept when the checks pass.")
@click.option("--reason", default="", help="接收说明 (required to accept with warnings)")
@click.option("--fonds", default=None, help="全宗号 for 待著录 items (package without a catalogue)")
@click.option("--category", default=None, help="门类代码 for those items (with --fonds)")
@click.option("--json", "as_json", is_flag=True)
def transfer_receive(
    path: Path, unit: str, title: str, accept_it: bool, reason: str, fonds: str | None,
    category: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Register PATH as a transfer, run the checks and, with --accept, accept it when they pass.
    Exit codes as for `transfer check`; 1 also when accepting was refused (the transfer stays
    registered and checked: accept it later with `lantai transfer accept ID`)."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.ingest import services

    if not path.exists():
        exit_unreadable(f"“{path}”不存在", as_json, key="status")
    with acting_as(cli_actor()):
        try:
            t = services.receive(path, fonds=services.find_unit(unit), title=title)
            report = services.run_check(t.versions.get())
        except (services.UnreadableSource, services.IngestError) as e:
            exit_unreadable(e.message_zh, as_json, key="status")
        records, error = None, ""
        if accept_it and report.result == "pass":
            try:
                records = services.accept(
                    t, reason=reason, fonds_code=fonds, category_code=category
                )
            except services.IngestError as e:
                error = e.message_zh
    t.refresh_from_db()
    if as_json:
        out = {"transfer": t.pk, "status": t.status, "records": records, **report.as_json()}
        echo_json({**out, "ok": False, "error": error} if error else out)
    else:
        click.echo(
            f"移交 {t.pk}：{t.get_status_display()}"
            + (f"，已建立 {records} 条档案" if records else "")
        )
        for line in report_lines(report):
            click.echo(line)
        if error:
            click.echo(f"未接收：{error}（改正后可运行 lantai transfer accept {t.pk}）", err=True)
    sys.exit(1 if report.result == "fail" or error else 0)


@transfer.command("accept")
@click.argument("transfer_id", type=int)
@click.option("--reason", default="", help="接收说明 (required to accept with warnings)")
@click.option("--fonds", default=None, help="全宗号 for 待著录 items (package without a catalogue)")
@click.option("--category", default=None, help="门类代码 for those items (with --fonds)")
@click.option("--repository", default=None, help="档案馆代码 of those fonds (default repository)")
@click.option("--json", "as_json", is_flag=True)
def transfer_accept(
    transfer_id: int, reason: str, fonds: str | None, category: str | None,
    repository: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Accept a registered transfer whose check passed. Exit 0 accepted, 1 refused (the reason
    is printed), 2 no such transfer."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.ingest import services
    from lantai.ingest.models import Transfer

    t = Transfer.objects.filter(pk=transfer_id).first()
    if t is None:
        exit_unreadable(f"移交 {transfer_id} 不存在", as_json, key="status")
    if repository:
        repository_or_exit(repository, as_json)
    try:
        with acting_as(cli_actor()):
            records = services.accept(
                t, reason=reason, repository_code=repository, fonds_code=fonds,
                category_code=category,
            )  # fmt: skip
    except services.IngestError as e:
        message = e.message_zh if as_json else f"移交 {t.pk} 未接收：{e.message_zh}"
        fail(message, EXIT_REFUSED, as_json, transfer=t.pk, status=t.status, records=None)
    if as_json:
        echo_json({"transfer": t.pk, "status": "accepted", "records": records})
    else:
        click.echo(f"移交 {t.pk}：已接收，已建立 {records} 条档案")


@transfer.command("self-check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--unit", required=True, help="立档单位: the unit's 全宗号, 立档单位 or fonds name")
@click.option("--repository", default=None, help="档案馆代码 of the unit (default: any)")
@click.option("--json", "as_json", is_flag=True)
def transfer_self_check(path: Path, unit: str, repository: str | None, as_json: bool) -> None:
    """A filing unit's self-check (自检) of PATH with the 移交与接收 checks before it transfers:
    nothing is registered or accepted; the report lists each failed check with what to fix.
    Exit 0 passed (warnings allowed), 1 failed, 2 PATH or the unit not found."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.ingest import quality, services
    from lantai.ingest.quality_models import SelfCheck  # noqa: F401  (registers the models)

    if repository:
        repository_or_exit(repository, as_json)
    if not path.exists():
        exit_unreadable(f"“{path}”不存在", as_json, key="result")
    try:
        fonds = services.find_unit(unit, repository)
    except services.IngestError as e:
        exit_unreadable(e.message_zh, as_json, key="result")
    with acting_as(cli_actor()):
        sc = quality.self_check(path, fonds)
    if as_json:
        echo_json(quality.report_json(sc))
    else:
        click.echo(
            f"自检 {sc.pk}（{services.unit_name(fonds)}，全宗 {fonds.code}）："
            f"{'通过' if sc.result == 'pass' else '不通过'}；未登记移交，未接收任何档案"
        )
        if sc.error:
            click.echo(f"  无法检测：{sc.error}")
        for item in quality.report(sc):
            if item.status not in ("fail", "warn"):
                continue
            click.echo(f"  [{item.status}] {item.content_code} {item.title}")
            for f in item.findings[:5]:
                reason = (f.get("evidence") or {}).get("reason", "")
                click.echo(f"      · {f.get('object')}：{reason}")
            if item.guidance:
                click.echo(f"    改进：{item.guidance}")
    sys.exit(1 if sc.result == "fail" else 0)


@transfer.command("due")
@click.option("--date", "on", default=None, help="the day to compute for, YYYY-MM-DD (today)")
@click.option("--all", "include_clear", is_flag=True, help="also the units with nothing due")
@click.option("--json", "as_json", is_flag=True)
def transfer_due(on: str | None, include_clear: bool, as_json: bool) -> None:
    """移交预警: the filing units whose records have reached the transfer age (实施条例 art 20:
    20 years, 10 for a county archives) and are not yet in the catalogue, overdue first."""
    import datetime as dt

    django_setup()
    from django.utils import timezone

    from lantai.ingest import warning

    today = None
    if on:
        try:
            today = dt.date.fromisoformat(on)
        except ValueError:
            fail(f"日期“{on}”不合规则：应为 YYYY-MM-DD", EXIT_UNREADABLE, as_json, units=None)
    units = warning.due_list(None, today, include_clear=include_clear)
    when = (today or timezone.localdate()).isoformat()
    if as_json:
        echo_json({"date": when, "counts": warning.counts(units),
                    "units": [u.as_dict() for u in units]})  # fmt: skip
        return
    labels = {"overdue": "逾期", "due": "到期", "unknown": "起始年度未知", "clear": "无到期"}
    if not units:
        click.echo(f"{when}：没有到期未移交的档案")
    for u in units:
        years = f"到期年度 {u.due_text}" if u.due else ""
        late = f"（逾期 {u.overdue_text}）" if u.overdue else ""
        click.echo(
            f"[{labels[u.status]}] {u.fonds.repository.code}/{u.fonds.code} {u.unit}"
            f"（{u.age} 年）{years}{late}"
        )


def report_lines(report: Any) -> list[str]:
    names = {
        "authenticity": "真实性",
        "integrity": "完整性",
        "usability": "可用性",
        "security": "安全性",
    }
    lines = [
        f"四性检测（{report.kind or '未识别'}）：{'通过' if report.result == 'pass' else '不通过'}"
    ]
    for prop, counts in report.summary()["by_property"].items():
        lines.append(
            f"  {names.get(prop, prop)}："
            + "，".join(f"{k} {v}" for k, v in sorted(counts.items()))
        )
    for c in report.checks:
        if c.status in ("fail", "warn"):
            reason = c.evidence.get("reason") or c.evidence
            lines.append(f"  [{c.status}] {c.content_code} {c.title} · {c.object}：{reason}")
    return lines


@click.group()
def clamav() -> None:
    """病毒扫描 ClamAV signatures (air-gapped sites carry CVD files in)."""


@clamav.command("import-signatures", cls=JsonCommand)
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def clamav_import(directory: Path) -> None:
    """Load CVD/CLD/hdb/ndb/… files into the scanner's database under the data directory."""
    django_setup()
    from django.conf import settings

    from lantai.core.audit import acting_as, record
    from lantai.ingest import virus

    try:
        info = virus.import_signatures_cli(directory, settings.DATA_DIR)
    except (virus.SignatureImportError, virus.ScannerError) as e:
        fail(f"未导入病毒特征库：{e}", EXIT_REFUSED, True)
    with acting_as(cli_actor()):
        record("clamav_import", "clamav", "", info)
    echo_json(info)


@clamav.command("status")
@click.option("--json", "as_json", is_flag=True)
def clamav_status(as_json: bool) -> None:
    """Show the clamd of this data directory: pid, socket, signatures, who started it, idle since."""
    django_setup(database=False)  # no database needed: it also reaps clamds of vanished directories
    from django.conf import settings

    from lantai.ingest import virus

    info = virus.Scanner(settings.DATA_DIR).status()
    if as_json:
        echo_json(info)
        return
    if not info["running"]:
        click.echo(f"clamd 未运行 not running（套接字 socket {info['socket']}）")
    else:
        started = {"cli": "命令行 CLI command", "worker": "后台任务进程 worker", "serve": "serve"}
        click.echo(f"clamd 运行中 running：pid {info['pid']}，套接字 socket {info['socket']}")
        by = started.get(info["started_by"] or "", info["started_by"] or "?")
        owner = f"（进程 {info['owner_pid']}）" if info["started_by"] != "cli" else ""
        click.echo(f"启动者 started by：{by}{owner}，于 {info['started_at']}")
        if info["started_by"] == "cli":
            click.echo(
                f"空闲自 idle since：{info['idle_since']}，"
                f"空闲 {info['idle_limit_seconds']:.0f} 秒后自动停止 stops when idle that long"
            )
        else:
            click.echo("随其进程停止 stops with its owner process")
    click.echo(f"病毒特征 signatures：{info['signatures']}（{info['signature_version'] or '—'}）")
