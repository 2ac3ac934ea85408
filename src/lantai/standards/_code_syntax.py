"""The parts of 档号 rules: fields, templates, normalising, errors and the diagnosis of bad codes.

Internal to ``archival_code``, which re-exports the public names. Kept apart because the
diagnosis is the slow path that runs only when a code does not match its rule.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import NamedTuple

from ._data import DataFileError, load_data
from .categories import load_categories

UPPER_LOWER = "-"  # 连接号
SAME_LEVEL = "·"  # 间隔号, U+00B7
_SEP_ZH = {UPPER_LOWER: "连接号“-”", SAME_LEVEL: "间隔号“·”"}
_SEP_EN = {UPPER_LOWER: 'hyphen "-"', SAME_LEVEL: 'middle dot "·" (U+00B7)'}


def _normalize_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    # Drop white space, also no-break, ideographic and zero-width spaces and a BOM (CSV files).
    for ch in " \t\n\r\x0b\x0c\u00a0\u1680\u2028\u2029\u202f\u205f\u3000\u200b\ufeff":
        table[ord(ch)] = None
    for cp in range(0x2000, 0x200B):
        table[cp] = None
    # Look-alikes of the 间隔号 typed by Chinese and Japanese input methods.
    for ch in "\u30fb\uff65\u2022\u2027\u2219":
        table[ord(ch)] = SAME_LEVEL
    # Full-width hyphen-minus, hyphen, non-breaking hyphen, en dash.
    for ch in "\uff0d\u2010\u2011\u2013":
        table[ord(ch)] = UPPER_LOWER
    # Full-width digits and Latin letters (what NFKC does to exactly these characters).
    for start, ascii_start, count in ((0xFF10, 0x30, 10), (0xFF21, 0x41, 26), (0xFF41, 0x61, 26)):
        for i in range(count):
            table[start + i] = chr(ascii_start + i)
    return table


_NORMALIZE = _normalize_table()
# str.translate is slow on non-ASCII text; most codes need nothing, which one search tells.
_NEEDS_NORMALIZING = re.compile(
    "[" + "".join(re.escape(chr(cp)) for cp in sorted(_NORMALIZE)) + "]"
)
# Characters people use as separators by mistake; reported by name instead of "does not match".
_WRONG_SEPARATORS = frozenset(".．。/／_＿—~～、,，:：;；\\|")


def normalize_code(code: str) -> str:
    """Drop white space, map look-alike separators to "·" and "-", full-width letters and digits to
    ASCII. A plain "." is left alone (and rejected by the rules): it is not a 间隔号."""
    if _NEEDS_NORMALIZING.search(code) is None:
        return code
    return code.translate(_NORMALIZE)


class CodeError(ValueError):
    """A reference code does not follow its rule, or components cannot build one.

    ``position`` is the 0-based index in the normalised code; the messages count characters from 1.
    """

    def __init__(
        self,
        message_zh: str,
        message_en: str,
        *,
        rule: str,
        field: str | None = None,
        position: int | None = None,
        value: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en
        self.rule = rule
        self.field = field
        self.position = position
        self.value = value
        self.code = code


class CodeRuleError(ValueError):
    """A rule template is malformed, or a rule does not exist."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.message_en = message_en

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message_zh


class UnknownRuleError(CodeRuleError, KeyError):
    """No rule has this name (a KeyError, so ``except KeyError`` works too)."""


@dataclass(frozen=True, slots=True)
class CodeField:
    name: str
    label_zh: str
    label_en: str
    pattern: str
    numeric: bool
    sequence: bool  # a serial number (件号, 案卷号 …)
    elements: tuple[str, ...]  # DA/T 46 elements, e.g. ("M17", "M18")
    hint_zh: str
    hint_en: str
    min: int | None
    max: int | None
    regex: re.Pattern[str]


@functools.cache
def load_fields() -> dict[str, CodeField]:
    """The fields a rule template may use, keyed by name."""
    fields: dict[str, CodeField] = {}
    for row in load_data("code_fields.yaml")["fields"]:
        hint_zh, hint_en = str(row["hint_zh"]), str(row["hint_en"])
        if row.get("choices") == "categories":
            codes = list(load_categories())
            pattern = "|".join(map(re.escape, codes))
            hint_zh += "（" + "、".join(codes) + "）"
            hint_en += " (" + ", ".join(codes) + ")"
        elif "pattern" in row:
            pattern = str(row["pattern"])
        else:
            raise DataFileError(f"code_fields.yaml: field {row.get('name')!r} has no pattern")
        fields[row["name"]] = CodeField(
            name=str(row["name"]),
            label_zh=str(row["label_zh"]),
            label_en=str(row["label_en"]),
            pattern=pattern,
            numeric=bool(row.get("numeric", False)),
            sequence=bool(row.get("sequence", False)),
            elements=tuple(row.get("elements", ())),
            hint_zh=hint_zh,
            hint_en=hint_en,
            min=row.get("min"),
            max=row.get("max"),
            regex=re.compile(f"(?:{pattern})", re.ASCII),
        )
    return fields


