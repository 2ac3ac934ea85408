"""The `lantai` command. Commands are thin: they set up Django and call services."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from lantai import __version__
from lantai.cli_common import (
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    JsonCommand,
    LantaiGroup,
    fail,
)
from lantai.cli_common import cli_actor as _cli_actor
from lantai.cli_common import django_setup as _django
from lantai.cli_common import echo_json as _echo_json


def _exit_unreadable(message_zh: str, as_json: bool, *, key: str) -> NoReturn:
    """An input that cannot be read at all: exit code 2, the reason on stderr, or as JSON with
    ``key: "unreadable"`` (the key a successful run reports its outcome under)."""
    fail(message_zh, EXIT_UNREADABLE, as_json, **{key: "unreadable"})


@click.group(cls=LantaiGroup)
@click.version_option(__version__, "--version", prog_name="lantai", message="%(prog)s %(version)s")
def main() -> None:
    """兰台 Lantai — 数字档案馆系统 (digital archives system)."""


@main.command()
def init() -> None:
    """Create the data directory and the database (idempotent)."""
    _django(database=False)
    from lantai.core.setup import initialise

    path = initialise()
    click.echo(f"数据目录已就绪 data directory ready: {path}")


@main.command()
@click.option("--no-serve", is_flag=True, help="Only seed the demo data.")
@click.option("--records", default=20000, show_default=True, help="Number of generated records.")
@click.option("--seed", default=2024, show_default=True)
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
def demo(no_serve: bool, records: int, seed: int, bind: str) -> None:
    """Seed a demo regional archives (idempotent) and serve it."""
    _django(database=False)  # it initialises the data directory itself
    import time

    from lantai.core.setup import initialise
    from lantai.demo.seed import seed_demo

    started = time.perf_counter()
    initialise()
    summary = seed_demo(records=records, seed=seed)
    for line in summary.lines():
        click.echo(line)
    from lantai.search import services as search

    click.echo(f"检索索引 search index: {search.reindex()} 条 records")
    click.echo(f"演示数据就绪，共用时 {time.perf_counter() - started:.0f} 秒 (demo ready)")
    if not no_serve:
        from django.conf import settings

        from lantai.platform.tasks import demo_region

        host, _sep, port = bind.rpartition(":")
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host  # noqa: S104 (only a URL to reach it)
        if not settings.HUEY.get("immediate"):  # it needs the worker `serve` starts
            demo_region.schedule((f"http://{host}:{port}",), delay=5)
        click.echo(
            "全区平台：服务启动后，本馆将作为平台中心并以节点 demo 加入、收割自身 (platform demo)"
        )
        _serve(bind)


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True)
@click.option("--workers", default=2, show_default=True, help="gunicorn web processes.")
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not run the job worker here (scale-out: run `lantai worker` elsewhere).",
)
@click.option("--with-worker", is_flag=True, hidden=True)  # the default now; kept for old scripts
def serve(bind: str, workers: int, no_worker: bool, with_worker: bool) -> None:
    """Serve the web UI and API with gunicorn, and run the job worker alongside (stopped with it)."""
    _django()  # an uninitialised database ends it here: no server full of errors
    _serve(bind, workers, with_worker=not no_worker)


def _serve(bind: str, workers: int = 2, *, with_worker: bool = True) -> None:
    web = [sys.executable, "-m", "gunicorn", "lantai.wsgi:application", "--bind", bind,
           "--workers", str(workers)]  # fmt: skip
    from django.conf import settings

    from lantai.ops.metrics import prepare_multiprocess_dir
    from lantai.ops.run_lock import hold_while_running

    hold_while_running(settings.DATA_DIR)  # shared, gunicorn too: `backup restore` refuses
    click.echo(f"兰台 serving on http://{bind}/ (Ctrl-C to stop)")

    prepare_multiprocess_dir(settings.DATA_DIR)  # /metrics counts across gunicorn workers
    # No gunicorn access log: its %(U)s is the decoded path, unescaped (a %0A in the URL forges a
    # line). Lantai's request line (path escaped, with the request id) is the access log in both
    # formats; LANTAI_REQUEST_LOG=0 turns it off.
    os.environ.setdefault("LANTAI_REQUEST_LOG", "1")
    if settings.HUEY.get("immediate"):
        click.echo("后台任务在请求中直接执行 (LANTAI_JOBS_IMMEDIATE)：不启动后台任务进程")
        with_worker = False
    elif not with_worker:
        click.echo("未启动后台任务进程 (--no-worker)：请在其他机器上运行 `lantai worker`")
    if not with_worker:
        os.execvp(sys.executable, web)
    from lantai.supervise import run_together

    click.echo("后台任务进程随之运行 job worker runs alongside (stops with serve)")
    worker = [sys.executable, "-m", "lantai.cli", "worker"]
    sys.exit(run_together({"worker": worker, "web": web}, restart=("worker",)))


@main.command()
def worker() -> None:
    """Run the job worker (huey consumer). It owns the clamd it starts and stops it on exit."""
    _django()
    from django.conf import settings
    from django.core.management import call_command

    from lantai import jobs
    from lantai.ingest import virus
    from lantai.ops.run_lock import hold_while_running

    hold_while_running(settings.DATA_DIR)  # shared: `backup restore` refuses while it runs
    logging.getLogger("huey").setLevel(logging.INFO)  # each job started and finished, in the log
    virus.set_process_role("worker")
    try:
        call_command("run_huey")
    finally:
        jobs.stop_heartbeat()
        virus.stop_owned_clamd(Path(settings.DATA_DIR))


# --- fonds -------------------------------------------------------------------------------------
@main.group()
def fonds() -> None:
    """全宗 fonds."""


@fonds.command("add")
@click.argument("code")
@click.option("--name", required=True, help="全宗名称")
@click.option("--creator", default=None, help="立档单位 (defaults to the name)")
@click.option(
    "--repository", "repository", default=None, help="档案馆代码 (default repository if omitted)"
)
def fonds_add(code: str, name: str, creator: str | None, repository: str | None) -> None:
    """Create fonds CODE."""
    _django()
    from lantai.catalog import services
    from lantai.core.audit import acting_as

    repo = _repository_or_exit(repository, as_json=False)
    with acting_as(_cli_actor()):
        try:
            f = services.create_fonds(code, name, creator=creator, repository=repo)
        except services.CatalogError as e:
            fail(e.message_zh, EXIT_REFUSED, False, field=e.field)
    click.echo(f"已创建全宗 {f.code} {f.name}（{f.repository.name}）")


@fonds.command("list")
def fonds_list() -> None:
    _django()
    from lantai.catalog.models import Fonds

    for f in Fonds.objects.select_related("repository"):
        click.echo(f"{f.repository.code}\t{f.code}\t{f.name}")


# --- repositories and categories ----------------------------------------------------------------
def _repository_or_exit(code: str | None, as_json: bool) -> Any:
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


LEVEL_NAMES = {"省级": "provincial", "市级": "city", "县级": "county"}


def _repository_json(r: Any) -> dict[str, Any]:
    return {
        "code": r.code, "name": r.name, "level": r.level, "region": r.region,
        "is_default": r.is_default,
    }  # fmt: skip


def _category_json(c: Any) -> dict[str, Any]:
    return {
        "repository": c.fonds.repository.code, "fonds": c.fonds.code, "code": c.code,
        "arrangement": c.arrangement, "code_rule": c.code_rule,
        "volume_item_rule": c.volume_item_rule or None,
    }  # fmt: skip


@main.group()
def repository() -> None:
    """档案馆 repositories."""


@repository.command("add")
@click.argument("code")
@click.option("--name", required=True, help="档案馆名称")
@click.option(
    "--level", default="city", show_default=True, help="provincial|city|county (省级|市级|县级)"
)
@click.option("--region", default="", help="行政区划")
@click.option("--json", "as_json", is_flag=True)
def repository_add(code: str, name: str, level: str, region: str, as_json: bool) -> None:
    """Create 档案馆 CODE. Exit 0 created, 1 refused (an invalid value, a code in use)."""
    _django()
    from lantai.catalog import services
    from lantai.core.audit import acting_as

    with acting_as(_cli_actor()):
        try:
            repo = services.create_repository(code, name, LEVEL_NAMES.get(level, level), region)
        except services.CatalogError as e:
            fail(e.message_zh, EXIT_REFUSED, as_json, field=e.field)
    if as_json:
        _echo_json({"ok": True, "repository": _repository_json(repo)})
    else:
        click.echo(f"已创建档案馆 {repo.code} {repo.name}（{repo.get_level_display()}）")


@repository.command("list")
@click.option("--json", "as_json", is_flag=True)
def repository_list(as_json: bool) -> None:
    """List the 档案馆 (the default one marked *)."""
    _django()
    from lantai.catalog import services

    repos = list(services.visible_repositories(None).order_by("code"))
    if as_json:
        _echo_json({"repositories": [_repository_json(r) for r in repos]})
        return
    for r in repos:
        mark = "*" if r.is_default else " "
        click.echo(f"{mark}{r.code}\t{r.name}\t{r.get_level_display()}\t{r.region}")


@main.group()
def category() -> None:
    """门类 categories of a fonds (DA/T 13 category codes: WS, KJ, …)."""


_CATEGORY_OPTIONS = {
    "arrangement": "--arrangement",
    "code_rule": "--code-rule",
    "volume_item_rule": "--volume-item-rule",
}


@category.command("add")
@click.argument("code")
@click.option("--fonds", "fonds_code", required=True, help="全宗号")
@click.option("--repository", default=None, help="档案馆代码 (default repository if omitted)")
@click.option(
    "--arrangement",
    type=click.Choice(["item", "volume"]),
    default=None,
    help="按件 item / 按卷 volume (default: as DA/T 13 arranges the category)",
)
@click.option("--code-rule", default=None, help="档号规则 (see `lantai code rules`)")
@click.option("--volume-item-rule", default=None, help="卷内文件档号规则 (volume arrangement)")
@click.option("--json", "as_json", is_flag=True)
def category_add(
    code: str, fonds_code: str, repository: str | None, arrangement: str | None,
    code_rule: str | None, volume_item_rule: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Create 门类 CODE in fonds --fonds. Exit 0 created, 1 refused (an unknown category code, a
    rule that does not fit, a category the fonds has), 2 no such 档案馆 or 全宗."""
    _django()
    from lantai.catalog import services
    from lantai.core.audit import acting_as

    repo = _repository_or_exit(repository, as_json)
    fonds = services.visible_fonds(None).filter(repository=repo, code=fonds_code.upper()).first()
    if fonds is None:
        fail(
            services.missing_fonds_message(
                repo, fonds_code, given=bool(repository), name_others=True
            ),
            EXIT_UNREADABLE,
            as_json,
            field="fonds",
        )
    derived = arrangement is None and code_rule is not None
    if derived:  # the rule's level decides the arrangement (said below); a bad name is refused
        with contextlib.suppress(services.CatalogError):
            arrangement = services.get_code_rule(str(code_rule)).arrangement
    with acting_as(_cli_actor()):
        try:
            cat = services.create_category(
                fonds, code, arrangement=arrangement, code_rule=code_rule,
                volume_item_rule=volume_item_rule,
            )  # fmt: skip
        except services.CatalogError as e:
            option = _CATEGORY_OPTIONS.get(e.field or "")
            message = f"{option}：{e.message_zh}" if option else e.message_zh
            fail(message, EXIT_REFUSED, as_json, field=e.field)
    spec = services.standard_category(cat.code)
    derived = derived and spec is not None and cat.arrangement != spec.arrangement
    note = (
        f"整理方式按档号规则“{cat.code_rule}”定为{cat.get_arrangement_display()}"
        f"（DA/T 13 默认{'按件' if spec and spec.arrangement == 'item' else '按卷'}）"
        if derived
        else ""
    )
    if as_json:
        _echo_json(
            {"ok": True, "category": _category_json(cat), **({"note": note} if note else {})}
        )
    else:
        if note:
            click.echo(note)
        name = spec.name_zh if spec else ""
        rules = cat.code_rule + (f"，卷内 {cat.volume_item_rule}" if cat.volume_item_rule else "")
        click.echo(
            f"已在全宗 {fonds.code} 下新增门类 {cat.code} {name}"
            f"（{cat.get_arrangement_display()}，档号规则 {rules}）"
        )


