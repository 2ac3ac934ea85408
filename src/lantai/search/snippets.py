"""Snippets of search hits, the same for every backend: the text HTML-escaped, every occurrence of
a query phrase in `<mark>`, and a window of a long text around its first match.

Phrases are found in the folded text (`lantai.search.folding.fold`, one character into one), so
the offsets are the text's own and the marks enclose the original characters (ＡＢＣ is marked
where abc was asked). Overlapping and touching occurrences become one mark.

The window (a text longer than SNIPPET_CHARS):
- it starts LEAD characters before the first match, or at the text's start, and is SNIPPET_CHARS
  long; near the text's end it moves back so that it still holds SNIPPET_CHARS characters (a
  match at the very end gets the text before it);
- the first match is always whole: one longer than the window's remainder extends the window to
  its end;
- a later match that crosses the window's end is never cut: the window ends before it;
- "…" stands where the window cuts the text (at the start, at the end, or both).
A text of SNIPPET_CHARS or fewer characters is shown whole.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from lantai.search.folding import fold

__all__ = ["LEAD", "SNIPPET_CHARS", "highlight", "spans", "window"]

SNIPPET_CHARS = 160  # characters of a long text's window
LEAD = SNIPPET_CHARS // 4  # characters shown before the first match
ELLIPSIS = "…"


def spans(folded: str, needles: Sequence[str]) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the `needles` in `folded`, overlapping and touching
    occurrences merged, in order."""
    found: list[tuple[int, int]] = []
    for needle in needles:
        if not needle:
            continue
        start = folded.find(needle)
        while start >= 0:
            found.append((start, start + len(needle)))
            start = folded.find(needle, start + 1)
    merged: list[tuple[int, int]] = []
    for a, b in sorted(found):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def window(length: int, first: tuple[int, int]) -> tuple[int, int]:
    """(lo, hi) of the window over a text of `length` characters whose first match is `first`."""
    if length <= SNIPPET_CHARS:
        return 0, length
    lo = max(0, min(first[0] - LEAD, length - SNIPPET_CHARS))
    return lo, max(lo + SNIPPET_CHARS, first[1])


def highlight(text: str, needles: Sequence[str]) -> str | None:
    """The snippet of `text` for the folded phrases `needles` (module doc), or None when none of
    them occurs."""
    if not text:
        return None
    marks = spans(fold(text), needles)
    if not marks:
        return None
    lo, hi = window(len(text), marks[0])
    parts, pos = [], lo
    for a, b in marks:
        if a >= hi:
            break
        if b > hi:  # a later match crossing the window's end: the window ends before it
            hi = a
            break
        parts += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    parts.append(html.escape(text[pos:hi]))
    return (ELLIPSIS if lo else "") + "".join(parts) + (ELLIPSIS if hi < len(text) else "")
