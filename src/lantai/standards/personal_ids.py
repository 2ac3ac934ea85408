"""Validation of personal and organisation identifiers: 公民身份号码 (18 and 15 digits), bank cards
(Luhn), 统一社会信用代码 (GB 32100) and passport / permit numbers. The lists live in
``data/personal-ids.yaml``.

The ``*_problem`` functions return ``None`` for a valid value, else a short problem code:
``length``, ``format`` (a character that does not belong), ``checksum``, ``date``, ``region``,
``issuer`` (bank card prefix), ``authority`` (USCC registration authority) or ``organisation``
(the GB 11714 organisation code inside a USCC). They expect ASCII;
callers normalise full-width forms first.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._data import load_data

__all__ = [
    "PersonalIdError",
    "TravelDocument",
    "bankcard_problem",
    "bankcard_strong_prefix",
    "id15_problem",
    "id15_to_18",
    "id18_check_char",
    "id18_problem",
    "luhn_ok",
    "passport_kind",
    "travel_documents",
    "uscc_check_char",
    "uscc_problem",
]

# byte tables for the checksums (they run on every candidate number in the pre-screen's hot loop)
_DIGIT_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))


class PersonalIdError(ValueError):
    """An identifier a user gave is not valid (message in Chinese and English)."""

    def __init__(self, value: str, problem: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.value = value
        self.problem = problem
        self.message_zh = message_zh
        self.message_en = message_en


def _data() -> dict[str, Any]:
    return load_data("personal-ids.yaml")


@functools.cache
def _resident() -> tuple[tuple[int, ...], str, frozenset[str], date]:
    d = _data()["resident_id"]
    provinces = frozenset(d["province_codes"]) | frozenset(d["residence_permit_codes"])
    return (
        tuple(int(w) for w in d["weights"]),
        str(d["check_chars"]),
        provinces,
        date.fromisoformat(str(d["birth_min"])),
    )


def _is_digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _date_problem(year: int, month: int, day: int, earliest: date, today: date | None) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return True
    return not (earliest <= born <= (today or date.today()))


def id18_check_char(first17: str) -> str:
    """The check character (0–9 or X) of the 17 digits given."""
    weights, check_chars, _, _ = _resident()
    if len(first17) != 17 or not _is_digits(first17):
        raise ValueError("id18_check_char needs 17 ASCII digits")
    total = sum(map(operator.mul, weights, first17.encode().translate(_DIGIT_VALUE)))
    return check_chars[total % 11]


def id18_problem(s: str, *, today: date | None = None) -> str | None:
    """None if ``s`` is a valid 18-digit 公民身份号码 (lower-case x accepted), else a problem code.
    The birth date must be a real date between 1860-01-01 and today; only the province is checked."""
    if len(s) != 18:
        return "length"
    if not _is_digits(s[:17]) or s[17] not in "0123456789Xx":
        return "format"
    if id18_check_char(s[:17]) != s[17].upper():
        return "checksum"
    _, _, provinces, earliest = _resident()
    if s[:2] not in provinces:
        return "region"
    if _date_problem(int(s[6:10]), int(s[10:12]), int(s[12:14]), earliest, today):
        return "date"
    return None


def id15_problem(s: str, *, today: date | None = None) -> str | None:
    """None if ``s`` is a plausible 15-digit 公民身份号码 (issued 1984–1999; no check digit): a
    plausible province and a real birth date 19YYMMDD not after today."""
    if len(s) != 15:
        return "length"
    if not _is_digits(s):
        return "format"
    _, _, provinces, earliest = _resident()
    if s[:2] not in provinces:
        return "region"
    if _date_problem(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]), earliest, today):
        return "date"
    return None


_PROBLEM_ZH = {
    "length": "位数不对",
    "format": "含有不应出现的字符",
    "checksum": "校验码不符",
    "date": "出生日期不是有效日期",
    "region": "前两位不是省级行政区划代码",
    "issuer": "发卡机构代码不可信",
    "authority": "登记管理部门码不存在",
    "organisation": "组织机构代码校验码不符",
}


def id15_to_18(s: str) -> str:
    """The 18-digit form of a 15-digit number: ``19`` inserted before the year, check digit added."""
    problem = id15_problem(s)
    if problem is not None:
        raise PersonalIdError(
            s,
            problem,
            f"15位身份证号码“{s}”无效：{_PROBLEM_ZH[problem]}（GB 11643-1999）",
            f"15-digit ID number {s!r} is not valid: {problem} (GB 11643-1999)",
        )
    first17 = s[:6] + "19" + s[6:]
    return first17 + id18_check_char(first17)


def luhn_ok(digits: str) -> bool:
    """True if the ASCII digit string (at least 2 digits) passes the Luhn check (ISO/IEC 7812)."""
    if len(digits) < 2 or not _is_digits(digits):
        return False
    b = digits.encode()
    total = sum(b[-1::-2].translate(_DIGIT_VALUE)) + sum(b[-2::-2].translate(_LUHN_DOUBLED))
    return total % 10 == 0


@functools.cache
def _bank() -> tuple[int, int, tuple[str, ...], tuple[str, ...]]:
    d = _data()["bank_card"]
    return (
        int(d["length_min"]),
        int(d["length_max"]),
        tuple(str(p) for p in d["prefixes"]),
        tuple(str(p) for p in d["strong_prefixes"]),
    )


def bankcard_problem(s: str) -> str | None:
    """None if ``s`` looks like a bank card number: 13–19 digits, a Luhn check digit and a plausible
    issuer prefix (UnionPay 62, the international schemes, 1990s domestic 9xxx cards)."""
    lo, hi, prefixes, _ = _bank()
    if not lo <= len(s) <= hi:
        return "length"
    if not _is_digits(s):
        return "format"
    if not luhn_ok(s):
        return "checksum"
    if not s.startswith(prefixes):
        return "issuer"
    return None


def bankcard_strong_prefix(s: str) -> bool:
    """True if the number starts with a prefix that may be reported without a context word (62)."""
    return s.startswith(_bank()[3])


@functools.cache
def _uscc() -> tuple[str, dict[str, int], tuple[int, ...], frozenset[str], tuple[int, ...]]:
    d = _data()["uscc"]
    alphabet = str(d["alphabet"])
    return (
        alphabet,
        {c: i for i, c in enumerate(alphabet)},
        tuple(int(w) for w in d["weights"]),
        frozenset(str(k) for k in d["registration_authorities"]),
        tuple(int(w) for w in d["organisation_code_weights"]),
    )


@functools.cache
def _uscc_chars() -> re.Pattern[str]:
    return re.compile(f"[{re.escape(_uscc()[0])}]+")


@functools.cache
def _uscc_regions() -> frozenset[str]:
    """Province codes, 10 for the central registration offices (100000) [R]."""
    return _resident()[2] | frozenset(str(c) for c in _data()["uscc"]["central_region_codes"])


def _organisation_code_ok(code: str) -> bool:
    """GB 11714 check character of a 9-character 组织机构代码 (digits and upper-case letters)."""
    weights = _uscc()[4]
    total = sum(int(c, 36) * w for c, w in zip(code[:8], weights, strict=True))
    check = 11 - total % 11
    return code[8] == {10: "X", 11: "0"}.get(check, str(check))


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of 17 code characters: 31 - (Σ value·weight mod 31)."""
    alphabet, values, weights, _, _ = _uscc()
    if len(first17) != 17 or not _uscc_chars().fullmatch(first17):
        raise ValueError("uscc_check_char needs 17 characters of the code alphabet")
    total = sum(map(operator.mul, map(values.__getitem__, first17), weights))
    return alphabet[(31 - total % 31) % 31]