@category.command("list")
@click.option("--fonds", "fonds_code", default=None, help="only this 全宗号")
@click.option("--json", "as_json", is_flag=True)
def category_list(fonds_code: str | None, as_json: bool) -> None:
    """List the 门类 of every fonds (or of one)."""
    _django()
    from lantai.catalog import services

    qs = services.visible_categories(None).select_related("fonds", "fonds__repository")
    if fonds_code:
        fonds_code = fonds_code.upper()
        if not services.visible_fonds(None).filter(code=fonds_code).exists():
            fail(
                f"没有全宗“{fonds_code}”：用 `lantai fonds list` 查看，或先运行 "
                f"`lantai fonds add {fonds_code} --name 全宗名称`",
                EXIT_UNREADABLE,
                as_json,
                field="fonds",
            )
        qs = qs.filter(fonds__code=fonds_code)
    cats = list(qs.order_by("fonds__repository__code", "fonds__code", "code"))
    if as_json:
        _echo_json({"categories": [_category_json(c) for c in cats]})
        return
    for c in cats:
        click.echo(
            f"{c.fonds.repository.code}\t{c.fonds.code}\t{c.code}\t"
            f"{c.get_arrangement_display()}\t{c.code_rule}\t{c.volume_item_rule}"
        )


# --- archival codes ------------------------------------------------------------------------------
@main.group()
def code() -> None:
    """档号 archival codes."""


