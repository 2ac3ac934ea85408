"""Certificates of marriage records (婚姻登记记录证明) and of their absence (无婚姻登记记录证明):
the rights check for the requester, the content the certificate shows, and the hand-over to the
certificates room. Every certificate is also a logged query (who asked, as whom, what was shown)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from django.utils import timezone

from lantai.catalog.models import Repository
from lantai.catalog.services import default_repository, records_in_scope, visible_repositories
from lantai.certificates import issuing
from lantai.certificates.models import Certificate
from lantai.standards import marriage_profile, marriage_rights

from . import finding, identity, rules
from .models import Party, Registration

BASIS = "《婚姻登记档案管理办法》（民政部、国家档案局令第32号）"
TITLE_RECORD = "婚姻登记记录证明"
TITLE_NONE = "无婚姻登记记录证明"
MAX_RECORDS = 4


class CertifyError(Exception):
    def __init__(self, message_zh: str, message_en: str, *, refused: bool = True) -> None:
        super().__init__(message_zh)
        self.message_zh, self.message_en, self.refused = message_zh, message_en, refused


def _checked(request: marriage_rights.Request) -> tuple[int, marriage_rights.Rules]:
    finding.check_request_ids(request)
    version, ruleset = rules.current()
    problems = marriage_rights.check_request(ruleset, request)
    if problems:
        raise CertifyError("；".join(p.message_zh for p in problems), "; ".join(p.message_en for p in problems))  # fmt: skip
    return version, ruleset


def _requester(ruleset: marriage_rights.Rules, request: marriage_rights.Request) -> dict[str, str]:
    return {
        "type": request.requester_type,
        "type_label": ruleset.requester_types[request.requester_type].label_zh,
        "name": request.requester_name,
        "id_masked": identity.mask(request.requester_id) if request.requester_id else "",
    }


def _issuer(repository: Repository) -> dict[str, str]:
    return {"code": repository.code, "name": repository.name, "region": repository.region}


def _log(request: marriage_rights.Request, criteria: dict[str, Any], shown: list[int], **kw: Any) -> int:  # fmt: skip
    return finding.log_query(request, criteria, shown, **kw)


@contextlib.contextmanager
def _refusals_logged(
    request: marriage_rights.Request, criteria: dict[str, Any], **kw: Any
) -> Iterator[None]:
    """A certificate refused by the rules is a query too: it is logged with the reason."""
    try:
        yield
    except CertifyError as e:
        if e.refused:
            _log(request, criteria, [], version=rules.current()[0], refused=e.message_zh, **kw)
        raise


def certify_records(
    record_ids: Sequence[int], request: marriage_rights.Request, *, purpose: str, actor: str,
    user: Any = None, channel: str = "counter", access_request_id: int | None = None,
) -> Certificate:  # fmt: skip
    """A 婚姻登记记录证明 of these records for this requester (CertifyError when refused)."""
    with _refusals_logged(request, {"mode": "certificate", "records": list(record_ids)},
                          channel=channel, actor=actor, user=user,
                          access_request_id=access_request_id):  # fmt: skip
        return _certify_records(record_ids, request, purpose=purpose, actor=actor, user=user,
                                channel=channel, access_request_id=access_request_id)  # fmt: skip


def _certify_records(
    record_ids: Sequence[int], request: marriage_rights.Request, *, purpose: str, actor: str,
    user: Any, channel: str, access_request_id: int | None,
) -> Certificate:  # fmt: skip
    if not record_ids:
        raise CertifyError("未选择要证明的婚姻登记记录", "no marriage record was chosen", refused=False)  # fmt: skip
    if len(set(record_ids)) > MAX_RECORDS:
        raise CertifyError(f"一份证明最多载 {MAX_RECORDS} 条记录", f"a certificate holds at most {MAX_RECORDS} records")  # fmt: skip
    version, ruleset = _checked(request)
    regs = Registration.objects.filter(record_id__in=set(record_ids)).select_related("record", "record__repository")  # fmt: skip
    if user is not None:
        regs = regs.filter(record__in=records_in_scope(user))
    found = {r.pk: r for r in regs}
    missing = sorted(set(record_ids) - found.keys())
    if missing:
        raise CertifyError(f"没有这些婚姻登记档案（或无权查看）：{missing}", f"no such marriage records (or not visible): {missing}", refused=False)  # fmt: skip
    repositories = {r.record.repository_id for r in found.values()}
    if len(repositories) != 1:
        raise CertifyError("一份证明只能载同一档案馆保管的记录", "one certificate covers records of one archives only")  # fmt: skip
    ordered = sorted(found.values(), key=lambda r: (r.date, r.pk))
    records: list[dict[str, Any]] = []
    names: list[str] = []
    events: list[tuple[str, Any]] = []
    for reg in ordered:
        parties = list(Party.objects.filter(registration=reg).order_by("position"))
        if not finding.visible_to(ruleset, request, [(p.name, p.id_sealed) for p in parties]):
            raise CertifyError(
                f"按查档规则，该查询人无权获得档号 {reg.record.reference_code} 的记录证明",
                f"under the rules this requester may not have a certificate of {reg.record.reference_code}",
            )
        kind = marriage_profile.kind(reg.kind)
        records.append({
            "kind_label": kind.label_zh, "date": reg.date.isoformat(), "office": reg.office,
            "region_code": reg.region_code, "certificate_number": reg.certificate_number,
            "parties": [{"name": p.name, "sex": p.sex, "id_masked": p.id_masked} for p in parties],
            "holding_archives": reg.record.repository.name,
            "reference_code": reg.record.reference_code,
        })  # fmt: skip
        for p in parties:
            masked = identity.mask_name(p.name)
            if masked not in names and len(names) < 4:
                names.append(masked)
        events.append((kind.prefix, reg.date))
    repository = ordered[0].record.repository
    shown = [r.pk for r in ordered]
    query_id = _log(request, {"mode": "certificate", "records": shown}, shown, version=version,
                    channel=channel, actor=actor, user=user,
                    access_request_id=access_request_id)  # fmt: skip
    draft = issuing.Draft(
        repository=repository, kind="record",
        content={"title": TITLE_RECORD, "issuer": _issuer(repository),
                 "requester": _requester(ruleset, request), "records": records, "criteria": "",
                 "basis": BASIS, "purpose": identity.mask_in_text(purpose)},
        names=names, events=events, requester_type=request.requester_type,
        requester_name=request.requester_name, purpose=identity.mask_in_text(purpose),
        records=[r.record for r in ordered], query_id=query_id,
        access_request_id=access_request_id,
    )  # fmt: skip
    return issuing.issue(draft, actor=actor)


def _home(user: Any) -> Repository:
    """The archives a clerk works for: the one archives in their scope, else the default."""
    if user is not None:
        mine = list(visible_repositories(user)[:2])
        if len(mine) == 1:
            return mine[0]
    return default_repository()


def certify_none_found(
    request: marriage_rights.Request, *, subject_name: str, subject_id: str, purpose: str,
    actor: str, user: Any = None, channel: str = "counter", repository: Repository | None = None,
    access_request_id: int | None = None,
) -> Certificate:  # fmt: skip
    """The archives holds no marriage registration of the person with ``subject_id``: searched
    here and now over the archives' whole holding (not only what the clerk may browse)."""
    criteria = {"mode": "none_found", "id_number": identity.mask_in_text(subject_id),
                "name": subject_name[:30]}  # fmt: skip
    with _refusals_logged(request, criteria, channel=channel, actor=actor, user=user,
                          access_request_id=access_request_id):  # fmt: skip
        return _certify_none_found(
            request, subject_name=subject_name, subject_id=subject_id, purpose=purpose,
            actor=actor, user=user, channel=channel, repository=repository,
            access_request_id=access_request_id,
        )  # fmt: skip


