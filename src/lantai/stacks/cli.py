"""`lantai stacks …`: 库房管理 from the command line.

    lantai stacks import-readings FILE [--room CODE] [--valid-rows-only] [--json]
    lantai stacks locate 档号 [--json]
    lantai stacks alerts [--json]

import-readings: the sensor readings of a CSV file (UTF-8 or GB18030); a file with any bad row is
refused as a whole unless --valid-rows-only (then the good rows are imported); each bad row is
reported with its row number and rule. locate: where the unit with that 档号 is (building, room,
shelf, box, on loan). alerts: the open climate alerts.
With --json every outcome, errors included, is one JSON object on stdout.
Exit codes (cli_common): 0 done; 1 refused (bad rows, a rule); 2 usage (an unreadable file, a room
or 档号 that does not exist, a bad option)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import EXIT_OK, EXIT_REFUSED, EXIT_UNREADABLE, django_setup, echo_json, fail


@click.group()
def stacks() -> None:
    """库房管理: climate readings, locating units, alerts."""


@stacks.command("import-readings")
@click.argument(
    "file", type=click.Path(path_type=Path)
)  # a folder: refused after the database check
@click.option("--room", "room_code", default=None, help="库房编号（文件各行为该库房的读数）")
@click.option(
    "--valid-rows-only", is_flag=True, help="只导入无误的行（默认：有错误行时整个文件不导入）"
)
@click.option("--json", "as_json", is_flag=True)
def import_readings_command(
    file: Path, room_code: str | None, valid_rows_only: bool, as_json: bool
) -> None:
    """Import the temperature and humidity readings in FILE (CSV)."""
    django_setup()
    from lantai.stacks import importing, services

    room = None
    if room_code is not None:
        try:
            room = services.get_room(room_code)
        except services.StacksError as e:
            fail(e.message_zh, EXIT_UNREADABLE, as_json)
    try:
        batch = importing.import_readings(None, file, room=room, valid_rows_only=valid_rows_only)
    except importing.FileProblem as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json)
    except services.StacksError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json)
    result: dict[str, Any] = {
        "ok": batch.status == "imported" and not batch.errors,
        "import": batch.pk,
        "status": batch.status,
        "file": batch.file_name,
        "encoding": batch.encoding,
        "room": room.code if room else None,
        "rows": batch.rows_total,
        "imported": batch.rows_imported,
        "duplicates": batch.rows_duplicate,
        "rejected": batch.rows_rejected,
        "alerts_opened": batch.alerts_opened,
        "errors": batch.errors,
    }
    if batch.status == "rejected":
        result["error"] = (
            f"文件有{batch.rows_rejected}行错误，整个文件未导入（可用 --valid-rows-only 只导入无误的行）"
        )
    elif batch.errors:
        result["error"] = f"有{batch.rows_rejected}行错误未导入，其余{batch.rows_imported}行已导入"
    if as_json:
        echo_json(result)
    else:
        for problem in batch.errors:
            click.echo(problem["message"], err=True)
        if "error" in result:
            click.echo(result["error"], err=True)
        if batch.status == "imported":
            click.echo(
                f"已导入 {batch.rows_imported} 条读数（重复 {batch.rows_duplicate}，错误 {batch.rows_rejected}），"
                f"新告警 {batch.alerts_opened} 条"
            )
    sys.exit(EXIT_OK if result["ok"] else EXIT_REFUSED)


@stacks.command("locate")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
def locate_command(code: str, as_json: bool) -> None:
    """Where the unit with 档号 CODE is."""
    django_setup()
    from lantai.stacks import services

    try:
        rows = services.locate(None, code)
    except services.NotFound as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json)
    except services.StacksError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json)
    for r in rows:
        r.pop("box_id", None)
    if as_json:
        echo_json({"ok": True, "reference_code": code, "units": rows})
    else:
        for r in rows:
            if not r["located"]:
                click.echo(f"{r['reference_code']}  未上架（不在任何盒中）")
                continue
            where = f"{r['building']} {r['building_name']} / {r['room']} {r['room_name']} / 架 {r['shelf']} / 盒 {r['box']}"
            via = f"（随案卷 {r['follows_volume']}）" if r["follows_volume"] else ""
            out = f"  已借出，应还 {r['on_loan']['due_on']}" if r["on_loan"] else ""
            click.echo(f"{r['reference_code']}{via}  {where}{out}")
    sys.exit(EXIT_OK)


@stacks.command("alerts")
@click.option("--json", "as_json", is_flag=True)
def alerts_command(as_json: bool) -> None:
    """The open climate alerts, newest first."""
    django_setup()
    from lantai.stacks import climate

    rows = [
        {"id": a.pk, "room": a.room.code, "kind": a.kind, "worst": str(a.worst), "limit": str(a.limit),
         "first_at": a.first_at.isoformat(), "last_at": a.last_at.isoformat(), "readings": a.readings,
         "day": a.day.isoformat() if a.day else None}
        for a in climate.open_alerts()
    ]  # fmt: skip
    if as_json:
        echo_json({"ok": True, "alerts": rows})
    else:
        for r in rows:
            click.echo(
                f"{r['room']}  {r['kind']}  {r['worst']}（限值 {r['limit']}）  {r['last_at']}"
            )
        click.echo(f"共{len(rows)}条未处理告警")
    sys.exit(EXIT_OK)
