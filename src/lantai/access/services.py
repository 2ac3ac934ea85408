"""用: what the public may see and receive, access requests (查档申请) and the use register (利用登记).

Views, API endpoints and commands call these functions; they never touch the models directly.

What the public sees is decided in one place each:
- records: `public_record` (open status 开放 and 密级 公开, through `catalog.services.visible_records`
  for an anonymous user), with only the fields in `lantai.search.query.PUBLIC_FIELDS`;
- content: `public_component` (a component of such a record) and `delivery.watermarked_image`
  (page images are re-rendered with a visible watermark; the stored original is never sent);
- counts and search: the search service with the public scope (`search(None, …)`).
"""

from __future__ import annotations

import csv
import hmac
import io
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from lantai.access.models import (
    ID_TYPES,
    METHODS,
    PURPOSES,
    AccessRequest,
    Provision,
    RequestNote,
    mask_id,
)
from lantai.catalog import holds, open_copies, public
from lantai.catalog import services as catalog
from lantai.catalog.models import Component, OpenCopy, Record
from lantai.core import audit
from lantai.core.models import User
from lantai.core.roles import SERVE
from lantai.core.spreadsheet_cells import formula_safe
from lantai.standards import personal_ids


class AccessError(Exception):
    """A refusal a user can act on: `message` is shown (Chinese), `field` names the form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AccessDenied(AccessError):
    pass


# --- identity documents ------------------------------------------------------------------------
_ID_PROBLEMS = {  # personal_ids.id18_problem's codes, as a citizen is told
    "format": "居民身份证号码前 17 位应为数字，最后一位为数字或 X",
    "checksum": "居民身份证号码校验位不正确（GB 11643），请核对后重新填写",
    "region": "居民身份证号码的前两位不是省级行政区划代码，请核对后重新填写",
}


def resident_id_problem(number: str, today: date | None = None) -> str | None:
    """Why `number` is not a valid 居民身份证号码 (GB 11643-1999), or None when it is
    (standards.personal_ids: ISO 7064 MOD 11-2 check character, a real birth date)."""
    number = number.strip().upper()
    if len(number) != 18:
        return f"居民身份证号码应为 18 位，您填写的是 {len(number)} 位"
    problem = personal_ids.id18_problem(number, today=today or timezone.localdate())
    if problem == "date":
        return f"居民身份证号码中的出生日期“{number[6:14]}”不是有效日期或不合理"
    return _ID_PROBLEMS.get(problem or "", "居民身份证号码无效") if problem else None


def id_number_problem(id_type: str, number: str) -> str | None:
    """Why an identity document number cannot be accepted, or None."""
    if id_type not in dict(ID_TYPES):
        return "请选择证件类型"
    number = number.strip()
    if not number:
        return "请填写证件号码"
    if id_type == "resident_id":
        return resident_id_problem(number)
    if not re.fullmatch(r"[A-Za-z0-9()（）\-]{5,32}", number):
        return "证件号码只能包含字母、数字和括号，长度 5–32 位"
    return None


_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")


def normalize_phone(phone: str) -> str:
    """A mainland mobile (11 digits) or landline (区号-号码) number without spaces; AccessError
    when it is neither."""
    cleaned = re.sub(r"[\s()（）]", "", phone).removeprefix("+86").removeprefix("0086")
    if _MOBILE_RE.match(cleaned) or _LANDLINE_RE.match(cleaned):
        return cleaned
    raise AccessError("请填写有效的手机号码（11 位）或固定电话（区号-号码）", "phone")


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


# --- what the public sees ------------------------------------------------------------------------
# The rule itself lives in `lantai.catalog.public`, shared with OAI-PMH, IIIF and the exhibitions.
IMAGE_TYPES, PDF_TYPE, MAX_RECORD_ID = public.IMAGE_TYPES, public.PDF_TYPE, public.MAX_RECORD_ID
public_record = public.public_record
public_records = public.public_records
public_component = public.public_component
_content_kind = public.content_kind


@dataclass(frozen=True)
class PublicContent:
    component: Component
    kind: str  # "image" | "pdf"


def public_contents(record: Record) -> tuple[list[PublicContent], int]:
    """The components of an open record that the portal shows (page images and PDFs), in order,
    and how many other components it has (offered through a 查档申请 only). Under a publication
    hold in force, every component is such an other one: its content is not published."""
    if public_record(record.pk) is None or open_copies.open_copy_of(record.pk) is not None:
        return [], 0  # a partly opened record is read through its open copy only
    shown: list[PublicContent] = []
    others = 0
    played = _recording_components(record)  # shown in a player (`public_recordings`)
    published = public.publishable(record.pk)
    for component in Component.objects.filter(record_id=record.pk).order_by("id"):
        if component.pk in played and published:
            continue
        kind = _content_kind(component)
        if kind and published:
            shown.append(PublicContent(component, kind))
        else:
            others += 1
    return shown, others


def public_open_copy(record_pk: int) -> OpenCopy | None:
    """The redacted open copy of an open record (信息级开放); None for any other record and
    for one under a publication hold in force (its content is not published)."""
    if public_record(record_pk) is None or not public.publishable(record_pk):
        return None  # a publication hold in force withholds the content, the open copy too
    return open_copies.open_copy_of(record_pk)


def _stored_path(component: Component) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / component.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise AccessError(f"电子文件“{component.name}”暂时无法提供")
    return path


def _recording_components(record: Record) -> set[int]:
    from lantai.digitization.models import Recording

    ids = Recording.objects.filter(record_id=record.pk, component__isnull=False)
    return set(ids.values_list("component_id", flat=True))


# --- the open catalogue (档案法 art 28) -------------------------------------------------------------
@dataclass(frozen=True)
class FondsEntry:
    id: int
    code: str
    name: str
    count: int
    key: str  # archives code and 全宗号, as the search's fonds facet and filter name it


@dataclass(frozen=True)
class RepositoryEntry:
    code: str
    name: str
    count: int
    fonds: list[FondsEntry]


def open_catalogue() -> list[RepositoryEntry]:
    """How many open records each repository and fonds holds, as the public search counts them
    (so a fonds link's result count matches); repositories and fonds without any are left out.
    A fonds is its archives' and its own code: the same 全宗号 in two archives is two fonds."""
    from lantai.search import services as search
    from lantai.search.query import Query, fonds_key

    query = Query(facets=("repository", "fonds"), limit=0, highlight=False)
    facets = search.search(None, query).facets
    per_repo = {code: n for code, n in facets.get("repository", {}).items() if n > 0}
    per_fonds = {key: n for key, n in facets.get("fonds", {}).items() if n > 0}
    if not per_repo:
        return []
    repositories = catalog.visible_repositories(None).filter(code__in=per_repo).order_by("code")
    fonds = catalog.visible_fonds(None).filter(repository__in=repositories).order_by("code")
    by_repo: dict[int, list[FondsEntry]] = {}
    for f in fonds:
        key = fonds_key(f.repository.code, f.code)
        if key in per_fonds:
            entry = FondsEntry(f.pk, f.code, f.name, per_fonds[key], key)
            by_repo.setdefault(f.repository_id, []).append(entry)
    return [
        RepositoryEntry(r.code, r.name, per_repo[r.code], by_repo.get(r.pk, []))
        for r in repositories
    ]


# --- access requests (查档申请) -----------------------------------------------------------------------
_REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I


@dataclass(frozen=True)
class RequestInput:
    applicant_name: str
    id_type: str
    id_number: str
    phone: str
    purpose: str
    purpose_detail: str = ""
    record_ids: tuple[int, ...] = ()
    records_text: str = ""
    certified_copy: bool = False


def check_request(data: RequestInput) -> dict[str, str]:
    """Field -> problem for everything wrong with a request (empty when it can be submitted)."""
    problems: dict[str, str] = {}
    name = data.applicant_name.strip()
    if not name:
        problems["applicant_name"] = "请填写申请人姓名"
    elif len(name) > 100:
        problems["applicant_name"] = "姓名不能超过 100 个字"
    if problem := id_number_problem(data.id_type, data.id_number):
        problems["id_type" if data.id_type not in dict(ID_TYPES) else "id_number"] = problem
    try:
        normalize_phone(data.phone)
    except AccessError as e:
        problems["phone"] = e.message
    if data.purpose not in dict(PURPOSES):
        problems["purpose"] = "请选择利用目的"
    elif data.purpose == "other" and not data.purpose_detail.strip():
        problems["purpose_detail"] = "利用目的选择“其他”时，请说明具体目的"
    if len(data.purpose_detail) > 500:
        problems["purpose_detail"] = "利用目的说明不能超过 500 个字"
    if not public_records(data.record_ids) and not data.records_text.strip():
        problems["records_text"] = "请说明需要查阅的档案（如档号、题名、年代、涉及的人和事）"
    if len(data.records_text) > 4000:
        problems["records_text"] = "档案说明不能超过 4000 个字"
    return problems


def _new_reference(prefix: str, model: type[AccessRequest] | type[Provision], field: str) -> str:
    today = timezone.localdate()
    for _ in range(20):
        tail = "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
        ref = f"{prefix}{today:%Y%m%d}-{tail}"
        if not model.objects.filter(**{field: ref}).exists():
            return ref
    raise AccessError("暂时无法生成编号，请稍后重试")


def submit_request(data: RequestInput) -> AccessRequest:
    """Register a 查档申请 from the portal; AccessError naming the first problem when invalid.
    Records that are not open are dropped silently (the form never offers them)."""
    problems = check_request(data)
    if problems:
        field, message = next(iter(problems.items()))
        raise AccessError(message, field)
    records = public_records(data.record_ids)
    with transaction.atomic():
        req = AccessRequest.objects.create(
            reference=_new_reference("CD", AccessRequest, "reference"),
            applicant_name=data.applicant_name.strip(),
            id_type=data.id_type,
            id_number=data.id_number.strip().upper(),
            phone=normalize_phone(data.phone),
            purpose=data.purpose,
            purpose_detail=data.purpose_detail.strip(),
            records_text=data.records_text.strip(),
            certified_copy=data.certified_copy,
        )
        req.records.set(records)
        audit.record(
            "access_request_submit",
            "access_request",
            req.reference,
            {"purpose": req.purpose, "records": [r.pk for r in records], "certified": req.certified_copy},
            actor="public",
        )  # fmt: skip
    return req


def find_request(reference: str, phone: str) -> AccessRequest | None:
    """The request with this reference number, if `phone` is the one given with it; None for a
    wrong reference and a wrong phone alike."""
    req = AccessRequest.objects.filter(reference=reference.strip().upper()).first()
    try:
        given = normalize_phone(phone)
    except AccessError:
        given = ""
    expected = req.phone if req is not None else "-"
    if hmac.compare_digest(given.encode(), expected.encode()) and req is not None:
        return req
    return None


# --- the staff workflow: 受理 → 审批 → 提供 / 拒绝 -------------------------------------------------------
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"submitted"}), "accepted"),
    "approve": (frozenset({"accepted"}), "approved"),
    "provide": (frozenset({"approved"}), "provided"),
    "refuse": (frozenset({"submitted", "accepted", "approved"}), "refused"),
}


