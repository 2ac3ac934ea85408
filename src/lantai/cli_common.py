"""Helpers shared by the `lantai` command and the command groups of the apps.

Exit codes of every `lantai` command:
  0  done (for checks: passed)
  1  refused by a rule: an invalid value, a duplicate, a failed check, rejected rows
  2  could not start: an unreadable input, something named that does not exist, a usage error
     (a missing or unknown option, a bad value), a database never initialised (`lantai init`)
     or one that cannot be used at all (no server, no such database, a corrupt SQLite file,
     a data directory the command may not write)
  3  an unexpected error (a fault, not the input): the traceback goes to stderr
Under ``--json`` (and for the commands whose output is always JSON, `JsonCommand`) every outcome,
errors included, is one JSON object on stdout; an error is ``{"ok": false, "error": message, …}``
(`fail`, and `LantaiGroup` for usage errors, an uninitialised database and unexpected errors).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import click

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_UNREADABLE = 2
EXIT_FAULT = 3


def django_setup(*, database: bool = True) -> None:
    """Set Django up; with `database` (the default) a database without Lantai's tables ends the
    command before it does anything (`NotInitialised`: run `lantai init`, exit 2). Commands that
    work without one (`init`, `clamav status`, rebuilding into another database) pass False."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    import django

    django.setup()
    if database:
        require_initialised()


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no passwd entry (containers)
        return "cli"


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class DataDirectoryProblem(click.ClickException):
    """The database or data directory cannot be used as it is: exit 2, the message (in both
    languages) says what to do; printed without click's "Error:" prefix."""

    exit_code = EXIT_UNREADABLE

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class NotInitialised(DataDirectoryProblem):
    """The database has no Lantai tables: a data directory or DATABASE_URL never initialised."""

    def __init__(self) -> None:
        from django.conf import settings

        where = _database_name(settings.DATABASES["default"])
        super().__init__(
            f"数据库尚未初始化（没有兰台的数据表：{where}）：先运行 `lantai init`；"
            "重建目录库后请用 LANTAI_DATABASE_URL 指向重建的数据库"
            f" — database not initialised (no Lantai tables in {where}): run `lantai init` first;"
            " after rebuilding the catalogue point LANTAI_DATABASE_URL at the rebuilt database"
        )


class DatabaseUnreachable(DataDirectoryProblem):
    """The database cannot be used at all (no server, a database that does not exist)."""

    def __init__(self, error: Exception) -> None:
        from django.conf import settings

        where = _database_name(settings.DATABASES["default"])
        reason = str(error).strip() or type(error).__name__
        super().__init__(
            f"无法使用数据库（{where}）：{reason}；请检查 LANTAI_DATABASE_URL 与数据库服务"
            f" — cannot use the database ({where}): check LANTAI_DATABASE_URL and the server"
        )


class DatabaseCorrupt(DataDirectoryProblem):
    """The SQLite file is not a database, or a damaged one: nothing can run on it."""

    def __init__(self) -> None:
        from django.conf import settings

        where = _database_name(settings.DATABASES["default"])
        super().__init__(
            f"数据库文件无法读取（不是 SQLite 数据库或已损坏）: {where} — 从备份恢复该文件；"
            "没有备份时，用 `lantai storage rebuild-catalog --into …` 从保存的信息包重建目录库"
            f" — the database file cannot be read (not an SQLite database, or damaged): {where};"
            " restore it from a backup, or rebuild the catalogue from the preserved packages"
            " with `lantai storage rebuild-catalog --into …`"
        )


class DataReadOnly(DataDirectoryProblem):
    """The command must write to the data directory (its database) and may not."""

    def __init__(self, error: BaseException) -> None:
        from django.conf import settings

        where = getattr(error, "filename", None) or _database_name(settings.DATABASES["default"])
        super().__init__(
            f"数据目录不可写：{settings.DATA_DIR}（{where}）— 此命令须写入数据目录："
            "请以对数据目录及其中文件有写权限的用户运行，或修正其权限"
            f" — the data directory is not writable: {settings.DATA_DIR} ({where}); this command"
            " needs write access to the data directory and its files"
        )


