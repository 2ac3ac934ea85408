"""`lantai search …`: search as a user or as the public, rebuild and inspect the index.

    lantai search QUERY [--public | --user NAME | --all] [--limit N] [--json]
    lantai search reindex
    lantai search catch-up
    lantai search status [--json]

`lantai search QUERY` is `lantai search query QUERY`: the first argument is taken as the query
unless it names a sub-command (search for the word "status" with `lantai search query status`).
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import click

from lantai.cli_common import django_setup, echo_json

OPEN_STATUS_ZH = {"open": "开放", "closed": "未开放", "restricted_use": "控制使用"}


class _SearchGroup(click.Group):
    """A group whose default sub-command is `query`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_SearchGroup)
def search() -> None:
    """用 search: `lantai search QUERY` searches; reindex, catch-up and status keep the index."""


@search.command("query")
@click.argument("words", nargs=-1, required=True)
@click.option("--public", "as_public", is_flag=True, help="As the public sees it (the default).")
@click.option("--user", "username", default=None, help="As this user sees it.")
@click.option("--all", "as_all", is_flag=True, help="Everything (operator at the console).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(0, 1000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object: total and hits.")
def query_command(
    words: tuple[str, ...], as_public: bool, username: str | None, as_all: bool, limit: int,
    as_json: bool,
) -> None:  # fmt: skip
    """Search the catalogue and the full text as USER or as the public would; exits 0."""
    if sum([as_public, username is not None, as_all]) > 1:
        raise click.UsageError("--public、--user 与 --all 只能选一个")
    django_setup()
    from lantai.core.models import User
    from lantai.search import services
    from lantai.search.query import Query

    user: Any = None
    scope = None
    if username is not None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise click.UsageError(f"用户“{username}”不存在")
    elif as_all:
        scope = services.EVERYTHING
    try:
        results = services.search(
            user, Query(text=" ".join(words), limit=limit, highlight=False), scope=scope
        )
    except services.SearchError as e:
        raise click.UsageError(e.message_zh) from e
    hits = [
        {
            "id": h.id,
            "档号": h.fields.get("reference_code", ""),
            "题名": h.fields.get("title", ""),
            "open_status": OPEN_STATUS_ZH.get(str(h.fields.get("open_status")), "未开放"),
            "score": round(h.score, 4),
        }
        for h in results.hits
    ]
    if as_json:
        echo_json({"total": results.total, "hits": hits})
        return
    click.echo(f"共 {results.total} 条（显示 {len(hits)} 条）")
    for h in hits:
        click.echo(f"{h['id']}\t{h['档号']}\t{h['题名']}\t{h['open_status']}\t{h['score']}")


@search.command("reindex")
def reindex() -> None:
    """Rebuild the index from the catalogue aside and swap it in (searches keep working)."""
    django_setup()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from lantai.search import services

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), transient=not sys.stderr.isatty(),
    ) as bar:  # fmt: skip
        task = bar.add_task("重建索引 reindexing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        n = services.reindex(progress=progress)
    click.echo(f"已重建检索索引：{n} 条档案（{services.backend_config()[0]}）")
    failed = services.status().pending
    if failed:
        click.echo(f"{failed} 条档案未能索引，补充索引任务会重试；原因见 lantai search status")


@search.command("catch-up")
def catch_up() -> None:
    """Index now what the queued updates missed (failed updates, bulk imports)."""
    django_setup()
    from lantai.search import services

    n = services.catch_up()
    click.echo(f"已补充索引 {n} 条档案")


@search.command("status")
@click.option("--json", "as_json", is_flag=True)
def status(as_json: bool) -> None:
    """Documents in the index against records in the catalogue, pending updates, last runs."""
    django_setup()
    from lantai.search import services

    s = services.status()
    failures = services.index_failures()
    data = {
        "backend": s.backend, "index": s.key, "documents": s.documents, "records": s.records,
        "pending": s.pending, "watermark": s.watermark, "last_run_at": s.last_run_at,
        "last_rebuild_at": s.last_rebuild_at, "last_error": s.last_error,
    }  # fmt: skip
    if as_json:
        echo_json({**data, "failures": [dataclasses.asdict(f) for f in failures]})
        return
    for k, v in data.items():
        click.echo(f"{k}\t{'' if v is None else v}")
    if failures:
        shown = f"（最近 {len(failures)} 条）" if len(failures) < s.pending else ""
        click.echo(f"未能索引的档案{shown}：")
        click.echo("record_id\t档号\tattempts\tfirst_failed_at\tlast_failed_at\terror")
        for f in failures:
            click.echo(
                f"{f.record_id}\t{f.reference_code or '（已删除）'}\t{f.attempts}\t"
                f"{f.first_failed_at}\t{f.last_failed_at or ''}\t{f.error}"
            )