def _require_serve(user: User) -> None:
    if not (user.is_authenticated and user.has_perm_code(SERVE)):
        raise AccessDenied("您的角色没有“利用服务”权限")


def requests_for_staff(user: User, status: str = "") -> QuerySet[AccessRequest]:
    _require_serve(user)
    qs = AccessRequest.objects.select_related("accepted_by", "approved_by", "closed_by")
    return qs.filter(status=status) if status else qs


def get_request(user: User, pk: int) -> AccessRequest | None:
    _require_serve(user)
    return requests_for_staff(user).filter(pk=pk).first()


def single_person() -> bool:
    """Whether one person may 受理 and 审批 the same request (an archives with one member of
    reading-room staff, setting ACCESS_SINGLE_PERSON); each such approval is logged as such."""
    return bool(settings.ACCESS_SINGLE_PERSON)


def approval_problem(req: AccessRequest, user: User) -> str:
    """Why `user` may not 审批 `req` although it awaits approval (separation of duties), or ""."""
    if req.accepted_by_id is not None and req.accepted_by_id == user.pk and not single_person():
        return gettext(
            "申请 %(reference)s 由您受理，按职责分离不能由受理人审批，请由另一位工作人员审批。"
        ) % {"reference": req.reference}
    return ""


def allowed_actions(req: AccessRequest, user: User) -> list[str]:
    """The steps `user` may take on `req` now."""
    return [
        name
        for name, (sources, _) in TRANSITIONS.items()
        if req.status in sources and not (name == "approve" and approval_problem(req, user))
    ]


