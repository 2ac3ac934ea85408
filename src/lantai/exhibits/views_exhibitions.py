"""The exhibition editor (staff): list and create, edit sections, pages and blocks, review and
publish, versions, and the preview drawn with exactly the public templates. Views only call
`exhibitions`, `exhibition_forms` and `exhibition_render`; refusals are 403 pages (audited)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lantai.core.roles import CURATE, PUBLISH
from lantai.exhibits import exhibition_forms as forms
from lantai.exhibits import exhibition_render as er
from lantai.exhibits import exhibitions
from lantai.exhibits import views_public_exhibitions as public_views
from lantai.exhibits.exhibitions import ExhibitionError
from lantai.standards import exhibit_blocks as eb
from lantai.web.views.common import forbidden, permission_required, whole_number


def _user(request: HttpRequest) -> Any:
    return request.user


def _exhibition(request: HttpRequest, pk: int) -> Any:
    found = exhibitions.staff_exhibition(_user(request), pk)
    if found is None:
        raise Http404(_("没有这个展览，或不在您的范围内。"))
    return found


@permission_required(CURATE)
def exhibition_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    context: dict[str, Any] = {
        "exhibitions": exhibitions.staff_exhibitions(user).select_related("repository")[:200],
        "repositories": exhibitions.creatable_repositories(user),
        "values": {}, "error": "",
    }  # fmt: skip
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("slug", "title", "repository")}
        context["values"] = values
        repo_pk = whole_number(values["repository"])
        repository = context["repositories"].filter(pk=repo_pk).first() if repo_pk else None
        try:
            created = exhibitions.create(
                user, slug=values["slug"], title=values["title"], repository=repository
            )
        except ExhibitionError as e:
            context["error"] = e.message
        else:
            messages.success(request, _("已新建展览“%(title)s”。") % {"title": created.title})
            return redirect("exhibitions_staff:edit", pk=created.pk)
    return render(request, "exhibits/exhibition_edit_list.html", context)


def _edit_context(request: HttpRequest, exhibition: Any, **extra: Any) -> dict[str, Any]:
    user = _user(request)
    content = exhibition.content or {"sections": []}
    codes = forms._codes(eb.record_ids(content, exhibition.cover))
    kinds = eb.kinds()
    sections = copy.deepcopy(content.get("sections") or [])
    for section in sections:
        for page in section.get("pages") or []:
            for block in page.get("blocks") or []:
                known = kinds.get(block.get("kind", ""))
                words = block.get("heading") or block.get("body") or block.get("text") or ""
                alts = " ".join(i.get("alt", "") for i in block.get("items") or [])
                block["summary_text"] = f"{known.label if known else '?'}：{words[:40]} {alts[:60]}"
    return {
        "exhibition": exhibition, "sections": sections,
        "cover_code": codes.get((exhibition.cover or {}).get("record") or 0, ""),
        "kinds": eb.kinds().values(), "codes": codes,
        "versions": exhibitions.versions(exhibition),
        "can_publish": user.has_perm_code(PUBLISH),
        "own_submission": exhibition.submitted_by_id == user.pk,
        "self_approval": exhibitions.self_approval_allowed(),
        "visible": exhibitions.is_visible(exhibition), "problems": [], **extra,
    }  # fmt: skip


@permission_required(CURATE)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = _exhibition(request, pk)
    return render(request, "exhibits/exhibition_edit.html", _edit_context(request, exhibition))


def _refused(request: HttpRequest, exhibition: Any, error: ExhibitionError) -> HttpResponse:
    if "权限" in error.message:
        return forbidden(request, error.message)
    context = _edit_context(request, exhibition, error=error.message, problems=error.problems,
                            posted=request.POST)  # fmt: skip
    return render(request, "exhibits/exhibition_edit.html", context, status=400)


def _index(request: HttpRequest, name: str) -> int:
    value = whole_number(request.POST.get(name))
    return value - 1 if value else -1  # forms send 1-based numbers; a missing one is no index


@require_POST
@permission_required(CURATE)
def structure(request: HttpRequest, pk: int) -> HttpResponse:
    """Sections, pages and moving or deleting blocks: one form per button, `op` names it."""
    exhibition = _exhibition(request, pk)
    user, post, op = _user(request), request.POST, request.POST.get("op", "")
    s, p, b = _index(request, "s"), _index(request, "p"), _index(request, "b")
    delta = -1 if post.get("dir") == "up" else 1
    try:
        if op == "meta":
            values: dict[str, Any] = {
                k: post.get(k, "") for k in ("title", "title_en", "summary", "summary_en")
            }
            values["cover"] = _cover(user, post)
            exhibitions.edit_meta(user, exhibition, values)
        elif op == "add_section":
            exhibitions.add_section(
                user, exhibition, post.get("title", ""), post.get("title_en", "")
            )
        elif op == "edit_section":
            exhibitions.edit_section(
                user, exhibition, s, post.get("title", ""), post.get("title_en", "")
            )
        elif op == "move_section":
            exhibitions.move_section(user, exhibition, s, delta)
        elif op == "delete_section":
            exhibitions.delete_section(user, exhibition, s)
        elif op == "add_page":
            exhibitions.add_page(user, exhibition, s, post.get("slug", ""), post.get("title", ""),
                                 post.get("title_en", ""))  # fmt: skip
        elif op == "edit_page":
            exhibitions.edit_page(user, exhibition, s, p, post.get("slug", ""),
                                  post.get("title", ""), post.get("title_en", ""))  # fmt: skip
        elif op == "move_page":
            exhibitions.move_page(user, exhibition, s, p, delta)
        elif op == "delete_page":
            exhibitions.delete_page(user, exhibition, s, p)
        elif op == "move_block":
            exhibitions.move_block(user, exhibition, s, p, b, delta)
        elif op == "delete_block":
            exhibitions.delete_block(user, exhibition, s, p, b)
        else:
            raise ExhibitionError(_("未知的操作"))
    except ExhibitionError as e:
        return _refused(request, exhibition, e)
    messages.success(request, _("已保存。"))
    return redirect("exhibitions_staff:edit", pk=pk)


def _cover(user: Any, post: Any) -> dict[str, Any]:
    code = str(post.get("cover_record", "")).strip()
    if not code:
        return {}
    record = forms.find_record(user, code)
    if record is None:
        raise ExhibitionError(_("封面图：找不到档号为“%(code)s”的档案") % {"code": code}, "cover")
    choices = forms.image_choices([record.pk]).get(record.pk, [])
    wanted = whole_number(post.get("cover_component"))
    component = wanted or (choices[0]["pk"] if choices else None)
    cover = {
        "record": record.pk,
        "component": component,
        "alt": str(post.get("cover_alt", "")).strip(),
    }
    return {k: v for k, v in cover.items() if v}


@permission_required(CURATE)
def block(request: HttpRequest, pk: int, s: int, p: int, b: int | None = None) -> HttpResponse:
    """Add (b is None) or edit a block; `refresh` redraws the form (to pick page images) without
    saving; `save` saves, or redraws everything typed with the problems."""
    exhibition = _exhibition(request, pk)
    user = _user(request)
    pages = (exhibition.content.get("sections") or [{}] * s)[s - 1].get("pages") if s >= 1 else None
    if not pages or not 1 <= p <= len(pages):
        raise Http404(_("没有这一页。"))
    existing = pages[p - 1].get("blocks") or []
    current = existing[b - 1] if b and 1 <= b <= len(existing) else None
    if b and current is None:
        raise Http404(_("没有这个内容块。"))
    kind = str(
        request.POST.get("kind") or request.GET.get("kind") or (current or {}).get("kind", "")
    )
    if eb.kind(kind) is None:
        raise Http404(_("未知的内容块类型。"))
    problems: list[str] = []
    if request.method == "POST":
        data, form = forms.read_form(user, kind, request.POST)
        problems = list(form.errors)
        if request.POST.get("action") == "save" and not problems:
            try:
                if b:
                    exhibitions.edit_block(user, exhibition, s - 1, p - 1, b - 1, data)
                else:
                    exhibitions.add_block(user, exhibition, s - 1, p - 1, data)
            except ExhibitionError as e:
                if "权限" in e.message:
                    return forbidden(request, e.message)
                problems = e.problems or [e.message]
            else:
                messages.success(request, _("内容块已保存。"))
                return redirect("exhibitions_staff:edit", pk=pk)
    else:
        form = forms.blank_form(kind, current)
        forms.pick_record(user, form, request.GET.get("pick", ""))
    context = {"exhibition": exhibition, "form": form, "s": s, "p": p, "b": b,
               "page_title": pages[p - 1].get("title", ""), "problems": problems,
               "candidates": forms.search_records(user, request.GET.get("q", "")),
               "q": request.GET.get("q", "")}  # fmt: skip
    return render(
        request, "exhibits/exhibition_edit_block.html", context, status=400 if problems else 200
    )


def _when(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = parse_datetime(text)
    except ValueError:  # well formed but impossible: 2026-02-30T09:00
        value = None
    if value is None:
        raise ExhibitionError(
            _("时间“%(text)s”不是有效的日期时间（如 2026-10-01T09:00）") % {"text": text[:40]}
        )
    return timezone.make_aware(value) if timezone.is_naive(value) else value


@require_POST
@permission_required(CURATE)
def submit(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = _exhibition(request, pk)
    try:
        exhibitions.submit(_user(request), exhibition)
    except ExhibitionError as e:
        return _refused(request, exhibition, e)
    messages.success(request, _("已提交审核。"))
    return redirect("exhibitions_staff:edit", pk=pk)


@require_POST
@permission_required(PUBLISH)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    """approve (with optional schedule), reject, withdraw, schedule."""
    exhibition = _exhibition(request, pk)
    user, op = _user(request), request.POST.get("op", "")
    try:
        if op == "approve":
            exhibitions.approve(
                user, exhibition, publish_at=_when(request.POST.get("publish_at")),
                withdraw_at=_when(request.POST.get("withdraw_at")), note=request.POST.get("note", ""),
            )  # fmt: skip
            done = _("已批准发布。")
        elif op == "reject":
            exhibitions.reject(user, exhibition, request.POST.get("note", ""))
            done = _("已退回。")
        elif op == "withdraw":
            exhibitions.withdraw(user, exhibition, request.POST.get("note", ""))
            done = _("已撤展。")
        elif op == "schedule":
            exhibitions.schedule(user, exhibition, _when(request.POST.get("publish_at")),
                                 _when(request.POST.get("withdraw_at")))  # fmt: skip
            done = _("展期已更改。")
        else:
            raise ExhibitionError(_("未知的操作"))
    except ExhibitionError as e:
        if "本人提交" in e.message:
            return forbidden(request, e.message)
        return _refused(request, exhibition, e)
    messages.success(request, done)
    return redirect("exhibitions_staff:edit", pk=pk)


@require_POST
@permission_required(CURATE)
def recall(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = _exhibition(request, pk)
    try:
        exhibitions.reject(_user(request), exhibition, _("提交人撤回审核"))
    except ExhibitionError as e:
        return _refused(request, exhibition, e)
    return redirect("exhibitions_staff:edit", pk=pk)


@require_POST
@permission_required(CURATE)
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    exhibition = _exhibition(request, pk)
    try:
        exhibitions.restore(
            _user(request), exhibition, whole_number(request.POST.get("number")) or 0
        )
    except ExhibitionError as e:
        return _refused(request, exhibition, e)
    messages.success(request, _("已将该版本恢复为草稿。"))
    return redirect("exhibitions_staff:edit", pk=pk)


@permission_required(CURATE)
def preview(request: HttpRequest, pk: int, page_slug: str = "") -> HttpResponse:
    """The draft drawn with the public templates and the public rule (closed records left out)."""
    exhibition = _exhibition(request, pk)
    shown = er.render(er.draft_data(exhibition), exhibition.slug,
                      er.Linker(exhibition.slug, preview_pk=pk), public_views._lang(request))  # fmt: skip
    if page_slug:
        return public_views.page_response(request, exhibition, shown, page_slug,
                                          public_views.PUBLIC_BASE, preview=True)  # fmt: skip
    return public_views.cover_response(
        request, exhibition, shown, public_views.PUBLIC_BASE, preview=True
    )