@code.command("parse")
@click.argument("value")
@click.option("--rule", default=None, help="Rule name (default: try the built-in rules).")
@click.option("--json", "as_json", is_flag=True)
def code_parse(value: str, rule: str | None, as_json: bool) -> None:
    """Parse an archival code into its components. Exit 0 valid, 1 not valid under the rule, 2 no
    such rule."""
    from lantai.standards import archival_code as ac

    try:
        parsed = ac.get_rule(rule).parse(value) if rule else ac.parse_any(value)
    except (ac.CodeError, ac.CodeRuleError) as e:
        missing = isinstance(e, ac.UnknownRuleError)  # no such rule: exit 2, like any name
        code = EXIT_UNREADABLE if missing else EXIT_REFUSED
        fail(getattr(e, "message_zh", str(e)), code, as_json, valid=False)
    out = {
        "valid": True,
        "code": parsed.code,
        "rule": parsed.rule,
        "components": parsed.components,
        "sequence_prefix": parsed.sequence_prefix,
        "sequence_number": parsed.sequence_number,
    }
    if as_json:
        _echo_json(out)
    else:
        for k, v in parsed.components.items():
            click.echo(f"{k}\t{v}")


@code.command("rules")
def code_rules() -> None:
    """List the built-in archival-code rules."""
    from lantai.standards import archival_code as ac

    for name, r in ac.load_rules().items():
        click.echo(f"{name}\t{r.template}\t{r.label_zh}")