def _transition(
    req: AccessRequest, user: User, action: str, detail: dict[str, Any]
) -> AccessRequest:
    _require_serve(user)
    sources, target = TRANSITIONS[action]
    locked = AccessRequest.objects.select_for_update().get(pk=req.pk)
    if locked.status not in sources:
        raise AccessError(
            f"申请 {locked.reference} 当前状态为“{locked.get_status_display()}”，不能执行此操作"
        )
    event = f"access_request_{action}"
    if action == "approve":
        if problem := approval_problem(locked, user):
            raise AccessDenied(problem)
        if locked.accepted_by_id == user.pk:  # allowed by ACCESS_SINGLE_PERSON
            event = "access_request_self_approve"
            detail = {**detail, "accepted_by": user.get_username(), "rule": "ACCESS_SINGLE_PERSON"}
    now = timezone.now()
    before = locked.status
    locked.status = target
    if action == "accept":
        locked.accepted_by, locked.accepted_at = user, now
    elif action == "approve":
        locked.approved_by, locked.approved_at = user, now
    else:
        locked.closed_by, locked.closed_at = user, now
    if detail.get("reason"):
        locked.refusal_reason = str(detail["reason"])
    locked.save()
    if detail.get("note"):
        RequestNote.objects.create(
            request=locked, step=action, text=str(detail["note"]), author=user, written_at=now
        )
    audit.record(
        event,
        "access_request",
        locked.reference,
        {"from": before, "to": target, **detail},
        actor=user.get_username(),
    )
    return locked


