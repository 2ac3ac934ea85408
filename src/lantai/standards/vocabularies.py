"""Controlled vocabularies (保管期限, 密级, 开放状态, …), dates as archivists type them, and the
25-year open date. The lists live in ``data/vocabularies.yaml``."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from ._data import DataFileError, load_data

__all__ = [
    "Classification",
    "DateError",
    "Retention",
    "Term",
    "Vocabulary",
    "VocabularyError",
    "classification_labels",
    "get_vocabulary",
    "labels",
    "normalize_classification",
    "normalize_open_status",
    "normalize_retention",
    "open_due_date",
    "parse_date",
    "retention_labels",
    "vocabulary_names",
]

_SPACES = re.compile(r"\s+")


class VocabularyError(ValueError):
    """A value is not in a controlled vocabulary."""

    def __init__(self, vocabulary: str, value: object, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.vocabulary = vocabulary
        self.value = value
        self.message_zh = message_zh
        self.message_en = message_en


class DateError(ValueError):
    """A date value cannot be read, is incomplete, or does not exist."""

    def __init__(self, value: object, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.value = value
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class Term:
    code: str
    label_zh: str
    label_en: str
    level: int | None = None  # 密级 order, 0 = public
    years: int | None = None  # 保管期限 in years, None = permanent


class Retention(NamedTuple):
    code: str  # "Y", "D30", "D10"
    label_zh: str  # "永久", "定期30年", "定期10年"
    legacy: str | None  # the legacy input ("长期", "短期") when the value was an old one
    label_en: str = ""
    years: int | None = None


class Classification(NamedTuple):
    code: str  # public, restricted, confidential, secret, top_secret
    level: int  # 0 (公开) … 4 (绝密)
    label_zh: str
    label_en: str


def _key(value: str) -> str:
    """Lookup key: full-width forms folded (NFKC), white space removed, case folded."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", value)).casefold()


class Vocabulary:
    """One controlled list. ``match`` accepts codes, Chinese and English labels and aliases."""

    __slots__ = ("name", "label_zh", "terms", "_index", "_legacy", "_blank")

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        self.name = name
        self.label_zh = str(spec.get("label_zh", name))
        terms: list[Term] = []
        self._index: dict[str, Term] = {}
        for row in spec["terms"]:
            term = Term(
                code=str(row["code"]),
                label_zh=str(row["label_zh"]),
                label_en=str(row["label_en"]),
                level=row.get("level"),
                years=row.get("years"),
            )
            terms.append(term)
            for name_ in (term.code, term.label_zh, term.label_en, *row.get("aliases", ())):
                self._add(str(name_), term)
        self.terms = tuple(terms)
        by_code = {t.code: t for t in terms}
        try:
            self._legacy = {
                _key(k): (str(k), by_code[v]) for k, v in spec.get("legacy", {}).items()
            }
            self._blank = by_code[spec["blank"]] if spec.get("blank") else None
        except KeyError as exc:
            raise DataFileError(f"vocabulary {name}: unknown code {exc}") from exc

    def _add(self, name: str, term: Term) -> None:
        for key in (name, _key(name)):
            other = self._index.setdefault(key, term)
            if other is not term:
                raise DataFileError(f"vocabulary {self.name}: {name!r} names two terms")

    def match(self, value: object) -> tuple[Term, str | None] | None:
        """(term, legacy input or None) for an accepted value, or None. Never raises."""
        if value is None:
            return (self._blank, None) if self._blank else None
        if not isinstance(value, str):
            return None
        term = self._index.get(value)  # exact spelling first: the common case, no normalising
        if term is not None:
            return term, None
        key = _key(value)
        if not key:
            return (self._blank, None) if self._blank else None
        term = self._index.get(key)
        if term is not None:
            return term, None
        legacy = self._legacy.get(key)
        if legacy is not None:
            return legacy[1], legacy[0]
        return None

    def normalize(self, value: object) -> Term:
        """The term for ``value``; VocabularyError if it is not accepted."""
        found = self.match(value)
        if found is None:
            raise self.error(value)
        return found[0]

    def error(self, value: object) -> VocabularyError:
        allowed_zh = "、".join(t.label_zh for t in self.terms)
        allowed_en = ", ".join(f"{t.code} ({t.label_zh})" for t in self.terms)
        shown = "空" if value is None or (isinstance(value, str) and not value.strip()) else value
        return VocabularyError(
            self.name,
            value,
            f"“{self.label_zh}”的值“{shown}”无法识别，应为：{allowed_zh}",
            f"{self.name}: {value!r} is not an accepted value; expected one of {allowed_en}",
        )


@functools.cache
def _vocabularies() -> dict[str, Vocabulary]:
    specs = load_data("vocabularies.yaml")["vocabularies"]
    return {name: Vocabulary(name, spec) for name, spec in specs.items()}


def vocabulary_names() -> list[str]:
    return list(_vocabularies())


