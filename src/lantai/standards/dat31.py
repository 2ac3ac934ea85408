"""DA/T 31-2017 纸质档案数字化规范: the quality-check catalogue (``data/dat31-2017.yaml``), the
thresholds it sets, the ``档号-页号`` page-name rule, the sample size of 抽检, and the honest
:class:`Finding` every check produces."""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._data import DataFileError, load_data

__all__ = [
    "LEVELS",
    "MODES",
    "RESULTS",
    "Catalogue",
    "Check",
    "EvidenceError",
    "Finding",
    "Purpose",
    "Source",
    "check",
    "colour_mode_result",
    "load_catalogue",
    "make_finding",
    "min_dpi",
    "page_name_error",
    "parse_page_name",
    "purposes",
    "sample_items",
    "sample_size",
    "threshold",
]

CATALOGUE_FILE = "dat31-2017.yaml"
LEVELS = ("page", "item", "batch")
RESULTS = ("pass", "fail", "warn", "na")
MODES = ("bitonal", "grey", "colour")
MODE_NAMES = {
    "bitonal": ("黑白二值", "bitonal"),
    "grey": ("灰度", "greyscale"),
    "colour": ("彩色", "colour"),
}
MARKS = ("V", "V*", "S", "R", "I")


@dataclass(frozen=True)
class Source:
    """How sure the catalogue is: ``mark`` as in reference/cn-standards.md ([V] verbatim … [R]
    recalled, [I] Lantai's inference), ``ref`` where it was read, ``clause`` the standard's clause
    number (None: not known yet — the official text is not in our reference)."""

    mark: str
    ref: str
    clause: str | None = None


@dataclass(frozen=True)
class Purpose:
    """A purpose of scanning (扫描用途) and the least resolution it needs."""

    key: str
    name_zh: str
    name_en: str
    min_dpi: int
    source: Source

    def name(self, english: bool) -> str:
        return self.name_en if english else self.name_zh


@dataclass(frozen=True)
class Check:
    """One DA/T 31 check: a stable ``code`` (stored findings refer to it), its level, names and
    rule text in both languages, its thresholds and message templates."""

    code: str
    level: str
    name_zh: str
    name_en: str
    rule_zh: str
    rule_en: str
    source: Source
    thresholds: Mapping[str, Any] = field(default_factory=dict)
    messages: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def name(self, english: bool) -> str:
        return self.name_en if english else self.name_zh

    def rule(self, english: bool) -> str:
        return self.rule_en if english else self.rule_zh


@dataclass(frozen=True)
class Catalogue:
    version: str
    revision: int
    clauses_known: bool
    purposes: Mapping[str, Purpose]
    checks: Mapping[str, Check]

    def check(self, code: str) -> Check:
        try:
            return self.checks[code]
        except KeyError:
            raise KeyError(
                f"unknown DA/T 31 check {code!r}; one of {sorted(self.checks)}"
            ) from None

    def at_level(self, level: str) -> list[Check]:
        return [c for c in self.checks.values() if c.level == level]


class EvidenceError(ValueError):
    """A finding that claims more than it shows (see :class:`Finding`)."""


@dataclass(frozen=True)
class Finding:
    """The outcome of one catalogue check on one page, item or batch.

    Honest by construction: a ``pass`` names what it examined (``evidence["examined"]``), an
    ``na`` says why nothing was examined (``evidence["reason"]``), a ``fail``/``warn`` carries its
    evidence. ``code`` must be a catalogue check."""

    code: str
    result: str
    evidence: dict[str, Any]
    message_zh: str
    message_en: str

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"unknown result {self.result!r}")
        load_catalogue().check(self.code)
        ev = self.evidence
        if self.result == "pass" and not ev.get("examined"):
            raise EvidenceError(f"pass of {self.code} does not say what it examined")
        if self.result == "na" and not str(ev.get("reason", "")).strip():
            raise EvidenceError(f"na of {self.code} without a reason")
        if self.result in ("fail", "warn") and not ev:
            raise EvidenceError(f"{self.result} of {self.code} without evidence")

    def message(self, english: bool) -> str:
        return self.message_en if english else self.message_zh


def make_finding(
    code: str, result: str, evidence: dict[str, Any], *, message: str | None = None, **fill: Any
) -> Finding:
    """A finding of check ``code`` whose messages are the catalogue's templates for ``result``
    (or the named ``message``, e.g. resolution's "missing"), filled from ``evidence`` and
    ``fill`` (values only for the message, not stored)."""
    spec = load_catalogue().check(code)
    key = message or result
    try:
        zh, en = spec.messages[key]
    except KeyError:
        raise DataFileError(f"{CATALOGUE_FILE}: check {code} has no {key!r} message") from None
    values = {**evidence, **fill}
    return Finding(code, result, evidence, zh.format_map(values), en.format_map(values))


