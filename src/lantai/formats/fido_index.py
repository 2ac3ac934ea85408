"""fido's signature matching, made fast without changing a single answer (decision 0014).

fido's ``match_formats`` tries every signature of every PRONOM format (1,946 signatures, 2,299
regexes) against each file, in Python: about 5 ms a file, most of the formats stage. This module
does the same walk and skips only work whose outcome is already certain:

1. **First byte.** A BOF pattern is matched at offset 0. When its regex must consume one of a few
   known bytes there (``\\A%PDF-1\\.4`` needs ``%``), a file starting with another byte cannot
   match it. Signatures are grouped into 256 tables by the first bytes they allow; a signature
   whose first byte is not known (no BOF pattern, a leading ``.{0,n}``, case-insensitive or
   look-ahead regexes) is in every table.
2. **Required literal.** Many of the remaining regexes contain a run of plain bytes that every
   match contains (``.{32768,70468}…PMCD001…`` needs ``PMCD001``). ``bytes.find`` — in the
   window where the run must lie when the regex bounds it, else once per file over the whole
   buffer — is far cheaper than a backtracking regex, and without the bytes there is no match.
3. **Once per file.** The same regex appears in many formats (20 DXF versions share one); each
   distinct (position, regex) is run at most once per file.

Formats are still tried in fido's order with fido's priority rule, so the matches, their order
and the chosen PUID are fido's. The analysis reads regex trees from :mod:`re._parser` (the
parser behind :func:`re.compile`), which is private: if it ever changes shape, nothing is known
about any regex and matching is as slow as fido, never different.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Matcher", "first_bytes", "literal_runs"]

_C: Any = None
_P: Any = None
try:  # private modules (Python 3.11+); elsewhere nothing is known and matching is plain
    _C = importlib.import_module("re._constants")
    _P = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _C = _P = None

POSITIONS = ("BOF", "EOF", "VAR", "IFB")  # fido ignores patterns at any other position
MIN_LITERAL = 3  # shorter runs rarely rule a whole buffer out (a short window: any length)
WIDE = 1 << 20  # a match this wide or wider: no window worth the name


def _parse(regex: bytes) -> Any:
    """The regex's parsed tree (a sequence of (op, argument) items), or None when it cannot be
    analysed (case-insensitive, or the parser is not what this module knows)."""
    if _P is None:
        return None
    try:
        tree = _P.parse(regex)
        return None if tree.state.flags & re.IGNORECASE else tree
    except Exception:
        return None


def first_bytes(regex: bytes) -> frozenset[int] | None:
    """The bytes a match of `regex` at offset 0 must start with; None when not known."""
    return _first_of(_parse(regex))


def _first_of(tree: Any) -> frozenset[int] | None:
    if tree is None:
        return None
    try:
        return _seq_first(list(tree))
    except Exception:
        return None


def _seq_first(items: Sequence[tuple[Any, Any]]) -> frozenset[int] | None:
    for op, av in items:
        if op is _C.AT and av is _C.AT_BEGINNING_STRING:
            continue  # \A: zero-width at offset 0
        return _item_first(op, av)
    return None  # empty: can match without consuming a byte


def _item_first(op: Any, av: Any) -> frozenset[int] | None:
    if op is _C.LITERAL:
        return frozenset((av,))
    if op is _C.IN:  # a class of literals and ranges (a negated class or a category: unknown)
        found: set[int] = set()
        for kind, value in av:
            if kind is _C.LITERAL:
                found.add(value)
            elif kind is _C.RANGE:
                found.update(range(value[0], value[1] + 1))
            else:
                return None
        return frozenset(found)
    if op is _C.SUBPATTERN:  # (group, add_flags, del_flags, items)
        return None if av[1] & re.IGNORECASE else _seq_first(list(av[3]))
    if op is _C.BRANCH:
        union: set[int] = set()
        for branch in av[1]:
            sub = _seq_first(list(branch))
            if sub is None:
                return None
            union |= sub
        return frozenset(union)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT) and av[0] >= 1:
        return _seq_first(list(av[2]))
    return None  # ".", optional parts, look-arounds, anchors other than \A


def literal_runs(regex: bytes) -> list[tuple[bytes, int]]:
    """Runs of plain bytes that every match of `regex` contains (from its top-level sequence
    and the groups in it), each with the furthest offset from the match start where it can end
    (WIDE when unbounded). Empty when the regex cannot be analysed."""
    return _runs_of(_parse(regex))


def _runs_of(tree: Any) -> list[tuple[bytes, int]]:
    if tree is None:
        return []
    runs: list[tuple[bytes, int]] = []
    try:
        _literal_runs(tree.state, list(tree), 0, runs)
    except Exception:
        return []
    return [(run, end) for run, end in runs if run]


def _literal_runs(state: Any, items: Sequence[tuple[Any, Any]], hi: int, runs: list[Any]) -> int:
    """Collect the runs of `items` starting at most `hi` bytes in; return where they end."""
    run = bytearray()
    for op, av in items:
        if op is _C.LITERAL:
            run.append(av)
            hi += 1
            continue
        if op is _C.AT:
            continue  # zero-width: the bytes around it stay adjacent
        runs.append((bytes(run), min(hi, WIDE)))
        run.clear()
        if op is _C.SUBPATTERN and not av[1] & re.IGNORECASE:
            hi = _literal_runs(state, list(av[3]), hi, runs)  # a group in the sequence: matched
        else:
            hi += _P.SubPattern(state, [(op, av)]).getwidth()[1]
    runs.append((bytes(run), min(hi, WIDE)))
    return hi


@dataclass(frozen=True)
class _Test:
    """One distinct (position, regex). `first`: the bytes a BOF match must start with;
    `literal`: bytes every match contains; `head` / `tail`: every match lies within the first /
    last that many bytes of its buffer (0: anywhere)."""

    pos: str
    rx: re.Pattern[bytes] | None  # None: the regex does not compile (fido raises on reaching it)
    first: frozenset[int] | None = None
    literal: bytes | None = None
    head: int = 0
    tail: int = 0


class _RegexError(Exception):
    pass


Signature = tuple[str, tuple[int, ...]]  # name, test numbers in fido's pattern order
Format = tuple[Any, str, tuple[Signature, ...]]  # format element, puid, signatures
EMPTY = 256  # the table for an empty BOF buffer


class Matcher:
    """fido's match_formats over one signature set. `formats`: per format in fido's order, its
    element, PUID and signatures as (name, [(position, regex bytes)])."""

    def __init__(
        self,
        formats: Sequence[tuple[Any, str, Sequence[tuple[str, Sequence[tuple[str, bytes]]]]]],
        priority: dict[str, frozenset[str]],
    ) -> None:
        self.priority = priority
        self.tests: list[_Test] = []
        numbers: dict[tuple[str, bytes], int] = {}
        tables: list[list[Format]] = [[] for _ in range(EMPTY + 1)]
        self.signatures = self.unindexed = 0
        for fmt, puid, sigs in formats:
            entries: list[tuple[Signature, frozenset[int] | None]] = []
            for name, patterns in sigs:
                tests = []
                for pos, regex in patterns:
                    if pos in POSITIONS:
                        if (pos, regex) not in numbers:
                            numbers[(pos, regex)] = len(self.tests)
                            self.tests.append(_make_test(pos, regex))
                        tests.append(numbers[(pos, regex)])
                entries.append(((name, tuple(tests)), self._first(tests)))
            self.signatures += len(entries)
            self.unindexed += sum(first is None for _, first in entries)
            # per first byte, the signatures that could match, in fido's order; a format left
            # with none adds nothing to that table (fido would try it and find nothing)
            anywhere = tuple(sig for sig, first in entries if first is None)
            allowed = set().union(*(first for _, first in entries if first is not None))
            for byte in range(EMPTY + 1):
                kept = anywhere
                if byte in allowed:
                    kept = tuple(sig for sig, first in entries if first is None or byte in first)
                if kept:
                    tables[byte].append((fmt, puid, kept))
        self._tables = tuple(tuple(t) for t in tables)

    def _first(self, tests: list[int]) -> frozenset[int] | None:
        """The first bytes a signature allows: those of its first BOF pattern that knows them
        (all its patterns must match, every BOF one at offset 0). A broken regex raises when
        fido reaches it, so its signature stays in every table and is reached where fido's is."""
        if any(self.tests[n].rx is None for n in tests):
            return None
        return next((self.tests[n].first for n in tests if self.tests[n].first is not None), None)

    def table(self, bofbuffer: bytes) -> tuple[Format, ...]:
        """The formats and signatures that a file starting with `bofbuffer` could match."""
        return self._tables[bofbuffer[0] if bofbuffer else EMPTY]

    def match(self, bofbuffer: bytes, eofbuffer: bytes) -> list[tuple[Any, str]]:
        """fido's match_formats: (format element, signature name) of every match that no other
        match has priority over, in fido's order."""
        prio, empty = self.priority, frozenset[str]()
        outcome: dict[int, bool] = {}
        seen: dict[tuple[bool, bytes], int] = {}
        result: list[tuple[Any, str, str]] = []
        outranked: set[str] = set()  # PUIDs that some match so far has priority over
        for fmt, puid, sigs in self.table(bofbuffer):
            if puid in outranked and any(
                f2 is not fmt and puid in prio.get(p2, empty) for f2, _, p2 in result
            ):
                continue  # fido's as_good_as_any
            try:
                for name, tests in sigs:
                    for n in tests:
                        ok = outcome.get(n)
                        if ok is None:
                            ok = outcome[n] = self._run(self.tests[n], bofbuffer, eofbuffer, seen)
                        if not ok:
                            break
                    else:
                        result.append((fmt, name, puid))
                        outranked |= prio.get(puid, empty)
            except _RegexError:
                continue  # fido prints the error and goes on with the next format
        return [
            (f, n)
            for f, n, p in result
            if not any(f2 is not f and p in prio.get(p2, empty) for f2, _, p2 in result)
        ]

    @staticmethod
    def _run(
        test: _Test, bofbuffer: bytes, eofbuffer: bytes, seen: dict[tuple[bool, bytes], int]
    ) -> bool:
        if test.rx is None:
            raise _RegexError(test.pos)
        buffer = eofbuffer if test.pos == "EOF" else bofbuffer
        literal = test.literal
        if literal is not None:
            if test.tail:
                found = buffer.find(literal, max(0, len(buffer) - test.tail)) >= 0
            elif test.head:
                found = buffer.find(literal, 0, test.head) >= 0
            else:  # the whole buffer: scanned once per file for every regex needing it
                key = (test.pos == "EOF", literal)
                at = seen.get(key)
                if at is None:
                    at = seen[key] = buffer.find(literal)
                found = at >= 0
            if not found:
                return False
        if test.pos == "BOF":
            return test.rx.match(buffer) is not None
        return test.rx.search(buffer) is not None