def get_vocabulary(name: str) -> Vocabulary:
    """The vocabulary called ``name`` (a key of vocabularies.yaml); KeyError if unknown."""
    return _vocabularies()[name]


def labels(name: str) -> dict[str, str]:
    """Code -> Chinese label of a vocabulary, e.g. labels("retention")["D30"] == "定期30年"."""
    return {t.code: t.label_zh for t in get_vocabulary(name).terms}


def retention_labels() -> dict[str, str]:
    return labels("retention")


def classification_labels() -> dict[str, str]:
    return labels("classification")


def normalize_retention(value: object) -> Retention:
    """Y / D30 / D10 from a code or label (永久, 定期30年, 30年 …) or a legacy 长期 / 短期."""
    vocab = get_vocabulary("retention")
    found = vocab.match(value)
    if found is None:
        raise vocab.error(value)
    term, legacy = found
    return Retention(term.code, term.label_zh, legacy, term.label_en, term.years)


def normalize_classification(value: object) -> Classification:
    """密级 from a code or label; empty, 无 and 非密 mean 公开; legacy values (内部 …) are mapped
    as vocabularies.yaml says; a 公文 mark with its period (秘密★10年) by its part before ★."""
    vocabulary = get_vocabulary("classification")
    if isinstance(value, str) and "★" in value:
        found = vocabulary.match(value.split("★", 1)[0])
        if found is None or not found[0].level:  # only a real 密级 carries a ★ period
            raise vocabulary.error(value)
        term = found[0]
    else:
        term = vocabulary.normalize(value)
    return Classification(term.code, term.level or 0, term.label_zh, term.label_en)


def normalize_open_status(value: object) -> Term:
    """开放状态: closed 未开放, open 开放, restricted_use 控制使用."""
    return get_vocabulary("open_status").normalize(value)


def open_due_date(formation_date: date | None, year: int | None = None) -> date | None:
    """The date a record falls due for opening: formation date + 25 years (档案法 art 27).

    A 29 February formation date falls due on 28 February. When only the year is known the record
    may have been formed as late as 31 December, so the conservative due date is 31 December of
    year + 25: opening early would break the law, opening late only delays access.
    """
    years = int(load_data("vocabularies.yaml")["open_after_years"])
    if formation_date is not None:
        if isinstance(formation_date, datetime):
            formation_date = formation_date.date()
        try:
            return formation_date.replace(year=formation_date.year + years)
        except ValueError:  # 29 February into a common year
            return formation_date.replace(year=formation_date.year + years, day=28)
    if year is not None:
        return date(year + years, 12, 31)
    return None


_DATE = re.compile(
    r"""(?P<y>\d{4})
    (?: (?P<m1>\d{2})(?P<d1>\d{2})                          # 20110315
      | (?P<sep>[-/.])(?P<m2>\d{1,2})(?P=sep)(?P<d2>\d{1,2})  # 2011-03-15, 2011/3/15, 2011.03.15
      | 年(?P<m3>\d{1,2})月(?P<d3>\d{1,2})日?                 # 2011年3月15日
    )
    (?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?  # a time exported by some systems is ignored [I]
    """,
    re.VERBOSE | re.ASCII,
)
# Year only, or year and month: the caller decides what a partial date means.
_PARTIAL = re.compile(r"\d{4}(?:(?:\d{2}|[-/.]\d{1,2}|年\d{1,2}月?)|年)?", re.ASCII)
_FORMS = "20110315、2011-03-15、2011/3/15、2011.03.15、2011年3月15日"


def parse_date(value: object) -> date:
    """A date from what archivists type (see ``_FORMS``) or a date/datetime; DateError otherwise."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise DateError(value, f"“{value}”不是日期", f"{value!r} is not a date")
    text = unicodedata.normalize("NFKC", value).strip()
    m = _DATE.fullmatch(text)
    if m is None:
        if not text:
            raise DateError(value, "日期为空", "the date is empty")
        if _PARTIAL.fullmatch(text):
            raise DateError(
                value,
                f"“{value}”不是完整日期，应写明年、月、日，如 20110315",
                f"{value!r} is an incomplete date; give year, month and day, e.g. 20110315",
            )
        raise DateError(
            value,
            f"无法识别日期“{value}”，可用格式：{_FORMS}",
            f"cannot read the date {value!r}; use one of {_FORMS.replace('、', ', ')}",
        )
    y = int(m["y"])
    mo = int(m["m1"] or m["m2"] or m["m3"])
    d = int(m["d1"] or m["d2"] or m["d3"])
    try:
        return date(y, mo, d)
    except ValueError:
        if y == 0:
            zh, en = "年份不能为 0000", "year 0000 does not exist"
        elif not 1 <= mo <= 12:
            zh, en = f"没有{mo}月", f"there is no month {mo}"
        else:
            zh, en = f"{y}年{mo}月没有{d}日", f"{y}-{mo:02d} has no day {d}"
        raise DateError(
            value, f"“{value}”不是存在的日期：{zh}", f"{value!r} is not a real date: {en}"
        ) from None