def _source(raw: Any, where: str, clause: Any = None) -> Source:
    if not isinstance(raw, dict) or str(raw.get("mark")) not in MARKS or not raw.get("ref"):
        raise DataFileError(f"{CATALOGUE_FILE}: {where} needs source {{mark: {MARKS}, ref}}")
    return Source(str(raw["mark"]), str(raw["ref"]), None if clause is None else str(clause))


def _text(row: Mapping[str, Any], key: str, where: str) -> str:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(f"{CATALOGUE_FILE}: {where}/{key} must be a non-empty string")
    return value.strip()


@functools.cache
def load_catalogue() -> Catalogue:
    """Parse and cross-check the catalogue once per process."""
    data = load_data(CATALOGUE_FILE)
    purposes_: dict[str, Purpose] = {}
    for key, row in data["purposes"].items():
        where = f"purposes/{key}"
        dpi = row.get("min_dpi")
        if not isinstance(dpi, int) or dpi <= 0:
            raise DataFileError(f"{CATALOGUE_FILE}: {where}/min_dpi must be a positive integer")
        purposes_[str(key)] = Purpose(
            key=str(key),
            name_zh=_text(row, "name_zh", where),
            name_en=_text(row, "name_en", where),
            min_dpi=dpi,
            source=_source(row.get("source"), where),
        )
    if "general" not in purposes_:
        raise DataFileError(f"{CATALOGUE_FILE}: purposes must include 'general'")
    checks: dict[str, Check] = {}
    for code, row in data["checks"].items():
        where = f"checks/{code}"
        if row.get("level") not in LEVELS:
            raise DataFileError(f"{CATALOGUE_FILE}: {where}/level must be one of {LEVELS}")
        if "clause" not in row:
            raise DataFileError(f"{CATALOGUE_FILE}: {where} must say its clause (null: unknown)")
        messages = {}
        for result, text in (row.get("messages") or {}).items():
            if not isinstance(text, dict):  # keys: a result, or a named variant such as "missing"
                raise DataFileError(f"{CATALOGUE_FILE}: {where}/messages/{result}")
            mw = f"{where}/messages/{result}"
            messages[str(result)] = (_text(text, "zh", mw), _text(text, "en", mw))
        checks[str(code)] = Check(
            code=str(code),
            level=str(row["level"]),
            name_zh=_text(row, "name_zh", where),
            name_en=_text(row, "name_en", where),
            rule_zh=_text(row, "rule_zh", where),
            rule_en=_text(row, "rule_en", where),
            source=_source(row.get("source"), where, row.get("clause")),
            thresholds=dict(row.get("thresholds") or {}),
            messages=messages,
        )
    if checks["resolution"].thresholds.get("missing_dpi_result") not in ("warn", "fail"):
        raise DataFileError(f"{CATALOGUE_FILE}: resolution missing_dpi_result must be warn|fail")
    policy = checks["colour_mode"].thresholds["policy"]
    if set(policy) != set(purposes_) or any(
        set(v) != set(MODES) or not set(v.values()) <= set(RESULTS) for v in policy.values()
    ):
        raise DataFileError(f"{CATALOGUE_FILE}: colour_mode policy must cover every purpose/mode")
    return Catalogue(
        version=str(data["version"]),
        revision=int(data.get("revision", 1)),
        clauses_known=bool(data.get("clauses_known", False)),
        purposes=purposes_,
        checks=checks,
    )


def check(code: str) -> Check:
    return load_catalogue().check(code)


def purposes() -> tuple[Purpose, ...]:
    """The scanning purposes in the catalogue's order (``general`` first)."""
    return tuple(load_catalogue().purposes.values())


def purpose(key: str) -> Purpose:
    try:
        return load_catalogue().purposes[key]
    except KeyError:
        raise KeyError(
            f"unknown scanning purpose {key!r}; one of {[p.key for p in purposes()]}"
        ) from None


def min_dpi(purpose_key: str) -> int:
    """The least resolution (dpi) DA/T 31 asks for a scan made for ``purpose_key``."""
    return purpose(purpose_key).min_dpi


def threshold(code: str, name: str) -> Any:
    """A threshold of a check, e.g. ``threshold("skew", "max_degrees")`` → 3.0."""
    try:
        return check(code).thresholds[name]
    except KeyError:
        raise KeyError(f"check {code!r} has no threshold {name!r}") from None


def colour_mode_result(purpose_key: str, stored_mode: str) -> str:
    """pass | warn | fail for a page stored as ``stored_mode`` (bitonal|grey|colour)."""
    if stored_mode not in MODES:
        raise ValueError(f"unknown mode {stored_mode!r}; one of {MODES}")
    purpose(purpose_key)
    return str(threshold("colour_mode", "policy")[purpose_key][stored_mode])