def notes_of(req: AccessRequest) -> list[RequestNote]:
    """The request's 办理意见, oldest first, each with its author and time."""
    return list(req.notes.select_related("author"))


def accept_request(req: AccessRequest, user: User, note: str = "") -> AccessRequest:
    """受理: the request is complete and will be handled."""
    with transaction.atomic():
        return _transition(req, user, "accept", {"note": note.strip()})


def approve_request(req: AccessRequest, user: User, note: str = "") -> AccessRequest:
    """审批: the use is approved, by another member of staff than the one who accepted it
    (unless `single_person()`); AccessDenied otherwise."""
    with transaction.atomic():
        return _transition(req, user, "approve", {"note": note.strip()})


def refuse_request(req: AccessRequest, user: User, reason: str) -> AccessRequest:
    """拒绝, with the reason the applicant will read on the status page."""
    reason = reason.strip()
    if not reason:
        raise AccessError("拒绝申请必须填写理由", "reason")
    with transaction.atomic():
        return _transition(req, user, "refuse", {"reason": reason})


def provide_request(
    req: AccessRequest, user: User, method: str, note: str = "", record_ids: Iterable[int] = ()
) -> Provision:
    """提供: close the request and register the provision (利用登记). `record_ids` adds records
    found by staff (any the user may see) to those the applicant picked."""
    if method not in dict(METHODS):
        raise AccessError("请选择提供方式", "method")
    with transaction.atomic():
        done = _transition(req, user, "provide", {"method": method, "note": note.strip()})
        records = list(done.records.all())
        extra = catalog.visible_records(user).filter(pk__in=list(record_ids))
        records += [r for r in extra if r not in records]
        # the stamped copy the applicant asked for is not made of records under a reproduction
        # (or access) hold when they are read on site: only a way of providing that copies is
        # refused
        certified = done.certified_copy and (
            method in REPRODUCING_METHODS
            or not (
                holds.held_ids("reproduction", [r.pk for r in records])
                | holds.held_ids("access", [r.pk for r in records])
            )
        )
        return register_provision(
            user,
            user_name=done.applicant_name,
            id_type=done.id_type,
            id_number=done.id_number,
            purpose=done.purpose,
            purpose_detail=done.purpose_detail,
            records=records,
            records_text=done.records_text,
            method=method,
            certified_copy=certified,
            note=note,
            request=done,
        )


# --- the use register (利用登记) --------------------------------------------------------------------
# the ways of providing that make a copy of the record (复制件, 电子文件, 档案证明 with a stamped copy)
REPRODUCING_METHODS = frozenset({"copy", "electronic", "certificate"})


def reproduction_problem(method: str, certified_copy: bool, record_ids: Iterable[int]) -> str:
    """Why providing these records this way is refused (档案法 art 31: a donor's restriction on
    access or reproduction in force on any of them), naming each restriction; "" when it is not (reading
    on site and excerpts make no copy). Four queries, whatever the number of records."""
    if method not in REPRODUCING_METHODS and not certified_copy:
        return ""
    # an access hold is stronger than a reproduction hold: what may not be used is not copied
    ids = list(record_ids)
    refused = holds.refusals(ids, "access")
    refused.update(holds.refusals([i for i in ids if i not in refused], "reproduction"))
    if not refused:
        return ""
    way = dict(METHODS).get(method, method) if method in REPRODUCING_METHODS else "出具证明"
    reasons = "；".join(refused[r] for r in sorted(refused))
    return f"不能以“{way}”方式提供：{reasons}。可改为阅览"