class Slot(NamedTuple):
    """One field of a template and the separator before it ("" for the first)."""

    separator: str
    field: CodeField
    width: int | None  # exact digit count from ``{field:N}``


TOKEN = re.compile(r"\{([^{}:]*)(?::([^{}]*))?\}|([-·])")


def hint_zh(s: Slot) -> str:
    """What a valid value looks like, with a leading space before Latin text (应为 Y 或 …)."""
    hint = f"{s.width} 位数字（不足补 0，如 {1:0{s.width}d}）" if s.width else s.field.hint_zh
    return " " + hint if hint[:1].isascii() else hint


def hint_en(s: Slot) -> str:
    if s.width:
        return f"{s.width} digits (zero-padded, e.g. {1:0{s.width}d})"
    return s.field.hint_en


def range_problem(s: Slot, value: int) -> tuple[str, str] | None:
    f = s.field
    if f.sequence and value == 0:
        return (f"“{f.label_zh}”应从 1 开始，不能为 0", f"{f.label_en} starts at 1, not 0")
    if (f.min is not None and value < f.min) or (f.max is not None and value > f.max):
        return (
            f"“{f.label_zh}”应在 {f.min}–{f.max} 之间，实际为 {value}",
            f"{f.label_en} must be between {f.min} and {f.max}, got {value}",
        )
    return None


def parse_template(template: str) -> tuple[Slot, ...]:
    fields = load_fields()
    slots: list[Slot] = []
    sep = ""
    pos = 0
    while pos < len(template):
        m = TOKEN.match(template, pos)
        if m is None:
            bad = template[pos : pos + 12]
            raise CodeRuleError(
                f"档号规则“{template}”第{pos + 1}个字符处无法识别：“{bad}”。"
                "字段应写成 {名称} 或 {名称:位数}，字段之间用“-”或“·”连接",
                f"template {template!r}: cannot read {bad!r} at character {pos + 1}; write fields "
                "as {name} or {name:digits}, joined by '-' or '·'",
            )
        if m[3]:  # a separator
            if sep or not slots:
                raise CodeRuleError(
                    f"档号规则“{template}”第{pos + 1}个字符处的分隔符“{m[3]}”前缺少字段",
                    f"template {template!r}: separator {m[3]!r} at character {pos + 1} "
                    "does not follow a field",
                )
            sep = m[3]
        else:
            slots.append(_template_slot(template, m, pos, sep, slots, fields))
            sep = ""
        pos = m.end()
    if not slots:
        raise CodeRuleError("档号规则为空", "the template is empty")
    if sep:
        raise CodeRuleError(
            f"档号规则“{template}”以分隔符“{sep}”结尾，后面缺少字段",
            f"template {template!r} ends with the separator {sep!r}",
        )
    last = slots[-1].field
    if not last.sequence:
        seqs = "、".join(f"{{{f.name}}}（{f.label_zh}）" for f in fields.values() if f.sequence)
        raise CodeRuleError(
            f"档号规则“{template}”应以顺序号结尾（{seqs}），实际以“{last.label_zh}”结尾",
            f"template {template!r} must end with a serial number field, not {{{last.name}}}",
        )
    return tuple(slots)


def _template_slot(
    template: str,
    m: re.Match[str],
    pos: int,
    sep: str,
    slots: list[Slot],
    fields: dict[str, CodeField],
) -> Slot:
    name, width_text = m[1].strip(), m[2]
    where_zh, where_en = f"档号规则“{template}”第{pos + 1}个字符处", f"template {template!r}"
    if slots and not sep:
        raise CodeRuleError(
            f"{where_zh}的字段“{{{name}}}”与前一字段之间缺少“-”或“·”",
            f"{where_en}: no '-' or '·' before {{{name}}} at character {pos + 1}",
        )
    field = fields.get(name)
    if field is None:
        raise CodeRuleError(
            f"{where_zh}的字段“{{{name}}}”不存在，可用字段：{'、'.join(fields)}",
            f"{where_en}: unknown field {{{name}}}; known fields: {', '.join(fields)}",
        )
    if any(s.field.name == name for s in slots):
        raise CodeRuleError(
            f"{where_zh}的字段“{{{name}}}”重复", f"{where_en}: field {{{name}}} is used twice"
        )
    width = None
    if width_text is not None:
        if not (width_text.isascii() and width_text.isdigit() and 1 <= int(width_text) <= 9):
            raise CodeRuleError(
                f"{where_zh}的位数“{width_text}”应为 1–9",
                f"{where_en}: width {width_text!r} of {{{name}}} must be 1-9",
            )
        if not field.numeric:
            raise CodeRuleError(
                f"{where_zh}的“{field.label_zh}”不是数字字段，不能指定位数",
                f"{where_en}: {{{name}}} is not numeric and cannot take a width",
            )
        width = int(width_text)
    return Slot(sep, field, width)


