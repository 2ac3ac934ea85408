"""Profile of marriage registration archives (婚姻登记档案, 婚姻登记档案管理办法 2006): registration kinds
with their certificate-number prefixes and file components, retention, the import columns of
civil-affairs exports, certificate numbers, GB/T 2260 region codes of 广西 and row validation.

The lists live in ``data/marriage-profile.yaml`` and ``data/regions-45.yaml``. Pure Python: the
marriage app builds its models and import on top of :func:`validate_row`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from ._data import load_data
from .marriage_columns import HeaderMap, map_headers, missing_columns, usual_header
from .personal_ids import id15_problem, id15_to_18, id18_problem
from .regions import region_name, region_path, region_problem
from .vocabularies import DateError, VocabularyError, normalize_retention, parse_date

__all__ = [
    "CertNumber",
    "Component",
    "HeaderMap",
    "Kind",
    "MarriageProfileError",
    "Party",
    "Problem",
    "Registration",
    "id_key",
    "id_types",
    "kind",
    "kinds",
    "map_headers",
    "missing_columns",
    "normalise_certificate_number",
    "normalise_text",
    "parse_certificate_number",
    "region_name",
    "region_path",
    "region_problem",
    "retention_choices",
    "validate_row",
]

RESIDENT_ID = "居民身份证"
_PROFILE = "marriage-profile.yaml"


class MarriageProfileError(ValueError):
    """A value is not in the marriage profile (message in Chinese and English)."""

    def __init__(self, value: object, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.value = value
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class Component:
    """A document of a registration file (办法 arts 5–8), stored as scanned pages."""

    code: str
    label_zh: str
    label_en: str
    required: bool


@dataclass(frozen=True, slots=True)
class Kind:
    code: str  # marriage, divorce, annulment, reissue_marriage, reissue_divorce
    label_zh: str  # 结婚 …
    label_en: str
    prefix: str  # certificate-number prefix: J, L, CX, BJ, BL
    evidence: str  # [S] or [I] (CX is a Lantai choice)
    aliases: tuple[str, ...]
    components: tuple[Component, ...]


class CertNumber(NamedTuple):
    """A certificate number of the modern form ``J450102-2010-000001``."""

    prefix: str
    region_code: str
    year: int
    sequence: str

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.region_code}-{self.year:04d}-{self.sequence}"

    @property
    def kind(self) -> Kind:
        return kind(self.prefix)


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    sex: str  # 男 / 女
    id_type: str | None  # one of id_types(); None when the record carries no identity document
    id_number: str | None  # 18 digits upper-case X, 15 digits as given, or the document number
    nationality: str
    birth_date: date | None


@dataclass(frozen=True, slots=True)
class Registration:
    kind: str  # Kind.code
    date: date
    office: str
    region_code: str
    certificate_number: str | None  # normalised (see normalise_certificate_number)
    retention: str  # D100 or Y
    parties: tuple[Party, Party]


@dataclass(frozen=True, slots=True)
class Problem:
    column: str  # the column header as given in the row
    rule: str  # a stable code, e.g. "id_checksum"
    value: str
    message_zh: str
    message_en: str


# ---------------------------------------------------------------------------------- normalisation

_DOTS = str.maketrans({c: "·" for c in "•‧・･∙⋅●．"})
_SPACES = re.compile(r"\s+")


def normalise_text(value: object) -> str:
    """Full-width forms to ASCII (NFKC), white space collapsed and stripped."""
    if value is None:
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()


def _compact(value: object) -> str:
    return normalise_text(value).replace(" ", "")


def normalise_certificate_number(text: str) -> str:
    """Full-width forms to ASCII, all white space removed, letters upper-case."""
    return _compact(text).upper()


@functools.cache
def _cert_pattern() -> re.Pattern[str]:
    return re.compile(str(_profile()["certificate_number"]["pattern"]))


def parse_certificate_number(text: str) -> CertNumber | None:
    """The parts of a modern certificate number (``J450102-2010-000001``; the hyphens may be
    missing), or None for any other text (older forms such as ``桂南结字第000123号``)."""
    m = _cert_pattern().fullmatch(normalise_certificate_number(text))
    if m is None:
        return None
    return CertNumber(m["prefix"], m["region"], int(m["year"]), m["sequence"])


def id_key(value: str) -> str:
    """The form under which two identity numbers are compared: a valid 15-digit number becomes
    its 18-digit form, 18-digit numbers get an upper-case X, anything else is compacted and
    upper-cased. The same person's 15- and 18-digit numbers give the same key."""
    s = normalise_certificate_number(value)
    if len(s) == 15 and id15_problem(s) is None:
        return id15_to_18(s)
    return s


