"""DA/T 70-2018 四性检测: the check catalogue and the outcome of one check on one object."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ._data import DataFileError, load_data

__all__ = [
    "PROPERTIES",
    "STAGES",
    "STATUSES",
    "Catalogue",
    "CheckResult",
    "CheckSpec",
    "Content",
    "EvidenceError",
    "Item",
    "load_catalogue",
]

CATALOGUE_FILE = "dat70-2018.yaml"

PROPERTIES = ("authenticity", "integrity", "usability", "security")  # 真实性 完整性 可用性 安全性
STATUSES = ("pass", "fail", "warn", "na")  # na: not applicable, with the reason in evidence
STAGES = ("gd", "yj", "bc")  # 归档 移交与接收 长期保存


@dataclass(frozen=True)
class Content:
    """One 检测内容 of one stage, e.g. yj 2-1 电子档案数据总量检测."""

    stage: str
    property: str
    code: str  # "2-1"
    title_zh: str
    method_zh: str
    title_en: str = ""
    method_en: str = ""

    def title(self, english: bool) -> str:
        return self.title_en if english else self.title_zh

    def method(self, english: bool) -> str:
        return self.method_en if english else self.method_zh


@dataclass(frozen=True)
class Item:
    """One 检测项目 code the catalogue knows, e.g. YJ-1-8.

    status: confirmed | inferred | unresolved."""

    code: str
    stage: str
    content_code: str | None
    title_zh: str | None
    status: str
    title_en: str | None = None


@dataclass(frozen=True)
class CheckSpec:
    """A check Lantai runs at one stage (移交与接收 yj, 长期保存 bc), mapped onto the standard."""

    key: str  # stable Lantai name, e.g. "fixity"
    property: str
    content_code: str
    item_code: str | None
    title_zh: str  # what Lantai checks
    method_zh: str  # the standard's method text of the content it belongs to
    content_title_zh: str = ""  # the standard's title of that content
    item_code_inferred: bool = False
    stage: str = "yj"
    title_en: str = ""

    def title(self, english: bool) -> str:
        return self.title_en if english else self.title_zh


PACKAGE = "package"  # the object of a result about the package as a whole


class EvidenceError(ValueError):
    """A result that claims more than it shows (see :class:`CheckResult`)."""


@dataclass
class CheckResult:
    """The outcome of one catalogue check on one object.

    Honest by construction (``__post_init__``): a ``pass`` says what it examined — a result about
    the package as a whole names the count (``checked`` ≥ 1) and what was ``compared``; a result
    about one object names at least what was found (its ``checked`` is 1). ``na`` (nothing to
    examine) and ``fail`` carry their reason. Build results with :meth:`from_spec`, which also
    stamps the catalogue key and the revision of the catalogue file."""

    property: str
    content_code: str  # DA/T 70 检测内容, e.g. "2-1"
    title: str  # what was checked, in Chinese
    status: str
    object: str = PACKAGE  # a path relative to the package root, or "package"
    evidence: dict[str, Any] = field(default_factory=dict)  # expected / found / reason
    item_code: str | None = None  # DA/T 70 检测项目 where known, e.g. "YJ-1-8"
    tool: str = "lantai"
    tool_version: str = ""
    check: str = ""  # the catalogue key (data/dat70-2018.yaml `checks`), e.g. "fixity"
    catalogue_revision: int = 0  # `revision` of the catalogue file the result was made under

    def __post_init__(self) -> None:
        if self.property not in PROPERTIES:
            raise ValueError(f"unknown property {self.property!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        _require_evidence(self)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_spec(
        cls,
        spec: CheckSpec | str,
        status: str,
        *,
        object: str = "package",
        evidence: dict[str, Any] | None = None,
        tool: str = "lantai",
        tool_version: str = "",
    ) -> CheckResult:
        """The result of the catalogue check ``spec`` (a CheckSpec or its key) on ``object``."""
        if isinstance(spec, str):
            spec = load_catalogue().check(spec)
        return cls(
            property=spec.property,
            content_code=spec.content_code,
            title=spec.title_zh,
            status=status,
            object=object,
            evidence=dict(evidence or {}),
            item_code=spec.item_code,
            tool=tool,
            tool_version=tool_version,
            check=spec.key,
            catalogue_revision=load_catalogue().revision,
        )

    for_check = from_spec


def _require_evidence(result: CheckResult) -> None:
    """The invariant of :class:`CheckResult` (no pass without evidence, no na/fail without reason)."""
    ev = result.evidence
    where = f"{result.check or result.content_code} on {result.object!r}"
    if result.status == "pass":
        if not ev:
            raise EvidenceError(f"pass without evidence: {where}")
        checked = ev.setdefault("checked", 1) if result.object != PACKAGE else ev.get("checked")
        if not isinstance(checked, int) or isinstance(checked, bool) or checked < 1:
            raise EvidenceError(f"pass of {where} does not name how many objects it checked")
        if result.object == PACKAGE and not str(ev.get("compared", "")).strip():
            raise EvidenceError(f"pass of {where} does not say what was compared")
    elif result.status == "na" and not str(ev.get("reason", "")).strip():
        raise EvidenceError(f"na without a reason: {where}")
    elif result.status == "fail" and not ev:
        raise EvidenceError(f"fail without a reason: {where}")


def count_by_property(checks: Iterable[CheckResult]) -> dict[str, dict[str, int]]:
    """property -> status -> number of results: the summary table of a detection report."""
    out: dict[str, Counter[str]] = {}
    for c in checks:
        out.setdefault(c.property, Counter())[c.status] += 1
    return {p: dict(n) for p, n in out.items()}


@dataclass(frozen=True)
class Catalogue:
    """The versioned DA/T 70-2018 catalogue (``data/dat70-2018.yaml``)."""

    version: str
    revision: int
    stage_names: dict[str, str]
    property_names: dict[str, str]
    _contents: dict[str, tuple[Content, ...]]
    items: tuple[Item, ...]
    checks: dict[str, CheckSpec]
    stage_names_en: dict[str, str] = field(default_factory=dict)
    property_names_en: dict[str, str] = field(default_factory=dict)

    def stage_name(self, stage: str, english: bool) -> str:
        return (self.stage_names_en if english else self.stage_names)[stage]

    def contents(self, stage: str) -> tuple[Content, ...]:
        """The 检测内容 of ``stage`` ("gd", "yj", "bc") in the standard's order."""
        try:
            return self._contents[stage]
        except KeyError:
            raise KeyError(f"unknown DA/T 70 stage {stage!r}; one of {STAGES}") from None

    def content(self, stage: str, code: str) -> Content:
        for c in self.contents(stage):
            if c.code == code:
                return c
        raise KeyError(f"no DA/T 70 content {code!r} in stage {stage!r}")

    def check(self, key: str) -> CheckSpec:
        try:
            return self.checks[key]
        except KeyError:
            raise KeyError(f"unknown check key {key!r}; one of {sorted(self.checks)}") from None

    def check_title(self, key: str, stored: str, english: bool) -> str:
        """The title of a stored result in the UI's language: the catalogue's for its check key,
        the stored (Chinese) title for a result without one (made before keys were stored)."""
        spec = self.checks.get(key)
        return spec.title(english) if spec else stored

    def item(self, code: str) -> Item:
        for it in self.items:
            if it.code == code:
                return it
        raise KeyError(f"unknown DA/T 70 item code {code!r}")

    def checks_for(self, content_code: str, stage: str = "yj") -> list[CheckSpec]:
        """The Lantai checks that cover one 检测内容 of `stage`."""
        return [
            c for c in self.checks.values() if c.content_code == content_code and c.stage == stage
        ]


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataFileError(f"{CATALOGUE_FILE}: {where} must be a non-empty string")
    return value.strip()


