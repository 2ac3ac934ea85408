"""DA/T 13-2022 archival category codes (门类代码), loaded from ``data/categories.yaml``."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._data import DataFileError, load_data

# 婚姻登记档案: personal information, never opened, reached through the marriage counter only
# (marriage/); the catalogue, the search index and open review leave this category out
MARRIAGE = "HY"


@dataclass(frozen=True, slots=True)
class Category:
    code: str  # e.g. "WS"
    name_zh: str  # e.g. "文书"
    name_en: str
    arrangement: str  # "item" (按件) or "volume" (按卷)
    code_rule: str  # default rule (code_rules.yaml) of its units: items, or volumes
    volume_item_rule: str | None = None  # default rule of the documents in a volume (卷内文件)


@functools.cache
def load_categories() -> dict[str, Category]:
    """Categories keyed by code, in the order of the standard."""
    result: dict[str, Category] = {}
    for row in load_data("categories.yaml")["categories"]:
        cat = Category(
            code=str(row["code"]),
            name_zh=str(row["name_zh"]),
            name_en=str(row["name_en"]),
            arrangement=str(row["arrangement"]),
            code_rule=str(row["code_rule"]),
            volume_item_rule=row.get("volume_item_rule"),
        )
        if cat.arrangement not in ("item", "volume"):
            raise DataFileError(f"categories.yaml: {cat.code}: bad arrangement {cat.arrangement!r}")
        if (cat.volume_item_rule is not None) != (cat.arrangement == "volume"):
            raise DataFileError(f"categories.yaml: {cat.code}: volume_item_rule goes with volume")
        result[cat.code] = cat
    return result


def get_category(code: str) -> Category:
    """The category with this code; KeyError if there is none."""
    return load_categories()[code]
