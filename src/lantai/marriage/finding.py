"""查档: finding marriage records for a requester, within what the rights rules let that requester
see, and logging every query (who asked, as whom, with which proof, what was shown: PIPL).

Three ways in, one at a time: an identity number (exact, through its keyed hash), one or two
names with an approximate year (同音, 形近 and a missing middle character, year ± N), or a
marriage certificate number. The requester's proof is checked first; a refused request searches
nothing and is logged with the reason."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db.models import Case, Q, Value, When

from lantai.catalog.services import records_in_scope
from lantai.core import audit
from lantai.standards import marriage_names, marriage_profile, marriage_rights, personal_ids

from . import identity, rules
from .models import Party, Query, Registration

NAME_CANDIDATES = 500  # per name key, before ranking
MAX_YEARS = 10


class FindError(Exception):
    """The search itself is malformed (a user's input error: exit 2 / a form error)."""

    def __init__(self, field: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.field, self.message_zh, self.message_en = field, message_zh, message_en


@dataclass(frozen=True)
class Criteria:
    id_number: str = ""
    id_type: str = identity.RESIDENT_ID
    names: tuple[str, ...] = ()
    year: int | None = None
    years: int = 2  # the year is approximate: ± this many
    cert_number: str = ""

    def mode(self) -> str:
        given = [m for m, v in (("id", self.id_number), ("names", self.names),
                                ("cert", self.cert_number)) if v]  # fmt: skip
        if len(given) != 1:
            raise FindError(
                "criteria",
                "请只按一种方式查找：证件号码、姓名（可加年份）或结婚证/离婚证字号",
                "search by exactly one of: an identity number, names (with a year), or a "
                "certificate number",
            )
        return given[0]

    def for_log(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode()}
        if self.id_number:
            out.update(id_type=self.id_type, id_number=identity.mask(self.id_number))
        if self.names:
            out.update(names=list(self.names), year=self.year, years=self.years)
        if self.cert_number:
            out["cert_number"] = self.cert_number
        return out


@dataclass
class Hit:
    record_id: int
    reference_code: str
    holding_archives: str
    kind: str
    kind_label: str
    date: str
    office: str
    region_code: str
    certificate_number: str
    parties: list[dict[str, Any]]
    score: float = 1.0


@dataclass
class Outcome:
    query_id: int
    rules_version: int
    refused: list[dict[str, str]] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    withheld: int = 0  # matched, but not for this requester

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": not self.refused,
            "query": self.query_id,
            "rules_version": self.rules_version,
            "refused": self.refused,
            "results": [asdict(h) for h in self.hits],
            "withheld": self.withheld,
        }


def _clean_id(criteria: Criteria) -> str:
    number = identity.normalise(criteria.id_type, criteria.id_number)
    if identity.is_resident(criteria.id_type):
        problem = (
            personal_ids.id18_problem(number) if len(number) == 18
            else personal_ids.id15_problem(number) if len(number) == 15
            else "length"
        )  # fmt: skip
        if problem is not None:
            raise FindError(
                "id_number",
                f"证件号码“{identity.mask(number)}”不是有效的居民身份证号码（{problem}）："
                "应为 18 位且校验码正确（GB 11643），或 15 位旧号码",
                f"the identity number {identity.mask(number)} is not a valid resident ID "
                f"({problem}): 18 characters with a correct check character, or a 15-digit "
                "legacy number",
            )
    elif not number:
        raise FindError("id_number", "证件号码为空", "the identity number is empty")
    return number


def _clean_names(criteria: Criteria) -> list[str]:
    if len(criteria.names) > 2:
        raise FindError("names", "最多按两个姓名查找（双方当事人）",
                        "search by at most two names (the two parties)")  # fmt: skip
    names = ["".join(unicodedata.normalize("NFKC", n).split()) for n in criteria.names]
    for n in names:
        if not 1 < len(n) <= 30:
            raise FindError("names", f"姓名“{n}”应为 2 至 30 个字", f"the name {n!r} must have 2 to 30 characters")  # fmt: skip
    if criteria.year is not None and not 1900 <= criteria.year <= 2100:
        raise FindError("year", f"年份 {criteria.year} 不在 1900—2100 之间", f"year {criteria.year} is not within 1900–2100")  # fmt: skip
    if not 0 <= criteria.years <= MAX_YEARS:
        raise FindError("years", f"年份误差应为 0 至 {MAX_YEARS} 年", f"the year tolerance must be 0 to {MAX_YEARS}")  # fmt: skip
    return names


def _by_name(name: str, criteria: Criteria, user: Any) -> dict[int, float]:
    """registration id -> best similarity of a party's name to ``name``, within the user's scope
    and the years; exact names come first, so the candidate cap only ever drops fuzzy ones."""
    keys = marriage_names.query_keys(name)
    where = Q()
    for column, key in keys:
        # the skeleton index holds only rows that have one: say so, or SQLite will not use it
        where |= Q(**{column: key}) & (~Q(name_skeleton="") if column == "name_skeleton" else Q())
    qs = Party.objects.filter(where)
    if criteria.year is not None:
        qs = qs.filter(
            year__gte=criteria.year - criteria.years, year__lte=criteria.year + criteria.years
        )
    if user is not None:
        qs = qs.filter(registration__record__in=records_in_scope(user))
    exact_first = Case(When(name=name, then=Value(0)), default=Value(1))
    rows = qs.order_by(exact_first, "-year", "pk").values_list("registration_id", "name")
    found: dict[int, float] = {}
    for reg_id, candidate in rows[:NAME_CANDIDATES]:
        score = marriage_names.similarity(name, candidate)
        if score > found.get(reg_id, 0.0):
            found[reg_id] = score
    return found


def _candidates(criteria: Criteria, user: Any) -> dict[int, float]:
    mode = criteria.mode()
    if mode == "id":
        digest = identity.lookup_hash(criteria.id_type, _clean_id(criteria))
        return {r: 1.0 for r in Party.objects.filter(id_hash=digest).values_list("registration_id", flat=True)}  # fmt: skip
    if mode == "cert":
        number = marriage_profile.normalise_certificate_number(criteria.cert_number)
        if not number:
            raise FindError("cert_number", "结婚证/离婚证字号为空", "the certificate number is empty")  # fmt: skip
        return {r: 1.0 for r in Registration.objects.filter(certificate_number=number).values_list("record_id", flat=True)}  # fmt: skip
    names = _clean_names(criteria)
    scored = [_by_name(n, criteria, user) for n in names]
    if len(scored) == 1:
        return scored[0]
    both = scored[0].keys() & scored[1].keys()
    return {r: (scored[0][r] + scored[1][r]) / 2 for r in both}


def check_request_ids(request: marriage_rights.Request) -> None:
    """Identity numbers given for the requester, the principal or the case parties must be valid
    before they decide anything; a number in the form of a 居民身份证 number is checked as one
    (other documents — passports, permits — are taken as given)."""
    for number in (request.requester_id, request.principal_id, *request.case_party_ids):
        compact = identity.normalise("", number or "")
        if len(compact) in (15, 18) and compact[:15].isdigit():
            _clean_id(Criteria(id_number=compact))


def find(
    criteria: Criteria,
    request: marriage_rights.Request,
    *,
    channel: str,
    actor: str,
    user: Any = None,
    limit: int = 50,
    access_request_id: int | None = None,
) -> Outcome:
    criteria.mode()  # a malformed search is an input error, not a query to log
    if criteria.names:
        _clean_names(criteria)
    if criteria.id_number:
        _clean_id(criteria)
    check_request_ids(request)
    version, ruleset = rules.current()
    problems = marriage_rights.check_request(ruleset, request)
    outcome = Outcome(query_id=0, rules_version=version)
    if problems:
        outcome.refused = [{"rule": p.rule, "message": p.message_zh, "message_en": p.message_en} for p in problems]  # fmt: skip
    else:
        _search(criteria, request, ruleset, user, limit, outcome)
    outcome.query_id = log_query(
        request, criteria.for_log(), [h.record_id for h in outcome.hits], version=version,
        channel=channel, actor=actor, user=user, matched=len(outcome.hits) + outcome.withheld,
        refused="；".join(r["message"] for r in outcome.refused), withheld=outcome.withheld,
        access_request_id=access_request_id,
    )  # fmt: skip
    return outcome


def _search(
    criteria: Criteria,
    request: marriage_rights.Request,
    ruleset: marriage_rights.Rules,
    user: Any,
    limit: int,
    outcome: Outcome,
) -> None:
    """Rank the candidates, check each against the rules (on light rows: names and sealed
    numbers), and build full results only for the ones shown."""
    scores = _candidates(criteria, user)
    regs = Registration.objects.filter(record_id__in=list(scores))
    if user is not None:
        regs = regs.filter(record__in=records_in_scope(user))
    dates = dict(regs.values_list("record_id", "date"))
    parties: dict[int, list[tuple[str, str]]] = {}
    for reg_id, name, sealed in (
        Party.objects.filter(registration_id__in=list(dates))
        .order_by("registration_id", "position")
        .values_list("registration_id", "name", "id_sealed")
    ):
        parties.setdefault(reg_id, []).append((name, sealed))
    year = criteria.year
    ranked = sorted(dates, key=lambda r: (-scores[r], abs((year or dates[r].year) - dates[r].year), dates[r], r))  # fmt: skip
    shown: list[int] = []
    for reg_id in ranked:
        if not visible_to(ruleset, request, parties.get(reg_id, [])):
            outcome.withheld += 1
        elif len(shown) < limit:
            shown.append(reg_id)
    full = {
        r.pk: r
        for r in Registration.objects.filter(record_id__in=shown)
        .select_related("record", "record__repository")
        .prefetch_related("parties")
    }
    outcome.hits = [hit_of(full[r], list(full[r].parties.all()), scores[r]) for r in shown]


def visible_to(
    ruleset: marriage_rights.Rules,
    request: marriage_rights.Request,
    parties: Sequence[tuple[str, str]],
) -> bool:
    """Whether the rules let this requester see a registration whose parties have these (name,
    sealed identity number) pairs; the numbers are opened only when the requester's scope turns on
    them."""
    requester = ruleset.requester_types.get(request.requester_type)
    needs_ids = requester is None or requester.scope not in ("any", "approved")
    ids = [identity.unseal(sealed) for _name, sealed in parties if sealed] if needs_ids else []
    return marriage_rights.may_see(ruleset, request, ids, [name for name, _sealed in parties])


def hit_of(reg: Registration, parties: Sequence[Party], score: float = 1.0) -> Hit:
    kind = marriage_profile.kind(reg.kind)
    return Hit(
        record_id=reg.pk, reference_code=reg.record.reference_code,
        holding_archives=reg.record.repository.name, kind=reg.kind, kind_label=kind.label_zh,
        date=reg.date.isoformat(), office=reg.office, region_code=reg.region_code,
        certificate_number=reg.certificate_number,
        parties=[{"name": p.name, "sex": p.sex, "id_type": p.id_type, "id_masked": p.id_masked,
                  "nationality": p.nationality,
                  "birth_date": p.birth_date.isoformat() if p.birth_date else None}
                 for p in parties],
        score=round(score, 3),
    )  # fmt: skip


def log_query(
    request: marriage_rights.Request, criteria: dict[str, Any], shown: list[int], *,
    version: int, channel: str, actor: str, user: Any, matched: int | None = None,
    refused: str = "", withheld: int = 0, access_request_id: int | None = None,
) -> int:  # fmt: skip
    """Keep who asked, as whom, with which proof, what for and what was shown (PIPL), in the
    query log and, summed up, in the audit chain."""
    requester_id = request.requester_id or ""
    # what the requester's scope rested on: the principal (proxy), the case parties (lawyer), the
    # online request answered — masked as everything else here
    basis = {
        "principal": identity.mask(request.principal_id) if request.principal_id else "",
        "case_parties": [identity.mask_in_text(c) for c in request.case_party_ids],
        "access_request": access_request_id,
    }
    query = Query.objects.create(
        channel=channel, user=user if getattr(user, "pk", None) else None, actor=actor,
        requester_type=request.requester_type, requester_name=request.requester_name[:60],
        requester_id_masked=identity.mask(requester_id) if requester_id else "",
        requester_id_hash=identity.lookup_hash(identity.RESIDENT_ID, requester_id) if requester_id else "",
        proofs={kind: identity.mask_in_text(ref) for kind, ref in request.proofs.items()},
        purpose=identity.mask_in_text(request.purpose or "")[:500],
        approved_by=(request.approved_by or "")[:150], rules_version=version,
        criteria={**criteria, "basis": basis},
        refused=refused[:500], matched=len(shown) if matched is None else matched, shown=shown,
    )  # fmt: skip
    audit.record(
        "marriage_query", "marriage_query", query.pk,
        {"requester_type": request.requester_type, "channel": channel, "for": criteria.get("mode"),
         "shown": shown, "withheld": withheld, "refused": bool(refused),
         "rules_version": version},
        actor=actor,
    )  # fmt: skip
    return query.pk