# ---------------------------------------------------------------------------------- data


def _profile() -> dict[str, Any]:
    return load_data(_PROFILE)


def _lookup_key(value: str) -> str:
    return normalise_text(value).casefold().replace(" ", "")


@functools.cache
def _kinds() -> tuple[tuple[Kind, ...], dict[str, Kind]]:
    found: list[Kind] = []
    index: dict[str, Kind] = {}
    for row in _profile()["kinds"]:
        k = Kind(
            code=str(row["code"]),
            label_zh=str(row["label_zh"]),
            label_en=str(row["label_en"]),
            prefix=str(row["prefix"]),
            evidence=str(row["evidence"]),
            aliases=tuple(str(a) for a in row.get("aliases", ())),
            components=tuple(
                Component(
                    str(c["code"]), str(c["label_zh"]), str(c["label_en"]), bool(c["required"])
                )
                for c in row["components"]
            ),
        )
        found.append(k)
        for name in (k.code, k.label_zh, k.label_en, k.prefix, *k.aliases):
            index[_lookup_key(name)] = k
    return tuple(found), index


def kinds() -> list[Kind]:
    """The registration kinds in the order of the profile."""
    return list(_kinds()[0])


def kind(code_or_label: str) -> Kind:
    """A kind by code (``marriage``), prefix (``J``), Chinese label (``结婚``) or alias
    (``结婚登记``, ``补领结婚证``); MarriageProfileError if unknown."""
    found = _kinds()[1].get(_lookup_key(code_or_label))
    if found is None:
        names = "、".join(k.label_zh for k in _kinds()[0])
        raise MarriageProfileError(
            code_or_label,
            f"登记类别“{code_or_label}”不存在，应为：{names}",
            f"unknown registration kind {code_or_label!r}; use one of "
            + ", ".join(k.code for k in _kinds()[0]),
        )
    return found


def retention_choices() -> tuple[str, ...]:
    """保管期限 codes a marriage record may have; the first is the default (D100)."""
    r = _profile()["retention"]
    default = str(r["default"])
    return (default, *(str(c) for c in r["choices"] if str(c) != default))


@functools.cache
def _terms(section: str) -> tuple[tuple[str, ...], dict[str, str]]:
    rows = _profile()["party"][section]
    index: dict[str, str] = {}
    for row in rows:
        for name in (row["code"], row["label_en"], *row.get("aliases", ())):
            index[_lookup_key(str(name))] = str(row["code"])
    return tuple(str(r["code"]) for r in rows), index


def id_types() -> tuple[str, ...]:
    """The identity document types a party may have (居民身份证 first, 其他 last)."""
    return _terms("id_types")[0]


# ---------------------------------------------------------------------------------- validation

_HAN = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAS_HAN = re.compile(f"[{_HAN}]")
_ID_PROBLEM_ZH = {
    "length": "位数不对（应为18位或15位；其他证件请填写证件类型）",
    "format": "含有不应出现的字符",
    "checksum": "校验码不符（GB 11643 MOD 11-2）",
    "date": "出生日期不是有效日期",
    "region": "前两位不是省级行政区划代码",
}
_ID_PROBLEM_EN = {
    "length": "wrong length (18 or 15 digits; give the document type for other documents)",
    "format": "a character that does not belong",
    "checksum": "check character does not match (GB 11643 MOD 11-2)",
    "date": "the birth date is not a real date",
    "region": "the first two digits are not a province code",
}
_PARTY_ZH = {1: "当事人一（男方）", 2: "当事人二（女方）"}