@code.command("gaps")
@click.option("--fonds", "fonds_code", required=True)
@click.option("--category", required=True)
@click.option("--repository", default=None)
@click.option("--json", "as_json", is_flag=True)
def code_gaps(fonds_code: str, category: str, repository: str | None, as_json: bool) -> None:
    """Report gaps (漏号) in the archival codes of a fonds and category."""
    _django()
    from lantai.catalog import services

    try:
        cat = services.find_category(fonds_code, category, repository, name_others=True)
    except services.CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field=e.field)
    gaps = services.code_gaps(cat)
    if as_json:
        found = [{"prefix": g.prefix, "missing": g.missing_display()} for g in gaps]
        _echo_json({"ok": not gaps, "gaps": found})
    else:
        for g in gaps:
            click.echo(f"{g.prefix}\t漏号 {g.missing_display()}")
        click.echo(f"共 {len(gaps)} 处漏号")
    sys.exit(1 if gaps else 0)


# --- catalogue import / export -------------------------------------------------------------------
@main.group()
def catalog() -> None:
    """目录 catalogue import and export."""


@catalog.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--fonds", "fonds_code", required=True)
@click.option("--category", required=True)
@click.option("--repository", default=None)
@click.option(
    "--valid-rows-only", is_flag=True, help="Import the valid rows and list the bad ones."
)
@click.option(
    "--level",
    type=click.Choice(["item", "volume", "volume_item"]),
    default=None,
    help="件 / 案卷 / 卷内文件 (default: items or volumes, as the category is arranged)",
)
@click.option(
    "--default-classification",
    default="",
    help="密级 for rows whose 密级 is blank (e.g. 公开); without it such rows are errors",
)
@click.option(
    "--user",
    "username",
    default=None,
    help="import as this user: their scope and clearance apply (default: the operator)",
)
@click.option("--json", "as_json", is_flag=True)
def catalog_import(
    file: Path,
    fonds_code: str,
    category: str,
    repository: str | None,
    valid_rows_only: bool,
    level: str | None,
    default_classification: str,
    username: str | None,
    as_json: bool,
) -> None:
    """Import an .xlsx or .csv 归档文件目录. Exit 0 ok, 1 rows rejected, 2 unreadable file or
    a refusal (a fonds outside --user's scope)."""
    _django()
    from lantai.catalog import importing, services
    from lantai.core.audit import acting_as, denied_here
    from lantai.core.models import User
    from lantai.core.roles import IMPORT

    user = None
    try:
        cat = services.find_category(fonds_code, category, repository, name_others=True)
        if username is not None:
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise services.CatalogError(f"用户“{username}”不存在或已停用", "user")
            services.require(user, IMPORT)
            if not services.can_see_fonds(user, cat.fonds):
                raise services.PermissionDenied(
                    f"用户 {username} 无权向全宗 {cat.fonds.code} 导入目录", "fonds"
                )
    except services.PermissionDenied as e:  # audited like a refusal on the web (issue 12)
        denied_here(e.message_zh, str(username), "fonds", cat.fonds.pk)
        _exit_unreadable(e.message_zh, as_json, key="status")
    except services.CatalogError as e:
        _exit_unreadable(e.message_zh, as_json, key="status")
    with acting_as(username or _cli_actor()):  # --user: the log names the user it ran as
        try:
            result = importing.import_file(
                file, cat, valid_rows_only=valid_rows_only, level=level, user=user,
                default_classification=default_classification,
            )  # fmt: skip
        except importing.FileUnreadable as e:
            _exit_unreadable(e.message_zh, as_json, key="status")
    if as_json:
        _echo_json(result.as_dict())
    else:
        for line in result.summary_lines():
            click.echo(line)
    sys.exit(1 if result.rows_rejected else 0)


