"""Accessions: register donors, campaigns and accessions with their donor restrictions, and list
them. Registering needs catalog EDIT (cataloguers, receiving archivists); listing needs VIEW.
`user=None` is the operator at the command line (`lantai accession …`), trusted like every
`lantai` command. Every change is audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum

from lantai.catalog.models import Repository
from lantai.core.audit import record
from lantai.core.models import User
from lantai.core.roles import EDIT, VIEW
from lantai.standards import accessions as std

from .models import Accession, Campaign, Donor, DonorRestriction


class HoldingsError(ValueError):
    """A refused input or action; the message (Chinese) names the field and the rule."""


def _require(user: User | None, permission: str) -> None:
    if user is not None and not user.has_perm_code(permission):
        if permission == EDIT:
            raise HoldingsError(f"无权登记征集：需要著录编辑权限（{permission}）")
        raise HoldingsError(f"无权查看征集登记：需要档案查看权限（{permission}）")


def _actor(user: User | None) -> str | None:
    return user.username if user is not None else None


def _text(data: Mapping[str, Any], field: str, label: str, *, required: bool, limit: int) -> str:
    value = str(data.get(field) or "").strip()
    if required and not value:
        raise HoldingsError(f"{label}（{field}）必填")
    if len(value) > limit:
        raise HoldingsError(f"{label}（{field}）不得超过{limit}字")
    return value


def _date(value: Any, field: str, label: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise HoldingsError(f"{label}（{field}）须为日期 YYYY-MM-DD：{value}") from None


def create_donor(user: User | None, data: Mapping[str, Any]) -> Donor:
    _require(user, EDIT)
    kind = str(data.get("kind") or "")
    if kind not in dict(Donor.KINDS):
        raise HoldingsError(f"捐赠者类型（kind）须为 person（个人）或 organisation（单位）：{kind}")
    id_number = _text(data, "id_document", "证件号码", required=False, limit=64)
    donor = Donor.objects.create(
        kind=kind,
        name=_text(data, "name", "名称", required=True, limit=200),
        contact=_text(data, "contact", "联系方式", required=False, limit=200),
        address=_text(data, "address", "地址", required=False, limit=300),
        id_document_masked=std.mask_id_number(id_number) if id_number else "",
    )
    record("holdings.donor.create", "donor", donor.pk, {"name": donor.name}, actor=_actor(user))
    return donor


def create_campaign(user: User | None, repository: Repository, data: Mapping[str, Any]) -> Campaign:
    _require(user, EDIT)
    starts = _date(data.get("starts_on"), "starts_on", "开始日期")
    ends = _date(data.get("ends_on"), "ends_on", "结束日期")
    if starts and ends and ends < starts:
        raise HoldingsError("结束日期（ends_on）不得早于开始日期（starts_on）")
    target = _count(data.get("target_items", 0), "target_items", "目标件数", minimum=0)
    campaign = Campaign.objects.create(
        repository=repository,
        name=_text(data, "name", "活动名称", required=True, limit=200),
        theme=_text(data, "theme", "征集主题", required=False, limit=300),
        starts_on=starts,
        ends_on=ends,
        target_items=target,
    )
    record("holdings.campaign.create", "campaign", campaign.pk, {"name": campaign.name},
           actor=_actor(user))  # fmt: skip
    return campaign


def _count(value: Any, field: str, label: str, *, minimum: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise HoldingsError(f"{label}（{field}）须为整数：{value}") from None
    if number < minimum:
        raise HoldingsError(f"{label}（{field}）不得小于{minimum}：{number}")
    return number


def _value(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise HoldingsError(f"估值（appraised_value）须为金额（元）：{value}") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise HoldingsError(f"估值（appraised_value）须为 0 至 1万亿元之间的金额：{value}")
    return amount.quantize(Decimal("0.01"))


def _restrictions(rows: Iterable[Mapping[str, Any]]) -> list[DonorRestriction]:
    scopes = std.restriction_scopes()
    out = []
    for n, row in enumerate(rows, 1):
        scope = str(row.get("scope") or "")
        if scope not in scopes:
            raise HoldingsError(f"第{n}条限制的范围（scope）须为 {' / '.join(scopes)}：{scope}")
        until = _date(row.get("until"), "until", f"第{n}条限制的截止日期")
        lifetime = bool(row.get("donor_lifetime"))
        if until and lifetime:
            raise HoldingsError(f"第{n}条限制只能有一种期限：截止日期（until）或捐赠者生前")
        if not until and not lifetime:
            raise HoldingsError(f"第{n}条限制须有期限：截止日期（until）或捐赠者生前")
        text = str(row.get("text") or "").strip()
        if not text:
            raise HoldingsError(f"第{n}条限制的条件（text）必填")
        out.append(DonorRestriction(scope=scope, until=until, donor_lifetime=lifetime, text=text))
    return out


def create_accession(
    user: User | None, repository: Repository, donor: Donor, data: Mapping[str, Any]
) -> Accession:
    """Register an accession; its number is the next of its year in the repository."""
    _require(user, EDIT)
    kind = str(data.get("kind") or "")
    if kind not in std.kinds():
        raise HoldingsError(f"征集方式（kind）须为 {' / '.join(std.kinds())}：{kind}")
    received = _date(data.get("received_on"), "received_on", "接收日期")
    if received is None:
        raise HoldingsError("接收日期（received_on）必填")
    if received > dt.date.today():
        raise HoldingsError(f"接收日期（received_on）不得晚于今天：{received}")
    items = _count(data.get("item_count"), "item_count", "件数", minimum=1)
    campaign = data.get("campaign")
    if campaign is not None and campaign.repository_id != repository.pk:
        raise HoldingsError("征集活动（campaign）须属于同一档案馆")
    restrictions = _restrictions(data.get("restrictions") or [])
    event = _event(kind, data)
    with transaction.atomic():
        # the repository row serialises numbering: two registrations never get the same number
        Repository.objects.select_for_update().get(pk=repository.pk)
        accession = Accession.objects.create(
            repository=repository,
            number=_next_number(repository, received.year),
            kind=kind,
            donor=donor,
            campaign=campaign,
            received_on=received,
            description=_text(data, "description", "内容描述", required=False, limit=20000),
            item_count=items,
            appraised_value=_value(data.get("appraised_value")),
            condition=_text(data, "condition", "保存状况", required=False, limit=200),
            deed_terms=_text(data, "deed_terms", "捐赠协议条款", required=False, limit=20000),
            created_by=_actor(user) or "",
            **event,
        )
        for r in restrictions:
            r.accession = accession
            r.save()
        record("holdings.accession.create", "accession", accession.pk,
               {"number": accession.number, "kind": kind, "donor": donor.name, "items": items,
                "restrictions": len(restrictions)}, actor=_actor(user))  # fmt: skip
    return accession


MAJOR_EVENT_KIND = "移交"


def _event(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The event of a major-event collection (kind 移交): its name, dates and forming bodies,
    all required there; other kinds carry none."""
    fields = ("event_name", "event_starts_on", "event_ends_on", "forming_bodies")
    if kind != MAJOR_EVENT_KIND:
        given = [f for f in fields if data.get(f)]
        if given:
            raise HoldingsError(
                f"只有重大活动档案移交（kind 移交）才填写活动信息：{', '.join(given)}"
            )
        return {}
    name = _text(data, "event_name", "重大活动名称", required=True, limit=200)
    starts = _date(data.get("event_starts_on"), "event_starts_on", "活动开始日期")
    ends = _date(data.get("event_ends_on"), "event_ends_on", "活动结束日期")
    if starts is None:
        raise HoldingsError("活动开始日期（event_starts_on）必填")
    if ends and ends < starts:
        raise HoldingsError("活动结束日期（event_ends_on）不得早于活动开始日期（event_starts_on）")
    bodies = [b.strip() for b in str(data.get("forming_bodies") or "").splitlines() if b.strip()]
    if not bodies:
        raise HoldingsError("形成单位（forming_bodies）必填：每行一个单位")
    return {"event_name": name, "event_starts_on": starts, "event_ends_on": ends,
            "forming_bodies": "\n".join(bodies)}  # fmt: skip