def _name_ok(name: str) -> tuple[bool, int]:
    """(characters allowed, maximum length) of a normalised name."""
    party = _profile()["party"]
    han = bool(_HAS_HAN.search(name))
    limit = int(party["name_max_length" if han else "name_max_length_latin"])
    for ch in name:
        if ch == "·" or ch.isalpha() or unicodedata.category(ch).startswith("M"):
            continue
        if not han and ch in " -'.":
            continue
        return False, limit
    return True, limit


class _RowReader:
    """Collects the values and problems of one row."""

    def __init__(self, row: Mapping[str, object]) -> None:
        self.problems: list[Problem] = []
        headers = map_headers(row.keys())
        self.implied_sex = headers.implied_sex
        self.values: dict[str, tuple[str, str]] = {}  # field → (column, normalised value)
        for header, field in headers.fields.items():
            value = normalise_text(row[header])
            if field in self.values:
                column, first = self.values[field]
                if value and first and value != first:
                    self.add(
                        header,
                        "duplicate_column",
                        value,
                        f"“{header}”与“{column}”是同一字段，但值不同（“{value}”与“{first}”）",
                        f"{header!r} and {column!r} are the same field but differ "
                        f"({value!r} vs {first!r})",
                    )
                if first:
                    continue
            self.values[field] = (header, value)

    def add(self, column: str, rule: str, value: str, zh: str, en: str) -> None:
        self.problems.append(Problem(column, rule, value, zh, en))

    def get(self, field: str) -> tuple[str, str]:
        """(column, value); an absent column is named by its usual header (登记机关, 男方姓名)."""
        return self.values.get(field, (usual_header(field), ""))

    def required(self, field: str, label_zh: str) -> tuple[str, str]:
        column, value = self.get(field)
        if not value:
            self.add(
                column,
                "required",
                value,
                f"“{column}”为空或缺少此列：{label_zh}必须填写",
                f"{column!r} is empty: {field} is required",
            )
        return column, value


def _read_date(r: _RowReader, column: str, value: str, label_zh: str, rule: str) -> date | None:
    try:
        return parse_date(value)
    except DateError as exc:
        r.add(
            column,
            rule,
            value,
            f"“{column}”：{label_zh}{exc.message_zh}",
            f"{column!r}: {exc.message_en}",
        )
        return None


def _read_kind(r: _RowReader) -> Kind | None:
    column, value = r.required("kind", "登记类别")
    if not value:
        return None
    try:
        return kind(value)
    except MarriageProfileError as exc:
        r.add(
            column, "kind", value, f"“{column}”：{exc.message_zh}", f"{column!r}: {exc.message_en}"
        )
        return None


def _read_registration_date(r: _RowReader, today: date) -> date | None:
    column, value = r.required("date", "登记日期")
    if not value:
        return None
    found = _read_date(r, column, value, "登记日期", "date_format")
    if found is None:
        return None
    earliest = date.fromisoformat(str(_profile()["earliest_registration_date"]))
    if found > today:
        r.add(
            column,
            "date_future",
            value,
            f"“{column}”：登记日期 {found.isoformat()} 晚于今天",
            f"{column!r}: registration date {found.isoformat()} is in the future",
        )
    elif found < earliest:
        r.add(
            column,
            "date_too_early",
            value,
            f"“{column}”：登记日期 {found.isoformat()} 早于婚姻法施行日 {earliest.isoformat()}",
            f"{column!r}: registration date {found.isoformat()} is before the Marriage Law "
            f"took effect ({earliest.isoformat()})",
        )
    return found


