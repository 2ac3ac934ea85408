"""The `lantai` command. Commands are thin: they set up Django and call services."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from lantai import __version__
from lantai.cli_common import (
    EXIT_REFUSED,
    EXIT_UNREADABLE,
    LantaiGroup,
    exit_unreadable,
    fail,
    repository_or_exit,
)
from lantai.cli_common import cli_actor as _cli_actor
from lantai.cli_common import django_setup as _django
from lantai.cli_common import echo_json as _echo_json


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

    repo = repository_or_exit(repository, as_json=False)
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

    repo = repository_or_exit(repository, as_json)
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
        exit_unreadable(e.message_zh, as_json, key="status")
    except services.CatalogError as e:
        exit_unreadable(e.message_zh, as_json, key="status")
    with acting_as(username or _cli_actor()):  # --user: the log names the user it ran as
        try:
            result = importing.import_file(
                file, cat, valid_rows_only=valid_rows_only, level=level, user=user,
                default_classification=default_classification,
            )  # fmt: skip
        except importing.FileUnreadable as e:
            exit_unreadable(e.message_zh, as_json, key="status")
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


def _register_groups() -> None:
    from lantai.appraisal.cli import appraisal
    from lantai.certificates.cli import certificate
    from lantai.cli_bench import bench
    from lantai.core.cli import audit, user
    from lantai.digitization.cli import digitization
    from lantai.digitization.ocr_cli import ocr
    from lantai.exhibits.cli import exhibition
    from lantai.holdings.cli import accession
    from lantai.ingest.cli import clamav, transfer
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

    main.add_command(transfer)
    main.add_command(clamav)
    main.add_command(user)
    main.add_command(audit)
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
