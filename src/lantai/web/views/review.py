"""开放审核 in the staff UI: the reviewer's side — the tasks and their progress, the plan of a new
task, the queue riskiest first, the review page (text with the machine's findings, reasons, the
unit's transfer opinions, the decision with passages to withhold), the forming unit's page and
the doubt list. The archives' tools (lexicons, classifier, exchange, evaluation) are in
`lantai.web.views.review_admin`.

The work is done by lantai.review (services, publishing, exchange); these views decide who may
see what, read the forms and show the results. The machine ranks and explains; people decide."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from lantai.catalog import services as catalog
from lantai.catalog.models import Category, Fonds
from lantai.core.roles import REVIEW, REVIEW_MANAGE, UNIT_REVIEW
from lantai.digitization import reading
from lantai.review import publishing, services, texts
from lantai.review.models import ReviewItem, ReviewTask
from lantai.review.services import Proposal, ReviewError
from lantai.standards.sensitivity import review_data
from lantai.web import review_support as support
from lantai.web.labels import english
from lantai.web.views.common import View, forbidden, not_found, whole_number

TASK_PAGE = 100
QUEUE_PAGE = 50
PLAN_SHOWN = 200  # selected / excluded records listed in the plan preview
PERMISSION_NAMES = {
    REVIEW: _("开放审核"),
    REVIEW_MANAGE: _("开放审核管理"),
    UNIT_REVIEW: _("会同审核"),
}


def message_of(e: Exception) -> str:
    """A service's refusal in the page's language."""
    zh = getattr(e, "message_zh", str(e))
    return str(getattr(e, "message_en", zh) if english() else zh)


def _user(request: HttpRequest) -> Any:
    return request.user


def needs(*permissions: str) -> Callable[[View], View]:
    """Sign-in required; a user holding none of `permissions` gets the 403 page (audited)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(_user(request).has_perm_code(p) for p in permissions):
                wanted = "、".join(str(PERMISSION_NAMES[p]) for p in permissions)
                return forbidden(
                    request, gettext("您的角色没有“%(permission)s”权限。") % {"permission": wanted}
                )
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorate


def visible_task(request: HttpRequest, pk: int) -> ReviewTask | None:
    return services.visible_tasks(_user(request)).filter(pk=pk).first()


def no_task(request: HttpRequest) -> HttpResponse:
    return not_found(request, gettext("审核任务不存在，或您无权查看。"))


