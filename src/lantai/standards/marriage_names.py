"""Fuzzy search keys for the names of marriage records: 同音 (same tone-less pinyin), 形近
(look-alike characters, ``data/similar-characters.yaml``) and a missing middle character.

Stored names and queried names go through the same :func:`name_keys`, so whatever reading is
chosen for a character (pypinyin's most common reading; the surname reading of
``marriage-profile.yaml`` for the first character) is applied identically to both. Called for
every name at import time, so each character is looked up once per process.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

from pypinyin import lazy_pinyin

from ._data import DataFileError, load_data

__all__ = ["NameKeys", "name_keys", "normalise_name", "query_keys", "similarity"]

_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Han characters that NFKC leaves alone (not the compatibility ideographs U+F900–U+FAFF)
_PLAIN_HAN = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]+")
_DOTS = str.maketrans({c: "·" for c in "•‧・･∙⋅●．"})


class NameKeys(NamedTuple):
    pinyin: str  # tone-less pinyin of every character, no separators ("shantianfang")
    skeleton: str | None  # pinyin of the first and last character, for names of ≥ 3 characters
    shape: str  # the name with each look-alike character replaced by its group's canonical one


def normalise_name(name: str) -> str:
    """Full-width forms to ASCII, the middle-dot variants to ``·``, spaces removed from names
    with Han characters (collapsed in others)."""
    s = unicodedata.normalize("NFKC", name).translate(_DOTS).strip()
    if _HAN.search(s):
        return s.replace(" ", "")
    return " ".join(s.split())


@functools.cache
def _surnames() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(compound surname → syllables, single-character surname → syllable)."""
    readings = load_data("marriage-profile.yaml")["surname_readings"]
    compound = {k: tuple(str(v).split()) for k, v in readings.items() if len(k) == 2}
    single = {k: str(v) for k, v in readings.items() if len(k) == 1}
    return compound, single


@functools.cache
def _shape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for i, group in enumerate(load_data("similar-characters.yaml")["groups"]):
        chars = str(group)
        if len(chars) < 2 or len(set(chars)) != len(chars):
            raise DataFileError(
                f"similar-characters.yaml: groups[{i}] needs 2+ distinct characters"
            )
        for ch in chars:
            if ord(ch) in table:
                raise DataFileError(f"similar-characters.yaml: groups[{i}]: {ch} is in two groups")
            table[ord(ch)] = chars[0]
    return table


class _PinyinCache(dict[str, str]):
    """Tone-less pinyin of one character, computed on first use; letters lower-cased; other
    signs (·, spaces) give an empty syllable."""

    def __missing__(self, ch: str) -> str:
        if _HAN.match(ch):
            found = lazy_pinyin(ch, v_to_u=False)[0]
            if not found.isascii():  # a character pypinyin does not know keeps itself
                found = ch
        elif ch.isalnum():
            found = ch.lower()
        else:
            found = ""
        self[ch] = found
        return found


_PINYIN = _PinyinCache()


def _syllables(name: str) -> list[str]:
    """One syllable per character of a normalised name (empty for · and spaces)."""
    syllables = list(map(_PINYIN.__getitem__, name))
    if len(name) >= 2:
        compound, single = _surnames()
        two = compound.get(name[:2])
        if two is not None:
            syllables[0:2] = two
        else:
            first = single.get(name[0])
            if first is not None:
                syllables[0] = first
    return syllables


def _surname_length(name: str) -> int:
    """2 for a compound surname (欧阳, 司马 …), else 1."""
    return 2 if len(name) >= 2 and name[:2] in _surnames()[0] else 1


def _keys(name: str, syllables: list[str], han: bool) -> NameKeys:
    # the surname (one or two characters) and the last character: 王建华 → wanghua,
    # 欧阳明华 → ouyanghua, so a query that leaves out the middle character still meets it
    surname = _surname_length(name)
    skeleton = (
        "".join(syllables[:surname]) + syllables[-1] if han and len(name) >= surname + 2 else None
    )
    return NameKeys("".join(syllables), skeleton, name.translate(_shape_table()))


@functools.lru_cache(maxsize=1 << 18)  # names repeat a lot (王伟, 张敏 …)
def name_keys(name: str) -> NameKeys:
    """The search keys of a name (normalised first). Names in Latin letters get their letters
    lower-cased as the pinyin key and no skeleton."""
    if _PLAIN_HAN.fullmatch(name):  # the common case needs no normalisation
        return _keys(name, _syllables(name), True)
    n = normalise_name(name)
    keys = _keys(n, _syllables(n), _HAN.search(n) is not None)
    return keys._replace(shape=keys.shape.lower())  # letters compare without case


def query_keys(name: str) -> list[tuple[str, str]]:
    """The (column, key) pairs a name search ORs together: ``name_pinyin`` and ``name_shape``,
    and for a query of a surname and one character also ``name_skeleton`` (its pinyin), which
    finds longer names whose middle character the asker left out (欧阳华 → 欧阳明华)."""
    n = normalise_name(name)
    k = name_keys(n)
    pairs = [("name_pinyin", k.pinyin), ("name_shape", k.shape)]
    if len(n) == _surname_length(n) + 1 and all(_HAN.fullmatch(c) for c in n):
        pairs.append(("name_skeleton", k.pinyin))
    return pairs


def similarity(query: str, candidate: str) -> float:
    """A ranking score 0..1: 1.0 the same name; 0.95 same pinyin and shape; 0.9 same pinyin
    (同音); 0.8 same shape (形近); 0.6 the query is the candidate without its middle
    character(s); otherwise at most 0.5 by the share of the query's syllables found in the
    candidate."""
    q, c = normalise_name(query), normalise_name(candidate)
    if q == c:
        return 1.0
    qs, cs = _syllables(q), _syllables(c)
    qk, ck = name_keys(q), name_keys(c)
    same_pinyin = qk.pinyin == ck.pinyin
    same_shape = qk.shape == ck.shape
    if same_pinyin and same_shape:
        return 0.95
    if same_pinyin:
        return 0.9
    if same_shape:
        return 0.8
    if ck.skeleton is not None and (
        (len(q) == _surname_length(q) + 1 and qk.pinyin == ck.skeleton)
        or qk.skeleton == ck.skeleton
    ):
        return 0.6
    query_syllables = [s for s in qs if s]
    if not query_syllables:
        return 0.0
    remaining = [s for s in cs if s]
    hits = 0
    for s in query_syllables:
        if s in remaining:
            remaining.remove(s)
            hits += 1
    return round(0.5 * hits / max(len(query_syllables), len(remaining) + hits), 4)
