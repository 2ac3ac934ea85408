"""`lantai digitization …`: scanning batches from the console.

    lantai digitization import DIR [--repository CODE] [--purpose ocr] [--name NAME] [--json]
    lantai digitization check BATCH [--json]
    lantai digitization list [--json]
    lantai digitization inspect BATCH PAGE_ID pass|fail [--note TEXT]
    lantai digitization accept BATCH [--reason TEXT] [--json]
    lantai digitization return BATCH --reason TEXT [--json]
    lantai digitization ocr-status BATCH [--json]

`import` registers the folder as a batch and checks it here and now (the web UI queues the
same check as a job). Exit codes of `import` and `check`: 0 every page placed and no check
failed (warnings allowed), 1 a check failed or files could not be placed, 2 the batch cannot be
read (no such folder, an unreadable manifest) or no such batch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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
from lantai.standards import dat31


@click.group()
def digitization() -> None:
    """数字化: scanning batches, DA/T 31 checks, 抽检, accept or return, OCR progress."""


def report(batch: Any) -> dict[str, Any]:
    """The batch's check report as JSON."""
    from lantai.digitization import services

    ready = services.readiness(batch) if batch.status == "checked" else None
    return {
        "ok": batch.result in ("pass", "warn"),
        "batch": batch.pk,
        "name": batch.name,
        "repository": batch.repository.code,
        "status": batch.status,
        "result": batch.result,
        "purpose": batch.purpose,
        "catalogue": f"DA/T 31-2017 v{batch.catalogue_version}",
        "error": batch.error,
        "summary": batch.summary,
        "findings": [
            {
                "code": f.code,
                "result": f.result,
                "subject": f.subject,
                "message": f.message_zh,
                "message_en": f.message_en,
                "evidence": f.evidence,
            }
            for f in batch.findings.order_by("id")
        ],
        "items": [
            {
                "档号": i.reference_code,
                "pages": i.page_count,
                "declared_pages": i.declared_pages,
                "sampled": i.sampled,
            }
            for i in batch.items.order_by("reference_code")
        ],
        # 抽检: the pages a person must look at (`lantai digitization inspect BATCH PAGE pass|fail`)
        "sample": [
            {
                "page": p.pk,
                "档号": p.item.reference_code,
                "页号": p.number,
                "file": p.source_name,
                "inspection": p.inspection,
            }
            for p in services.sample_pages(batch).order_by("item__reference_code", "number")
        ],
        "acceptable": ready.acceptable if ready else False,
    }


def _exit_for(batch: Any) -> int:
    if batch.status == "failed" and not batch.summary.get("checks"):
        return EXIT_UNREADABLE
    return EXIT_OK if batch.result in ("pass", "warn") else EXIT_REFUSED


def _print(batch: Any, as_json: bool) -> None:
    data = report(batch)
    if as_json:
        echo_json(data)
        return
    s = batch.summary
    click.echo(
        f"批次 {batch.pk}「{batch.name}」：{batch.get_status_display()}，结论 {batch.result or '-'}；"
        f"页面 {s.get('pages', 0)}，档案 {s.get('items', 0)}，"
        f"无页面的档案 {s.get('items_without_pages', 0)}，未能对应的文件 {s.get('unplaced', 0)}"
    )
    if batch.error:
        click.echo(f"  {batch.error}")
    for f in data["findings"]:
        click.echo(f"  [{f['result']}] {f['code']} {f['subject']}：{f['message']}")


def _batch_or_exit(batch_id: int, as_json: bool) -> Any:
    from lantai.digitization.models import Batch

    batch = Batch.objects.select_related("repository").filter(pk=batch_id).first()
    if batch is None:
        fail(f"数字化批次 {batch_id} 不存在", EXIT_UNREADABLE, as_json, field="batch")
    return batch


def _run_check(batch: Any, as_json: bool) -> Any:
    from lantai.core.audit import acting_as
    from lantai.digitization import services

    show = not as_json and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            click.echo(f"\r检测 {done}/{total}", nl=done == total, err=True)

    with acting_as(cli_actor()):
        return services.check_batch(batch.pk, progress)


@digitization.command("import")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--repository", default=None, help="档案馆代码（默认：默认档案馆）")
@click.option(
    "--purpose",
    default="ocr",
    show_default=True,
    type=click.Choice([p.key for p in dat31.purposes()]),
    help="扫描用途 (DA/T 31 resolution: 200, 300, 600, 200, 400 dpi)",
)
@click.option("--name", default="", help="批次名称（默认：文件夹名）")
@click.option(
    "--sample-ratio", type=click.FloatRange(0.05, 1.0), default=None, help="抽检比例（默认 0.05）"
)
@click.option("--json", "as_json", is_flag=True)
def import_command(
    folder: Path,
    repository: str | None,
    purpose: str,
    name: str,
    sample_ratio: float | None,
    as_json: bool,
) -> None:
    """Bring in the scanning output in FOLDER as a batch and check it (DA/T 31)."""
    django_setup()
    from lantai.catalog import services as catalog
    from lantai.core.audit import acting_as
    from lantai.digitization import services

    try:
        repo = catalog.get_repository(repository)
    except catalog.CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    if not folder.is_dir():
        fail(f"批次文件夹“{folder}”不存在或不是文件夹", EXIT_UNREADABLE, as_json, field="folder")
    try:
        with acting_as(cli_actor()):
            batch = services.register_batch(
                folder,
                user=None,
                repository=repo,
                name=name,
                purpose=purpose,
                sample_ratio=sample_ratio,
            )
    except services.DigitizationError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, field=e.field)
    batch = _run_check(batch, as_json)
    _print(batch, as_json)
    sys.exit(_exit_for(batch))