@catalog.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--fonds", "fonds_code", required=True)
@click.option("--category", required=True)
@click.option("--repository", default=None)
@click.option("--year", type=int, default=None)
@click.option(
    "--encoding", default="utf-8-sig", show_default=True, help="CSV only: utf-8-sig or gb18030"
)
def catalog_export(
    file: Path,
    fonds_code: str,
    category: str,
    repository: str | None,
    year: int | None,
    encoding: str,
) -> None:
    """Export a category's catalogue to .xlsx or .csv (the format follows the file name)."""
    _django()
    from lantai.catalog import exporting, services

    try:
        cat = services.find_category(fonds_code, category, repository, name_others=True)
    except services.CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, False)
    try:
        n = exporting.export_file(file, cat, year=year, encoding=encoding)
    except services.CatalogError as e:  # an encoding or a format it does not write
        fail(e.message_zh, EXIT_REFUSED, False)
    except OSError as e:  # a folder that does not exist or may not be written
        fail(f"无法写入“{file}”：{e.strerror or e}", EXIT_UNREADABLE, False)
    click.echo(f"已导出 {n} 条 → {file}")


# --- transfers (收) -------------------------------------------------------------------------------
@main.group()
def transfer() -> None:
    """移交与接收 transfers and the DA/T 70 four-properties check (四性检测)."""


