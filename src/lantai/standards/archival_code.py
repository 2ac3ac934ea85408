"""档号 (reference code) rules after DA/T 13-2022 and DA/T 22-2015: parse, build, diagnose.

A rule is a template such as ``{fonds}-{category}·{year}-{retention}-{org}-{item:4}``: fields
from ``data/code_fields.yaml`` joined by "-" (连接号, between upper and lower levels) or "·"
(间隔号 U+00B7, between parts of the same level). ``parse`` is one precompiled regular-expression
match when the code is good; only a bad code pays for the segment-by-segment diagnosis that names
the failing field and its position.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ._code_syntax import (
    SAME_LEVEL,
    UPPER_LOWER,
    CodeError,
    CodeField,
    CodeRuleError,
    Slot,
    UnknownRuleError,
    describe_en,
    describe_zh,
    diagnose,
    hint_en,
    hint_zh,
    load_fields,
    normalize_code,
    parse_template,
    range_problem,
)
from ._data import DataFileError, load_data

__all__ = [
    "SAME_LEVEL",
    "UPPER_LOWER",
    "CodeError",
    "CodeField",
    "CodeRule",
    "CodeRuleError",
    "Gap",
    "ParsedCode",
    "Slot",
    "UnknownRuleError",
    "default_rule",
    "find_duplicates",
    "find_gaps",
    "get_rule",
    "load_fields",
    "load_rules",
    "normalize_code",
    "parse_any",
]


@dataclass(frozen=True, slots=True)
class ParsedCode:
    rule: str
    code: str  # normalised
    components: dict[str, str]  # field name -> text as written, e.g. {"item": "0001"}
    sequence_prefix: str  # the code up to the serial number, e.g. "Z109-WS·2011-Y-BGS-"
    sequence_number: int  # the serial number, e.g. 1


class CodeRule:
    """A 档号 rule. Build one with ``from_template`` or take a built-in one from ``get_rule``."""

    __slots__ = (
        "name",
        "label_zh",
        "label_en",
        "template",
        "arrangement",
        "example",
        "slots",
        "fields",
        "_regex",
        "_seq",
        "_ranges",
    )

    def __init__(
        self, name: str, template: str, slots: tuple[Slot, ...], label_zh: str, arrangement: str
    ) -> None:
        self.name = name
        self.template = template
        self.slots = slots
        self.label_zh = label_zh
        self.label_en = label_zh  # a built-in rule's English label is set from code_rules.yaml
        self.arrangement = arrangement
        self.example = ""
        self.fields: tuple[str, ...] = tuple(s.field.name for s in slots)
        self._seq = slots[-1].field.name
        self._ranges = tuple(
            (s.field.name, s.field.min, s.field.max)
            for s in slots
            if s.field.min is not None or s.field.max is not None
        )
        parts = []
        for s in slots:
            body = rf"\d{{{s.width}}}" if s.width else s.field.regex.pattern
            parts.append(f"{re.escape(s.separator)}(?P<{s.field.name}>{body})")
        self._regex = re.compile("".join(parts), re.ASCII)

    def __repr__(self) -> str:
        return f"CodeRule({self.name!r}, {self.template!r})"

    @classmethod
    def from_template(
        cls, name: str, template: str, label_zh: str = "", arrangement: str = "item"
    ) -> CodeRule:
        """A rule from a template; CodeRuleError says what is wrong with a bad one."""
        if not name or not name.strip():
            raise CodeRuleError("档号规则名称不能为空", "a code rule needs a name")
        if arrangement not in ("item", "volume"):
            raise CodeRuleError(
                f"整理方式应为 item（按件）或 volume（按卷），实际为“{arrangement}”",
                f"arrangement must be 'item' or 'volume', not {arrangement!r}",
            )
        slots = parse_template(normalize_code(template))
        return cls(name, normalize_code(template), slots, label_zh or name, arrangement)

    @property
    def sequence_field(self) -> str:
        """The serial-number field the rule ends with (件号, 案卷号 …)."""
        return self._seq

    @property
    def sequence_width(self) -> int | None:
        return self.slots[-1].width

    def describe_zh(self) -> str:
        """E.g. 全宗号-门类代码·年度-保管期限代码-机构(问题)代码-件号."""
        return describe_zh(self.slots)

    def describe_en(self) -> str:
        return describe_en(self.slots)

    def _valid(self, m: re.Match[str]) -> bool:
        """Checks a regex cannot express: value ranges, and no serial number 0."""
        if int(m[self._seq]) == 0:
            return False
        for name, lo, hi in self._ranges:
            v = int(m[name])
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                return False
        return True

    def _try(self, code: str) -> ParsedCode | None:
        m = self._regex.fullmatch(code)
        if m is None or not self._valid(m):
            return None
        return ParsedCode(
            self.name, code, m.groupdict(), code[: m.start(self._seq)], int(m[self._seq])
        )

    def parse(self, code: str) -> ParsedCode:
        """Split a code into its components; CodeError names the failing field and position."""
        parsed = self._try(code)
        if parsed is None:
            normalized = normalize_code(code)
            if normalized != code:
                parsed = self._try(normalized)
            if parsed is None:
                raise self.diagnose(normalized)
        return parsed

    def matches(self, code: str) -> bool:
        """Whether the code (after normalising) follows this rule."""
        return self._try(code) is not None or self._try(normalize_code(code)) is not None

    def build(self, components: Mapping[str, str | int]) -> str:
        """The code for these components (keys are field names; extra keys are ignored).

        Numeric fields with a width are zero-padded; every value is checked against its field.
        """
        out = []
        for s in self.slots:
            f = s.field
            raw = components.get(f.name)
            text = normalize_code(str(raw)) if raw is not None else ""
            if not text:
                raise self._build_error(f, raw, f"缺少“{f.label_zh}”", f"{f.label_en} is missing")
            if s.width and text.isascii() and text.isdigit():
                text = text.lstrip("0").rjust(s.width, "0")
                if len(text) > s.width:
                    raise self._build_error(
                        f,
                        raw,
                        f"“{f.label_zh}”“{raw}”超过 {s.width} 位",
                        f"{f.label_en} {raw!r} has more than {s.width} digits",
                    )
            if not f.regex.fullmatch(text):
                raise self._build_error(
                    f,
                    raw,
                    f"“{f.label_zh}”应为{hint_zh(s)}，实际为“{raw}”",
                    f"{f.label_en} must be {hint_en(s)}, got {raw!r}",
                )
            if f.numeric:
                problem = range_problem(s, int(text))
                if problem:
                    raise self._build_error(f, raw, problem[0], problem[1])
            out.append(s.separator + text)
        return "".join(out)

    def _build_error(self, f: CodeField, raw: object, zh: str, en: str) -> CodeError:
        return CodeError(
            f"无法生成档号：{zh}（规则 {self.name}：{self.describe_zh()}）",
            f"cannot build a reference code: {en} (rule {self.name}: {self.describe_en()})",
            rule=self.name,
            field=f.name,
            value=None if raw is None else str(raw),
        )

    def diagnose(self, code: str) -> CodeError:
        """Why ``code`` (already normalised) does not follow the rule, field by field."""
        return diagnose(self.name, self.slots, code)


@functools.cache
def _builtin_rules() -> dict[str, CodeRule]:
    data = load_data("code_rules.yaml")
    rules: dict[str, CodeRule] = {}
    for row in data["rules"]:
        try:
            rule = CodeRule.from_template(
                str(row["name"]),
                str(row["template"]),
                str(row["label_zh"]),
                str(row["arrangement"]),
            )
        except CodeRuleError as exc:
            raise DataFileError(
                f"code_rules.yaml: rule {row.get('name')!r}: {exc.message_en}"
            ) from exc
        rule.example = str(row.get("example", ""))
        rule.label_en = str(row.get("label_en") or "").strip()
        if not rule.label_en:
            raise DataFileError(f"code_rules.yaml: rule {rule.name!r} needs a label_en")
        rules[rule.name] = rule
    if data.get("default") != next(iter(rules), None):
        raise DataFileError("code_rules.yaml: `default` must name the first rule")
    return rules


def load_rules() -> dict[str, CodeRule]:
    """The built-in rules by name, in the order ``parse_any`` tries them (a new dict each call)."""
    return dict(_builtin_rules())


def get_rule(name: str) -> CodeRule:
    """The built-in rule called ``name``; UnknownRuleError (a KeyError) if there is none."""
    try:
        return _builtin_rules()[name]
    except KeyError:
        known = ", ".join(_builtin_rules())
        raise UnknownRuleError(
            f"没有名为“{name}”的档号规则，可用规则：{known}",
            f"no code rule named {name!r}; known rules: {known}",
        ) from None


def default_rule() -> CodeRule:
    """The default rule (DA/T 22-2015 文书按件, ``dat22``)."""
    return get_rule(str(load_data("code_rules.yaml")["default"]))


def parse_any(code: str) -> ParsedCode:
    """Parse under the first built-in rule that fits (default first).

    When none fits, the error is that of the rule the code follows furthest.
    """
    rules = _builtin_rules().values()
    for rule in rules:
        parsed = rule._try(code)
        if parsed is not None:
            return parsed
    normalized = normalize_code(code)
    if normalized != code:
        for rule in rules:
            parsed = rule._try(normalized)
            if parsed is not None:
                return parsed
    errors = [rule.diagnose(normalized) for rule in rules]
    raise max(errors, key=lambda e: e.position or 0)  # max() keeps the first of the furthest


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing serial numbers (漏号) under one prefix, e.g. 件号 3–4 of "Z109-WS·2011-Y-BGS-"."""

    prefix: str
    missing: list[int]
    first: int  # lowest number present; > 1 means the run does not start at 1
    last: int  # highest number present
    width: int | None  # digits of the serial number, for display

    @property
    def starts_at_one(self) -> bool:
        return self.first == 1

    def ranges(self) -> list[tuple[int, int]]:
        """``missing`` compressed into inclusive ranges: [3, 4, 5, 9] -> [(3, 5), (9, 9)]."""
        out: list[tuple[int, int]] = []
        for n in self.missing:
            if out and out[-1][1] == n - 1:
                out[-1] = (out[-1][0], n)
            else:
                out.append((n, n))
        return out

    def missing_display(self) -> str:
        """E.g. "0003–0005, 0009" (en dash between the ends of a range)."""
        w = self.width or 0
        return ", ".join(
            f"{a:0{w}d}" if a == b else f"{a:0{w}d}–{b:0{w}d}" for a, b in self.ranges()
        )


