"""`lantai review …`: 开放审核 from the console.

    lantai review screen FILE... [--json]          the machine pre-screen of text or PDF files;
                                                   registers nothing (exit 0; 2 a file unreadable)
    lantai review plan --name NAME [--repository CODE] [--as-of DATE] [--fonds CODE]...
                       [--early CATEGORY_ID]... [--reviewer USER]... [--dry-run] [--json]
    lantai review tasks [--json]                    tasks and their progress
    lantai review deferral-list [--task ID] --out FILE.xlsx
    lantai review export TASK --out FILE [--xml]    signed appraisal results (鉴定成果数据对接)
    lantai review import FILE [--apply] [--json]    check and preview (and apply) such a file
    lantai review train [--json]                    train the archives' classifier on decisions
    lantai review evaluate [--json]                 recall/precision per ground, classifier, time

Exit codes: 0 done, 1 refused (a rule of the review), 2 unreadable input or no such object."""

from __future__ import annotations

import sys
import time
from datetime import date
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


@click.group()
def review() -> None:
    """开放审核: machine pre-screen, review tasks, deferral lists, exchange of appraisal results."""


class Unreadable(Exception):
    """A file whose text cannot be screened (the message names the file and why)."""


def read_text(path: Path) -> str:
    """The text of a text file (UTF-8, a BOM not counted, else GB18030) or of a PDF's text layer.
    A PDF without a readable text layer is Unreadable: "nothing found" would be a false pass."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise Unreadable(f"“{path}”不存在或不可读") from e
    if data[:5] == b"%PDF-":
        from lantai.search.text import extract_text

        text = extract_text(path, path.name)
        if not text.strip():
            raise Unreadable(
                f"“{path}”是没有文字层、已加密或已损坏的 PDF，无法初筛（扫描件请先用 lantai ocr 识别）"
            )
        return text
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unreadable(f"“{path}”既不是 UTF-8 也不是 GB18030 文本")


def _matcher() -> Any:
    """The archives' current term lists when this data directory holds an archives, else the
    lists shipped with Lantai."""
    from django.conf import settings

    from lantai.cli_common import require_initialised
    from lantai.review import lexicons
    from lantai.standards import review_lexicons

    db = settings.DATABASES["default"]
    shipped = review_lexicons.LexiconMatcher(review_lexicons.default_lexicons())
    if "sqlite" in db["ENGINE"] and not Path(str(db["NAME"])).is_file():
        return shipped  # asking would create an empty database file in a data directory
    try:
        require_initialised()
    except click.ClickException:
        return shipped
    return lexicons.matcher()


@review.command("screen")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def screen_command(files: tuple[Path, ...], as_json: bool) -> None:
    """The machine pre-screen of FILES (text in UTF-8 or GB18030, or PDF); registers nothing."""
    django_setup(database=False)
    from lantai.review import screening

    matcher = _matcher()
    documents, failed = [], False
    for path in files:
        try:
            text = read_text(path)
        except Unreadable as e:
            failed = True
            documents.append({"file": str(path), "error": str(e), "spans": [], "seconds": 0.0})
            continue
        started = time.perf_counter()
        spans = screening.screen_text(text, matcher)
        documents.append({
            "file": str(path), "spans": [s.as_dict() for s in spans],
            "seconds": round(time.perf_counter() - started, 4),
        })  # fmt: skip
    if as_json:
        errors = [d["error"] for d in documents if "error" in d]
        # the shape the issue fixes; a file that could not be read adds ok/error, as every command
        echo_json({"ok": False, "error": errors[0], "documents": documents} if errors
                  else {"documents": documents})  # fmt: skip
    else:
        for doc in documents:
            click.echo(f"{doc['file']}: {doc.get('error') or str(len(doc['spans'])) + ' 处'}")
            for s in doc["spans"]:
                click.echo(
                    f"  {s['start']}–{s['end']} [{s['kind']}] {s['text']} "
                    f"{s['category']} {s['ground'] or '-'} {s['rule']} {s['score']:.2f}"
                )
    sys.exit(EXIT_UNREADABLE if failed else EXIT_OK)


def _user(username: str, as_json: bool) -> Any:
    from lantai.core.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        fail(f"用户“{username}”不存在", EXIT_UNREADABLE, as_json, field="reviewer")
    return user


@review.command("plan")
@click.option("--name", required=True, help="任务名称")
@click.option("--repository", default=None, help="档案馆代码（默认：默认档案馆）")
@click.option("--as-of", "as_of", default=None, help="审核基准日（默认今天），YYYY-MM-DD")
@click.option("--fonds", "fonds_codes", multiple=True, help="只审这些全宗（全宗号）")
@click.option("--early", "early", multiple=True, type=int, help="提前开放的门类（门类 id）")
@click.option("--reviewer", "reviewers", multiple=True, help="审核员用户名（轮流分配初审）")
@click.option("--sample-rate", type=click.FloatRange(0, 1), default=None)
@click.option("--dry-run", is_flag=True, help="只列出将选中和排除的档案")
@click.option("--json", "as_json", is_flag=True)
def plan_command(
    name: str, repository: str | None, as_of: str | None, fonds_codes: tuple[str, ...],
    early: tuple[int, ...], reviewers: tuple[str, ...], sample_rate: float | None,
    dry_run: bool, as_json: bool,
) -> None:  # fmt: skip
    """计划: a review task over the records due (formation + 25 years) and the early-open 门类."""
    django_setup()
    from lantai.catalog import services as catalog
    from lantai.catalog.models import Category, Fonds
    from lantai.core.audit import acting_as
    from lantai.core.roles import REVIEW
    from lantai.review import services

    try:
        repo = catalog.get_repository(repository)
        day = date.fromisoformat(as_of) if as_of else date.today()
    except catalog.CatalogError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field="repository")
    except ValueError:
        fail(f"基准日“{as_of}”不是 YYYY-MM-DD 日期", EXIT_UNREADABLE, as_json, field="as_of")
    fonds = list(Fonds.objects.filter(repository=repo, code__in=fonds_codes))
    if missing := set(fonds_codes) - {f.code for f in fonds}:
        fail(f"全宗 {'、'.join(sorted(missing))} 不在档案馆 {repo.code}", EXIT_UNREADABLE,
             as_json, field="fonds")  # fmt: skip
    categories = list(Category.objects.filter(fonds__repository=repo, pk__in=early))
    if missing_early := set(early) - {c.pk for c in categories}:
        fail(f"门类 id {'、'.join(map(str, sorted(missing_early)))} 不在档案馆 {repo.code}",
             EXIT_UNREADABLE, as_json, field="early")  # fmt: skip
    people = [_user(u, as_json) for u in reviewers]
    if not_reviewers := [u.get_username() for u in people if not u.has_perm_code(REVIEW)]:
        fail(f"用户 {'、'.join(not_reviewers)} 不是审核员", EXIT_UNREADABLE, as_json,
             field="reviewer")  # fmt: skip
    plan = services.plan_records(repo, as_of=day, fonds=fonds, early_categories=categories)
    out: dict[str, Any] = {
        "ok": True, "records": len(plan.records),
        "selected": [r.reference_code for r in plan.records] if dry_run else [],
        "excluded": [{"档号": e.record.reference_code, "reason": e.reason} for e in plan.excluded],
    }  # fmt: skip
    if not dry_run:
        try:
            with acting_as(cli_actor()):
                task = services.create_task(
                    None, name=name, records=plan.records, reviewers=people,
                    sample_rate=sample_rate, criteria={
                        "as_of": day.isoformat(), "fonds": list(fonds_codes),
                        "early_categories": list(early),
                    },
                )  # fmt: skip
        except services.ReviewError as e:
            fail(e.message_zh, EXIT_REFUSED, as_json)
        out["task"] = task.pk
    if as_json:
        echo_json(out)
    else:
        click.echo(f"选中 {out['records']} 件，排除 {len(plan.excluded)} 件" +
                   (f"；任务 {out['task']}" if "task" in out else "（未建任务）"))  # fmt: skip
        for code in out["selected"]:
            click.echo(f"  选中 {code}")
        for e in out["excluded"]:
            click.echo(f"  排除 {e['档号']}：{e['reason']}")


@review.command("tasks")
@click.option("--json", "as_json", is_flag=True)
def tasks_command(as_json: bool) -> None:
    """Review tasks and their progress per stage."""
    django_setup()
    from lantai.review import services
    from lantai.review.models import ReviewTask

    rows = []
    for task in ReviewTask.objects.order_by("-created_at")[:200]:
        p = services.progress(task)
        rows.append({
            "task": task.pk, "name": task.name, "kind": task.kind, "status": task.status,
            "total": p["total"], "published": p["published"], "doubts": p["doubts"],
            "stages": {code: n for code, _, n in p["stages"]},
        })  # fmt: skip
    if as_json:
        echo_json({"tasks": rows})
        return
    for r in rows:
        stages = "，".join(f"{services.stage_label(k)} {v}" for k, v in r["stages"].items())
        click.echo(
            f"{r['task']}\t{r['name']}\t{r['total']} 件（{stages}；已发布 {r['published']}）"
        )


def _task(task_id: int | None, as_json: bool) -> Any:
    from lantai.review.models import ReviewTask

    if task_id is None:
        return None
    task = ReviewTask.objects.filter(pk=task_id).first()
    if task is None:
        fail(f"审核任务 {task_id} 不存在", EXIT_UNREADABLE, as_json, field="task")
    return task


def _write(out: Path, data: bytes) -> None:
    try:
        out.write_bytes(data)
    except OSError as e:
        fail(f"不能写入“{out}”：{e.strerror or e}", EXIT_UNREADABLE, False, field="out")


@review.command("deferral-list")
@click.option("--task", "task_id", type=int, default=None)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="FILE.xlsx")
def deferral_list_command(task_id: int | None, out: Path) -> None:
    """延期开放目录 (the deferred records, for the authority's approval) as Excel."""
    django_setup()
    from lantai.review import publishing

    if out.suffix.lower() != ".xlsx":
        fail("延期开放目录请导出为 .xlsx（PDF 请在网页上导出）", EXIT_UNREADABLE, False)
    rows = publishing.deferral_list(None, _task(task_id, False))
    _write(out, publishing.deferral_xlsx(rows))
    click.echo(f"延期开放目录：{len(rows)} 件 → {out}")


@review.command("export")
@click.argument("task_id", type=int)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--xml", "as_xml", is_flag=True)
def export_command(task_id: int, out: Path, as_xml: bool) -> None:
    """The decided items of TASK as a signed exchange file (JSON, or XML with --xml)."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.review import exchange

    task = _task(task_id, False)
    try:
        with acting_as(cli_actor()):
            data = exchange.export(None, list(task.items.select_related("record")), as_xml=as_xml)
    except exchange.ReviewError as e:
        fail(e.message_zh, EXIT_REFUSED, False)
    _write(out, data)
    click.echo(f"已导出 → {out}")


@review.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--apply", "do_apply", is_flag=True, help="检查无误后建立审核任务")
@click.option("--json", "as_json", is_flag=True)
def import_command(file: Path, do_apply: bool, as_json: bool) -> None:
    """Check FILE (鉴定成果数据对接) and show what it would change; --apply makes the proposals a
    review task (people still decide)."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.review import exchange

    try:
        data = file.read_bytes()
    except OSError:
        fail(f"文件“{file}”不存在或不可读", EXIT_UNREADABLE, as_json, field="file")
    try:
        with acting_as(cli_actor()):
            row = exchange.preview(None, data, file.name)
            task = exchange.apply(None, row) if do_apply else None
    except exchange.ReviewError as e:
        fail(e.message_zh, EXIT_UNREADABLE, as_json, field="file")
    out = {
        "ok": True, "import": row.pk, "exporter": row.exporter, "signature_ok": row.signature_ok,
        "key_trusted": row.key_trusted,
        "changes": row.changes, "task": task.pk if task else None,
    }  # fmt: skip
    if as_json:
        echo_json(out)
        return
    known = (
        "密钥已登记"
        if row.key_trusted
        else "密钥未登记，无法确认导出方身份（LANTAI_EXCHANGE_TRUSTED_KEYS）"
    )
    click.echo(
        f"来自 {row.exporter.get('archives_name', '')}：{len(row.changes)} 条，签名有效；{known}"
    )
    for c in row.changes:
        click.echo(f"  {c['reference_code']}：{c['decision']} → {c['action']}")
    if task is not None:
        click.echo(f"已建立审核任务 {task.pk}")


@review.command("train")
@click.option("--json", "as_json", is_flag=True)
def train_command(as_json: bool) -> None:
    """Train the archives' classifier on the reviewers' decisions (evaluated on held-back ones)."""
    django_setup()
    from lantai.core.audit import acting_as
    from lantai.review import classifier_store
    from lantai.review.services import ReviewError

    try:
        with acting_as(cli_actor()):
            row = classifier_store.train(None)
    except ReviewError as e:
        fail(e.message_zh, EXIT_REFUSED, as_json)
    out = {"ok": True, "version": row.version, "labels": row.labels, "positives": row.positives,
           "evaluation": row.evaluation}  # fmt: skip
    if as_json:
        echo_json(out)
    else:
        click.echo(f"分类器 {row.version}：{row.labels} 条（不开放 {row.positives}），"
                   f"{_figures(row.evaluation)}")  # fmt: skip


def _figure(value: Any, interval: Any = None) -> str:
    if value is None:
        return "—（无样本）"
    shown = f"{value:.3f}"
    if isinstance(interval, list) and len(interval) == 2:
        shown += f"（95% 区间 {interval[0]:.3f}–{interval[1]:.3f}）"
    return shown


def _figures(e: dict[str, Any]) -> str:
    """A classifier's held-back evaluation as one line."""
    return (
        f"平衡准确率 {_figure(e.get('balanced_accuracy'), e.get('bac_interval'))}，"
        f"F2 {_figure(e.get('f2'), e.get('f2_interval'))}，召回 {_figure(e.get('recall'))}，"
        f"精确 {_figure(e.get('precision'))}（留出评估）"
    )


@review.command("evaluate")
@click.option("--json", "as_json", is_flag=True)
def evaluate_command(as_json: bool) -> None:
    """How well the machine helps, on the archives' own decisions."""
    django_setup()
    from lantai.review import evaluation
    from lantai.review.models import ReviewItem

    data = evaluation.report(ReviewItem.objects.all())
    if as_json:
        echo_json({"ok": True, **data})
        return
    click.echo(f"已作出结论 {data['decided']} 件；机器初筛按第八条各项依据：")
    for g in data["per_ground"]:
        click.echo(f"  {g['label']}：召回 {_figure(g['recall'])}，精确 {_figure(g['precision'])}"
                   f"（人工不开放 {g['withheld']} 件，机器提示 {g['flagged']} 件）")  # fmt: skip
    model = data["classifier"]
    click.echo(f"分类器 {model['version']}：{_figures(model['evaluation'])}" if model
               else "分类器：尚未训练")  # fmt: skip
    for key, label in (("assisted", "有机器辅助"), ("unassisted", "无辅助对照")):
        t = data["reviewer_time"][key]
        median = "—" if t["median_seconds"] is None else f"{t['median_seconds']} 秒"
        click.echo(f"每件初审用时（{label}）：中位数 {median}，{t['decisions']} 件")


__all__ = ["review", "EXIT_OK", "EXIT_REFUSED"]