def _read_region(r: _RowReader) -> str:
    column, value = r.required("region_code", "行政区划代码")
    code = value.replace(" ", "")
    if not code:
        return code
    problem = region_problem(code)
    if problem == "format":
        r.add(
            column,
            "region_format",
            value,
            f"“{column}”：行政区划代码“{value}”应为6位数字（GB/T 2260）",
            f"{column!r}: region code {value!r} must be 6 digits (GB/T 2260)",
        )
    elif problem == "unknown":
        r.add(
            column,
            "region_unknown",
            value,
            f"“{column}”：“{value}”不是广西的行政区划代码（GB/T 2260，regions-45）",
            f"{column!r}: {value!r} is not a GB/T 2260 region code of Guangxi",
        )
    elif problem == "province":
        r.add(
            column,
            "region_province",
            value,
            f"“{column}”：“{value}”的前两位不是省级行政区划代码（GB/T 2260）",
            f"{column!r}: the first two digits of {value!r} are not a province code (GB/T 2260)",
        )
    return code


def _read_certificate(r: _RowReader, k: Kind | None, when: date | None, region: str) -> str | None:
    column, raw = r.get("certificate_number")
    if not raw:
        return None
    text = normalise_certificate_number(raw)
    limit = int(_profile()["certificate_number"]["max_length"])
    if len(text) > limit:
        r.add(
            column,
            "cert_length",
            raw,
            f"“{column}”：证件字号超过{limit}个字符",
            f"{column!r}: certificate number longer than {limit} characters",
        )
        return text
    parsed = parse_certificate_number(text)
    if parsed is None:
        # modern-looking numbers (a prefix and then digits) must follow the modern rule
        if re.fullmatch(r"(BJ|BL|CX|J|L)\d[\d-]*", text):
            r.add(
                column,
                "cert_format",
                raw,
                f"“{column}”：证件字号“{raw}”应为 前缀+6位区划代码-4位年份-6位顺序号，如 J450102-2010-000001",
                f"{column!r}: certificate number {raw!r} must be prefix + 6-digit region code "
                "- 4-digit year - 6-digit sequence, e.g. J450102-2010-000001",
            )
        return text
    if k is not None and parsed.prefix != k.prefix:
        r.add(
            column,
            "cert_kind",
            raw,
            f"“{column}”：证件字号前缀“{parsed.prefix}”与登记类别“{k.label_zh}”（{k.prefix}）不符",
            f"{column!r}: prefix {parsed.prefix!r} does not match the kind {k.code} ({k.prefix})",
        )
    if when is not None and parsed.year != when.year:
        r.add(
            column,
            "cert_year",
            raw,
            f"“{column}”：证件字号年份 {parsed.year} 与登记日期 {when.isoformat()} 不符",
            f"{column!r}: year {parsed.year} differs from the registration date {when.isoformat()}",
        )
    if region and region_problem(region) is None and parsed.region_code != region:
        r.add(
            column,
            "cert_region",
            raw,
            f"“{column}”：证件字号中的区划代码 {parsed.region_code} 与行政区划代码 {region} 不符",
            f"{column!r}: region code {parsed.region_code} differs from the region code {region}",
        )
    return parsed.text


def _read_retention(r: _RowReader) -> str:
    choices = retention_choices()
    column, value = r.get("retention")
    if not value:
        return choices[0]
    try:
        code = normalize_retention(value).code
    except VocabularyError:
        code = ""
    if code not in choices:
        r.add(
            column,
            "retention",
            value,
            f"“{column}”：婚姻登记档案的保管期限应为 定期100年 或 永久，不能是“{value}”",
            f"{column!r}: retention of marriage records must be D100 (100 years) or Y "
            f"(permanent), not {value!r}",
        )
        return choices[0]
    return code


def _sex_of_id(number: str) -> str:
    digit = number[16] if len(number) == 18 else number[14]
    return "男" if int(digit) % 2 else "女"