class _Segment(NamedTuple):
    separator: str  # "" for the first segment
    text: str
    start: int  # index of the first character of text


def _segments(code: str) -> list[_Segment]:
    out: list[_Segment] = []
    sep, start = "", 0
    for i, ch in enumerate(code):
        if ch in (UPPER_LOWER, SAME_LEVEL):
            out.append(_Segment(sep, code[start:i], start))
            sep, start = ch, i + 1
    out.append(_Segment(sep, code[start:], start))
    return out


def describe_zh(slots: tuple[Slot, ...]) -> str:
    """E.g. 全宗号-门类代码·年度-保管期限代码-机构(问题)代码-件号."""
    return "".join(s.separator + s.field.label_zh for s in slots)


def describe_en(slots: tuple[Slot, ...]) -> str:
    return "".join(s.separator + s.field.label_en for s in slots)


def diagnose(rule_name: str, slots: tuple[Slot, ...], code: str) -> CodeError:
    """Why ``code`` (already normalised) does not follow the rule: the first failing segment."""

    def error(zh: str, en: str, field: str | None, pos: int, value: str | None) -> CodeError:
        return CodeError(
            f"{zh}（规则 {rule_name}：{describe_zh(slots)}）",
            f"{en} (rule {rule_name}: {describe_en(slots)})",
            rule=rule_name,
            field=field,
            position=pos,
            value=value,
            code=code,
        )

    if not code:
        return error("档号为空", "the reference code is empty", None, 0, "")
    segs = _segments(code)
    for i, s in enumerate(slots):
        f = s.field
        if i >= len(segs):
            pos = len(code)
            return error(
                f"档号“{code}”缺少“{f.label_zh}”：第{pos + 1}个字符处应为{_SEP_ZH[s.separator]}"
                f"加{hint_zh(s)}",
                f"reference code {code!r} lacks the {f.label_en}: expected {_SEP_EN[s.separator]} "
                f"and {hint_en(s)} at character {pos + 1}",
                f.name,
                pos,
                None,
            )
        seg = segs[i]
        at_zh, at_en = f"档号“{code}”第{{}}个字符处", f"reference code {code!r}, character {{}}"
        if seg.separator != s.separator:
            pos = seg.start - 1
            expected, got = _SEP_ZH[s.separator], _SEP_ZH[seg.separator]
            return error(
                at_zh.format(pos + 1) + f"应为{expected}，实际为{got}（“{f.label_zh}”之前）",
                at_en.format(pos + 1)
                + f": expected {_SEP_EN[s.separator]} before the {f.label_en}, "
                f"got {_SEP_EN[seg.separator]}",
                f.name,
                pos,
                seg.separator,
            )
        bad = next((j for j, ch in enumerate(seg.text) if ch in _WRONG_SEPARATORS), None)
        if bad is not None:
            pos, ch = seg.start + bad, seg.text[bad]
            return error(
                at_zh.format(pos + 1) + f"是“{ch}”：同级代码之间应使用间隔号“·”，"
                "上下位代码之间应使用连接号“-”",
                at_en.format(pos + 1) + f" is {ch!r}: separate parts of the same level with "
                "'·' (U+00B7) and levels with '-'",
                f.name,
                pos,
                ch,
            )
        ok = (
            len(seg.text) == s.width and seg.text.isascii() and seg.text.isdigit()
            if s.width
            else f.regex.fullmatch(seg.text)
        )
        if not ok:
            shown_zh = f"“{seg.text}”" if seg.text else "空"
            upper = "（字母应大写）" if seg.text != seg.text.upper() else ""
            return error(
                at_zh.format(seg.start + 1)
                + f"的“{f.label_zh}”应为{hint_zh(s)}，实际为{shown_zh}{upper}",
                at_en.format(seg.start + 1)
                + f": the {f.label_en} must be {hint_en(s)}, got {seg.text!r}",
                f.name,
                seg.start,
                seg.text,
            )
        problem = range_problem(s, int(seg.text)) if f.numeric else None
        if problem:
            return error(
                at_zh.format(seg.start + 1) + f"的{problem[0]}",
                at_en.format(seg.start + 1) + f": {problem[1]}",
                f.name,
                seg.start,
                seg.text,
            )
    if len(segs) > len(slots):
        extra = segs[len(slots)]
        pos = extra.start - 1
        return error(
            f"档号“{code}”第{pos + 1}个字符起多出“{code[pos:]}”，该规则只有 {len(slots)} 段",
            f"reference code {code!r} has extra text {code[pos:]!r} from character {pos + 1}; "
            f"the rule has {len(slots)} parts",
            None,
            pos,
            code[pos:],
        )
    return error(  # not expected: the segment checks mirror the regular expression
        f"档号“{code}”不符合规则",
        f"reference code {code!r} does not follow the rule",
        None,
        0,
        code,
    )
