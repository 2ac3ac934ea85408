"""网上展厅: building, reviewing, publishing and withdrawing online exhibitions (views, the CLI
and the export call only these).

States. `draft` (never published) → `review` (submitted) → `published` (a frozen
ExhibitionVersion) → `withdrawn`. The draft content stays editable while a version is public;
submitting it again puts the exhibition in `review` while the public keeps seeing the current
version; a rejection sends it back to `published` (or `draft` if nothing was ever published).

Visibility is computed when a page is asked for, never stored or scheduled: an exhibition is
public when it has a published version, its status is `published` or `review`, and
publish_at ≤ now < withdraw_at (either end open when unset). No job is needed for scheduled
publishing or withdrawal.

Approval needs PUBLISH and a user other than the submitter. A single-curator archives may allow
self-approval with the setting EXHIBITION_SELF_APPROVAL (LANTAI_EXHIBITION_SELF_APPROVAL=1);
each self-approval is marked in the audit log.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.catalog.models import Component
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import CURATE, PUBLISH
from lantai.exhibits.exhibition_checks import publication_problems, resolve_place
from lantai.exhibits.models import Exhibition, ExhibitionVersion
from lantai.standards import exhibit_blocks as eb

SHOWN_STATUSES = ("published", "review")
TARGET = "exhibition"


class ExhibitionError(Exception):
    """A refusal or an invalid edit, in Chinese (`problems` lists every rule broken)."""

    def __init__(
        self, message: str, field: str = "", problems: Iterable[eb.Problem | str] = ()
    ) -> None:
        super().__init__(message)
        self.message, self.field = message, field
        self.problems = [p if isinstance(p, str) else p.zh for p in problems]


# --- who may do what ----------------------------------------------------------------------------
def _require(user: User, permission: str) -> None:
    if not user.has_perm_code(permission):
        raise ExhibitionError(f"用户 {user.username}（{user.role_label}）没有此权限")


def staff_exhibitions(user: User) -> QuerySet[Exhibition]:
    """Exhibitions of the archives the user may see, newest change first."""
    if not (user.has_perm_code(CURATE) or user.has_perm_code(PUBLISH)):
        return Exhibition.objects.none()
    repos = catalog.visible_repositories(user)
    return Exhibition.objects.filter(repository__in=repos).order_by("-updated_at", "-pk")


def staff_exhibition(user: User, pk: int) -> Exhibition | None:
    return staff_exhibitions(user).select_related("repository", "published").filter(pk=pk).first()


def creatable_repositories(user: User) -> QuerySet[Any]:
    if not user.has_perm_code(CURATE):
        return catalog.visible_repositories(user).none()
    return catalog.visible_repositories(user).order_by("code")


def create(user: User, *, slug: str, title: str, repository: Any) -> Exhibition:
    _require(user, CURATE)
    slug, title = (slug or "").strip(), (title or "").strip()
    if eb.slug_problem(slug) == "slug_reserved":
        raise ExhibitionError(f"网址名“{slug}”为系统保留，请换一个", "slug")
    if eb.slug_problem(slug):
        raise ExhibitionError(
            f"网址名“{slug}”不合规则：只能用小写字母、数字和连字符，以字母或数字开头，最多64个字符",
            "slug",
        )
    if not title:
        raise ExhibitionError("展览名称不能为空", "title")
    if len(title) > 200:
        raise ExhibitionError("展览名称过长（最多200个字）", "title")
    if repository is None or not creatable_repositories(user).filter(pk=repository.pk).exists():
        raise ExhibitionError("无权在该档案馆建立展览", "repository")
    try:
        with transaction.atomic():
            exhibition = Exhibition.objects.create(
                repository=repository, slug=slug, title=title, content={"sections": []},
                created_by=user,
            )  # fmt: skip
            audit.record("exhibition_create", TARGET, exhibition.pk, {"slug": slug, "title": title})
    except IntegrityError:
        raise ExhibitionError(f"网址名“{slug}”已被另一个展览使用", "slug") from None
    return exhibition


# --- editing the draft --------------------------------------------------------------------------
def _check_records_seen(user: User, ids: set[int]) -> None:
    """Items may only name records the curator may see (and components of those records)."""
    if not ids:
        return
    seen = set(catalog.visible_records(user).filter(pk__in=ids).values_list("pk", flat=True))
    for pk in sorted(ids - seen):
        raise ExhibitionError(f"档案 {pk} 不存在或不在您的查阅范围内", "record")


def _check_components(content: Mapping[str, Any], cover: Mapping[str, Any]) -> None:
    pairs = {
        (item.get("record"), item.get("component"))
        for block in [*eb.blocks(content), {"items": [cover] if cover else []}]
        for item in eb.block_items(block)
    }
    wanted = {c for _, c in pairs if isinstance(c, int)}
    owners = dict(Component.objects.filter(pk__in=wanted).values_list("pk", "record_id"))
    for record, component in sorted(pairs, key=str):
        if isinstance(component, int) and owners.get(component) != record:
            raise ExhibitionError(f"页面图像 {component} 不属于档案 {record}", "component")


def _change(
    user: User,
    exhibition: Exhibition,
    what: str,
    where: str,
    edit: Callable[[dict[str, Any]], None],
) -> Exhibition:
    """Apply `edit` to a copy of the draft; save only when the result is valid (nothing is
    changed on an error), and audit the change."""
    _require(user, CURATE)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.status == "review":
            raise ExhibitionError("展览正在审核中，审核结束前不能修改；如需修改请先撤回审核")
        content = copy.deepcopy(current.content or {})
        content.setdefault("sections", [])
        try:
            edit(content)
        except IndexError:
            raise ExhibitionError(
                "要修改的部分、页面或内容块不存在（可能已被他人删除，请刷新）"
            ) from None
        problems = eb.validate_content(content, resolve_place=resolve_place)
        if problems:
            raise ExhibitionError(problems[0].zh, problems[0].field, problems)
        # only what the edit brings in: a record already in the draft that has since left the
        # curator's view (closed, classified) must not lock the rest of the draft
        _check_records_seen(user, eb.record_ids(content) - eb.record_ids(current.content or {}))
        _check_components(content, {})
        current.content = content
        current.save(update_fields=["content", "updated_at"])
        audit.record("exhibition_edit", TARGET, current.pk, {"what": what, "where": where})
    return current


def _text(value: Any) -> str:
    return str(value or "").strip()


def edit_meta(user: User, exhibition: Exhibition, values: Mapping[str, Any]) -> Exhibition:
    """Title, English title, summaries and the cover item (an image item or {})."""
    _require(user, CURATE)
    title = _text(values.get("title"))
    if not title:
        raise ExhibitionError("展览名称不能为空", "title")
    cover = values.get("cover") or {}
    if cover:
        problems = eb.validate_block({"kind": "image", "items": [cover]})
        if problems:
            raise ExhibitionError("封面图：" + problems[0].zh, "cover", problems)
        _check_records_seen(user, {cover["record"]})
        _check_components({}, cover)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        current.title, current.title_en = title[:200], _text(values.get("title_en"))[:200]
        current.summary, current.summary_en = (
            _text(values.get("summary")),
            _text(values.get("summary_en")),
        )
        current.cover = dict(cover)
        current.save()
        audit.record("exhibition_edit", TARGET, current.pk, {"what": "meta"})
    return current


def _move(items: list[Any], index: int, delta: int) -> None:
    target = index + delta
    if not 0 <= index < len(items):
        raise IndexError(index)
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]


def _pages(content: dict[str, Any], s: int) -> list[Any]:
    if s < 0:
        raise IndexError(s)
    return content["sections"][s].setdefault("pages", [])  # type: ignore[no-any-return]


def _blocks(content: dict[str, Any], s: int, p: int) -> list[Any]:
    if p < 0:
        raise IndexError(p)
    return _pages(content, s)[p].setdefault("blocks", [])  # type: ignore[no-any-return]


def _where(*numbers: int) -> str:
    return "/".join(str(n + 1) for n in numbers)


def add_section(user: User, ex: Exhibition, title: str, title_en: str = "") -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        c["sections"].append({"title": _text(title), "title_en": _text(title_en), "pages": []})

    return _change(user, ex, "add_section", "", edit)


def edit_section(user: User, ex: Exhibition, s: int, title: str, title_en: str = "") -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        _pages(c, s)
        c["sections"][s].update(title=_text(title), title_en=_text(title_en))

    return _change(user, ex, "edit_section", _where(s), edit)


def move_section(user: User, ex: Exhibition, s: int, delta: int) -> Exhibition:
    return _change(user, ex, "move_section", _where(s), lambda c: _move(c["sections"], s, delta))


def delete_section(user: User, ex: Exhibition, s: int) -> Exhibition:
    return _change(user, ex, "delete_section", _where(s), lambda c: c["sections"].pop(s))


def add_page(
    user: User, ex: Exhibition, s: int, slug: str, title: str, title_en: str = ""
) -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        page = {
            "slug": _text(slug),
            "title": _text(title),
            "title_en": _text(title_en),
            "blocks": [],
        }
        _pages(c, s).append(page)

    return _change(user, ex, "add_page", _where(s), edit)


def edit_page(
    user: User, ex: Exhibition, s: int, p: int, slug: str, title: str, title_en: str = ""
) -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        _blocks(c, s, p)
        _pages(c, s)[p].update(slug=_text(slug), title=_text(title), title_en=_text(title_en))

    return _change(user, ex, "edit_page", _where(s, p), edit)


def move_page(user: User, ex: Exhibition, s: int, p: int, delta: int) -> Exhibition:
    return _change(user, ex, "move_page", _where(s, p), lambda c: _move(_pages(c, s), p, delta))


def delete_page(user: User, ex: Exhibition, s: int, p: int) -> Exhibition:
    return _change(user, ex, "delete_page", _where(s, p), lambda c: _pages(c, s).pop(p))


def add_block(user: User, ex: Exhibition, s: int, p: int, block: Mapping[str, Any]) -> Exhibition:
    return _change(
        user, ex, "add_block", _where(s, p), lambda c: _blocks(c, s, p).append(dict(block))
    )


def edit_block(
    user: User, ex: Exhibition, s: int, p: int, b: int, block: Mapping[str, Any]
) -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        blocks = _blocks(c, s, p)
        if b < 0:
            raise IndexError(b)
        blocks[b] = dict(block)

    return _change(user, ex, "edit_block", _where(s, p, b), edit)


def move_block(user: User, ex: Exhibition, s: int, p: int, b: int, delta: int) -> Exhibition:
    return _change(
        user, ex, "move_block", _where(s, p, b), lambda c: _move(_blocks(c, s, p), b, delta)
    )


def delete_block(user: User, ex: Exhibition, s: int, p: int, b: int) -> Exhibition:
    def edit(c: dict[str, Any]) -> None:
        if b < 0:
            raise IndexError(b)
        _blocks(c, s, p).pop(b)

    return _change(user, ex, "delete_block", _where(s, p, b), edit)


# --- review and publication ---------------------------------------------------------------------
def submit(user: User, exhibition: Exhibition) -> Exhibition:
    _require(user, CURATE)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.status == "review":
            raise ExhibitionError("展览已在审核中")
        problems = publication_problems(current)
        if problems:
            raise ExhibitionError(f"展览还不能提交审核：{len(problems)}处问题", problems=problems)
        current.status, current.submitted_by = "review", user
        current.save(update_fields=["status", "submitted_by", "updated_at"])
        audit.record("exhibition_submit", TARGET, current.pk, {"slug": current.slug})
    return current


def self_approval_allowed() -> bool:
    return bool(getattr(settings, "EXHIBITION_SELF_APPROVAL", False))


def _window(publish_at: dt.datetime | None, withdraw_at: dt.datetime | None) -> None:
    if publish_at and withdraw_at and withdraw_at <= publish_at:
        raise ExhibitionError("定时撤展时间应晚于发布时间", "withdraw_at")


def approve(
    user: User,
    exhibition: Exhibition,
    *,
    publish_at: dt.datetime | None = None,
    withdraw_at: dt.datetime | None = None,
    note: str = "",
) -> ExhibitionVersion:
    """Freeze the draft as the next version and publish it (at once, or at `publish_at`)."""
    _require(user, PUBLISH)
    _window(publish_at or timezone.now(), withdraw_at)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.status != "review":
            raise ExhibitionError("只有待审核的展览可以批准发布")
        own = current.submitted_by_id == user.pk
        if own and not self_approval_allowed():
            raise ExhibitionError("不能审核发布本人提交的展览（须由另一位有发布权限的人员审核）")
        problems = publication_problems(current)
        if problems:
            raise ExhibitionError(f"展览不能发布：{len(problems)}处问题", problems=problems)
        number = (
            current.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
        version = ExhibitionVersion.objects.create(
            exhibition=current, number=number, snapshot=snapshot(current), note=note[:500],
            approved_by=user,
        )  # fmt: skip
        current.published, current.status = version, "published"
        current.publish_at, current.withdraw_at = publish_at or timezone.now(), withdraw_at
        current.save()
        audit.record(
            "exhibition_publish", TARGET, current.pk,
            {"version": number, "publish_at": current.publish_at, "withdraw_at": withdraw_at,
             "self_approved": own},
        )  # fmt: skip
    return version


def snapshot(exhibition: Exhibition) -> dict[str, Any]:
    return copy.deepcopy(
        {
            "title": exhibition.title,
            "title_en": exhibition.title_en,
            "summary": exhibition.summary,
            "summary_en": exhibition.summary_en,
            "cover": exhibition.cover or {},
            "content": exhibition.content or {"sections": []},
        }  # fmt: skip
    )


def reject(user: User, exhibition: Exhibition, note: str = "") -> Exhibition:
    """Send a submission back (a publisher, or the submitter recalling it)."""
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.submitted_by_id != user.pk:
            _require(user, PUBLISH)
        if current.status != "review":
            raise ExhibitionError("展览不在审核中")
        current.status = "published" if current.published_id else "draft"
        current.save(update_fields=["status", "updated_at"])
        audit.record("exhibition_reject", TARGET, current.pk, {"note": note[:500]})
    return current


def withdraw(user: User, exhibition: Exhibition, note: str = "") -> Exhibition:
    """Take the exhibition off the public site now (it stays in the hall's past exhibitions)."""
    _require(user, PUBLISH)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.published_id is None or current.status == "withdrawn":
            raise ExhibitionError("展览尚未发布或已经撤展")
        current.status, current.withdraw_at = "withdrawn", timezone.now()
        current.save(update_fields=["status", "withdraw_at", "updated_at"])
        audit.record("exhibition_withdraw", TARGET, current.pk, {"note": note[:500]})
    return current


def schedule(
    user: User,
    exhibition: Exhibition,
    publish_at: dt.datetime | None,
    withdraw_at: dt.datetime | None,
) -> Exhibition:
    """Change when the published version is shown."""
    _require(user, PUBLISH)
    _window(publish_at, withdraw_at)
    with transaction.atomic():
        current = Exhibition.objects.select_for_update().get(pk=exhibition.pk)
        if current.published_id is None:
            raise ExhibitionError("展览尚未发布，请在批准发布时设定时间")
        current.publish_at, current.withdraw_at = publish_at, withdraw_at
        if current.status == "withdrawn":
            current.status = "published"
        current.save(update_fields=["publish_at", "withdraw_at", "status", "updated_at"])
        audit.record(
            "exhibition_schedule", TARGET, current.pk,
            {"publish_at": publish_at, "withdraw_at": withdraw_at},
        )  # fmt: skip
    return current


def versions(exhibition: Exhibition) -> list[ExhibitionVersion]:
    return list(exhibition.versions.select_related("approved_by").order_by("-number"))


def restore(user: User, exhibition: Exhibition, number: int) -> Exhibition:
    """Copy a version's title, summaries, cover and content back into the draft."""
    version = exhibition.versions.filter(number=number).first()
    if version is None:
        raise ExhibitionError(f"版本 {number} 不存在")
    data = version.snapshot

    def edit(content: dict[str, Any]) -> None:
        content.clear()
        content.update(copy.deepcopy(data.get("content") or {"sections": []}))

    current = _change(user, exhibition, "restore", str(number), edit)
    for key in ("title", "title_en", "summary", "summary_en", "cover"):
        setattr(current, key, copy.deepcopy(data.get(key, "" if key != "cover" else {})))
    current.save()
    audit.record("exhibition_restore", TARGET, current.pk, {"version": number})
    return current


# --- what the public sees -------------------------------------------------------------------------
def shown_now(now: dt.datetime | None = None) -> Q:
    now = now or timezone.now()
    return (
        Q(published__isnull=False, status__in=SHOWN_STATUSES)
        & (Q(publish_at__isnull=True) | Q(publish_at__lte=now))
        & (Q(withdraw_at__isnull=True) | Q(withdraw_at__gt=now))
    )


def is_visible(exhibition: Exhibition, now: dt.datetime | None = None) -> bool:
    return Exhibition.objects.filter(shown_now(now), pk=exhibition.pk).exists()


def public_exhibition(slug: str) -> Exhibition | None:
    return (
        Exhibition.objects.filter(shown_now(), slug=slug)
        .select_related("published", "repository")
        .first()
    )


def hall(now: dt.datetime | None = None) -> tuple[list[Exhibition], list[Exhibition]]:
    """(current, past): those shown now, newest first; those once published and now withdrawn or
    past their end."""
    now = now or timezone.now()
    base = Exhibition.objects.filter(published__isnull=False).select_related("published")
    current = list(base.filter(shown_now(now)).order_by("-publish_at", "-pk"))
    past = list(
        base.filter(Q(status="withdrawn") | Q(withdraw_at__lte=now))
        .exclude(pk__in=[e.pk for e in current])
        .order_by("-withdraw_at", "-pk")
    )
    return current, past