def find_gaps(
    codes: Iterable[str], rule: CodeRule, *, errors: list[CodeError] | None = None
) -> list[Gap]:
    """Serial numbers missing between 1 and the highest one found, per sequence prefix.

    Codes that do not follow ``rule`` are skipped; pass ``errors`` to collect their CodeErrors.
    """
    groups: dict[str, set[int]] = {}
    fullmatch, seq, valid = rule._regex.fullmatch, rule.sequence_field, rule._valid
    for code in codes:
        m = fullmatch(code)
        if m is not None and valid(m):  # the fast path, without building a ParsedCode
            prefix, number = code[: m.start(seq)], int(m[seq])
        else:
            try:
                parsed = rule.parse(code)
            except CodeError as exc:
                if errors is not None:
                    errors.append(exc)
                continue
            prefix, number = parsed.sequence_prefix, parsed.sequence_number
        numbers = groups.get(prefix)
        if numbers is None:
            groups[prefix] = {number}
        else:
            numbers.add(number)
    gaps = []
    for prefix in sorted(groups):
        numbers = groups[prefix]
        last = max(numbers)
        if len(numbers) == last:  # numbers are unique and >= 1, so 1..last are all there
            continue
        missing = [n for n in range(1, last) if n not in numbers]
        gaps.append(Gap(prefix, missing, min(numbers), last, rule.sequence_width))
    return gaps


def find_duplicates(codes: Iterable[str]) -> dict[str, int]:
    """Codes (normalised) that occur more than once, with their counts."""
    counts = Counter(map(normalize_code, codes))
    return {code: n for code, n in counts.items() if n > 1}