@transfer.command("check")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def transfer_check(path: Path, as_json: bool) -> None:
    """Run the 移交与接收 checks on a folder, .zip, EEP file or bag without registering anything.
    Exit 0 when every check passes (warnings allowed), 1 when any fails, 2 when PATH is unreadable."""
    import tempfile

    _django()
    from django.conf import settings

    from lantai.ingest import unpack, virus
    from lantai.ingest.pipeline import check_transfer

    if not path.exists():
        _exit_unreadable(f"“{path}”不存在", as_json, key="result")
    with tempfile.TemporaryDirectory(prefix="lantai-check-", dir=settings.DATA_DIR) as work:
        try:
            scanner = virus.Scanner(settings.DATA_DIR)
            report = check_transfer(path, Path(work), scanner=scanner)
        except unpack.UnreadableSource as e:
            _exit_unreadable(e.message_zh, as_json, key="result")
    if as_json:
        _echo_json(report.as_json())
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
    _django()
    from lantai.core.audit import acting_as
    from lantai.ingest import services

    if not path.exists():
        _exit_unreadable(f"“{path}”不存在", as_json, key="status")
    with acting_as(_cli_actor()):
        try:
            t = services.receive(path, fonds=services.find_unit(unit), title=title)
            report = services.run_check(t.versions.get())
        except (services.UnreadableSource, services.IngestError) as e:
            _exit_unreadable(e.message_zh, as_json, key="status")
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
        _echo_json({**out, "ok": False, "error": error} if error else out)
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
    _django()
    from lantai.core.audit import acting_as
    from lantai.ingest import services
    from lantai.ingest.models import Transfer

    t = Transfer.objects.filter(pk=transfer_id).first()
    if t is None:
        _exit_unreadable(f"移交 {transfer_id} 不存在", as_json, key="status")
    if repository:
        _repository_or_exit(repository, as_json)
    try:
        with acting_as(_cli_actor()):
            records = services.accept(
                t, reason=reason, repository_code=repository, fonds_code=fonds,
                category_code=category,
            )  # fmt: skip
    except services.IngestError as e:
        message = e.message_zh if as_json else f"移交 {t.pk} 未接收：{e.message_zh}"
        fail(message, EXIT_REFUSED, as_json, transfer=t.pk, status=t.status, records=None)
    if as_json:
        _echo_json({"transfer": t.pk, "status": "accepted", "records": records})
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
    _django()
    from lantai.core.audit import acting_as
    from lantai.ingest import quality, services
    from lantai.ingest.quality_models import SelfCheck  # noqa: F401  (registers the models)

    if repository:
        _repository_or_exit(repository, as_json)
    if not path.exists():
        _exit_unreadable(f"“{path}”不存在", as_json, key="result")
    try:
        fonds = services.find_unit(unit, repository)
    except services.IngestError as e:
        _exit_unreadable(e.message_zh, as_json, key="result")
    with acting_as(_cli_actor()):
        sc = quality.self_check(path, fonds)
    if as_json:
        _echo_json(quality.report_json(sc))
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

    _django()
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
        _echo_json({"date": when, "counts": warning.counts(units),
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


@main.group()
def clamav() -> None:
    """病毒扫描 ClamAV signatures (air-gapped sites carry CVD files in)."""


@clamav.command("import-signatures", cls=JsonCommand)
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
def clamav_import(directory: Path) -> None:
    """Load CVD/CLD/hdb/ndb/… files into the scanner's database under the data directory."""
    _django()
    from django.conf import settings

    from lantai.core.audit import acting_as, record
    from lantai.ingest import virus

    try:
        info = virus.import_signatures_cli(directory, settings.DATA_DIR)
    except (virus.SignatureImportError, virus.ScannerError) as e:
        fail(f"未导入病毒特征库：{e}", EXIT_REFUSED, True)
    with acting_as(_cli_actor()):
        record("clamav_import", "clamav", "", info)
    _echo_json(info)


@clamav.command("status")
@click.option("--json", "as_json", is_flag=True)
def clamav_status(as_json: bool) -> None:
    """Show the clamd of this data directory: pid, socket, signatures, who started it, idle since."""
    _django(database=False)  # no database needed: it also reaps clamds of vanished directories
    from django.conf import settings

    from lantai.ingest import virus

    info = virus.Scanner(settings.DATA_DIR).status()
    if as_json:
        _echo_json(info)
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


# --- users ---------------------------------------------------------------------------------------
@main.group()
def user() -> None:
    """用户 users (bootstrap; day-to-day user work happens in the UI under 三员分立)."""


def _password(given: str | None) -> str:
    """The password given as an option, else asked for (twice, hidden) — only once every other
    check has passed, so nobody types a password for a command that cannot succeed."""
    if given is not None:
        return given
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@user.command("add")
@click.argument("username")
@click.option("--role", required=True)
@click.option("--password", default=None, help="(asked for when not given)")
@click.option("--clearance", default=0, show_default=True)
@click.option("--all-repositories", is_flag=True)
def user_add(
    username: str, role: str, password: str | None, clearance: int, all_repositories: bool
) -> None:
    """Create a user. Exit 0 created, 1 refused (an unknown role, a name in use, a weak password)."""
    _django()
    from lantai.core import accounts
    from lantai.core.audit import acting_as
    from lantai.core.roles import ROLES

    if role not in ROLES:
        fail(f"未知角色“{role}”，可选：{', '.join(ROLES)}", EXIT_REFUSED, False)
    if accounts.user_by_name(username) is not None:
        fail(
            f"用户名“{username}”已存在：重设密码用 `lantai user passwd {username}`",
            EXIT_REFUSED,
            False,
        )
    with acting_as(_cli_actor()):
        try:
            accounts.create_user(
                username,
                role=role,
                password=_password(password),
                clearance=clearance,
                scope_all=all_repositories,
            )
        except accounts.AccountError as e:
            raise click.ClickException(e.message_zh) from e
    click.echo(f"已创建用户 {username}")


@user.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="catalog:read (GET) or catalog:write (changes, includes read); repeatable. "
    "Default: catalog:read.",
)
@click.option(
    "--days",
    type=int,
    default=None,
    help="Days the token is valid (LANTAI_API_TOKEN_DAYS; max LANTAI_API_TOKEN_MAX_DAYS).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the token, its scopes and expiry as JSON."
)
def user_token(
    username: str, name: str, scopes: tuple[str, ...], days: int | None, as_json: bool
) -> None:
    """Issue a REST API bearer token: printed once on stdout (only its SM3 digest is stored); its
    scopes and expiry go to stderr. Exit 0 issued, 1 refused (an unknown scope, too many days,
    a disabled user), 2 no such user."""
    _django()
    from django.utils import timezone

    from lantai.core.accounts import AccountError
    from lantai.core.api_auth import issue
    from lantai.core.audit import acting_as
    from lantai.core.models import User

    target = User.objects.filter(username=username).first()
    if target is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, as_json)
    with acting_as(_cli_actor()):
        try:
            made = issue(target, name, scopes=list(scopes) or ["catalog:read"], days=days)
        except AccountError as e:
            fail(e.message_zh, EXIT_REFUSED, as_json)
    expires = timezone.localtime(made.row.expires_at).isoformat(timespec="seconds")
    if as_json:
        _echo_json(
            {"ok": True, "token": made.token, "name": made.row.name,
             "scopes": made.row.scope_list, "expires_at": expires}
        )  # fmt: skip
        return
    click.echo(made.token)
    click.echo(f"权限范围 scopes: {made.row.scopes}；有效期至 expires: {expires}", err=True)