def database_problem(error: BaseException) -> click.ClickException | None:
    """The data-directory fault behind `error` (or an exception it was raised from), as the
    exception that tells the operator what to do: a corrupt SQLite file or a data directory
    the command may not write. None for any other error."""
    seen: BaseException | None = error
    for _ in range(8):  # the chain of causes, bounded
        if seen is None:
            return None
        text = str(seen)
        if "file is not a database" in text or "database disk image is malformed" in text:
            return DatabaseCorrupt()
        if "readonly database" in text or _journal_refused(text) or _in_data_dir(seen):
            return DataReadOnly(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def _journal_refused(text: str) -> bool:
    """SQLite could not open a file beside a database that exists (its journal, in a directory
    it may not write)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    return (
        "unable to open database file" in text
        and "sqlite" in db["ENGINE"]
        and os.path.exists(str(db["NAME"]))
    )


def _in_data_dir(error: BaseException) -> bool:
    """A permission error on a file inside the data directory."""
    from django.conf import settings

    filename = getattr(error, "filename", None)
    if not isinstance(error, PermissionError) or not filename:
        return False
    data_dir = os.path.abspath(str(settings.DATA_DIR))
    return os.path.abspath(str(filename)).startswith(data_dir + os.sep) or (
        os.path.abspath(str(filename)) == data_dir
    )


def _database_name(db: Mapping[str, Any]) -> str:
    """Where the database is, without its password."""
    if "sqlite" in db["ENGINE"]:
        return str(db["NAME"])
    return f"{db.get('USER') or ''}@{db.get('HOST') or ''}:{db.get('PORT') or ''}/{db['NAME']}"


def require_initialised() -> None:
    """Raise `NotInitialised` when the database has no Lantai tables, `DatabaseUnreachable` when
    it cannot be queried at all. Any other failure is left to the command, which reports it."""
    from django.contrib.auth import get_user_model
    from django.db.utils import OperationalError

    try:
        get_user_model().objects.exists()
    except Exception as e:
        if _missing_tables(e):
            raise NotInitialised() from e
        problem = database_problem(e)
        if problem is not None:
            raise problem from e
        if isinstance(e, OperationalError):
            raise DatabaseUnreachable(e) from e


def _missing_tables(error: BaseException) -> bool:
    """A query failed because the database has no Lantai tables (never initialised)."""
    from django.db.utils import OperationalError, ProgrammingError

    text = str(error)
    return isinstance(error, OperationalError | ProgrammingError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    )


def report_error(message_zh: str, as_json: bool, **fields: Any) -> None:
    """An error as every command shows it: ``{"ok": false, "error": message, **fields}`` on stdout
    under --json, else the message on stderr."""
    if as_json:
        echo_json({"ok": False, "error": message_zh, **fields})
    else:
        click.echo(message_zh, err=True)


def fail(message_zh: str, code: int, as_json: bool, **fields: Any) -> NoReturn:
    """End a command with an error (`report_error`) and exit `code`."""
    report_error(message_zh, as_json, **fields)
    sys.exit(code)


def exit_unreadable(message_zh: str, as_json: bool, *, key: str) -> NoReturn:
    """An input that cannot be read at all: exit code 2, the reason on stderr, or as JSON with
    ``key: "unreadable"`` (the key a successful run reports its outcome under)."""
    fail(message_zh, EXIT_UNREADABLE, as_json, **{key: "unreadable"})


def repository_or_exit(code: str | None, as_json: bool) -> Any:
    """The 档案馆 `code` names (the default one for None); one that does not exist ends the
    command with exit 2."""
    from lantai.catalog import services

    try:
        return services.get_repository(code)
    except services.CatalogError as e:
        fail(
            f"{e.message_zh}：用 `lantai repository list` 查看，或先运行 "
            f"`lantai repository add {code} --name 档案馆名称`",
            EXIT_UNREADABLE,
            as_json,
            field="repository",
        )


class JsonCommand(click.Command):
    """A command whose output is always one JSON object (no --json flag): its errors are JSON too."""


def _leaf_command(group: click.Group, args: Sequence[str]) -> click.Command:
    """The command that `args` name under `group` (as far as they name one)."""
    command: click.Command = group
    for arg in args:
        if not isinstance(command, click.Group):
            break
        sub = command.commands.get(arg)
        if sub is None:
            if arg.startswith("-"):
                continue
            break
        command = sub
    return command


def wants_json(group: click.Group, args: Sequence[str]) -> bool:
    """Whether the command line asks for JSON: --json before any `--`, or a `JsonCommand`."""
    args = list(args)
    if "--" in args:
        args = args[: args.index("--")]
    return "--json" in args or isinstance(_leaf_command(group, args), JsonCommand)


class LantaiGroup(click.Group):
    """The `lantai` group: whatever ends a command, its outcome follows the exit codes above and
    is one JSON object under --json: usage errors (exit 2), a command's `click.ClickException`
    (its exit code), a database without Lantai's tables (`lantai init`, exit 2, even where it is
    met only inside the command), an interruption (exit 1) and an unexpected exception (exit 3,
    its traceback on stderr) — never a bare traceback and never text where JSON was asked for."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        as_json = wants_json(self, argv)
        try:
            rv = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else EXIT_OK
        except click.ClickException as e:
            code = _report_click_exception(e, as_json)
        except click.Abort:
            report_error("已中断 aborted", as_json)
            code = EXIT_REFUSED
        except Exception as e:
            code = _report_exception(e, as_json)
        if not standalone_mode:
            return code
        sys.exit(code)


def _report_click_exception(e: click.ClickException, as_json: bool) -> int:
    if not as_json:
        e.show()
    else:
        fields: dict[str, Any] = {}
        if isinstance(e, click.UsageError):
            fields["usage"] = e.ctx.get_usage() if e.ctx else ""
        report_error(e.format_message(), True, **fields)
    return e.exit_code


def _report_exception(e: Exception, as_json: bool) -> int:
    if _missing_tables(e):
        return _report_click_exception(NotInitialised(), as_json)
    problem = database_problem(e)
    if problem is not None:
        return _report_click_exception(problem, as_json)
    traceback.print_exc()
    report_error(f"意外错误 unexpected error：{type(e).__name__}: {e}", as_json)
    return EXIT_FAULT