@functools.cache
def load_catalogue() -> Catalogue:
    """Parse and cross-check the catalogue once per process."""
    data = load_data(CATALOGUE_FILE)
    stage_names = {k: str(v["name_zh"]) for k, v in data["stages"].items()}
    stage_names_en = {
        k: _text(v.get("name_en"), f"stages/{k}/name_en") for k, v in data["stages"].items()
    }
    property_names = {k: str(v["name_zh"]) for k, v in data["properties"].items()}
    property_names_en = {
        k: _text(v.get("name_en"), f"properties/{k}/name_en") for k, v in data["properties"].items()
    }
    if tuple(stage_names) != STAGES or tuple(property_names) != PROPERTIES:
        raise DataFileError(f"{CATALOGUE_FILE}: stages/properties do not match the code")
    contents: dict[str, list[Content]] = {s: [] for s in STAGES}
    for row in data["contents"]:
        code, prop = str(row["code"]), str(row["property"])
        if prop not in PROPERTIES or PROPERTIES.index(prop) + 1 != int(code.split("-")[0]):
            raise DataFileError(f"{CATALOGUE_FILE}: content {code} has property {prop!r}")
        for stage in STAGES:
            text = row.get(stage, row.get("all"))
            if text is None:
                continue
            contents[stage].append(
                Content(
                    stage=stage,
                    property=prop,
                    code=code,
                    title_zh=_text(text.get("title_zh"), f"{code}/{stage}/title_zh"),
                    method_zh=_text(text.get("method_zh"), f"{code}/{stage}/method_zh"),
                    title_en=_text(text.get("title_en"), f"{code}/{stage}/title_en"),
                    method_en=_text(text.get("method_en"), f"{code}/{stage}/method_en"),
                )
            )
    items = []
    for row in data["items"]:
        code = str(row["code"])
        prefix = code.split("-")[0].lower()
        if prefix not in STAGES or row["status"] not in ("confirmed", "inferred", "unresolved"):
            raise DataFileError(f"{CATALOGUE_FILE}: bad item {code}")
        title_zh, title_en = row.get("title_zh"), row.get("title_en")
        if (title_zh is None) != (title_en is None):
            raise DataFileError(f"{CATALOGUE_FILE}: item {code} needs title_zh and title_en")
        items.append(
            Item(
                code=code,
                stage=prefix,
                content_code=row.get("content"),
                title_zh=title_zh,
                status=str(row["status"]),
                title_en=title_en,
            )
        )
    item_codes = {it.code for it in items}
    by_stage = {s: {c.code: c for c in contents[s]} for s in STAGES}
    checks = {}
    for key, row in data["checks"].items():
        code, stage = str(row["content_code"]), str(row.get("stage", "yj"))
        content = by_stage.get(stage, {}).get(code)
        if content is None or content.property != row["property"]:
            raise DataFileError(f"{CATALOGUE_FILE}: check {key} points at {code}/{row['property']}")
        item_code = row.get("item_code")
        if item_code is not None and item_code not in item_codes:
            raise DataFileError(f"{CATALOGUE_FILE}: check {key} names unknown item {item_code}")
        checks[str(key)] = CheckSpec(
            key=str(key),
            property=content.property,
            content_code=code,
            item_code=item_code,
            title_zh=_text(row.get("title_zh"), f"checks/{key}/title_zh"),
            title_en=_text(row.get("title_en"), f"checks/{key}/title_en"),
            method_zh=content.method_zh,
            content_title_zh=content.title_zh,
            item_code_inferred=bool(row.get("inferred", False)),
            stage=stage,
        )
    return Catalogue(
        version=str(data["version"]),
        revision=int(data.get("revision", 1)),
        stage_names=stage_names,
        stage_names_en=stage_names_en,
        property_names_en=property_names_en,
        property_names=property_names,
        _contents={s: tuple(v) for s, v in contents.items()},
        items=tuple(items),
        checks=checks,
    )
