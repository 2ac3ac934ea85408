"""Citations after GB/T 7714-2015 《信息与文献 参考文献著录规则》.

Archival records carry the document type code A (档案); online resources add the carrier code
OL: [A/OL] for an archival record read online, [EB/OL] for a database or exhibition page.
Punctuation follows the standard's examples: ". " between areas, ": " before 出版者 and the
location within the source (here the 档号), ", " before the year, the update date in round
brackets and the access date in square brackets right after, then ". " and the URL, and a final
".". Without 责任者 the standard asks for "佚名"; more than three are cut to three and ", 等".

    广西省人民政府. 关于土地改革的指示[A]. 南宁: 广西壮族自治区档案馆, 1951: X001-WS-1951-0001.
    广西壮族自治区档案馆. 红色档案专题数据库[EB/OL]. (2026-12-01)[2026-12-07].
        https://archives.example/public/databases/450000/red/.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

__all__ = ["gbt7714", "split_authors"]

ANONYMOUS = "佚名"
MAX_AUTHORS = 3
_AUTHOR_SEPARATORS = re.compile(r"[、;；,，/]+")
KINDS = ("A", "EB")


def split_authors(text: str) -> list[str]:
    """The 责任者 of a record's author field ("甲、乙；丙" → three)."""
    return [a.strip() for a in _AUTHOR_SEPARATORS.split(text or "") if a.strip()]


def gbt7714(
    *,
    title: str,
    authors: Sequence[str] | str = (),
    kind: str = "A",
    place: str = "",
    holder: str = "",
    year: int | str | None = None,
    reference_code: str = "",
    url: str = "",
    accessed: date | None = None,
    updated: date | None = None,
) -> str:
    """The citation of an archival record (kind "A": `holder` is the 保存单位, `place` its
    location, `reference_code` its 档号) or of an online resource (kind "EB"). With `url` the
    carrier code /OL and the access date (today unless given) are added."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    title = _tidy(title) or "[无题名]"
    names = split_authors(authors) if isinstance(authors, str) else [_tidy(a) for a in authors]
    names = [n for n in names if n]
    if len(names) > MAX_AUTHORS:
        who = ", ".join(names[:MAX_AUTHORS]) + ", 等"
    else:
        who = ", ".join(names) or ANONYMOUS
    tag = f"{kind}/OL" if url else kind
    parts = [f"{who}. {title}[{tag}]"]

    publication = ""
    if kind == "A" or _tidy(holder):
        where = _tidy(place) or "[出版地不详]"
        publication = f"{where}: {_tidy(holder) or '[出版者不详]'}"
        if year not in (None, ""):
            publication += f", {year}"
        if _tidy(reference_code):
            publication += f": {_tidy(reference_code)}"
    if url:
        stamp = f"({updated.isoformat()})" if updated else ""
        stamp += f"[{(accessed or date.today()).isoformat()}]"
        parts.append(publication + stamp if publication else stamp)
        parts.append(url.strip())
    elif publication:
        parts.append(publication)
    text = ". ".join(parts)
    return text if text.endswith(".") else text + "."


def _tidy(text: object) -> str:
    return " ".join(str(text or "").split()).rstrip(".。")
