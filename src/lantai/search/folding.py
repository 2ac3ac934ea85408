"""The one case folding of search: both backends fold texts with `fold` when they index them and
queries with it when they search, and snippets find the query in the folded text.

`fold` replaces each character by one character, so that offsets in the folded text are offsets
in the text (snippets mark the original characters) and a phrase is found wherever its folded
form is a substring of the folded text. A character's fold is the first of these that is one
character: its NFKC form case-folded (Ａ → a, Σ σ ς → σ, Ω → ω, ｶ → カ, 豈 → 豈), the
character case-folded, its lower case (ẞ → ß); otherwise the character itself (ß, İ, ﬁ, ㈱: their
full folds are longer). The text is never lowered as a whole: Python's and Rust's whole-string
lowercase turn a final Σ into ς but a Σ elsewhere into σ, so "ΟΔΟΣ" and "οδοσ" would differ.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold", "fold_char"]


def fold_char(char: str) -> str:
    """The fold of one character (one character)."""
    nfkc = unicodedata.normalize("NFKC", char)
    for candidate in (nfkc.casefold(), char.casefold(), nfkc.lower(), char.lower()):
        if len(candidate) == 1:
            return candidate
    return char


class _Folds(dict[int, str]):
    """Code point -> its fold, filled on first use (str.translate's table)."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = fold_char(chr(code))
        return folded


_FOLDS = _Folds()


def fold(text: str) -> str:
    """`text` with every character folded (`fold_char`); the same length. NUL is kept (the
    PostgreSQL backend drops it before)."""
    if not text:
        return ""
    if text.isascii():
        return text.lower()
    # every character of an NFKC text is its own NFKC form: the fold is then its case fold,
    # unless a character's case fold is longer (ß → ss)
    if unicodedata.is_normalized("NFKC", text):
        folded = text.casefold()
        if len(folded) == len(text):
            return folded
    return text.translate(_FOLDS)