def _certify_none_found(
    request: marriage_rights.Request, *, subject_name: str, subject_id: str, purpose: str,
    actor: str, user: Any, channel: str, repository: Repository | None,
    access_request_id: int | None,
) -> Certificate:  # fmt: skip
    version, ruleset = _checked(request)
    number = finding._clean_id(finding.Criteria(id_number=subject_id))
    name = "".join(subject_name.split())
    if not 1 < len(name) <= 30:
        raise CertifyError("无记录证明须写明当事人姓名（2 至 30 个字）", "a no-record certificate needs the person's name (2 to 30 characters)", refused=False)  # fmt: skip
    if not marriage_rights.may_see(ruleset, request, [number]):
        raise CertifyError("按查档规则，该查询人无权查询此人的婚姻登记记录", "under the rules this requester may not query this person's marriage records")  # fmt: skip
    repository = repository or _home(user)
    if not Registration.objects.filter(record__repository=repository).exists():
        raise CertifyError(
            f"{repository.name}没有婚姻登记档案，不能出具无记录证明：请选择保管婚姻登记档案的档案馆",
            f"{repository.name} holds no marriage records and cannot certify their absence: "
            "choose the archives that holds them",
        )
    digest = identity.lookup_hash(identity.RESIDENT_ID, number)
    held = Party.objects.filter(id_hash=digest, registration__record__repository=repository).count()
    if held:
        raise CertifyError(
            f"{repository.name}保管有 {held} 条该证件号码的婚姻登记记录，不能出具无记录证明",
            f"{repository.name} holds {held} marriage records of this identity number: no "
            "no-record certificate can be issued",
        )
    query_id = _log(request, {"mode": "none_found", "id_number": identity.mask(number), "name": name}, [],
                    version=version, channel=channel, actor=actor, user=user,
                    access_request_id=access_request_id)  # fmt: skip
    today = timezone.localdate().isoformat()
    criteria = (
        f"以证件号码 {identity.mask(number)}、姓名 {identity.mask_name(name)} 查询{repository.name}"
        f"截至 {today} 馆藏的婚姻登记档案，未查到婚姻登记记录。尚未移交本馆的婚姻登记档案不在此列。"
    )
    draft = issuing.Draft(
        repository=repository, kind="none_found",
        content={"title": TITLE_NONE, "issuer": _issuer(repository),
                 "requester": _requester(ruleset, request), "records": [], "criteria": criteria,
                 "basis": BASIS, "purpose": identity.mask_in_text(purpose)},
        names=[identity.mask_name(name)], events=[], requester_type=request.requester_type,
        requester_name=request.requester_name, purpose=identity.mask_in_text(purpose), query_id=query_id,
        access_request_id=access_request_id,
    )  # fmt: skip
    return issuing.issue(draft, actor=actor)
