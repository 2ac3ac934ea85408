"""The pattern layer of the open-review pre-screen: validated numbers and secrecy marks in any text.

``pattern_spans(text)`` finds 18- and 15-digit ID numbers, mobile and fixed phones, bank cards,
passport and permit numbers, 统一社会信用代码 and 密级 marks (绝密★10年, 密级：机密). Numbers are
validated by ``personal_ids``; the weak formats (fixed phones, bank cards without the UnionPay
prefix, passports, 8-digit 台胞证) count only next to a context word.

How it stays fast: one compiled regex finds candidate runs of ASCII letters and digits (seven or
more, digit groups may be joined by ``-`` or a space); only those reach Python. A run is taken whole,
so digits inside a longer run (a 20-digit serial, a 档号) never yield a shorter number. Full-width
digits and letters are mapped on a same-length copy of the text, so offsets index the original.
"""

from __future__ import annotations

import re
from datetime import date

from .personal_ids import (
    bankcard_problem,
    bankcard_strong_prefix,
    id15_problem,
    id18_check_char,
    id18_problem,
    passport_kind,
    uscc_problem,
)
from .sensitivity import Span, category_ground

__all__ = ["PATTERNS_VERSION", "pattern_spans"]

PATTERNS_VERSION = "2025.1"

# context words looked for in the CONTEXT_CHARS characters before a number (Latin ones lower case)
CONTEXT_CHARS = 12
_ID_WORDS = ("身份证", "身份号", "公民身份", "证件号", "居住证")
_PHONE_WORDS = ("电话", "联系", "tel", "座机", "手机", "传真", "话机", "phone")
_BANK_WORDS = ("卡号", "账号", "帐号", "银行", "开户", "存折", "账户", "帐户", "信用卡")
_PASSPORT_WORDS = ("护照", "通行证", "证件", "台胞证", "回乡证", "旅行证", "passport")
_TW_PERMIT_WORDS = ("台胞证", "台湾居民", "来往大陆")
# words that say a number is a serial, not a person's: weak formats after them are not reported
_SERIAL_WORDS = (
    "编号",
    "流水号",
    "凭证号",
    "条码",
    "票据号",
    "单号",
    "档号",
    "批号",
    "序号",
    "库位",
)

# full-width digits and letters → ASCII (one code point each, so lengths stay equal)
_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_FW_TABLE = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B))}
_FW_TABLE.update({cp: cp - 0xFEE0 for cp in range(0xFF41, 0xFF5B)})

# digit groups may be joined by a space or a dash: - – — －
_SEP = "[ \\-\u2013\u2014\uff0d]"
_DASH = "[\\-\u2013\u2014\uff0d]"
_CANDIDATE = re.compile(rf"[0-9A-Za-z](?:[0-9A-Za-z]|(?<=[0-9]){_SEP}(?=[0-9])){{6,}}")
_PIECE = re.compile(r"[0-9A-Za-z]{7,}")
_NOT_DIGIT = re.compile(r"[^0-9]")
_DIGIT_RUN = re.compile(r"[0-9]{17}[Xx](?![0-9])|[0-9]{7,}")
_FIXED_GROUPED = re.compile(rf"0[0-9]{{2,3}}{_SEP}[0-9]{{7,8}}(?:{_DASH}[0-9]{{1,6}})?")
_MOBILE_GROUPED = re.compile(rf"1[3-9][0-9]{_SEP}[0-9]{{4}}{_SEP}[0-9]{{4}}")
_CARD_GROUPED = re.compile(rf"[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{2,3}}(?:{_SEP}[0-9]{{1,4}})?")
_AREA_CODE_BEFORE = re.compile(r"[(（]0[0-9]{2,3}[)）]\Z")

