"""Helpers shared by the `lantai` command and the command groups of the apps.

Exit codes of every `lantai` command:
  0  done (for checks: passed)
  1  refused by a rule: an invalid value, a duplicate, a failed check, rejected rows
  2  could not start: an unreadable input, something named that does not exist, a database
     never initialised (`lantai init`)
Under ``--json`` every outcome, errors included, is one JSON object on stdout (``fail``).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any, NoReturn

import click

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNREADABLE = 2


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    import django

    django.setup()


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry (containers)
        return "cli"


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def require_initialised() -> None:
    """Before starting a long-running process: a database without Lantai's tables ends the
    command with LantaiGroup's message (run `lantai init`, exit 2), not a server full of errors."""
    from django.contrib.auth import get_user_model

    get_user_model().objects.exists()


def fail(message_zh: str, code: int, as_json: bool, **fields: Any) -> NoReturn:
    """End a command with an error: the message on stderr, or under --json one object
    ``{"ok": false, "error": message, **fields}`` on stdout; exit `code`."""
    if as_json:
        echo_json({"ok": False, "error": message_zh, **fields})
    else:
        click.echo(message_zh, err=True)
    sys.exit(code)


def _missing_tables(error: Exception) -> bool:
    """A query failed because the database has no Lantai tables (never initialised)."""
    from django.db.utils import OperationalError, ProgrammingError

    text = str(error)
    return isinstance(error, OperationalError | ProgrammingError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    )


class LantaiGroup(click.Group):
    """The `lantai` group: a database without Lantai's tables (a data directory or DATABASE_URL
    never initialised) is a clear message and exit 2, as JSON under --json, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as e:
            if not _missing_tables(e):
                raise
            from django.conf import settings

            where = settings.DATABASES["default"]["NAME"]
            message = (
                f"数据库尚未初始化（没有兰台的数据表：{where}）：先运行 `lantai init`；"
                "重建目录库后请用 LANTAI_DATABASE_URL 指向重建的数据库"
            )
            if "--json" in sys.argv:
                echo_json({"error": message})
            else:
                click.echo(message, err=True)
            sys.exit(2)
