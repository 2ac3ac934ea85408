"""The DA/T 46-2009 metadata profile (elements M1–M88, ``data/dat46-2009.yaml``) and the validation
of a record's values against it.

``Profile.validate`` takes values keyed by Lantai field name (the elements' ``field`` key). The work
per field is decided once when the profile loads (a tuple of small check functions per field), so a
row of ten fields costs a few microseconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ._data import DataFileError, load_data
from .vocabularies import DateError, get_vocabulary, parse_date

__all__ = ["Element", "Profile", "Violation", "load_profile"]

REQUIREDNESS = ("mandatory", "conditional", "optional")
DATATYPES = ("string", "integer", "year", "date", "datetime", "code", "container")
RULES = (
    "required",
    "max_length",
    "datatype",
    "vocabulary",
    "special_chars",
    "future_date",
    "range",
)

# Control characters XML 1.0 and CSV tools reject (tab, LF and CR are handled apart), the
# replacement character U+FFFD (text already lost in an encoding conversion) and U+FFFE/U+FFFF.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Element:
    number: int
    name_zh: str
    name_en: str
    parent: int | None
    container: bool
    required: str  # mandatory | conditional | optional
    datatype: str
    max_length: int | None
    vocabulary: str | None
    field: str | None  # Lantai record attribute
    entity: str  # record | agent | business | relation
    required_in: tuple[str, ...] = ()
    satisfied_by: tuple[str, ...] = ()
    multiline: bool = False
    min: int | None = None
    max: int | None = None

    @property
    def code(self) -> str:
        return f"M{self.number}"

    @property
    def label(self) -> str:
        """E.g. "M22 题名"."""
        return f"M{self.number} {self.name_zh}"


@dataclass(frozen=True, slots=True)
class Violation:
    field: str
    element: str  # e.g. "M22 题名"
    rule: str  # one of RULES
    value: object
    severity: str  # "error" | "warning"
    message_zh: str
    message_en: str


class _Run:
    """Per-call settings the checks need."""

    __slots__ = ("today", "year_min", "year_max")

    def __init__(self, today: date, year_min: int | None, year_max: int | None) -> None:
        self.today = today
        self.year_min = year_min
        self.year_max = year_max


_Check = Callable[[object, _Run, list[Violation]], None]


def _blank(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, str) and value.isspace())


class Profile:
    """A metadata profile: the elements and a fast validator for records."""

    def __init__(self, name: str, data: Mapping[str, Any]) -> None:
        self.name = name
        self.version = str(data["version"])
        self.profile_version = int(data["profile_version"])
        self.contexts: tuple[str, ...] = tuple(data["contexts"])
        self.elements: list[Element] = _read_elements(data)
        self._by_number = {e.number: e for e in self.elements}
        self._by_name = {e.name_zh: e for e in self.elements}
        self._by_field = {e.field: e for e in self.elements if e.field}
        _check_structure(self)
        self._checks: dict[str, tuple[_Check, ...]] = {
            f: _checks_for(e) for f, e in self._by_field.items()
        }
        self._check_items = tuple((f, c) for f, c in self._checks.items() if c)
        self._required = {c: self._required_in(c) for c in self.contexts}

    def _required_in(self, context: str) -> tuple[tuple[str, Element], ...]:
        out = []
        for field, e in self._by_field.items():
            needed = e.required == "mandatory" or (
                e.required == "conditional" and context in e.required_in
            )
            # A vocabulary with a meaning for "empty" (密级: 公开) makes a blank value valid.
            if needed and not (e.vocabulary and get_vocabulary(e.vocabulary).match(None)):
                out.append((field, e))
        return tuple(out)

    def by_number(self, number: int) -> Element:
        return self._by_number[number]

    def by_name(self, name_zh: str) -> Element:
        return self._by_name[name_zh]

    def by_field(self, field: str) -> Element:
        return self._by_field[field]

    def validate(
        self,
        values: Mapping[str, object],
        *,
        context: str = "item",
        today: date | None = None,
        year_range: tuple[int, int] | None = None,
    ) -> list[Violation]:
        """Check one record. Keys that are not profile fields are ignored; blank values only count
        as missing. ``year_range`` overrides the 年度 range of the profile (1900–2100)."""
        required = self._required.get(context)
        if required is None:
            raise ValueError(f"unknown context {context!r}; expected one of {self.contexts}")
        out: list[Violation] = []
        for field, e in required:
            if _blank(values.get(field)) and all(_blank(values.get(f)) for f in e.satisfied_by):
                out.append(_violation(e, "required", values.get(field), *_required_text(e)))
        lo, hi = year_range if year_range else (None, None)
        run = _Run(today or date.today(), lo, hi)
        get = values.get
        for field, field_checks in self._check_items:
            value = get(field)
            if value is None or value == "" or (isinstance(value, str) and value.isspace()):
                continue
            for check in field_checks:
                check(value, run, out)
        return out


def _violation(
    e: Element, rule: str, value: object, zh: str, en: str, sev: str = "error"
) -> Violation:
    return Violation(e.field or "", e.label, rule, value, sev, zh, en)


def _required_text(e: Element) -> tuple[str, str]:
    return (
        f"“{e.name_zh}”（M{e.number}）为必填项，不能为空",
        f"{e.name_en} (M{e.number}) is mandatory and must not be blank",
    )


def _checks_for(e: Element) -> tuple[_Check, ...]:
    """The checks for one element, chosen once from its datatype and attributes."""
    checks: list[_Check] = []
    # A value from a vocabulary is checked against the vocabulary (its stored code may be an
    # English word longer than the element's Chinese length limit).
    if e.datatype in ("string", "code", "container") and not e.vocabulary:
        checks.append(_text_check(e))
    if e.vocabulary:
        checks.append(_vocabulary_check(e))
    if e.datatype == "integer":
        checks.append(_integer_check(e))
    elif e.datatype == "year":
        checks.append(_year_check(e))
    elif e.datatype in ("date", "datetime"):
        checks.append(_date_check(e))
    return tuple(checks)


def _text_check(e: Element) -> _Check:
    name = f"“{e.name_zh}”（M{e.number}）"
    limit, multiline = e.max_length, e.multiline

    def check(value: object, run: _Run, out: list[Violation]) -> None:
        text = value if isinstance(value, str) else str(value)
        bad = _BAD_CHARS.search(text)
        if bad is not None:
            ch, at = bad.group(), bad.start() + 1
            if ch == "\ufffd":
                zh = f"{name}第 {at} 个字符是替换字符 U+FFFD：编码转换时文字已丢失，请对照原件改正"
                en = f"{e.name_en}: U+FFFD at {at}: text was lost in an encoding conversion"
            else:
                zh = f"{name}第 {at} 个字符是控制字符 U+{ord(ch):04X}，导出 XML/CSV 时会出错"
                en = f"{e.name_en}: control character U+{ord(ch):04X} at {at} breaks XML and CSV"
            out.append(_violation(e, "special_chars", value, zh, en))
        if not multiline and ("\n" in text or "\r" in text):
            out.append(
                _violation(
                    e,
                    "special_chars",
                    value,
                    f"{name}含有换行符",
                    f"{e.name_en} contains a line break",
                    "warning",
                )
            )
        if text[0].isspace() or text[-1].isspace():
            out.append(
                _violation(
                    e,
                    "special_chars",
                    value,
                    f"{name}首尾有空白字符",
                    f"{e.name_en} has leading or trailing white space",
                    "warning",
                )
            )
        if limit is not None and len(text) > limit:
            out.append(
                _violation(
                    e,
                    "max_length",
                    value,
                    f"{name}长 {len(text)} 个字符，超过上限 {limit}",
                    f"{e.name_en} is {len(text)} characters long; the limit is {limit}",
                )
            )

    return check


def _vocabulary_check(e: Element) -> _Check:
    vocab = get_vocabulary(str(e.vocabulary))
    name = f"“{e.name_zh}”（M{e.number}）"
    allowed = "、".join(t.label_zh for t in vocab.terms)

    def check(value: object, run: _Run, out: list[Violation]) -> None:
        found = vocab.match(value)
        if found is None:
            out.append(
                _violation(
                    e,
                    "vocabulary",
                    value,
                    f"{name}的值“{value}”不在词表中，应为：{allowed}",
                    f"{e.name_en}: {value!r} is not in the {vocab.name} vocabulary",
                )
            )
        elif found[1] is not None:
            term = found[0]
            out.append(
                _violation(
                    e,
                    "vocabulary",
                    value,
                    f"{name}“{found[1]}”是旧值，按“{term.label_zh}”（{term.code}）处理",
                    f"{e.name_en}: legacy value {found[1]!r} read as {term.code}",
                    "warning",
                )
            )

    return check


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():  # spreadsheet cells
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value)
    return None


def _integer_check(e: Element) -> _Check:
    name = f"“{e.name_zh}”（M{e.number}）"

    def check(value: object, run: _Run, out: list[Violation]) -> None:
        n = _as_int(value)
        if n is None or n < 0:
            out.append(
                _violation(
                    e,
                    "datatype",
                    value,
                    f"{name}应为非负整数，实际为“{value}”",
                    f"{e.name_en} must be a whole number >= 0, got {value!r}",
                )
            )
        elif (e.min is not None and n < e.min) or (e.max is not None and n > e.max):
            out.append(
                _violation(
                    e,
                    "range",
                    value,
                    f"{name}应在 {e.min}–{e.max} 之间，实际为 {n}",
                    f"{e.name_en} must be between {e.min} and {e.max}, got {n}",
                )
            )

    return check


def _year_check(e: Element) -> _Check:
    name = f"“{e.name_zh}”（M{e.number}）"

    def check(value: object, run: _Run, out: list[Violation]) -> None:
        n = _as_int(value)
        if n is None or not 1000 <= n <= 9999:
            out.append(
                _violation(
                    e,
                    "datatype",
                    value,
                    f"{name}应为 4 位年份，实际为“{value}”",
                    f"{e.name_en} must be a 4-digit year, got {value!r}",
                )
            )
            return
        lo = run.year_min if run.year_min is not None else e.min
        hi = run.year_max if run.year_max is not None else e.max
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            out.append(
                _violation(
                    e,
                    "range",
                    value,
                    f"{name}应在 {lo}–{hi} 之间，实际为 {n}",
                    f"{e.name_en} must be between {lo} and {hi}, got {n}",
                )
            )
        elif n > run.today.year:
            out.append(
                _violation(
                    e,
                    "future_date",
                    value,
                    f"{name} {n} 晚于今年（{run.today.year}）",
                    f"{e.name_en} {n} is in the future",
                )
            )

    return check


def _date_check(e: Element) -> _Check:
    name = f"“{e.name_zh}”（M{e.number}）"

    def check(value: object, run: _Run, out: list[Violation]) -> None:
        if isinstance(value, datetime):
            day = value.date()
        elif isinstance(value, date):
            day = value
        else:
            try:
                if e.datatype == "datetime" and isinstance(value, str) and ":" in value:
                    day = datetime.fromisoformat(value.strip()).date()
                else:
                    day = parse_date(value)
            except DateError as exc:
                out.append(
                    _violation(
                        e,
                        "datatype",
                        value,
                        f"{name}：{exc.message_zh}",
                        f"{e.name_en}: {exc.message_en}",
                    )
                )
                return
            except ValueError:
                out.append(
                    _violation(
                        e,
                        "datatype",
                        value,
                        f"{name}无法识别“{value}”",
                        f"{e.name_en}: cannot read {value!r}",
                    )
                )
                return
        if day > run.today:
            out.append(
                _violation(
                    e,
                    "future_date",
                    value,
                    f"{name} {day.isoformat()} 晚于今天（{run.today.isoformat()}）",
                    f"{e.name_en} {day.isoformat()} is in the future",
                )
            )

    return check


def _read_elements(data: Mapping[str, Any]) -> list[Element]:
    entities = [(str(x["name"]), int(x["first"]), int(x["last"])) for x in data["entities"]]
    out = []
    for row in data["elements"]:
        number = int(row["number"])
        entity = next((name for name, a, b in entities if a <= number <= b), None)
        if entity is None:
            raise DataFileError(f"metadata profile: M{number} lies in no entity")
        out.append(
            Element(
                number=number,
                name_zh=str(row["name_zh"]),
                name_en=str(row["name_en"]),
                parent=row.get("parent"),
                container=bool(row.get("container", False)),
                required=str(row.get("required", "optional")),
                datatype=str(row.get("datatype", "string")),
                max_length=row.get("max_length"),
                vocabulary=row.get("vocabulary"),
                field=row.get("field"),
                entity=entity,
                required_in=tuple(row.get("required_in", ())),
                satisfied_by=tuple(row.get("satisfied_by", ())),
                multiline=bool(row.get("multiline", False)),
                min=row.get("min"),
                max=row.get("max"),
            )
        )
    return out


def _check_structure(p: Profile) -> None:
    """Fail loudly on a data-file mistake instead of validating records wrongly."""
    problems = []
    if len(p._by_number) != len(p.elements) or len(p._by_name) != len(p.elements):
        problems.append("element numbers and names must be unique")
    for e in p.elements:
        if e.required not in REQUIREDNESS:
            problems.append(f"M{e.number}: bad required {e.required!r}")
        if e.datatype not in DATATYPES:
            problems.append(f"M{e.number}: bad datatype {e.datatype!r}")
        if e.parent is not None and not (
            e.parent in p._by_number and p._by_number[e.parent].container
        ):
            problems.append(f"M{e.number}: parent M{e.parent} is not a container element")
        if e.vocabulary:
            try:
                get_vocabulary(e.vocabulary)
            except KeyError:
                problems.append(f"M{e.number}: unknown vocabulary {e.vocabulary!r}")
        if any(c not in p.contexts for c in e.required_in):
            problems.append(f"M{e.number}: unknown context in required_in")
    if problems:
        raise DataFileError(f"metadata profile {p.name}: " + "; ".join(problems))


@functools.cache
def load_profile(name: str = "dat46-2009") -> Profile:
    """The profile in ``data/<name>.yaml`` (loaded once)."""
    return Profile(name, load_data(f"{name}.yaml"))
