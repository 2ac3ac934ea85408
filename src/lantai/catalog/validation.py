"""Turning a record as typed (UI form, spreadsheet row, API body) into clean column values.

One validator per category: it knows the category's 档号 rule and the DA/T 46 profile, and it is
built once and reused for every row of an import, so the per-row path stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lantai.standards import archival_code as ac
from lantai.standards import vocabularies as vocab
from lantai.standards.categories import MARRIAGE as MARRIAGE_CATEGORY
from lantai.standards.metadata_profile import load_profile

if TYPE_CHECKING:  # validation itself runs without Django (transfer checks); only typing needs it
    from lantai.catalog.models import Category

TEXT_FIELDS = ("title", "author", "document_number", "remarks", "secrecy_period", "org_code")


@dataclass(frozen=True)
class Issue:
    field: str
    rule: str
    value: Any
    message_zh: str
    message_en: str = ""
    severity: str = "error"

    def message(self, language: str = "zh-hans") -> str:
        return self.message_en if language.startswith("en") and self.message_en else self.message_zh


# Catalogues repeat the same few vocabulary values and dates on every row: the lookups are
# memoised (bounded) so that a million-row import does the work once per distinct value.
_NO_ERROR = ("", "")


@lru_cache(maxsize=1024)
def _retention(value: str) -> tuple[vocab.Retention | None, tuple[str, str]]:
    try:
        return vocab.normalize_retention(value), _NO_ERROR
    except vocab.VocabularyError as e:
        return None, (e.message_zh, e.message_en)


@lru_cache(maxsize=1024)
def _classification(value: str) -> tuple[vocab.Classification | None, tuple[str, str]]:
    try:
        return vocab.normalize_classification(value), _NO_ERROR
    except vocab.VocabularyError as e:
        return None, (e.message_zh, e.message_en)


@lru_cache(maxsize=1024)
def _open_status(value: str) -> tuple[str | None, tuple[str, str]]:
    try:
        return vocab.normalize_open_status(value).code, _NO_ERROR
    except vocab.VocabularyError as e:
        return None, (e.message_zh, e.message_en)


@lru_cache(maxsize=65536)
def _date(value: Any) -> tuple[date | None, tuple[str, str]]:
    try:
        return vocab.parse_date(value), _NO_ERROR
    except vocab.DateError as e:
        return None, (e.message_zh, e.message_en)


@lru_cache(maxsize=65536)
def _open_due(formed: date | None, year: int | None) -> date | None:
    return vocab.open_due_date(formed, year)


def _hashable(value: Any) -> Any:
    return value if isinstance(value, date | int | float) else str(value)


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class RecordValidator:
    """Validates records of one category, or — with no category, as for a transfer package being
    checked before it is filed anywhere — records whose 档号 may follow any built-in rule."""

    def __init__(
        self,
        category: Category | None = None,
        *,
        level: str = "item",
        today: date | None = None,
        blank_classification: str | None = "public",
    ) -> None:
        """`blank_classification`: the 密级 a blank value means, or None when a blank 密级 is an
        error (an import: DA/T 46 M38 is mandatory unless the archivist chose a default)."""
        self.fonds_code = category.fonds.code if category else None
        self.category_code = category.code if category else None
        self.rule: ac.CodeRule | None = None
        if category is not None:
            from lantai.catalog.services import get_code_rule

            rule_name = (
                category.volume_item_rule
                if level == "volume_item" and category.volume_item_rule
                else category.code_rule
            )
            self.rule = get_code_rule(rule_name)
        self.level = level
        self.profile = load_profile()
        self.today = today
        self.blank_classification = blank_classification

    def validate(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[Issue]]:
        issues: list[Issue] = []
        clean: dict[str, Any] = {"level": self.level}
        add = issues.append

        for f in TEXT_FIELDS:
            clean[f] = _s(raw.get(f))

        # 保管期限 (legacy 长期/短期 are mapped, the original kept)
        retention_in = _s(raw.get("retention"))
        clean["retention"], clean["retention_legacy"] = "", ""
        if retention_in:
            r, error = _retention(retention_in)
            if r is not None:
                clean["retention"], clean["retention_legacy"] = r.code, r.legacy or ""
            else:
                add(Issue("retention", "vocabulary", retention_in, *error))

        # 密级
        cls_in = _s(raw.get("classification"))
        clean["classification"], clean["classification_level"] = "public", 0
        if not cls_in and self.blank_classification is None:
            add(Issue(
                "classification", "required", "",
                "密级为空：密级（DA/T 46 M38）必须著录；请在文件中填写，或在列映射一步为本文件选择默认密级",
                "Classification is blank: it is mandatory (DA/T 46 M38); fill it in, or choose a "
                "default for this file in the column mapping step",
            ))  # fmt: skip
        else:
            c, error = _classification(cls_in or self.blank_classification or "")
            if c is not None:
                clean["classification"], clean["classification_level"] = c.code, c.level
            else:
                add(Issue("classification", "vocabulary", cls_in, *error))

        # 日期 and 年度
        clean["date"] = None
        date_in = raw.get("date")
        if date_in not in (None, ""):
            clean["date"], error = _date(
                date_in if isinstance(date_in, str) else _hashable(date_in)
            )
            if clean["date"] is None:
                add(Issue("date", "date", _s(date_in), *error))
        year_in = _s(raw.get("year"))
        clean["year"] = None
        if year_in:
            if year_in.isdigit() and len(year_in) == 4:
                clean["year"] = int(year_in)
            else:
                add(
                    Issue(
                        "year",
                        "datatype",
                        year_in,
                        f"年度“{year_in}”应为 4 位数字",
                        "Year must be 4 digits",
                    )
                )

        # 页数
        pages_in = _s(raw.get("pages"))
        clean["pages"] = None
        if pages_in:
            if pages_in.isdigit():
                clean["pages"] = int(pages_in)
            else:
                add(
                    Issue(
                        "pages",
                        "datatype",
                        pages_in,
                        f"页数“{pages_in}”应为非负整数",
                        "Pages must be a whole number",
                    )
                )

        status_in = _s(raw.get("open_status"))
        clean["open_status"] = "closed"
        if status_in:
            status, error = _open_status(status_in)
            if status is not None:
                clean["open_status"] = status
            else:
                add(Issue("open_status", "vocabulary", status_in, *error))
        if self.category_code == MARRIAGE_CATEGORY and clean["open_status"] != "closed":
            add(
                Issue(
                    "open_status", "marriage_closed", status_in,
                    "婚姻登记档案含个人信息，不向社会开放（只能在婚姻档案查档窗口按查询人身份查阅）",
                    "Marriage registration records hold personal information and are never "
                    "opened (they are reached through the marriage counter only)",
                )
            )  # fmt: skip

        self._reference_code(raw, clean, issues)

        if clean["year"] is None and clean["date"] is not None:
            clean["year"] = clean["date"].year
        clean["open_due_date"] = _open_due(clean["date"], clean["year"])

        reported = {i.field for i in issues}  # a value already refused is not "missing" as well
        for v in self.profile.validate(clean, context=self.level, today=self.today):
            if v.field not in reported:
                add(Issue(v.field, v.rule, v.value, v.message_zh, v.message_en, v.severity))

        metadata: dict[str, Any] = {}
        if kw := _s(raw.get("keywords")):
            metadata["keywords"] = kw
        if extra := raw.get("extra"):
            metadata["extra"] = {k: _s(v) for k, v in extra.items() if _s(v)}
        clean["metadata"] = metadata
        return clean, issues

    def _reference_code(
        self, raw: Mapping[str, Any], clean: dict[str, Any], issues: list[Issue]
    ) -> None:
        """Parse the given 档号 and check it against the other columns, or build it from them."""
        code_in = _s(raw.get("reference_code"))
        clean["reference_code"], clean["sequence_prefix"], clean["sequence_number"] = (
            code_in,
            "",
            None,
        )
        if code_in:
            try:
                parsed = self.rule.parse(code_in) if self.rule else ac.parse_any(code_in)
            except ac.CodeError as e:
                issues.append(
                    Issue("reference_code", "code_rule", code_in, e.message_zh, e.message_en)
                )
                return
            comps = parsed.components
            clean["reference_code"] = parsed.code
            checks = (
                ("fonds", self.fonds_code, "fonds_code", "全宗号"),
                ("category", self.category_code, "category_code", "门类代码"),
                ("year", str(clean["year"]) if clean["year"] else "", "year", "年度"),
                ("retention", clean["retention"], "retention", "保管期限"),
                ("org", clean["org_code"], "org_code", "机构（问题）"),
            )
            for comp, expected, field, label in checks:
                if comp in comps and expected and comps[comp] != expected:
                    issues.append(Issue(
                        field, "code_mismatch", code_in,
                        f"档号“{code_in}”中的{label}“{comps[comp]}”与{'本全宗' if comp == 'fonds' else '本门类' if comp == 'category' else '该行'}的{label}“{expected}”不一致",
                        f"The {comp} part of the code does not match",
                    ))  # fmt: skip
            if not clean["year"] and "year" in comps:
                clean["year"] = int(comps["year"])
            if not clean["retention"] and "retention" in comps:
                clean["retention"] = comps["retention"]
            if not clean["org_code"] and "org" in comps:
                clean["org_code"] = comps["org"]
        elif self.rule is None or self.fonds_code is None or self.category_code is None:
            issues.append(
                Issue("reference_code", "required", "", "未填档号", "No archival code given")
            )
            return
        else:
            components: dict[str, str | int] = {
                "fonds": self.fonds_code,
                "category": self.category_code,
            }
            if clean["year"]:
                components["year"] = clean["year"]
            if clean["retention"]:
                components["retention"] = clean["retention"]
            if clean["org_code"]:
                components["org"] = clean["org_code"]
            number = _s(raw.get("item_number"))
            if number:
                components["item"] = number
            try:
                built = self.rule.build(components)
                parsed = self.rule.parse(built)
            except ac.CodeError as e:
                issues.append(Issue(
                    "reference_code", "required", "",
                    f"未填档号，且无法按规则 {self.rule.name} 生成：{e.message_zh}",
                    f"No archival code given and it cannot be built: {e.message_en}",
                ))  # fmt: skip
                return
            clean["reference_code"] = parsed.code
        clean["sequence_prefix"] = parsed.sequence_prefix
        clean["sequence_number"] = parsed.sequence_number