def campaign_progress(campaign: Campaign) -> dict[str, Any]:
    """What a campaign has brought in against its target."""
    got = campaign.accessions.aggregate(n=Count("pk"), items=Sum("item_count"))
    items = got["items"] or 0
    target = campaign.target_items
    return {
        "campaign": campaign.name,
        "target_items": target,
        "accessions": got["n"],
        "items": items,
        "percent": round(100 * items / target, 1) if target else None,
    }


def _next_number(repository: Repository, year: int) -> str:
    used = Accession.objects.filter(repository=repository, number__startswith=f"ZJ-{year:04d}-")
    highest = 0
    for number in used.values_list("number", flat=True):
        parsed = std.number_sequence(number)
        if parsed:
            highest = max(highest, parsed[1])
    return std.accession_number(year, highest + 1)


def list_accessions(user: User | None, *, year: int | None = None) -> list[Accession]:
    _require(user, VIEW)
    qs = Accession.objects.select_related("donor", "campaign", "repository").prefetch_related(
        "restrictions"
    )
    if year is not None:
        qs = qs.filter(received_on__year=year)
    return list(qs.order_by("received_on", "number"))


def list_donors(user: User | None) -> list[Donor]:
    _require(user, VIEW)
    return list(Donor.objects.all())


def accession_summary(accession: Accession) -> dict[str, Any]:
    """The accession as `lantai accession list --json` prints it (kept stable)."""
    return {
        "repository": accession.repository.code,
        "number": accession.number,
        "kind": accession.kind,
        "donor": {"name": accession.donor.name, "kind": accession.donor.kind},
        "received_on": accession.received_on.isoformat(),
        "items": accession.item_count,
        "campaign": accession.campaign.name if accession.campaign else None,
        "status": accession.status,
        "event": _event_summary(accession),
        "restrictions": [
            {
                "scope": r.scope,
                "until": r.until.isoformat() if r.until else None,
                "donor_lifetime": r.donor_lifetime,
                "text": r.text,
            }
            for r in accession.restrictions.all()
        ],
    }


def _event_summary(accession: Accession) -> dict[str, Any] | None:
    if not accession.event_name:
        return None
    return {
        "name": accession.event_name,
        "starts_on": accession.event_starts_on.isoformat() if accession.event_starts_on else None,
        "ends_on": accession.event_ends_on.isoformat() if accession.event_ends_on else None,
        "forming_bodies": accession.forming_bodies.splitlines(),
    }
