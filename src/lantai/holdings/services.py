"""Accessions: register donors, campaigns and accessions with their donor restrictions, and list
them. Registering needs catalog EDIT (cataloguers, receiving archivists); listing needs VIEW.
`user=None` is the operator at the command line (`lantai accession …`), trusted like every
`lantai` command. Every change is audited. The records a donor restriction holds are in
donor_restrictions.py, the items received in received.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, Sum

from lantai.catalog import services as catalog
from lantai.catalog.models import Repository
from lantai.core.audit import record
from lantai.core.models import User
from lantai.core.roles import EDIT, VIEW
from lantai.standards import accessions as std

from .models import (
    Accession,
    Campaign,
    Donor,
    DonorRestriction,
)


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


# the most items one count may say (a sane bound, well inside PostgreSQL's integer)
MAX_COUNT = 100_000_000


def _count(value: Any, field: str, label: str, *, minimum: int) -> int:
    text = str(value).strip()
    if len(text) > 20:  # no need to read an absurd number to refuse it
        raise HoldingsError(f"{label}（{field}）不得大于{MAX_COUNT}：{text[:20]}……")
    try:
        number = int(text)
    except (TypeError, ValueError):
        raise HoldingsError(f"{label}（{field}）须为整数：{value}") from None
    if number < minimum:
        raise HoldingsError(f"{label}（{field}）不得小于{minimum}：{number}")
    if number > MAX_COUNT:
        raise HoldingsError(f"{label}（{field}）不得大于{MAX_COUNT}：{number}")
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


def _restrictions(
    rows: Iterable[Mapping[str, Any]], received: dt.date | None = None
) -> list[DonorRestriction]:
    """The restrictions described by `rows`; each must end on or after the day the accession
    was received (`received`), when it applies from."""
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
        if until and received and until < received:
            raise HoldingsError(
                f"第{n}条限制的截止日期（until）{until.isoformat()} 早于接收日期 "
                f"{received.isoformat()}：该限制从未生效"
            )
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
    restrictions = _restrictions(data.get("restrictions") or [], received)
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


def kind_labels() -> dict[str, str]:
    """The accession kinds with how the active language names them (the English label of
    accession-kinds.yaml in English, the kind itself in Chinese)."""
    from django.utils import translation

    from lantai.standards._data import load_data

    english = (translation.get_language() or "").startswith("en")
    return {
        str(k["value"]): str(k.get("label_en") or k["value"]) if english else str(k["value"])
        for k in load_data("accession-kinds.yaml")["kinds"]
    }


def kind_label(kind: str) -> str:
    return kind_labels().get(kind, kind)


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
    got = campaign.accessions.exclude(status="returned").aggregate(
        n=Count("pk"), items=Sum("item_count")
    )
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


def list_accessions(
    user: User | None,
    *,
    year: int | None = None,
    kind: str = "",
    campaign: int | None = None,
    status: str = "",
    donor: int | None = None,
) -> list[Accession]:
    """The accessions of the user's archives (every archives at the command line), oldest
    first, filtered by year received, kind, campaign, status and donor."""
    return list(accessions(user, year=year, kind=kind, campaign=campaign, status=status,
                           donor=donor).order_by("received_on", "number"))  # fmt: skip


def accessions(
    user: User | None,
    *,
    year: int | None = None,
    kind: str = "",
    campaign: int | None = None,
    status: str = "",
    donor: int | None = None,
) -> Any:
    _require(user, VIEW)
    qs = Accession.objects.select_related("donor", "campaign", "repository").prefetch_related(
        "restrictions"
    )
    if user is not None:
        qs = qs.filter(repository__in=catalog.visible_repositories(user))
    if year is not None:
        qs = qs.filter(received_on__year=year)
    if kind:
        qs = qs.filter(kind=kind)
    if campaign is not None:
        qs = qs.filter(campaign_id=campaign)
    if status:
        qs = qs.filter(status=status)
    if donor is not None:
        qs = qs.filter(donor_id=donor)
    return qs


def visible_accession(user: User | None, pk: int) -> Accession | None:
    return accessions(user).filter(pk=pk).first()  # type: ignore[no-any-return]


def visible_campaigns(user: User | None) -> list[Campaign]:
    _require(user, VIEW)
    qs = Campaign.objects.select_related("repository")
    if user is not None:
        qs = qs.filter(repository__in=catalog.visible_repositories(user))
    return list(qs)


def visible_campaign(user: User | None, pk: int) -> Campaign | None:
    return next((c for c in visible_campaigns(user) if c.pk == pk), None)


def campaigns_progress(campaigns: list[Campaign]) -> dict[int, dict[str, Any]]:
    """`campaign_progress` of many campaigns in one query."""
    rows = (
        Accession.objects.filter(campaign__in=campaigns)
        .exclude(status="returned")
        .values("campaign_id")
        .annotate(n=Count("pk"), items=Sum("item_count"))
    )
    got = {r["campaign_id"]: r for r in rows}
    out = {}
    for c in campaigns:
        items = (got.get(c.pk) or {}).get("items") or 0
        out[c.pk] = {
            "accessions": (got.get(c.pk) or {}).get("n") or 0, "items": items,
            "percent": round(100 * items / c.target_items, 1) if c.target_items else None,
            "bar": min(100, round(100 * items / c.target_items)) if c.target_items else 0,
        }  # fmt: skip
    return out


def years(user: User | None) -> list[int]:
    dates = accessions(user).dates("received_on", "year", order="DESC")
    return [d.year for d in dates]


def visible_donors(user: User | None) -> Any:
    """The donors the user may see (their contact details included): those with an accession
    in one of the user's archives (every donor with scope over all archives, and at the command
    line). A donor with no accession yet is seen by those who register accessions (EDIT), so
    that the accession can be registered; filing units see no donors."""
    _require(user, VIEW)
    qs = Donor.objects.all()
    if user is None:
        return qs
    if user.role == "filing_unit":
        return qs.none()
    if user.scope_all:
        return qs
    reach = Q(pk__in=Accession.objects.filter(
        repository__in=catalog.visible_repositories(user)).values("donor_id"))  # fmt: skip
    if user.has_perm_code(EDIT):
        reach |= ~Q(pk__in=Accession.objects.values("donor_id"))
    return qs.filter(reach)


def list_donors(user: User | None) -> list[Donor]:
    return list(visible_donors(user))


def visible_donor(user: User | None, pk: int | None) -> Donor | None:
    if pk is None:
        return None
    return visible_donors(user).filter(pk=pk).first()  # type: ignore[no-any-return]


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


# --- editing -------------------------------------------------------------------------------------
DONOR_FIELDS = ("kind", "name", "contact", "address", "id_document")


def update_donor(user: User | None, donor: Donor, data: Mapping[str, Any]) -> Donor:
    """Change a donor's kind, name, contact and address (an ID number given replaces the masked
    one; left empty, the masked one stays)."""
    _require(user, EDIT)
    kind = str(data.get("kind") or donor.kind)
    if kind not in dict(Donor.KINDS):
        raise HoldingsError(f"捐赠者类型（kind）须为 person（个人）或 organisation（单位）：{kind}")
    before = {f: getattr(donor, f) for f in ("kind", "name", "contact", "address")}
    donor.kind = kind
    donor.name = _text(data, "name", "名称", required=True, limit=200)
    donor.contact = _text(data, "contact", "联系方式", required=False, limit=200)
    donor.address = _text(data, "address", "地址", required=False, limit=300)
    id_number = _text(data, "id_document", "证件号码", required=False, limit=64)
    if id_number:
        donor.id_document_masked = std.mask_id_number(id_number)
    changed = {f: [before[f], getattr(donor, f)] for f in before if before[f] != getattr(donor, f)}
    if id_number:
        changed["id_document"] = ["*", "*"]  # never the number itself
    with transaction.atomic():
        donor.save()
        record("holdings.donor.update", "donor", donor.pk, {"name": donor.name, "changed": changed},
               actor=_actor(user))  # fmt: skip
    return donor


def update_campaign(user: User | None, campaign: Campaign, data: Mapping[str, Any]) -> Campaign:
    _require(user, EDIT)
    starts = _date(data.get("starts_on"), "starts_on", "开始日期")
    ends = _date(data.get("ends_on"), "ends_on", "结束日期")
    if starts and ends and ends < starts:
        raise HoldingsError("结束日期（ends_on）不得早于开始日期（starts_on）")
    campaign.name = _text(data, "name", "活动名称", required=True, limit=200)
    campaign.theme = _text(data, "theme", "征集主题", required=False, limit=300)
    campaign.starts_on, campaign.ends_on = starts, ends
    campaign.target_items = _count(
        data.get("target_items", 0), "target_items", "目标件数", minimum=0
    )
    with transaction.atomic():
        campaign.save()
        record("holdings.campaign.update", "campaign", campaign.pk,
               {"name": campaign.name, "target_items": campaign.target_items}, actor=_actor(user))  # fmt: skip
    return campaign


EDITABLE = ("description", "item_count", "condition", "deed_terms", "appraised_value", "campaign",
            "donor", "event_name", "event_starts_on", "event_ends_on", "forming_bodies")  # fmt: skip


def update_accession(user: User | None, accession: Accession, data: Mapping[str, Any]) -> Accession:
    """Change what an accession says (its number, kind and date received stay). An accession
    accepted or returned is closed: only its description and deed terms may still change.
    Nothing changes when any field is refused."""
    _require(user, EDIT)
    closed = accession.status in ("accepted", "returned")
    before = {f: _plain(getattr(accession, f)) for f in EDITABLE}
    new: dict[str, Any] = {
        "description": _text(data, "description", "内容描述", required=False, limit=20000),
        "deed_terms": _text(data, "deed_terms", "捐赠协议条款", required=False, limit=20000),
    }
    if closed:
        asked = [f for f in ("item_count", "appraised_value", "condition")
                 if f in data and str(data.get(f) or "") != str(before[f] or "")]  # fmt: skip
        if asked:
            raise HoldingsError(
                f"征集登记 {accession.number} {STATUS_ZH[accession.status]}，"
                f"不能再修改：{', '.join(asked)}"
            )
    else:
        campaign = data.get("campaign")
        if campaign is not None and campaign.repository_id != accession.repository_id:
            raise HoldingsError("征集活动（campaign）须属于同一档案馆")
        new.update({
            "item_count": _count(data.get("item_count"), "item_count", "件数", minimum=1),
            "condition": _text(data, "condition", "保存状况", required=False, limit=200),
            "appraised_value": _value(data.get("appraised_value")),
            "campaign": campaign,
            **_event(accession.kind, data),
        })  # fmt: skip
        if data.get("donor") is not None:
            new["donor"] = data["donor"]
    for k, v in new.items():
        setattr(accession, k, v)
    after = {f: _plain(getattr(accession, f)) for f in EDITABLE}
    changed = {f: [before[f], after[f]] for f in EDITABLE if before[f] != after[f]}
    with transaction.atomic():
        accession.save()
        record("holdings.accession.update", "accession", accession.pk,
               {"number": accession.number, "changed": changed}, actor=_actor(user))  # fmt: skip
    return accession


def _plain(value: Any) -> Any:
    if isinstance(value, (Donor, Campaign)):
        return value.name
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


# --- status: registered → appraised → accepted / returned ---------------------------------------
TRANSITIONS = {
    "registered": ("appraised", "returned"),
    "appraised": ("accepted", "returned"),
    "accepted": (),
    "returned": (),
}
STATUS_ZH = {
    "registered": "已登记",
    "appraised": "已鉴定",
    "accepted": "已入藏",
    "returned": "已退还",
}


def appraise(
    user: User | None, accession: Accession, data: Mapping[str, Any], *, on: dt.date | None = None
) -> Accession:
    """Record the appraisal of value and condition (鉴定): the condition is required, the value
    for a purchase (征购)."""
    _require(user, EDIT)
    _allowed(accession, "appraised")
    condition = _text(data, "condition", "保存状况", required=True, limit=200)
    value = _value(data.get("appraised_value"))
    if value is None and accession.kind == "征购":
        raise HoldingsError("征购的档案须填写估值（appraised_value）")
    accession.condition, accession.appraised_value = condition, value
    accession.appraised_on, accession.appraised_by = on or dt.date.today(), _actor(user) or ""
    return _move(user, accession, "appraised", {"condition": condition, "value": str(value or "")})


def accept(user: User | None, accession: Accession, *, on: dt.date | None = None) -> Accession:
    """Take an appraised accession into the holdings (入藏). A donation (捐赠) needs its deed of
    gift terms first."""
    _require(user, EDIT)
    _allowed(accession, "accepted")
    if accession.kind == "捐赠" and not accession.deed_terms.strip():
        raise HoldingsError(
            f"捐赠登记 {accession.number} 须先填写捐赠协议条款（deed_terms）才能入藏"
        )
    accession.decided_on, accession.decided_by = on or dt.date.today(), _actor(user) or ""
    return _move(user, accession, "accepted", {})


def return_accession(
    user: User | None, accession: Accession, reason: str, *, on: dt.date | None = None
) -> Accession:
    """Return what came in to its donor (退还), with the reason."""
    _require(user, EDIT)
    _allowed(accession, "returned")
    reason = reason.strip()
    if not reason:
        raise HoldingsError("退还须填写理由（reason）")
    accession.return_reason = reason[:2000]
    accession.decided_on, accession.decided_by = on or dt.date.today(), _actor(user) or ""
    return _move(user, accession, "returned", {"reason": accession.return_reason})


def _allowed(accession: Accession, target: str) -> None:
    if target not in TRANSITIONS[accession.status]:
        allowed = "、".join(STATUS_ZH[s] for s in TRANSITIONS[accession.status]) or "无"
        raise HoldingsError(
            f"征集登记 {accession.number} 处于“{STATUS_ZH[accession.status]}”，"
            f"不能改为“{STATUS_ZH[target]}”（可改为：{allowed}）"
        )


def _move(
    user: User | None, accession: Accession, target: str, detail: dict[str, Any]
) -> Accession:
    with transaction.atomic():
        locked = Accession.objects.select_for_update().get(pk=accession.pk)
        if locked.status != accession.status:  # another desk moved it meanwhile
            raise HoldingsError(
                f"征集登记 {accession.number} 的状态已被他人改为“{STATUS_ZH[locked.status]}”"
            )
        before = accession.status
        accession.status = target
        accession.save()
        record("holdings.accession.status", "accession", accession.pk,
               {"number": accession.number, "from": before, "to": target, **detail},
               actor=_actor(user))  # fmt: skip
    return accession
