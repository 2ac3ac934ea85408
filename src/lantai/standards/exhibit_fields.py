"""The description fields of a 专题数据库 and the values of its entries.

A database's fields are data (a list of dicts, kept in ``exhibits.Database.fields``):
``{"key", "label", "label_en", "type", "facet", "required", "choices"}`` with type one of
text | date | place | person | choice. ``check_fields`` validates such a list (a curator edits
it); ``check_values`` validates an entry's values against it. Both return the cleaned data and
the problems, in Chinese, each naming the field and the rule. Kinds with their default fields
are in ``data/exhibit-databases.yaml``; carriers, damage grades and conservation actions in
``data/conservation.yaml``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._data import load_data

__all__ = [
    "TYPES",
    "Choice",
    "Kind",
    "check_fields",
    "check_values",
    "choice_years",
    "conservation_terms",
    "default_fields",
    "kinds",
    "list_values",
]

TYPES = ("text", "date", "place", "person", "choice")
TYPE_LABELS = {"text": "文本", "date": "日期", "place": "地点", "person": "人物", "choice": "选项"}
MULTI = ("place", "person")  # kept as lists
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
SPLIT = re.compile(r"[、;；,，\n]+")
MAX_FIELDS = 30
MAX_LABEL = 50
MAX_CHOICES = 200
MAX_CHOICE = 100
MAX_TEXT = 2000
MAX_ITEMS = 50
MAX_ITEM = 100
_DB_FILE = "exhibit-databases.yaml"
_CONSERVATION_FILE = "conservation.yaml"


@dataclass(frozen=True)
class Choice:
    value: str
    label_en: str = ""
    note: str = ""


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    label_en: str


def kinds() -> list[Kind]:
    return [
        Kind(code, str(row["label"]), str(row.get("label_en", "")))
        for code, row in load_data(_DB_FILE)["kinds"].items()
    ]


def conservation_terms(group: str) -> list[Choice]:
    """carriers | grades | damage | actions, in the data file's order."""
    return [
        Choice(str(r["value"]), str(r.get("label_en", "")), str(r.get("note", "")))
        for r in load_data(_CONSERVATION_FILE)[group]
    ]


