"""Who may see which marriage registration records, with what proof (婚姻登记档案管理办法 2006).

The rules are data (``data/marriage-rights.yaml``) that an administrator may edit and version:
:func:`load_rules` validates an edited copy, :func:`check_request` says which proof a request
lacks, :func:`may_see` decides one record. Identity numbers are compared in their 18-digit form
(a 15-digit number equals its 18-digit upgrade).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from ._data import load_data
from .marriage_profile import id_key

__all__ = [
    "REQUESTER_TYPES",
    "SCOPES",
    "ProofKind",
    "Problem",
    "Request",
    "RequesterType",
    "Rules",
    "RulesError",
    "check_request",
    "load_rules",
    "may_see",
]

# The requester types the rest of Lantai names (CLI --requester-type); a rules file must define all.
REQUESTER_TYPES = (
    "self",
    "proxy",
    "court",
    "procuratorate",
    "police",
    "state_security",
    "lawyer",
    "other",
)
SCOPES = ("own", "principal", "any", "case_parties", "approved")
# Request attributes a proof may be given by (besides a reference in Request.proofs).
_REQUEST_FIELDS = ("purpose", "approved_by")
_CODE = re.compile(r"[a-z][a-z0-9_]*")


class RulesError(ValueError):
    """An edited rules file is not valid: ``place`` (``requester_types.lawyer.proofs[1]``) and
    ``rule`` (a stable code) say where and what."""

    def __init__(self, place: str, rule: str, message_zh: str, message_en: str) -> None:
        super().__init__(f"{place}: {message_en}")
        self.place = place
        self.rule = rule
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class ProofKind:
    code: str
    label_zh: str
    label_en: str
    request_field: str | None  # "purpose" / "approved_by": that request attribute also counts


@dataclass(frozen=True, slots=True)
class RequesterType:
    code: str
    label_zh: str
    label_en: str
    proofs: tuple[str, ...]
    scope: str  # one of SCOPES


@dataclass(frozen=True, slots=True)
class Rules:
    version: str
    version_label: str
    proof_kinds: Mapping[str, ProofKind]
    requester_types: Mapping[str, RequesterType]


@dataclass(frozen=True, slots=True)
class Request:
    requester_type: str
    requester_name: str
    requester_id: str
    proofs: Mapping[str, str] = field(default_factory=dict)  # proof kind → reference number / text
    principal_id: str = ""  # proxy: the principal's ID number in the power of attorney
    case_party_ids: Sequence[str] = ()  # lawyer: IDs (or names) on the court's case certificate
    purpose: str = ""
    approved_by: str = ""  # other: the approving leader's name


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # the request field: "proofs.unit_letter", "requester_id" …
    rule: str
    message_zh: str
    message_en: str


# ---------------------------------------------------------------------------------- loading


def _fail(place: str, rule: str, zh: str, en: str) -> RulesError:
    return RulesError(place, rule, f"{place}：{zh}", en)


def _mapping(value: object, place: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(place, "mapping", "应为键值映射", "must be a mapping")
    return value


def _text(parent: Mapping[str, Any], key: str, place: str) -> str:
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _fail(f"{place}.{key}", "required", "必须填写（文字）", "is required (text)")
    text = str(value).strip()
    if not text:
        raise _fail(f"{place}.{key}", "required", "不能为空", "must not be empty")
    return text


def _only_keys(parent: Mapping[str, Any], allowed: Sequence[str], place: str) -> None:
    for key in parent:
        if key not in allowed:
            raise _fail(
                f"{place}.{key}" if place else str(key),
                "unknown_key",
                f"不认识的键，可用：{', '.join(allowed)}",
                f"unknown key; allowed: {', '.join(allowed)}",
            )


def _proof_kinds(value: object) -> dict[str, ProofKind]:
    kinds = _mapping(value, "proof_kinds")
    if not kinds:
        raise _fail("proof_kinds", "required", "至少要有一种证明材料", "needs at least one kind")
    found: dict[str, ProofKind] = {}
    for code, row in kinds.items():
        place = f"proof_kinds.{code}"
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise _fail(place, "code", "代码只能是小写字母、数字和下划线", "code must be a-z0-9_")
        row = _mapping(row, place)
        _only_keys(row, ("label_zh", "label_en", "request_field"), place)
        request_field = row.get("request_field")
        if request_field is not None and request_field not in _REQUEST_FIELDS:
            raise _fail(
                f"{place}.request_field",
                "request_field",
                f"只能是 {' 或 '.join(_REQUEST_FIELDS)}",
                f"must be one of {', '.join(_REQUEST_FIELDS)}",
            )
        found[code] = ProofKind(
            code, _text(row, "label_zh", place), _text(row, "label_en", place), request_field
        )
    return found


def _requester_type(code: str, row: object, proof_kinds: Mapping[str, ProofKind]) -> RequesterType:
    place = f"requester_types.{code}"
    row = _mapping(row, place)
    _only_keys(row, ("label_zh", "label_en", "proofs", "scope"), place)
    proofs = row.get("proofs")
    if not isinstance(proofs, list) or not proofs:
        raise _fail(f"{place}.proofs", "proofs", "应为非空列表", "must be a non-empty list")
    for i, proof in enumerate(proofs):
        if not isinstance(proof, str) or proof not in proof_kinds:
            raise _fail(
                f"{place}.proofs[{i}]",
                "unknown_proof",
                f"证明材料“{proof}”未在 proof_kinds 中定义",
                f"proof kind {proof!r} is not defined in proof_kinds",
            )
        if proofs.index(proof) != i:
            raise _fail(f"{place}.proofs[{i}]", "duplicate_proof", "重复", "is a duplicate")
    scope = row.get("scope")
    if scope not in SCOPES:
        raise _fail(
            f"{place}.scope",
            "scope",
            f"应为 {' / '.join(SCOPES)} 之一",
            f"must be one of {', '.join(SCOPES)}",
        )
    if scope == "approved" and not any(
        proof_kinds[p].request_field == "approved_by" for p in proofs
    ):
        raise _fail(
            f"{place}.proofs",
            "approval_proof",
            "范围为 approved 时须有一种 request_field 为 approved_by 的证明（领导审核）",
            "scope 'approved' needs a proof with request_field approved_by (leader approval)",
        )
    return RequesterType(
        code,
        _text(row, "label_zh", place),
        _text(row, "label_en", place),
        tuple(str(p) for p in proofs),
        str(scope),
    )


def load_rules(source: str | Mapping[str, Any] | None = None) -> Rules:
    """Rules from YAML text, an already parsed mapping, or (None) the shipped
    marriage-rights.yaml. RulesError names the place and the rule of the first mistake."""
    if source is None:
        data: object = load_data("marriage-rights.yaml")
    elif isinstance(source, str):
        try:
            data = yaml.safe_load(source)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            place = f"第{mark.line + 1}行" if mark is not None else "YAML"
            raise RulesError(
                place, "yaml", f"{place}：不是有效的 YAML（{exc}）", f"not valid YAML: {exc}"
            ) from None
    else:
        data = source
    top = _mapping(data, "(顶层)")
    _only_keys(top, ("version", "version_label", "source", "proof_kinds", "requester_types"), "")
    proof_kinds = _proof_kinds(top.get("proof_kinds"))
    types = _mapping(top.get("requester_types"), "requester_types")
    for code in REQUESTER_TYPES:
        if code not in types:
            raise _fail(
                f"requester_types.{code}",
                "missing_type",
                "缺少这一查档人类型",
                "this requester type is missing",
            )
    for code in types:
        if code not in REQUESTER_TYPES:  # the counter and the CLI know these types only
            raise _fail(
                f"requester_types.{code}",
                "unknown_type",
                "不是已知的查档人类型（" + "、".join(REQUESTER_TYPES) + "）",
                "is not a known requester type (" + ", ".join(REQUESTER_TYPES) + ")",
            )
    requester_types = {
        str(c): _requester_type(str(c), row, proof_kinds) for c, row in types.items()
    }
    return Rules(
        version=_text(top, "version", "(顶层)"),
        version_label=_text(top, "version_label", "(顶层)"),
        proof_kinds=MappingProxyType(proof_kinds),
        requester_types=MappingProxyType(requester_types),
    )


# ---------------------------------------------------------------------------------- checking


def _present(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def check_request(rules: Rules, request: Request) -> list[Problem]:
    """What the request lacks before anything may be shown: an unknown requester type, the
    requester's name, each missing proof (by the rules' labels) and what the scope needs
    (the requester's or the principal's ID, the case parties, the approver's name)."""
    t = rules.requester_types.get(request.requester_type)
    if t is None:
        return [
            Problem(
                "requester_type",
                "requester_type",
                f"查档人类型“{request.requester_type}”不存在，应为："
                + "、".join(rt.label_zh for rt in rules.requester_types.values()),
                f"unknown requester type {request.requester_type!r}; use one of "
                + ", ".join(rules.requester_types),
            )
        ]
    problems: list[Problem] = []
    if not _present(request.requester_name):
        problems.append(
            Problem(
                "requester_name", "required", "未填写查档人姓名", "the requester's name is missing"
            )
        )
    for code in t.proofs:
        kind = rules.proof_kinds[code]
        given = _present(request.proofs.get(code))
        if not given and kind.request_field is not None:
            given = _present(getattr(request, kind.request_field))
        if not given:
            problems.append(
                Problem(
                    f"proofs.{code}",
                    "missing_proof",
                    f"{t.label_zh}查档须提供：{kind.label_zh}（{rules.version_label}）",
                    f"{t.label_en}: must provide {kind.label_en} ({rules.version})",
                )
            )
    needs = {
        "own": (
            "requester_id",
            request.requester_id,
            "查档人本人的身份证件号码",
            "the requester's ID number",
        ),
        "principal": (
            "principal_id",
            request.principal_id,
            "委托人（当事人）的身份证件号码",
            "the principal's ID number",
        ),
        "approved": (
            "approved_by",
            request.approved_by,
            "审核领导的姓名",
            "the approving leader's name",
        ),
    }
    if t.scope in needs:
        name, value, zh, en = needs[t.scope]
        if not _present(value):
            problems.append(
                Problem(name, "required", f"{t.label_zh}查档须填写{zh}", f"{en} is required")
            )
    if t.scope == "case_parties" and not any(_is_id(x) for x in request.case_party_ids):
        # names alone would also show every namesake's records
        problems.append(
            Problem(
                "case_party_ids",
                "required",
                "须填写法院证明材料所列案件当事人的身份证件号码（仅凭姓名会查到同名的人；"
                "材料上没有号码的，按“其他”经领导审核查档）",
                "the case parties' ID numbers from the court's certificate are required (names "
                "alone would match namesakes; without numbers, ask as 'other' with approval)",
            )
        )
    return problems


def _is_id(value: str) -> bool:
    """An identity-number entry (digits, perhaps a final X), not a name."""
    compact = id_key(value) if _present(value) else ""
    return len(compact) >= 8 and compact[:-1].isdigit()


def may_see(
    rules: Rules,
    request: Request,
    party_ids: Sequence[str],
    party_names: Sequence[str] = (),
) -> bool:
    """True if the request may see a record whose parties have ``party_ids`` (``party_names`` is
    accepted for callers that have them; a lawyer's case parties match by ID number only). False
    whenever check_request finds a problem."""
    if check_request(rules, request):
        return False
    scope = rules.requester_types[request.requester_type].scope
    if scope in ("any", "approved"):
        return True
    keys = {id_key(x) for x in party_ids if _present(x)}
    if scope == "own":
        return id_key(request.requester_id) in keys
    if scope == "principal":
        return id_key(request.principal_id) in keys
    # case_parties: an entry matches a party's ID number (names are not enough: namesakes)
    return any(id_key(entry) in keys for entry in request.case_party_ids if _is_id(entry))