@digitization.command("check")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def check_command(batch_id: int, as_json: bool) -> None:
    """The check report of BATCH; a returned or failed batch is checked again first."""
    django_setup()
    from lantai.digitization import services

    batch = _batch_or_exit(batch_id, as_json)
    if batch.status in ("returned", "failed", "checking"):
        if batch.status != "checking":
            batch = services.recheck_batch(batch, user=None)
        batch = _run_check(batch, as_json)
    _print(batch, as_json)
    sys.exit(_exit_for(batch))


@digitization.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every batch with its status and counts."""
    django_setup()
    from lantai.digitization.models import Batch

    rows = [
        {
            "batch": b.pk,
            "name": b.name,
            "repository": b.repository.code,
            "status": b.status,
            "result": b.result,
            "pages": b.summary.get("pages", 0),
            "created_at": b.created_at.isoformat(),
        }
        for b in Batch.objects.select_related("repository").order_by("-pk")
    ]
    if as_json:
        echo_json({"ok": True, "batches": rows})
        return
    for r in rows:
        click.echo(f"{r['batch']}\t{r['status']}\t{r['result']}\t{r['pages']} 页\t{r['name']}")


@digitization.command("inspect")
@click.argument("batch_id", type=int)
@click.argument("page_id", type=int)
@click.argument("result", type=click.Choice(["pass", "fail"]))
@click.option("--note", default="", help="不合格时写明问题")
@click.option("--json", "as_json", is_flag=True)
def inspect_command(batch_id: int, page_id: int, result: str, note: str, as_json: bool) -> None:
    """抽检: record a person's verdict on one sampled page of BATCH."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.digitization import services
    from lantai.digitization.models import Page

    batch = _batch_or_exit(batch_id, as_json)
    page = Page.objects.select_related("item", "batch").filter(pk=page_id, batch=batch).first()
    if page is None:
        fail(f"批次 {batch_id} 中没有页面 {page_id}", EXIT_UNREADABLE, as_json, field="page")
    try:
        with acting_as(cli_actor()):
            services.inspect_page(page, user=None, result=result, note=note)
    except services.DigitizationError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, field=e.field)
    if as_json:
        echo_json({"ok": True, "page": page.pk, "inspection": result})
    else:
        click.echo(f"页面 {page.pk}（{page.source_name}）抽检：{result}")


@digitization.command("accept")
@click.argument("batch_id", type=int)
@click.option("--reason", default="", help="验收说明（有警告时必填）")
@click.option("--json", "as_json", is_flag=True)
def accept_command(batch_id: int, reason: str, as_json: bool) -> None:
    """Accept BATCH: attach its pages to their records and queue their OCR."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.digitization import services

    batch = _batch_or_exit(batch_id, as_json)
    try:
        with acting_as(cli_actor()):
            pages = services.accept_batch(batch, user=None, reason=reason)
    except services.DigitizationError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, field=e.field)
    if as_json:
        echo_json(
            {
                "ok": True,
                "batch": batch.pk,
                "status": "accepted",
                "pages": pages,
                "recordings": batch.recordings.count(),
            }
        )
    else:
        recordings = batch.recordings.count()
        heard = f"，录音录像 {recordings} 件待生成利用版本" if recordings else ""
        click.echo(f"批次 {batch.pk} 已验收：{pages} 页已挂接到档案，文字识别已排队{heard}")


@digitization.command("return")
@click.argument("batch_id", type=int)
@click.option("--reason", required=True, help="退回理由")
@click.option("--json", "as_json", is_flag=True)
def return_command(batch_id: int, reason: str, as_json: bool) -> None:
    """Return BATCH to whoever brought it, with the reasons."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.digitization import services

    batch = _batch_or_exit(batch_id, as_json)
    try:
        with acting_as(cli_actor()):
            services.return_batch(batch, user=None, reason=reason)
    except services.DigitizationError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json, field=e.field)
    if as_json:
        echo_json({"ok": True, "batch": batch.pk, "status": "returned"})
    else:
        click.echo(f"批次 {batch.pk} 已退回")


@digitization.command("ocr-status")
@click.argument("batch_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def ocr_status_command(batch_id: int, as_json: bool) -> None:
    """How far the OCR of BATCH's pages has come."""
    django_setup()
    from lantai.digitization import services

    batch = _batch_or_exit(batch_id, as_json)
    counts = services.ocr_progress(batch)
    if as_json:
        echo_json({"ok": True, "batch": batch.pk, **counts})
    else:
        click.echo(
            f"批次 {batch.pk}：已识别 {counts['done']}/{counts['pages']}，排队 {counts['pending']}，"
            f"失败 {counts['failed']}，待校对 {counts['needs_correction']}"
        )
