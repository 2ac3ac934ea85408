"""Checks of a package's catalogue metadata (DA/T 70 1-2 准确性, 2-2 完整性, YJ-1-6, YJ-1-8).

Each item is validated with the catalogue's own validator (DA/T 46 profile, 档号 rules, dates,
vocabularies), so a transfer is held to exactly the rules its records will meet on import.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from lantai.catalog import columns
from lantai.catalog.validation import RecordValidator
from lantai.standards import archival_code as ac
from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer.package import ItemMetadata

Make = Callable[..., CheckResult]

# validation rule -> DA/T 70 catalogue check key (standards/data/dat70-2018.yaml)
RULE_CHECK = {
    "code_rule": "archival_code_rule",
    "code_mismatch": "archival_code_rule",
    "required": "metadata_completeness",
    "special_chars": "metadata_special_chars",
    "max_length": "metadata_length",
    "datatype": "metadata_type_format",
    "date": "metadata_type_format",
    "vocabulary": "metadata_value_range",
    "range": "metadata_value_range",
    "future_date": "metadata_plausible",
}
KEYS = (*dict.fromkeys(RULE_CHECK.values()), "metadata_duplicates", "numbering_continuity")
# what each check compares the catalogue entries with (the evidence of a pass)
COMPARED = {
    "archival_code_rule": "档号规则（DA/T 13 / DA/T 22）",
    "metadata_completeness": "DA/T 46 必填元数据项",
    "metadata_special_chars": "特殊字符规则",
    "metadata_length": "元数据项长度限制",
    "metadata_type_format": "元数据项数据类型和格式",
    "metadata_value_range": "元数据项值域（受控词表）",
    "metadata_plausible": "赋值合理性规则（日期不晚于今天等）",
    "metadata_duplicates": "档号、文号、题名不重复",
    "numbering_continuity": "档号、件号连续无漏号",
}


def item_fields(item: ItemMetadata) -> dict[str, Any]:
    """An item's elements (Chinese names) as validator input; unknown elements kept as extra."""
    known = columns.synonyms()
    raw: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for name, value in item.fields.items():
        field = known.get(columns.normalise_header(name))
        if field:
            raw[field] = value
        else:
            extra[name] = value
    if extra:
        raw["extra"] = extra
    return raw


def check_items(
    items: list[ItemMetadata], make: Make, today: date | None = None
) -> list[CheckResult]:
    results: list[CheckResult] = []
    if not items:
        reason = "包中没有目录元数据（如无 文件目录.XML 的 BagIt 包）"
        return [make(key, "na", evidence={"reason": reason}) for key in KEYS]
    validator = RecordValidator(today=today)
    failed: Counter[str] = Counter()
    codes: dict[str, list[str]] = defaultdict(list)
    numbers: dict[str, list[str]] = defaultdict(list)
    titles: dict[str, list[str]] = defaultdict(list)
    for item in items:
        clean, issues = validator.validate(item_fields(item))
        for issue in issues:
            key = RULE_CHECK.get(issue.rule, "metadata_plausible")
            status = "fail" if issue.severity == "error" else "warn"
            failed[key] += 1
            results.append(make(key, status, object=item.source, evidence={
                "element": columns.field_label(issue.field), "rule": issue.rule,
                "found": str(issue.value or ""), "reason": issue.message_zh,
            }))  # fmt: skip
        if clean.get("reference_code"):
            codes[clean["reference_code"]].append(item.source)
        if clean.get("document_number"):
            numbers[clean["document_number"]].append(item.source)
        if clean.get("title"):
            titles[clean["title"]].append(item.source)
    results += _duplicates(codes, "档号", "fail", make, failed)
    results += _duplicates(numbers, "文号", "warn", make, failed)
    results += _duplicates(titles, "题名", "warn", make, failed)
    results += _gaps(list(codes), make, failed)
    for key in KEYS:
        if not failed[key]:
            results.append(make(key, "pass", evidence={
                "checked": len(items), "compared": f"目录元数据 vs {COMPARED[key]}",
            }))  # fmt: skip
    return results


def _duplicates(
    seen: dict[str, list[str]], label: str, status: str, make: Make, failed: Counter[str]
) -> list[CheckResult]:
    out = []
    for value, where in seen.items():
        if len(where) > 1:
            failed["metadata_duplicates"] += 1
            out.append(make("metadata_duplicates", status, object=where[1], evidence={
                "element": label, "found": value, "reason": f"{label}“{value}”重复出现 {len(where)} 次：{'、'.join(where)}",
            }))  # fmt: skip
    return out


def _gaps(codes: list[str], make: Make, failed: Counter[str]) -> list[CheckResult]:
    """件号/档号 continuity (漏号) within each sequence, whichever built-in rule the codes follow."""
    by_rule: dict[str, list[str]] = defaultdict(list)
    for code in codes:
        try:
            by_rule[ac.parse_any(code).rule].append(code)
        except ac.CodeError:
            continue  # already reported as a 档号 error
    out = []
    for rule_name, rule_codes in by_rule.items():
        for gap in ac.find_gaps(rule_codes, ac.get_rule(rule_name)):
            inner = [n for n in gap.missing if n > gap.first]  # holes between the first and last
            if inner:
                failed["numbering_continuity"] += 1
                shown = ", ".join(f"{n:0{gap.width or 0}d}" for n in inner[:50])
                out.append(make("numbering_continuity", "fail", object=gap.prefix, evidence={
                    "found": shown, "reason": f"档号 {gap.prefix}… 漏号：{shown}",
                }))  # fmt: skip
            if not gap.starts_at_one:
                # A later batch of a running sequence may legitimately start above 1.
                out.append(make("numbering_continuity", "warn", object=gap.prefix, evidence={
                    "found": gap.first, "reason": f"档号 {gap.prefix}… 不是从 1 起编，起始号为 {gap.first}",
                }))  # fmt: skip
    return out