def _make_test(pos: str, regex: bytes) -> _Test:
    """The test for one (position, regex), with the cheapest sure way to rule a buffer out."""
    try:
        rx = re.compile(regex)
    except re.error:
        return _Test(pos, None)
    tree = _parse(regex)
    first = _first_of(tree) if pos == "BOF" else None
    try:
        lo, width = (int(w) for w in tree.getwidth())  # shortest and longest possible match
        at_end = list(tree)[-1] == (_C.AT, _C.AT_END_STRING)
    except Exception:
        return _Test(pos, rx, first)
    runs = _runs_of(tree)
    if pos == "BOF":  # matched at offset 0
        if lo == width:
            return _Test(pos, rx, first)  # fixed width: one path, nothing to backtrack
        bounded = [(run, end) for run, end in runs if end < WIDE]
        if bounded:  # a run ending within n bytes lies in the first n: a short look
            run, end = max(bounded, key=lambda r: len(r[0]))
            return _Test(pos, rx, first, literal=run, head=end)
        if first is not None or _fails_fast(tree):
            return _Test(pos, rx, first)  # the regex itself gives up sooner than a scan would
    if at_end and width < WIDE and runs:  # "…\Z": the match lies in the last `width` bytes
        return _Test(pos, rx, first, literal=max(runs, key=lambda r: len(r[0]))[0], tail=width)
    runs = [(run, end) for run, end in runs if len(run) >= MIN_LITERAL]
    if not runs:
        return _Test(pos, rx, first)
    return _Test(pos, rx, first, literal=max(runs, key=lambda r: len(r[0]))[0])


def _fails_fast(tree: Any) -> bool:
    """An anchored regex that meets a byte to compare at a fixed offset before anything of
    variable width (``\\A.{4}ftyp.*moov``): the engine tries one path and stops at a mismatch."""
    try:
        for op, av in tree:
            if op is _C.AT and av is _C.AT_BEGINNING_STRING:
                continue
            if op in (_C.LITERAL, _C.IN):
                return True
            lo, hi = _P.SubPattern(tree.state, [(op, av)]).getwidth()
            if lo != hi:
                return False
    except Exception:
        return False
    return False
