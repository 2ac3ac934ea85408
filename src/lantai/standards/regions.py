"""GB/T 2260 行政区划代码 as far as Lantai knows them: the codes of 广西壮族自治区 (45) in
``data/regions-45.yaml``, current and former (a record keeps the code of its year), and the
province prefixes of every region (``data/personal-ids.yaml``)."""

from __future__ import annotations

import functools
import unicodedata

from ._data import load_data

__all__ = ["region_name", "region_path", "region_problem"]

_REGIONS = "regions-45.yaml"


def _compact(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", value).split())


@functools.cache
def _regions() -> tuple[dict[str, str], dict[str, str]]:
    """current code → full name, former code → name."""
    d = load_data(_REGIONS)
    current = {str(d["province"]["code"]): str(d["province"]["name"])}
    for code, city in d["cities"].items():
        current[str(code)] = str(city["name"])
        for county, name in city["counties"].items():
            current[str(county)] = str(name)
    former = {str(code): str(row["name"]) for code, row in d["former"].items()}
    return current, former


def region_name(code: str) -> str | None:
    """The name of a 广西 GB/T 2260 code (``兴宁区``, ``南宁市``, ``广西壮族自治区``), including
    codes no longer current (``横县``); None if unknown or outside 广西."""
    current, former = _regions()
    code = _compact(code)
    return current.get(code) or former.get(code)


def region_path(code: str) -> tuple[str, ...]:
    """The names from the region down to ``code``: ``("广西壮族自治区", "南宁市", "兴宁区")``;
    a former code gives its own name only below the region; () if unknown."""
    code = _compact(code)
    if region_name(code) is None:
        return ()
    levels = [code[:2] + "0000", code[:4] + "00", code]
    names = [region_name(c) for c in dict.fromkeys(levels)]
    return tuple(n for n in names if n)


@functools.cache
def _provinces() -> frozenset[str]:
    return frozenset(
        str(c) for c in load_data("personal-ids.yaml")["resident_id"]["province_codes"]
    )


def region_problem(code: str) -> str | None:
    """None if ``code`` can be a registering office's region code: 6 digits, known in
    regions-45.yaml when it is in 广西 (45), else at least a valid province prefix. Otherwise
    ``format``, ``unknown`` (a 广西 code not in the list) or ``province``."""
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return "format"
    if code.startswith("45"):
        return None if region_name(code) else "unknown"
    return None if code[:2] in _provinces() else "province"