def _birth_of_id(number: str) -> date:
    if len(number) == 18:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def _read_id(
    r: _RowReader, n: int, id_type: str | None, today: date
) -> tuple[str | None, str | None, bool]:
    """(id_type, id_number, is a resident ID number that passed validation)."""
    column, raw = r.get(f"party{n}_id_number")
    number = raw.replace(" ", "").upper()
    who = _PARTY_ZH[n]
    if not number:
        return id_type, None, False
    if id_type is None:
        # long digit strings are taken for 居民身份证 numbers (a mistyped one must not pass as 其他)
        looks_resident = re.fullmatch(r"\d{14,20}X?", number) is not None
        id_type = RESIDENT_ID if looks_resident else _terms("id_types")[0][-1]
    if id_type != RESIDENT_ID:
        pattern = str(_profile()["party"]["other_id_pattern"])
        if re.fullmatch(pattern, number) is None:
            r.add(
                column,
                "id_format",
                raw,
                f"“{column}”：{who}的{id_type}号码“{raw}”应为3–30位字母、数字",
                f"{column!r}: document number {raw!r} must be 3–30 letters and digits",
            )
        return id_type, number, False
    if len(number) == 18:
        problem = id18_problem(number, today=today)
    elif len(number) == 15:
        problem = id15_problem(number, today=today)
    else:
        problem = "length"
    if problem is not None:
        r.add(
            column,
            f"id_{problem}",
            raw,
            f"“{column}”：{who}的身份证号码“{raw}”无效：{_ID_PROBLEM_ZH[problem]}",
            f"{column!r}: ID number {raw!r} is not valid: {_ID_PROBLEM_EN[problem]}",
        )
        return id_type, number, False
    return id_type, number, True