@user.command("passwd")
@click.argument("username")
@click.option("--password", default=None, help="(asked for when not given)")
def user_passwd(username: str, password: str | None) -> None:
    """Reset a user's password from the console (operator recovery); unlocks the account."""
    _django()
    from lantai.core import accounts
    from lantai.core.audit import acting_as

    target = accounts.user_by_name(username)
    if target is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, False)
    with acting_as(_cli_actor()):
        try:
            accounts.reset_password(target, _password(password), actor=None)
        except accounts.AccountError as e:
            raise click.ClickException(e.message_zh) from e
    click.echo(f"已重设用户 {username} 的密码")


@user.command("reset-2fa")
@click.argument("username")
def user_reset_2fa(username: str) -> None:
    """Remove a user's second factor (authenticator and recovery codes), e.g. after a lost phone;
    a user who must use one enrolls again at the next sign-in. The operator at the console acts
    alone and is logged. Exit 0 reset, 1 nothing to reset, 2 no such user."""
    _django()
    from lantai.core import accounts
    from lantai.core.audit import acting_as

    target = accounts.user_by_name(username)
    if target is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, False)
    with acting_as(_cli_actor()):
        try:
            accounts.reset_second_factor(target, actor=None)
        except accounts.AccountError as e:
            fail(e.message_zh, EXIT_REFUSED, False)
    from lantai.core import two_factor

    if two_factor.has_any(target):  # checked, not assumed
        fail(f"重置后用户 {username} 仍有双因素绑定", EXIT_REFUSED, False)
    click.echo(
        f"已重置用户 {username} 的双因素认证 second factor reset: {username} "
        "（下次登录时须重新绑定 enrolls again at the next sign-in）"
    )