def uscc_problem(s: str) -> str | None:
    """None if ``s`` is a valid 统一社会信用代码 (upper case, GB 32100-2015), else a problem code.
    Checked: length, alphabet (no I O Z S V), the registration authority, the six digits of the
    registering office's region code (positions 3–8, a province or 10 for central offices), the check character and the GB 11714 check
    character of the organisation code inside (positions 9–17)."""
    authorities = _uscc()[3]
    if len(s) != 18:
        return "length"
    if not _uscc_chars().fullmatch(s):
        return "format"
    if s[0] not in authorities:
        return "authority"
    if not _is_digits(s[2:8]) or s[2:4] not in _uscc_regions():
        return "region"
    if uscc_check_char(s[:17]) != s[17]:
        return "checksum"
    if not _organisation_code_ok(s[8:17]):
        return "organisation"
    return None


@dataclass(frozen=True)
class TravelDocument:
    kind: str  # e.g. "cn-passport"
    label_zh: str
    pattern: re.Pattern[str]
    needs_context: bool  # reported only next to a word such as 台胞证


@functools.cache
def travel_documents() -> tuple[TravelDocument, ...]:
    return tuple(
        TravelDocument(
            kind=str(row["kind"]),
            label_zh=str(row["label_zh"]),
            pattern=re.compile(f"(?:{row['pattern']})"),
            needs_context=bool(row.get("needs_context", False)),
        )
        for row in _data()["travel_documents"]
    )


def passport_kind(s: str, *, with_context: bool = False) -> str | None:
    """The kind of passport or permit whose number format ``s`` has (upper-case letters), or None.
    Formats that are only digits (台湾居民来往大陆通行证) count only ``with_context`` (a word such
    as 台胞证 next to the number)."""
    for doc in travel_documents():
        if doc.pattern.fullmatch(s) and (with_context or not doc.needs_context):
            return doc.kind
    return None