def _read_party(r: _RowReader, n: int, when: date | None, today: date) -> Party | None:
    who = _PARTY_ZH[n]
    before = len(r.problems)
    # name
    column, name = r.required(f"party{n}_name", f"{who}姓名")
    name = name.translate(_DOTS)
    if name and _HAS_HAN.search(name):
        name = name.replace(" ", "")
    if name:
        allowed, limit = _name_ok(name)
        if not allowed:
            r.add(
                column,
                "name_chars",
                name,
                f"“{column}”：{who}姓名“{name}”含有不应出现的字符（只能有汉字、字母和间隔号“·”）",
                f"{column!r}: name {name!r} may contain only Han characters, letters and the "
                "middle dot",
            )
        elif len(name) > limit:
            r.add(
                column,
                "name_length",
                name,
                f"“{column}”：{who}姓名超过{limit}个字符",
                f"{column!r}: name longer than {limit} characters",
            )
    # identity document
    id_type: str | None = None
    type_column, type_value = r.get(f"party{n}_id_type")
    if type_value:
        id_type = _terms("id_types")[1].get(_lookup_key(type_value))
        if id_type is None:
            r.add(
                type_column,
                "id_type",
                type_value,
                f"“{type_column}”：证件类型“{type_value}”不存在，应为：{'、'.join(id_types())}",
                f"{type_column!r}: unknown identity document type {type_value!r}",
            )
    id_type, number, resident_ok = _read_id(r, n, id_type, today)
    id_column = r.get(f"party{n}_id_number")[0]
    # sex
    sex_column, sex_value = r.get(f"party{n}_sex")
    sex: str | None = None
    if sex_value:
        sex = _terms("sexes")[1].get(_lookup_key(sex_value))
        if sex is None:
            r.add(
                sex_column,
                "sex",
                sex_value,
                f"“{sex_column}”：性别“{sex_value}”应为 男 或 女",
                f"{sex_column!r}: sex {sex_value!r} must be 男 or 女",
            )
    implied = r.implied_sex.get(n)
    if sex is not None and implied is not None and sex != implied:
        r.add(
            sex_column,
            "sex_conflict",
            sex_value,
            f"“{sex_column}”：性别“{sex}”与列名所示的{implied}方不符",
            f"{sex_column!r}: sex {sex} contradicts the column, which is the {implied} party's",
        )
    sex = sex or implied
    if resident_ok and number is not None:
        from_id = _sex_of_id(number)
        if sex is not None and sex != from_id:
            r.add(
                id_column,
                "id_sex",
                number,
                f"“{id_column}”：身份证号码表示性别为{from_id}，与{who}的性别“{sex}”不符（GB 11643 顺序码奇男偶女）",
                f"{id_column!r}: the ID number says {from_id}, the party is {sex} "
                "(GB 11643: odd sequence code = male)",
            )
        sex = sex or from_id
    if sex is None and not sex_value:
        r.required(f"party{n}_sex", f"{who}性别")
    # birth date
    birth_column, birth_value = r.get(f"party{n}_birth_date")
    birth: date | None = None
    if birth_value:
        birth = _read_date(r, birth_column, birth_value, "出生日期", "birth_date_format")
    if resident_ok and number is not None:
        from_id_birth = _birth_of_id(number)
        if birth is not None and birth != from_id_birth:
            r.add(
                birth_column,
                "birth_date_conflict",
                birth_value,
                f"“{birth_column}”：出生日期 {birth.isoformat()} 与身份证号码中的 {from_id_birth.isoformat()} 不符",
                f"{birth_column!r}: birth date {birth.isoformat()} differs from the ID number's "
                f"{from_id_birth.isoformat()}",
            )
        birth = birth or from_id_birth
    if birth is not None and when is not None and birth > when:
        column = birth_column if birth_value else id_column
        r.add(
            column,
            "birth_after_registration",
            birth_value or (number or ""),
            f"“{column}”：{who}出生日期 {birth.isoformat()} 晚于登记日期 {when.isoformat()}",
            f"{column!r}: birth date {birth.isoformat()} is after the registration date "
            f"{when.isoformat()}",
        )
    # nationality
    party_data = _profile()["party"]
    nationality = r.get(f"party{n}_nationality")[1] or str(party_data["nationality_default"])
    nationality = str(party_data["nationality_aliases"].get(nationality, nationality))
    if len(r.problems) > before or sex is None:
        return None
    return Party(name, sex, id_type, number, nationality, birth)


def validate_row(
    row: Mapping[str, object], *, today: date | None = None
) -> tuple[Registration | None, list[Problem]]:
    """Validate one row of a civil-affairs export. ``row`` maps column headers (any of the
    aliases in marriage-profile.yaml, or the field names ``kind``, ``party1_name`` …) to cell
    values. Returns the registration (None when there is any problem) and the problems, each
    naming the column and the rule."""
    today = today or date.today()
    r = _RowReader(row)
    k = _read_kind(r)
    when = _read_registration_date(r, today)
    office_column, office = r.required("office", "登记机关")
    if len(office) > 100:
        r.add(
            office_column,
            "office_length",
            office,
            f"“{office_column}”：登记机关名称超过100个字符",
            f"{office_column!r}: office name longer than 100 characters",
        )
    region = _read_region(r)
    cert = _read_certificate(r, k, when, region)
    retention = _read_retention(r)
    p1 = _read_party(r, 1, when, today)
    p2 = _read_party(r, 2, when, today)
    id1, id2 = r.get("party1_id_number")[1], r.get("party2_id_number")[1]
    if id1 and id2 and id_key(id1) == id_key(id2):
        column = r.get("party2_id_number")[0]
        r.add(
            column,
            "same_person",
            id2,
            f"“{column}”：双方当事人的身份证件号码相同，登记的两方必须是不同的人",
            f"{column!r}: both parties have the same identity number; they must be "
            "different people",
        )
    if r.problems or k is None or when is None or p1 is None or p2 is None:
        return None, r.problems
    return Registration(k.code, when, office, region, cert, retention, (p1, p2)), r.problems