@user.command("revoke-tokens")
@click.argument("username")
def user_revoke_tokens(username: str) -> None:
    """Revoke every REST API token of a user."""
    _django()
    from lantai.core import accounts
    from lantai.core.api_auth import revoke_tokens
    from lantai.core.audit import acting_as

    target = accounts.user_by_name(username)
    if target is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, False)
    with acting_as(_cli_actor()):
        n = revoke_tokens(target)
    click.echo(f"已吊销 {n} 个令牌")


# --- audit ---------------------------------------------------------------------------------------
@main.group()
def audit() -> None:
    """审计日志 audit log."""


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True)
def audit_verify(as_json: bool) -> None:
    """Verify the SM3 hash chain. Exit 0 intact, 1 broken (first broken entry printed)."""
    _django()
    from lantai.core.audit import verify

    r = verify()
    if as_json:
        _echo_json({
            "ok": r.ok, "checked": r.checked, "broken_seq": r.broken_seq, "reason": r.reason,
            "head_hash": r.head_hash,
        })  # fmt: skip
    elif r.ok:
        click.echo(f"审计日志完整：已校验 {r.checked} 条 audit chain intact ({r.checked} entries)")
        click.echo(f"链头 SM3 head hash: {r.head_hash}")
    else:
        click.echo(f"审计日志链断裂：第一处在第 {r.broken_seq} 条 — {r.reason}")
    sys.exit(0 if r.ok else 1)


def _register_groups() -> None:
    from lantai.appraisal.cli import appraisal
    from lantai.certificates.cli import certificate
    from lantai.cli_bench import bench
    from lantai.digitization.cli import digitization
    from lantai.digitization.ocr_cli import ocr
    from lantai.exhibits.cli import exhibition
    from lantai.holdings.cli import accession
    from lantai.interop.cli import export
    from lantai.marriage.cli import marriage
    from lantai.ops.backup_cli import backup, database
    from lantai.ops.watch_cli import alerts
    from lantai.platform.cli import platform
    from lantai.preservation.cli import storage
    from lantai.review.cli import review
    from lantai.search.cli import search
    from lantai.stacks.cli import stacks
    from lantai.stats.cli import stats

    main.add_command(storage)
    main.add_command(search)
    main.add_command(digitization)
    main.add_command(ocr)
    main.add_command(review)
    main.add_command(marriage)
    main.add_command(certificate)
    main.add_command(platform)
    main.add_command(export)
    main.add_command(bench)
    main.add_command(exhibition)
    main.add_command(stats)
    main.add_command(accession)
    main.add_command(stacks)
    main.add_command(appraisal)
    main.add_command(backup)
    main.add_command(database)
    main.add_command(alerts)


_register_groups()

if __name__ == "__main__":
    main()