def register_provision(
    user: User,
    *,
    user_name: str,
    id_type: str,
    id_number: str,
    purpose: str,
    method: str,
    records: Iterable[Record] = (),
    records_text: str = "",
    purpose_detail: str = "",
    certified_copy: bool = False,
    note: str = "",
    request: AccessRequest | None = None,
) -> Provision:
    """Register one provision of records (also used for walk-in readers without a request)."""
    _require_serve(user)
    if not user_name.strip():
        raise AccessError("请填写利用者姓名", "user_name")
    if problem := id_number_problem(id_type, id_number):
        raise AccessError(problem, "id_number")
    if purpose not in dict(PURPOSES):
        raise AccessError("请选择利用目的", "purpose")
    if method not in dict(METHODS):
        raise AccessError("请选择提供方式", "method")
    records = list(records)
    if not records and not records_text.strip():
        raise AccessError("请登记所提供的档案", "records_text")
    if problem := reproduction_problem(method, certified_copy, [r.pk for r in records]):
        raise AccessError(problem, "method")
    with transaction.atomic():
        provision = Provision.objects.create(
            number=_new_reference("LY", Provision, "number"),
            request=request,
            user_name=user_name.strip(),
            id_type=id_type,
            id_number=id_number.strip().upper(),
            purpose=purpose,
            purpose_detail=purpose_detail.strip(),
            records_text=records_text.strip(),
            method=method,
            certified_copy=certified_copy,
            note=note.strip(),
            provided_by=user,
        )
        provision.records.set(records)
        audit.record(
            "access_provision",
            "provision",
            provision.number,
            {
                "request": request.reference if request else "",
                "records": [r.pk for r in records],
                "method": method,
                "purpose": purpose,
            },
            actor=user.get_username(),
        )
    return provision


def provisions_for_staff(
    user: User, since: date | None = None, until: date | None = None
) -> QuerySet[Provision]:
    _require_serve(user)
    qs = Provision.objects.select_related("provided_by", "request").prefetch_related("records")
    if since:
        qs = qs.filter(provided_at__date__gte=since)
    if until:
        qs = qs.filter(provided_at__date__lte=until)
    return qs


def resolve_codes(user: User, text: str) -> tuple[list[Record], list[str]]:
    """Records named by 档号 (one per line or separated by spaces/commas) that `user` may see, and
    the entries that named none."""
    found: list[Record] = []
    missing: list[str] = []
    visible = catalog.visible_records(user)
    for code in [c for c in re.split(r"[\s,，;；]+", text) if c]:
        record = visible.filter(reference_code=code).first()
        if record is None:
            missing.append(code)
        elif record not in found:
            found.append(record)
    return found, missing


CSV_HEADER = (
    "登记号", "利用时间", "利用者", "证件类型", "证件号码", "利用目的", "目的说明", "档号", "题名",
    "其他档案", "提供方式", "出具证明", "经办人", "申请编号", "备注",
)  # fmt: skip


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (applicants write some of them)."""
    return str(formula_safe(str(value)))


def provisions_csv(rows: Iterable[Provision]) -> Iterator[str]:
    """The register as CSV lines (UTF-8 with a BOM for Excel); identity numbers are masked."""
    ids, purposes, methods = dict(ID_TYPES), dict(PURPOSES), dict(METHODS)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"
    writer.writerow(CSV_HEADER)
    for p in rows:
        records = list(p.records.all())
        at: datetime = timezone.localtime(p.provided_at)
        writer.writerow(
            [
                _cell(x)
                for x in (
                    p.number,
                    f"{at:%Y-%m-%d %H:%M}",
                    p.user_name,
                    ids.get(p.id_type, p.id_type),
                    mask_id(p.id_number),
                    purposes.get(p.purpose, p.purpose),
                    p.purpose_detail,
                    "；".join(r.reference_code for r in records),
                    "；".join(r.title for r in records),
                    p.records_text,
                    methods.get(p.method, p.method),
                    "是" if p.certified_copy else "否",
                    p.provided_by.get_full_name() or p.provided_by.get_username(),
                    p.request.reference if p.request else "",
                    p.note,
                )
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


# --- certificates issued for a request (the marriage counter) -------------------------------------
CERTIFICATE_NOTE = "已出具证明 %s"


def note_certificate(req: AccessRequest, user: Any, number: str) -> RequestNote:
    """A 办理意见 on ``req`` naming a certificate issued for it (the marriage counter writes it;
    the citizen's status page offers the certificates linked to the request)."""
    return RequestNote.objects.create(
        request=req, step="provide", text=CERTIFICATE_NOTE % number, author=user,
        written_at=timezone.now(),
    )  # fmt: skip