def _flat_choices(items: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append({k: v for k, v in item.items() if k != "children"})
            out.extend(_flat_choices(list(item.get("children") or [])))
        else:
            out.append({"value": str(item)})
    return out


def default_fields(kind: str) -> list[dict[str, Any]]:
    """The fields a new database of `kind` starts with (those of "other" for an unknown kind).
    Choices are flattened to their values, a parent period before its sub-periods."""
    table = load_data(_DB_FILE)["kinds"]
    row = table.get(kind) or table["other"]
    fields: list[dict[str, Any]] = []
    for f in row["fields"]:
        field = {
            "key": str(f["key"]),
            "label": str(f["label"]),
            "label_en": str(f.get("label_en", "")),
            "type": str(f["type"]),
            "facet": bool(f.get("facet", False)),
            "required": bool(f.get("required", False)),
        }
        if f.get("choices_from"):
            field["choices"] = [c.value for c in conservation_terms(str(f["choices_from"]))]
        elif f.get("choices"):
            field["choices"] = [str(c["value"]) for c in _flat_choices(list(f["choices"]))]
        fields.append(field)
    return fields


def choice_years(kind: str, key: str) -> dict[str, tuple[int, int | None]]:
    """For a choice field of a kind's defaults whose choices carry years (历史时期): value →
    (first year, last year or None)."""
    row = load_data(_DB_FILE)["kinds"].get(kind) or {}
    for f in row.get("fields", []):
        if f.get("key") == key and f.get("choices"):
            return {
                str(c["value"]): (int(c["years"][0]), c["years"][1])
                for c in _flat_choices(list(f["choices"]))
                if c.get("years")
            }
    return {}


def check_fields(fields: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """A cleaned copy of a field definition list and the problems found in it."""
    problems: list[str] = []
    if not isinstance(fields, list):
        return [], ["著录项定义应为列表"]
    if len(fields) > MAX_FIELDS:
        problems.append(f"著录项不能超过 {MAX_FIELDS} 个")
    clean: list[dict[str, Any]] = []
    keys: set[str] = set()
    for n, field in enumerate(fields[:MAX_FIELDS], 1):
        if not isinstance(field, Mapping):
            problems.append(f"第 {n} 个著录项：应为键值对")
            continue
        label = " ".join(str(field.get("label") or "").split())
        name = f"第 {n} 个著录项“{label[:MAX_LABEL]}”" if label else f"第 {n} 个著录项"
        key = str(field.get("key") or "").strip()
        if not KEY.match(key):
            problems.append(
                f"{name}：代码应以小写字母开头，只含小写字母、数字和下划线，不超过 32 个字符"
            )
        elif key in keys:
            problems.append(f"{name}：代码“{key}”重复")
        keys.add(key)
        if not label:
            problems.append(f"{name}：名称不能为空")
        elif len(label) > MAX_LABEL:
            problems.append(f"{name}：名称不能超过 {MAX_LABEL} 个字符")
        kind = str(field.get("type") or "")
        if kind not in TYPES:
            allowed = "、".join(TYPE_LABELS[t] for t in TYPES)
            problems.append(f"{name}：类型应为{allowed}之一")
        out: dict[str, Any] = {
            "key": key,
            "label": label,
            "label_en": " ".join(str(field.get("label_en") or "").split())[: MAX_LABEL * 2],
            "type": kind,
            "facet": bool(field.get("facet", False)),
            "required": bool(field.get("required", False)),
        }
        if kind == "choice":
            choices = field.get("choices")
            values = (
                [" ".join(str(c).split()) for c in choices] if isinstance(choices, list) else []
            )
            values = [v for v in values if v]
            if not values:
                problems.append(f"{name}：选项类著录项至少要有一个选项")
            elif len(values) > MAX_CHOICES:
                problems.append(f"{name}：选项不能超过 {MAX_CHOICES} 个")
            elif len(set(values)) != len(values):
                problems.append(f"{name}：选项有重复")
            elif any(len(v) > MAX_CHOICE for v in values):
                problems.append(f"{name}：每个选项不能超过 {MAX_CHOICE} 个字符")
            out["choices"] = values
        clean.append(out)
    return clean, problems


def list_values(value: Any) -> list[str]:
    """A person/place value as a list ("甲、乙" and ["甲", "乙"] alike), blanks dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else SPLIT.split(str(value))
    out: list[str] = []
    for item in items:
        text = " ".join(str(item).split())
        if text and text not in out:
            out.append(text)
    return out


def check_values(fields: list[dict[str, Any]], values: Any) -> tuple[dict[str, Any], list[str]]:
    """An entry's values cleaned against `fields` (empty values left out; person and place as
    lists) and the problems, each naming the field and the rule."""
    if not isinstance(values, Mapping):
        return {}, ["著录内容应为键值对"]
    problems: list[str] = []
    by_key = {str(f.get("key")): f for f in fields}
    for key in values:
        if str(key) not in by_key:
            problems.append(f"“{str(key)[:40]}”不是本数据库的著录项")
    clean: dict[str, Any] = {}
    for key, field in by_key.items():
        label = str(field.get("label") or key)
        kind = field.get("type")
        raw = values.get(key)
        if kind in MULTI:
            items = list_values(raw)
            if len(items) > MAX_ITEMS:
                problems.append(f"“{label}”：不能超过 {MAX_ITEMS} 项")
            long = [i for i in items if len(i) > MAX_ITEM]
            if long:
                problems.append(f"“{label}”：每项不能超过 {MAX_ITEM} 个字符")
            value: Any = items
            empty = not items
        else:
            value = " ".join(str(raw).split()) if raw is not None else ""
            if kind == "text" and raw is not None:
                value = str(raw).strip()  # keep the paragraphs of a text
            empty = value == ""
            if not empty:
                problem = _single_problem(field, label, value)
                if problem:
                    problems.append(problem)
        if empty:
            if field.get("required"):
                problems.append(f"“{label}”：必填")
            continue
        clean[key] = value
    return clean, problems


def _single_problem(field: Mapping[str, Any], label: str, value: str) -> str:
    kind = field.get("type")
    if kind == "text" and len(value) > MAX_TEXT:
        return f"“{label}”：不能超过 {MAX_TEXT} 个字符"
    if kind == "date":
        match = DATE.match(value)
        if not match:
            return f"“{label}”：日期应写作 年、年-月 或 年-月-日（如 1929-12-11）"
        year, month, day = (int(g) if g else 1 for g in match.groups())
        try:
            dt.date(year, month, day)
        except ValueError:
            return f"“{label}”：“{value}”不是有效的日期"
    if kind == "choice" and value not in (field.get("choices") or []):
        return f"“{label}”：“{value[:MAX_CHOICE]}”不在可选项中"
    return ""