# --- the tasks ------------------------------------------------------------------------------------
def _task_rows(tasks: list[ReviewTask]) -> list[dict[str, Any]]:
    """Each task with its items per stage and published: two grouped queries for the page."""
    ids = [t.pk for t in tasks]
    counts: dict[int, dict[str, int]] = {}
    for row in (
        ReviewItem.objects.filter(task_id__in=ids)
        .values("task_id", "stage")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts.setdefault(row["task_id"], {})[row["stage"]] = row["n"]
    published = dict(
        ReviewItem.objects.filter(task_id__in=ids, published_at__isnull=False)
        .values_list("task_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = []
    for t in tasks:
        c = counts.get(t.pk, {})
        stages = [(services.stage_label(s), c.get(s, 0)) for s in t.stages]
        rows.append({"task": t, "stages": stages, "total": sum(c.values()),
                     "published": published.get(t.pk, 0)})  # fmt: skip
    return rows


@needs(REVIEW, REVIEW_MANAGE, UNIT_REVIEW)
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    tasks = services.visible_tasks(user)
    active = list(tasks.filter(status="active").select_related("repository")[:50])
    done = list(tasks.filter(status="done").select_related("repository")[:20])
    return render(
        request,
        "web/review_home.html",
        {
            "active": _task_rows(active),
            "done": _task_rows(done),
            "waiting": services.queue(user).count() if user.has_perm_code(REVIEW) else 0,
            "unit_waiting": services.unit_items(user).count(),
            "doubts": services.doubts(user).count() if user.has_perm_code(REVIEW) else 0,
        },
    )


# --- 计划 -------------------------------------------------------------------------------------------
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PlanForm(forms.Form):
    name = forms.CharField(label=_("任务名称"), max_length=200)
    repository = forms.TypedChoiceField(label=_("档案馆"), coerce=int)
    as_of = forms.DateField(
        label=_("基准日"), help_text=_("形成满 25 年的日期以此日计算。"), widget=DATE_INPUT
    )
    fonds = forms.TypedMultipleChoiceField(
        label=_("全宗"), coerce=int, required=False, help_text=_("不选即为该馆全部全宗。")
    )
    early_subject = forms.ChoiceField(label=_("提前开放类别"), required=False)
    early_categories = forms.TypedMultipleChoiceField(
        label=_("提前开放的门类"),
        coerce=int,
        required=False,
        help_text=_("经济、教育、科技、文化类档案可以少于 25 年提前开放（档案法第二十七条）。"),
    )
    reviewers = forms.TypedMultipleChoiceField(
        label=_("审核员"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    stages = forms.MultipleChoiceField(
        label=_("审核环节"), required=False, widget=forms.CheckboxSelectMultiple
    )
    sample_percent = forms.FloatField(label=_("抽查比例（%）"), min_value=0, max_value=100)
    unit_deadline = forms.DateField(label=_("形成单位反馈期限"), required=False, widget=DATE_INPUT)
    unassisted_percent = forms.FloatField(
        label=_("无辅助对照比例（%）"),
        min_value=0,
        max_value=50,
        help_text=_("随机抽取这一比例的档案不显示机审结果，用以衡量辅助的效果。"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        repositories = list(catalog.visible_repositories(user))
        self.repositories = {r.pk: r for r in repositories}
        self.fields["repository"].choices = [(r.pk, r.name) for r in repositories]  # type: ignore[attr-defined]
        fonds = catalog.visible_fonds(user).filter(repository__in=repositories)
        self.fonds_by_id = {f.pk: f for f in fonds.order_by("repository_id", "code")}
        self.fields["fonds"].choices = [  # type: ignore[attr-defined]
            (f.pk, f"{f.code} {f.name}") for f in self.fonds_by_id.values()
        ]
        categories = Category.objects.filter(fonds__in=list(self.fonds_by_id)).select_related(
            "fonds"
        )
        self.categories = {c.pk: c for c in categories}
        self.fields["early_categories"].choices = [  # type: ignore[attr-defined]
            (c.pk, f"{c.fonds.code}-{c.code}") for c in self.categories.values()
        ]
        self.fields["early_subject"].choices = [("", "—"), *support.early_subject_choices()]  # type: ignore[attr-defined]
        people = list(support.reviewer_accounts())
        self.people = {u.pk: u for u in people}
        self.fields["reviewers"].choices = [  # type: ignore[attr-defined]
            (u.pk, f"{u.get_full_name() or u.username}（{u.username}）") for u in people
        ]
        self.fields["stages"].choices = support.optional_stage_choices()  # type: ignore[attr-defined]
        self.fields["stages"].initial = [c for c, _label in support.optional_stage_choices()]
        self.fields["sample_percent"].initial = round(review_data()["sample_rate"] * 100, 2)
        self.fields["unassisted_percent"].initial = 0
        self.fields["as_of"].initial = timezone.localdate()
        if len(repositories) == 1:
            self.fields["repository"].initial = repositories[0].pk

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        repo = data.get("repository")
        if repo is not None:
            for pk in data.get("fonds") or []:
                if self.fonds_by_id[pk].repository_id != repo:
                    self.add_error("fonds", gettext("所选全宗不属于该档案馆。"))
                    break
            for pk in data.get("early_categories") or []:
                if self.categories[pk].fonds.repository_id != repo:
                    self.add_error("early_categories", gettext("所选门类不属于该档案馆。"))
                    break
        if data.get("early_categories") and not data.get("early_subject"):
            self.add_error(
                "early_subject", gettext("提前开放须选择类别（经济、教育、科技或文化）。")
            )
        return data

    def chosen_fonds(self) -> list[Fonds]:
        return [self.fonds_by_id[pk] for pk in self.cleaned_data.get("fonds") or []]

    def chosen_categories(self) -> list[Category]:
        return [self.categories[pk] for pk in self.cleaned_data.get("early_categories") or []]

    def criteria(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "as_of": d["as_of"].isoformat(),
            "fonds": [f.code for f in self.chosen_fonds()],
            "early_subject": d.get("early_subject") or "",
            "early_categories": [str(c) for c in self.chosen_categories()],
        }


@needs(REVIEW_MANAGE)
def plan(request: HttpRequest) -> HttpResponse:
    """预览 shows what the plan selects and what it leaves out and why; 建立任务 creates it."""
    user = _user(request)
    form = PlanForm(request.POST or None, user=user)
    chosen = None
    error = ""
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        chosen = services.plan_records(
            form.repositories[d["repository"]], as_of=d["as_of"], fonds=form.chosen_fonds(),
            early_categories=form.chosen_categories(), user=user,
        )  # fmt: skip
        if request.POST.get("action") == "create":
            try:
                task = services.create_task(
                    user, name=d["name"], records=chosen.records,
                    kind="early" if d.get("early_categories") else "due",
                    criteria=form.criteria(), stages=d.get("stages") or (),
                    sample_rate=d["sample_percent"] / 100,
                    reviewers=[form.people[pk] for pk in d.get("reviewers") or []],
                    unit_deadline=d.get("unit_deadline"),
                    unassisted_rate=d["unassisted_percent"] / 100,
                )  # fmt: skip
            except ReviewError as e:
                error = message_of(e)
            else:
                messages.success(
                    request,
                    gettext("审核任务已建立：%(n)d 件档案，正在进行机审。")
                    % {"n": len(chosen.records)},
                )
                return redirect("web:review_task", pk=task.pk)
    return render(
        request,
        "web/review_plan.html",
        {
            "form": form,
            "plan": chosen,
            "selected": chosen.records[:PLAN_SHOWN] if chosen else [],
            "excluded": chosen.excluded[:PLAN_SHOWN] if chosen else [],
            "shown": PLAN_SHOWN,
            "error": error,
        },
    )


# --- one task -------------------------------------------------------------------------------------
@needs(REVIEW, REVIEW_MANAGE)
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = visible_task(request, pk)
    if task is None:
        return no_task(request)
    user = _user(request)
    items = (
        services.visible_items(user)
        .filter(task=task)
        .select_related("record")
        .order_by("record__reference_code", "pk")
    )
    page = Paginator(items, TASK_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"item": i, "stage": publishing.stage_of(i), "decision": support.decision_label(i.decision),
         "ground": support.ground_label(i.ground) if i.ground else ""}
        for i in page.object_list
    ]  # fmt: skip
    manages = user.has_perm_code(REVIEW_MANAGE)
    return render(
        request,
        "web/review_task.html",
        {
            "task": task,
            "progress": services.progress(task),
            "page": page,
            "rows": rows,
            "manages": manages,
            "ready": publishing.ready(task).count() if manages else 0,
            "criteria": task.criteria,
            "reviewers": list(task.reviewers.order_by("username")),
            "queue_waiting": services.queue(user, task).count(),
            # items wait for the machine pre-screen (queued jobs): say so if no worker runs
            "waits_on_job": task.items.filter(stage="machine").exists(),
        },
    )


# --- the queue ------------------------------------------------------------------------------------
@needs(REVIEW)
def queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    task_id = whole_number(request.GET.get("task"))
    task = visible_task(request, task_id) if task_id is not None else None
    stage = request.GET.get("stage", "")
    stage = stage if stage in services.STAGES else ""
    qs = services.queue(user, task, stage)
    page = Paginator(qs, QUEUE_PAGE).get_page(request.GET.get("page"))
    rows = [
        {"item": i, "stage": services.stage_label(i.stage),
         "tags": support.top_kinds(i.screening) if i.assisted else [],
         "screened": i.screened_at is not None}
        for i in page.object_list
    ]  # fmt: skip
    stages = [
        (s, services.stage_label(s)) for s in (*services.REVIEWING_STAGES, "unit", "approval")
    ]
    return render(
        request,
        "web/review_queue.html",
        {"page": page, "rows": rows, "task": task, "stage": stage, "stages": stages,
         "query": urlencode({"task": task.pk if task else "", "stage": stage}) + "&",
         "tasks": services.visible_tasks(user).filter(status="active")},
    )  # fmt: skip


# --- the review page ------------------------------------------------------------------------------
def _item(request: HttpRequest, pk: int) -> ReviewItem | None:
    return (
        services.visible_items(_user(request))
        .filter(pk=pk)
        .select_related("record", "record__fonds", "task")
        .first()
    )


def _posted_proposal(request: HttpRequest) -> Proposal:
    p = request.POST
    return Proposal(
        decision=p.get("decision", ""), ground=p.get("ground", ""), rule=p.get("rule", "")[:200],
        rereview_year=whole_number(p.get("rereview_year", "").strip()),
        passages=tuple(support.posted_passages(p)), note=p.get("note", "")[:2000],
    )  # fmt: skip


def _seconds(text: str | None) -> float | None:
    try:
        seconds = float(text or "")
    except ValueError:
        return None
    return round(seconds, 1) if 0 <= seconds < 7 * 24 * 3600 else None


def _next_url(request: HttpRequest, item: ReviewItem) -> str:
    """The next item of the same task waiting for this user, else the queue."""
    following = services.queue(_user(request), item.task).exclude(pk=item.pk).first()
    if following is not None:
        return reverse("web:review_item", args=[following.pk])
    return reverse("web:review_queue") + f"?task={item.task_id}"


def _pages(record: Any, sections: list[texts.Section]) -> dict[str, dict[str, Any]]:
    """For each page section: the page id and its place in the record's page viewer."""
    wanted = {s.key for s in sections if s.key.startswith("page:")}
    if not wanted:
        return {}
    out = {}
    for n, page in enumerate(reading.record_pages(record), 1):
        if f"page:{page.pk}" in wanted:
            out[f"page:{page.pk}"] = {"id": page.pk, "n": n}
    return out


def _form_values(item: ReviewItem, suggested: str) -> dict[str, Any]:
    return {
        "decision": item.decision or suggested, "ground": item.ground, "rule": item.rule,
        "rereview_year": item.rereview_year or "", "note": "", "passages": list(item.passages),
    }  # fmt: skip


def item_context(
    request: HttpRequest, item: ReviewItem, values: dict[str, Any] | None = None
) -> dict[str, Any]:
    user = _user(request)
    record = item.record
    sections = texts.sections(record)
    labels = {s.key: s.label for s in sections}
    screening = item.screening or {}
    spans: dict[str, list[dict[str, Any]]] = {}
    if item.assisted:
        for s in screening.get("spans", []):
            spans.setdefault(s["section"], []).append(s)
    pages = _pages(record, sections)
    shown = [
        {"key": s.key, "label": s.label, "page": pages.get(s.key), "chars": len(s.text),
         "segments": support.segments(s.text, spans.get(s.key, []))}
        for s in sections
    ]  # fmt: skip
    opinions = services.transfer_opinions(record)
    suggested = services.suggested_decision(opinions)
    values = values or _form_values(item, suggested)
    values["passages"] = support.passages_shown(
        values["passages"], {s.key: s.text for s in sections}, labels
    )
    stage = item.stage
    manages = user.has_perm_code(REVIEW_MANAGE)
    decides = stage in services.REVIEWING_STAGES and user.has_perm_code(REVIEW)
    decides = decides and (stage == "first" or stage == "second" or manages)
    classifier = screening.get("classifier") if item.assisted else None
    return {
        "item": item,
        "record": record,
        "stage_label": publishing.stage_of(item),
        "sections": shown,
        "reasons": support.reasons(screening, labels) if item.assisted else [],
        "classifier": classifier,
        "versions": screening.get("versions", {}) if item.assisted else {},
        "opinions": opinions,
        "suggested": suggested,
        "suggested_label": support.decision_label(suggested) if suggested else "",
        "decisions": [
            {
                "d": d,
                "decision": support.decision_label(d.decision),
                "ground": support.ground_label(d.ground) if d.ground else "",
                "stage": services.stage_label(d.stage),
            }
            for d in item.decisions.select_related("reviewer")
        ],  # fmt: skip
        "unit_opinions": [
            {
                "o": o,
                "decision": support.decision_label(o.decision) if o.decision else "",
                "ground": support.ground_label(o.ground) if o.ground else "",
            }
            for o in item.opinions.select_related("author")
        ],  # fmt: skip
        "can_decide": decides or (stage == "approval" and manages),
        "disputed": stage == "unit" and item.unit_state == "disputed" and manages,
        "decision_choices": support.decision_choices(),
        "ground_choices": support.ground_choices(),
        "ground_texts": [(c, support.ground_text(c)) for c, _label in support.ground_choices()],
        "this_year": timezone.localdate().year,
        "values": values,
        "screen_error": item.screen_error,
    }


@needs(REVIEW)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The review page; POST action=decide | doubt | accept_unit | answer_unit."""
    item = _item(request, pk)
    if item is None:
        return not_found(request, gettext("审核档案不存在，或您无权查看。"))
    if request.method != "POST":
        return render(request, "web/review_item.html", item_context(request, item))
    user = _user(request)
    action = request.POST.get("action", "decide")
    proposal = _posted_proposal(request)
    try:
        if action == "doubt":
            services.mark_doubt(item, user, request.POST.get("doubt_note", "")[:2000])
            messages.success(request, gettext("已更新存疑清单。"))
            return redirect("web:review_item", pk=item.pk)
        if action in ("accept_unit", "answer_unit"):
            revised = proposal if action == "answer_unit" and proposal.decision else None
            services.answer_dispute(item, user, accept=action == "accept_unit", proposal=revised)
            messages.success(request, gettext("已答复形成单位的意见。"))
            return redirect("web:review_item", pk=item.pk)
        services.decide(item, user, proposal, seconds=_seconds(request.POST.get("seconds")))
    except ReviewError as e:
        item.refresh_from_db()
        values = {
            "decision": proposal.decision, "ground": proposal.ground, "rule": proposal.rule,
            "rereview_year": request.POST.get("rereview_year", ""), "note": proposal.note,
            "passages": list(proposal.passages),
        }  # fmt: skip
        context = item_context(request, item, values)
        context["error"] = message_of(e)
        return render(request, "web/review_item.html", context)
    messages.success(
        request,
        gettext("已记录对档案“%(code)s”的审核结论。") % {"code": item.record.reference_code},
    )
    return redirect(_next_url(request, item))


# --- 会同审核: the forming unit's page --------------------------------------------------------------
def _unit_refusal(user: Any, ids: list[int]) -> ReviewError | None:
    """Ids that are not the unit's own are refused without naming their records (the unit
    must not learn the 档号 of another unit's records by trying ids)."""
    own = set(user.fonds.values_list("pk", flat=True))
    found = ReviewItem.objects.filter(pk__in=ids).values_list("pk", "record__fonds_id")
    foreign = len(set(ids) - {pk for pk, f in found if f in own})
    if not foreign:
        return None
    return ReviewError(
        f"所选的 {foreign} 件档案不是本单位的档案，不能提出意见；未保存任何意见",
        f"{foreign} of the chosen items are not records of your unit; nothing was saved",
    )


@needs(UNIT_REVIEW)
def unit(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    error = ""
    if request.method == "POST":
        ids = [n for n in (whole_number(v) for v in request.POST.getlist("item")) if n is not None]
        agrees = request.POST.get("action") == "agree"
        try:
            if not ids:
                raise ReviewError("请选择档案", "Choose the items")
            refusal = _unit_refusal(user, ids)
            if refusal is not None:
                raise refusal
            chosen = list(ReviewItem.objects.filter(pk__in=ids).select_related("record", "task"))
            n = services.unit_opinion(
                chosen, user, agrees=agrees, decision=request.POST.get("decision", ""),
                ground=request.POST.get("ground", ""), note=request.POST.get("note", "")[:2000],
            )  # fmt: skip
        except ReviewError as e:
            error = message_of(e)
        else:
            messages.success(
                request,
                (gettext("已同意 %(n)d 件档案的审核意见。") if agrees
                 else gettext("已提出不同意见，%(n)d 件档案退回档案馆协商。")) % {"n": n},
            )  # fmt: skip
            return redirect("web:review_unit")
    items = services.unit_items(user)
    rows = [
        {"item": i, "decision": support.decision_label(i.decision),
         "ground": support.ground_label(i.ground) if i.ground else "",
         "passages": len(i.passages),
         "late": bool(i.task.unit_deadline and i.task.unit_deadline < date.today())}
        for i in items[:500]
    ]  # fmt: skip
    return render(
        request,
        "web/review_unit.html",
        {"rows": rows, "total": items.count(), "error": error,
         "decision_choices": support.decision_choices(),
         "ground_choices": support.ground_choices()},
    )  # fmt: skip


# --- 存疑清单 --------------------------------------------------------------------------------------
@needs(REVIEW)
def doubt_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    items = services.doubts(user).order_by("task_id", "record__reference_code")
    task_id = whole_number(request.GET.get("task"))
    if task_id is not None:
        items = items.filter(task_id=task_id)
    rows = [
        {"item": i, "stage": publishing.stage_of(i), "decision": support.decision_label(i.decision)}
        for i in items[:1000]
    ]
    return render(request, "web/review_doubts.html", {"rows": rows, "now": timezone.now()})