def sample_size(items: int, ratio: float | None = None) -> int:
    """How many of ``items`` 抽检 draws: ceil(ratio × items), at least ``min_items`` (never more
    than there are). ``ratio`` defaults to the catalogue's 5 %."""
    if items < 0:
        raise ValueError("items must be ≥ 0")
    r = float(threshold("sample_inspection", "ratio") if ratio is None else ratio)
    if not 0 < r <= 1:
        raise ValueError("ratio must be in (0, 1]")
    least = int(threshold("sample_inspection", "min_items"))
    return min(items, max(least, math.ceil(items * r - 1e-9)))


T = TypeVar("T")


def sample_items(keys: Sequence[T], *, seed: str, ratio: float | None = None) -> list[T]:
    """A reproducible sample of ``keys`` (the same seed gives the same sample, so an inspection
    can be re-shown and audited): the ``sample_size`` keys with the smallest SHA-256 of
    seed + key, in their original order."""
    n = sample_size(len(keys), ratio)
    ranked = sorted(
        range(len(keys)),
        key=lambda i: hashlib.sha256(f"{seed}\x00{keys[i]}".encode()).digest(),
    )
    chosen = set(ranked[:n])
    return [k for i, k in enumerate(keys) if i in chosen]


# ---------------------------------------------------------------------------------------- names
# Dash variants a scanning vendor's tools produce for the 档号-页号 separator: ASCII hyphen, the
# full-width －, Unicode hyphens and dashes, minus signs. They all mean "-".
DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_DASH_RE = re.compile(f"[{re.escape(DASHES)}]")


def _split(stem: str, reference_code: str | None) -> tuple[str, str] | tuple[None, tuple[str, str]]:
    """(档号, page-number text) or (None, (reason_zh, reason_en))."""
    name = _DASH_RE.sub("-", unicodedata.normalize("NFC", stem).strip())
    if not name:
        return None, ("文件名为空", "the name is empty")
    if reference_code is not None:
        ref = _DASH_RE.sub("-", reference_code.strip())
        if name.startswith(ref + "-"):
            return ref, name[len(ref) + 1 :]
        if name == ref:
            return None, ("只有档号，缺少“-页号”", "the archival code alone, no '-page number'")
    code, sep, page = name.rpartition("-")
    if not sep:
        return None, ("缺少“-页号”", "no '-page number' at the end")
    if not code.strip("-"):
        return None, ("缺少档号", "no archival code before the page number")
    return code, page


def page_name_error(stem: str, reference_code: str | None = None) -> tuple[str, str] | None:
    """Why ``stem`` (a file name without its suffix) is not ``档号-页号`` — (zh, en) — or None
    when it is. With ``reference_code`` the 档号 must be that one."""
    parsed = _split(stem, reference_code)
    if parsed[0] is None:
        reason = parsed[1]
        assert isinstance(reason, tuple)
        return reason
    code, page = parsed
    assert isinstance(page, str)
    digits = unicodedata.normalize("NFKC", page)  # full-width digits ０１ → 01
    most = int(threshold("naming", "max_page_digits"))
    if not digits:
        return ("页号为空", "the page number is empty")
    if not (digits.isascii() and digits.isdigit()):
        return (f"页号“{page}”不是数字", f"page number '{page}' is not a number")
    if len(digits) > most:
        return (f"页号“{page}”超过 {most} 位", f"page number '{page}' has more than {most} digits")
    if int(digits) == 0:
        return ("页号须从 1 开始，不能为 0", "page numbers start at 1, not 0")
    if code.endswith("-") or code.startswith("-") or "--" in code:
        return (f"档号“{code}”含空段", f"archival code '{code}' has an empty part")
    if reference_code is not None and code != _DASH_RE.sub("-", reference_code.strip()):
        return (
            f"档号“{code}”与目录档号“{reference_code}”不符",
            f"archival code '{code}' is not the catalogue's '{reference_code}'",
        )
    return None


def parse_page_name(stem: str, reference_code: str | None = None) -> tuple[str, int] | None:
    """Split ``档号-页号`` into (档号, page number), or None when ``stem`` does not fit (ask
    :func:`page_name_error` why).

    The 档号 has hyphens of its own (``0001-WS·2024-Y-BGS-0001``): the page number is the LAST
    dash-separated group, 1–4 digits, zero padding allowed; any dash variant (－ – —) separates.
    Given ``reference_code``, a stem starting with it is split right after it — the only way to
    tell ``…-0001-0003`` (件号 0001, page 3) from a name that lacks its page number."""
    if page_name_error(stem, reference_code) is not None:
        return None
    code, page = _split(stem, reference_code)
    assert isinstance(code, str) and isinstance(page, str)
    return code, int(unicodedata.normalize("NFKC", page))