_H = r"[ \t\u3000]*"  # horizontal white space inside a mark
_TERM = rf"(?:{_H}(?:[0-9]+|[一二三四五六七八九十]+){_H}(?:年|个月)|{_H}长期)"
_SECRET_HEADER = re.compile(rf"密{_H}级{_H}[:：]{_H}(?:绝密|机密|秘密)(?:{_H}★{_TERM}?)?")
_SECRET_STAR = re.compile(rf"[绝机秘]密{_H}★{_TERM}?")

_PERSONAL = "personal_info"


def _normalise(text: str) -> str:
    return text.translate(_FW_TABLE) if _FULLWIDTH.search(text) else text


def _is_date_prefix(digits: str) -> bool:
    """True if the digits start with a date YYYYMMDD of 1900–2099 (serials like 19980312001)."""
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _id18_shaped(digits: str) -> bool:
    """True if 18 digits start like an ID number (a province, then a birth year 1860–this year at
    positions 7–10): a mistyped ID (not reported) more likely than an all-digit 统一社会信用代码."""
    first17 = digits[:17]
    problem = id18_problem(first17 + id18_check_char(first17))
    return problem is None or (problem == "date" and 1860 <= int(digits[6:10]) <= date.today().year)


class _Scan:
    """One pass over one text; collects spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.norm = _normalise(text)
        self.spans: list[Span] = []

    def run(self) -> list[Span]:
        for m in _CANDIDATE.finditer(self.norm):
            self.candidate(m.start(), m.end())
        self.secret_marks()
        self.spans.sort(key=lambda s: (s.start, s.end))
        return self.spans

    # --- helpers -------------------------------------------------------------------------------
    def context(self, start: int, words: tuple[str, ...]) -> bool:
        window = self.norm[max(0, start - CONTEXT_CHARS) : start].lower()
        return any(w in window for w in words)

    def add(
        self, start: int, end: int, kind: str, rule: str, score: float, category: str = _PERSONAL
    ) -> None:
        self.spans.append(
            Span(
                start=start,
                end=end,
                text=self.text[start:end],
                category=category,
                kind=kind,
                ground=category_ground(category),
                rule=rule,
                version=PATTERNS_VERSION,
                score=score,
            )
        )

    # --- numbers -------------------------------------------------------------------------------
    def candidate(self, start: int, end: int) -> None:
        tok = self.norm[start:end]
        if not tok.isalnum():  # digit groups joined by separators
            if self.grouped(tok, start, end):
                return
            for piece in _PIECE.finditer(tok):
                self.token(start + piece.start(), start + piece.end())
            return
        self.token(start, end)

    def grouped(self, tok: str, start: int, end: int) -> bool:
        """Numbers written in groups: 0771-5881234, 138 1234 5678, 6222 0212 3456 7890."""
        if _FIXED_GROUPED.fullmatch(tok):
            if self.context(start, _PHONE_WORDS):
                self.add(start, end, "phone", "pattern:fixed-phone", 0.85)
            return True
        if _MOBILE_GROUPED.fullmatch(tok):
            self.add(start, end, "phone", "pattern:mobile", 0.9)
            return True
        if _CARD_GROUPED.fullmatch(tok):
            self.bankcard(_NOT_DIGIT.sub("", tok), start, end)
            return True
        return False

    def token(self, start: int, end: int) -> None:
        """A run of ASCII letters and digits, bounded by other characters."""
        tok = self.norm[start:end]
        n = end - start
        if tok.isdigit() or (n == 18 and tok[17] in "Xx" and tok[:17].isdigit()):
            self.digits(tok, start, end)
            return
        if n == 18 and uscc_problem(tok) is None:
            self.add(start, end, "uscc", "pattern:uscc", 0.95, category="entity")
            return
        if tok[0].isalpha() and n <= 11:
            kind = passport_kind(tok)
            if kind is not None and self.context(start, _PASSPORT_WORDS):
                self.add(start, end, "passport", f"pattern:passport:{kind}", 0.9)
                return
        for run in _DIGIT_RUN.finditer(tok):
            self.digits(run.group(), start + run.start(), start + run.end())

    def digits(self, d: str, start: int, end: int) -> None:
        """A run of digits (or 17 digits and X) not part of a longer digit run."""
        n = len(d)
        if n == 18:
            if id18_problem(d) is None:
                self.add(start, end, "id18", "pattern:id18", self.id_score(start, 0.99, 0.95))
                return
            if uscc_problem(d) is None and not _id18_shaped(d):
                self.add(start, end, "uscc", "pattern:uscc", 0.95, category="entity")
                return
        elif n == 15:
            if id15_problem(d) is None:
                if self.context(start, _SERIAL_WORDS):
                    return
                score = 0.9 if self.context(start, _ID_WORDS) else 0.6
                self.add(start, end, "id15", "pattern:id15", score)
                return
        elif n == 11:
            if d[0] == "1" and d[1] in "3456789":
                if not _is_date_prefix(d):
                    score = 0.95 if self.context(start, _PHONE_WORDS) else 0.85
                    self.add(start, end, "phone", "pattern:mobile", score)
                elif self.context(start, _PHONE_WORDS):
                    self.add(start, end, "phone", "pattern:mobile", 0.8)
                return
            if d[0] == "0" and self.context(start, _PHONE_WORDS):
                self.add(start, end, "phone", "pattern:fixed-phone", 0.85)
                return
        elif n in (10, 12):
            if d[0] == "0" and self.context(start, _PHONE_WORDS):
                self.add(start, end, "phone", "pattern:fixed-phone", 0.85)
                return
        elif (
            n == 13
            and d.startswith("861")
            and d[3] in "3456789"
            and self.norm[start - 1 : start] == "+"
        ):
            self.add(start - 1, end, "phone", "pattern:mobile", 0.9)  # +86 and a mobile number
            return
        elif n in (7, 8):
            self.short(d, start, end)
            return
        if 13 <= n <= 19 and d.isdigit():
            self.bankcard(d, start, end)

    def id_score(self, start: int, with_context: float, without: float) -> float:
        return with_context if self.context(start, _ID_WORDS) else without

    def short(self, d: str, start: int, end: int) -> None:
        """7–8 digits: a local number after an area code in brackets, or an 8-digit 台胞证."""
        area = _AREA_CODE_BEFORE.search(self.norm, max(0, start - 6), start)
        if area is not None:
            if self.context(area.start(), _PHONE_WORDS):
                self.add(area.start(), end, "phone", "pattern:fixed-phone", 0.85)
            return
        if len(d) == 8 and self.context(start, _TW_PERMIT_WORDS):
            kind = passport_kind(d, with_context=True)
            if kind is not None:
                self.add(start, end, "passport", f"pattern:passport:{kind}", 0.7)

    def bankcard(self, digits: str, start: int, end: int) -> None:
        if bankcard_problem(digits) is not None:
            return
        if self.context(start, _BANK_WORDS):
            self.add(start, end, "bankcard", "pattern:bankcard", 0.9)
        elif (
            bankcard_strong_prefix(digits)
            and len(digits) >= 16
            and not self.context(start, _SERIAL_WORDS)
        ):
            self.add(start, end, "bankcard", "pattern:bankcard", 0.5)

    # --- secrecy marks -------------------------------------------------------------------------
    def secret_marks(self) -> None:
        if "密" not in self.norm:
            return
        headers = [(m.start(), m.end()) for m in _SECRET_HEADER.finditer(self.norm)]
        for start, end in headers:
            self.add(start, end, "secret-mark", "pattern:secret-header", 0.9, "state_secret")
        for m in _SECRET_STAR.finditer(self.norm):
            if not any(s <= m.start() < e for s, e in headers):
                self.add(
                    m.start(), m.end(), "secret-mark", "pattern:secret-mark", 0.95, "state_secret"
                )


def pattern_spans(text: str) -> list[Span]:
    """Every validated number and secrecy mark in ``text``, ordered by position. Offsets are
    indices into ``text`` (``text[span.start:span.end] == span.text``)."""
    return _Scan(text).run()
