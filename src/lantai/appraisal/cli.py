"""`lantai appraisal …`: 鉴定 from the command line.

    lantai appraisal due [--date D] [--json]
    lantai appraisal classification-due [--date D] [--json]

`due` lists the records whose 保管期限 has run out by D (today when not given): 年度 + period
before D's year, or a new period set by an earlier appraisal; `classification-due` the classified
records whose 保密期限 has ended by D. With --json one object {"ok", "date", "count", "records"}
(errors: {"ok": false, "error": …}). Exit codes (cli_common): 0 listed; 2 usage (a bad date, a
database never initialised)."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from lantai.cli_common import EXIT_OK, EXIT_UNREADABLE, django_setup, echo_json, fail


def _day(text: str | None, as_json: bool) -> date:
    from django.utils import timezone

    if not text:
        return timezone.localdate()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(
            f"--date “{text}” 不是日期：应写作 YYYY-MM-DD（如 2026-12-31）",
            EXIT_UNREADABLE,
            as_json,
        )


def _print(rows: list[dict[str, Any]], on: date, as_json: bool, what: str) -> None:
    if as_json:
        echo_json({"ok": True, "date": on.isoformat(), "count": len(rows), "records": rows})
        return
    for r in rows:
        click.echo(f"{r['reference_code']}  {r['year'] or ''}  {r.get('retention_label', '')}"
                   f"  {r.get('expired_on') or ''}  {r['title']}")  # fmt: skip
    click.echo(f"{on.isoformat()}：{what}共{len(rows)}条")


@click.group()
def appraisal() -> None:
    """鉴定与销毁: records due for appraisal."""


@appraisal.command("due")
@click.option("--date", "day", default=None, help="截至日期 YYYY-MM-DD（默认今天）")
@click.option("--json", "as_json", is_flag=True)
def due_command(day: str | None, as_json: bool) -> None:
    """List the records whose retention period has run out by DATE (到期鉴定)."""
    django_setup()
    on = _day(day, as_json)
    from lantai.appraisal import services

    rows = services.due_summary(services.due_records(on), on)
    _print(rows, on, as_json, "保管期限已届满的档案")
    sys.exit(EXIT_OK)


@appraisal.command("classification-due")
@click.option("--date", "day", default=None, help="截至日期 YYYY-MM-DD（默认今天）")
@click.option("--json", "as_json", is_flag=True)
def classification_due_command(day: str | None, as_json: bool) -> None:
    """List the classified records whose secrecy period has ended by DATE (密级鉴定)."""
    django_setup()
    on = _day(day, as_json)
    from lantai.appraisal import services

    rows = [
        {"id": r.pk, "reference_code": r.reference_code, "title": r.title, "year": r.year,
         "classification": r.classification, "secrecy_period": r.secrecy_period,
         "retention_label": services.classification_label(r.classification)}
        for r in services.classification_due(on)
    ]  # fmt: skip
    _print(rows, on, as_json, "保密期限已届满的涉密档案")
    sys.exit(EXIT_OK)
