"""The embedded search backend: a tantivy index directory (docs/decisions/0012-search-index.md).

Fields
- `b_<field>` for each text field (title, author, document_number, reference_code, remarks,
  full_text): one token per pair of adjacent characters, lowercased, whitespace included, with
  positions ("abc" -> ab@0 bc@1). A two-character query is one term query; a longer one a phrase
  of bigrams at their offsets, which matches exactly when the field contains the query as a
  substring (consecutive overlapping bigrams <=> substring).
- `u_<field>`: one token per character (the same lowercasing, whitespace included), doc ids only
  (no frequencies, no positions): a one-character query is one term query here.
- `w_title`, `w_text`: rjieba words, used only to rank (BM25) among the exact matches.
- `f_<facet>`: raw fast fields for filters and exact facet counts (terms aggregation).
- `fonds_id`, `repository_id`, `classification_level`, `year`, `date`, `date_sort`, `rc_sort`:
  numbers and sort keys; `doc`: the stored document (JSON), for hits and snippets.

Scope is a clause of the tantivy query (never a post-filter), so totals, facets, hits, snippets and
suggestions only ever see records in scope.

Layout on disk: `<path>/CURRENT` names the live generation `<path>/gen-<n>/`. `rebuild` builds a new
generation beside it and replaces CURRENT atomically; every reader checks CURRENT before each search
and reopens when it changed. One writer at a time: tantivy locks a generation while an IndexWriter
is open, and Lantai writes only from the worker (queued jobs). Web processes open the backend with
`read_only=True` and only ever read.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import rjieba
import tantivy

from lantai.search.folding import fold
from lantai.search.query import FACETS, PUBLIC_FIELDS, Hit, Query, Results, Scope, TextCondition
from lantai.search.snippets import highlight

UNIGRAM = "lantai_unigram"
BIGRAM = "lantai_bigram"  # tokenizes the output of _pairs: every two characters one token
WORDS = "lantai_words"
# Text fields, each with a unigram and a bigram field; "all" means these (minus remarks for the
# public).
BIGRAM_FIELDS = ("title", "author", "document_number", "reference_code", "remarks", "full_text")
PUBLIC_TEXT_FIELDS = ("title", "author", "document_number", "reference_code", "full_text")
STAFF_HIDDEN = ("id", "full_text")  # never returned in Hit.fields (full text: snippets only)
NO_DATE = 99_999_999  # date_sort of undated records: last in ascending order
FACET_SIZE = 65_536  # buckets per facet; above every real fonds/category count, so counts are exact
WRITER_HEAP = 256_000_000
BATCH = 10_000  # documents per commit in rebuild


class WriterBusy(BlockingIOError):
    """Another writer holds the index (a write asked not to wait)."""


def _analyzers() -> tuple[tantivy.TextAnalyzer, tantivy.TextAnalyzer, tantivy.TextAnalyzer]:
    # no lowercase filter: texts and queries arrive folded (_fold); tantivy's lowercasing of a
    # bigram would turn "ΑΣ" into "ας" (final sigma) but "σ" alone stays "σ"
    unigram = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"(?s).")).build()
    bigram = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.regex(r"(?s)..")).build()
    words = (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace())
        .filter(tantivy.Filter.lowercase())
        .build()
    )
    return unigram, bigram, words


def _pairs(text: str) -> str:
    """Every pair of adjacent characters, concatenated ("abcd" -> "abbccd"): the BIGRAM analyzer
    cuts this into ab, bc, cd at positions 0, 1, 2 (tantivy's regex tokenizer cannot produce
    overlapping tokens itself)."""
    if len(text) < 2:
        return ""
    chars: list[str] = [""] * (2 * len(text) - 2)
    chars[0::2] = text[:-1]
    chars[1::2] = text[1:]
    return "".join(chars)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", indexed=True, fast=True)
    sb.add_bytes_field("doc", stored=True)
    for name in BIGRAM_FIELDS:
        sb.add_text_field(f"u_{name}", tokenizer_name=UNIGRAM, index_option="basic")
        sb.add_text_field(f"b_{name}", tokenizer_name=BIGRAM, index_option="position")
    sb.add_text_field("w_title", tokenizer_name=WORDS, index_option="freq")
    sb.add_text_field("w_text", tokenizer_name=WORDS, index_option="freq")
    for name in FACETS:
        sb.add_text_field(f"f_{name}", tokenizer_name="raw", fast=True, index_option="basic")
    for name in ("repository_id", "fonds_id", "classification_level", "year", "date"):
        sb.add_integer_field(name, indexed=True, fast=True)
    sb.add_integer_field("date_sort", fast=True)
    sb.add_text_field("rc_sort", tokenizer_name="raw", fast=True, index_option="basic")
    return sb.build()


def _words(text: str) -> str:
    return " ".join(rjieba.cut(text)) if text else ""


def _facet_values(doc: dict[str, Any]) -> dict[str, str]:
    values = {name: doc.get(name) for name in FACETS}
    return {f"f_{k}": str(v) for k, v in values.items() if v not in (None, "")}


def _fold(text: str) -> str:
    """The search folding of `text` (`lantai.search.folding.fold`), the same length: the unigram
    and bigram fields hold the folded text, queries are folded alike, snippets find them in it."""
    return fold(text)


def _terms(query: Query) -> list[TextCondition]:
    """Every text condition of a query (the simple box is split into `all` conditions)."""
    terms = [TextCondition(t) for t in query.text.split()]
    return terms + [c for c in query.conditions if c.text.strip()]


class TantivyBackend:
    name = "tantivy"

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.schema = _schema()
        self._unigram, self._bigram, self._words = _analyzers()
        self._scopes: dict[Scope, list[tantivy.Query]] = {}  # scope clauses, built once
        self._lock = threading.Lock()  # guards the open generation
        self._write_lock = threading.Lock()  # one writer in this process
        self._local = threading.local()  # no_wait: see without_waiting
        self._generation: str | None = None
        self._index: tantivy.Index | None = None

    # -- generations ------------------------------------------------------------------------

    def _pointer(self) -> Path:
        return self.path / "CURRENT"

    def _read_pointer(self) -> str | None:
        try:
            name = self._pointer().read_text("ascii").strip()
        except FileNotFoundError:
            return None
        return name or None

    def _open_generation(self, name: str) -> tantivy.Index:
        index = tantivy.Index(self.schema, path=str(self.path / name), reuse=True)
        index.register_tokenizer(UNIGRAM, self._unigram)
        index.register_tokenizer(BIGRAM, self._bigram)
        index.register_tokenizer(WORDS, self._words)
        return index

    def _current(self) -> tantivy.Index | None:
        """The live generation, reopened when CURRENT has moved (another process rebuilt)."""
        name = self._read_pointer()
        with self._lock:
            if name != self._generation:
                self._index = self._open_generation(name) if name else None
                self._generation = name
            return self._index

    def _new_generation(self) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        name = f"gen-{time.time_ns()}"
        (self.path / name).mkdir()
        return name

    def _swap(self, name: str) -> None:
        tmp = self.path / f"CURRENT.{os.getpid()}.tmp"
        tmp.write_text(name + "\n", "ascii")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self._pointer())

    def _collect(self, keep: Iterable[str]) -> None:
        """Remove generations other than `keep` (the live one and the one before it: a reader in
        another process may still be opening it; open files survive removal on POSIX)."""
        for child in self.path.glob("gen-*"):
            if child.name not in keep:
                shutil.rmtree(child, ignore_errors=True)

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def without_waiting(self) -> Iterator[None]:
        """Writes in this block do not wait for another writer: they raise WriterBusy instead
        (a web request applying a change at once leaves it to the worker when the index is
        being written)."""
        self._local.no_wait = True
        try:
            yield
        finally:
            self._local.no_wait = False

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer: a thread lock in this process and an flock on <path>/WRITER across
        processes (waits, where tantivy's own lock would fail), so a rebuild and an update never
        interleave and an update after a swap goes to the new generation."""
        if self.read_only:
            raise PermissionError("this search backend was opened read-only (web process)")
        self.path.mkdir(parents=True, exist_ok=True)
        wait = not getattr(self._local, "no_wait", False)
        if not self._write_lock.acquire(blocking=wait):
            raise WriterBusy(str(self.path))
        try:
            with open(self.path / "WRITER", "a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise WriterBusy(str(self.path)) from None
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
        finally:
            self._write_lock.release()

    def _writable_index(self) -> tantivy.Index:
        index = self._current()
        if index is None:
            name = self._new_generation()
            self._open_generation(name)  # creates the empty index
            self._swap(name)
            index = self._current()
            assert index is not None
        return index

    def _document(self, doc: dict[str, Any]) -> tantivy.Document:
        d = tantivy.Document()
        d.add_integer("id", int(doc["id"]))
        stored = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in doc.items()}
        d.add_bytes("doc", json.dumps(stored, ensure_ascii=False).encode())
        for name in BIGRAM_FIELDS:
            if text := doc.get(name):
                text = _fold(text)
                d.add_text(f"u_{name}", text)
                if len(text) > 1:
                    d.add_text(f"b_{name}", _pairs(text))
        d.add_text("w_title", _words(doc.get("title") or ""))
        body = " ".join(doc.get(k) or "" for k in ("author", "document_number", "full_text"))
        d.add_text("w_text", _words(body))
        for field, value in _facet_values(doc).items():
            d.add_text(field, value)
        for name in ("repository_id", "fonds_id", "classification_level", "year"):
            if doc.get(name) is not None:
                d.add_integer(name, int(doc[name]))
        day = doc.get("date")
        if isinstance(day, str):
            day = date.fromisoformat(day)
        if day is not None:
            d.add_integer("date", _day(day))
        d.add_integer("date_sort", _day(day) if day else NO_DATE)
        d.add_text("rc_sort", doc.get("reference_code") or "")
        return d

    def _write(self, index: tantivy.Index, docs: Iterable[dict[str, Any]], replace: bool) -> int:
        writer = index.writer(heap_size=WRITER_HEAP)
        n = 0
        try:
            for doc in docs:
                if replace:
                    writer.delete_documents_by_term("id", int(doc["id"]))
                writer.add_document(self._document(doc))
                n += 1
                if n % BATCH == 0 and not replace:
                    writer.commit()
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer  # releases the tantivy writer lock
        index.reload()
        return n

    def index(self, docs: Iterable[dict[str, Any]]) -> int:
        with self._writing():
            return self._write(self._writable_index(), docs, replace=True)

    def delete(self, ids: Iterable[int]) -> None:
        with self._writing():
            index = self._current()
            if index is None:
                return
            writer = index.writer(heap_size=50_000_000)
            for i in ids:
                writer.delete_documents_by_term("id", int(i))
            writer.commit()
            writer.wait_merging_threads()
            del writer
            index.reload()

    def rebuild(self, docs: Iterable[dict[str, Any]]) -> int:
        with self._writing():
            old = self._read_pointer()
            name = self._new_generation()
            try:
                n = self._write(self._open_generation(name), docs, replace=False)
            except BaseException:
                shutil.rmtree(self.path / name, ignore_errors=True)  # the live one is untouched
                raise
            self._swap(name)
            self._current()
            self._collect({name, old} if old else {name})
            return n

    def count(self) -> int:
        index = self._current()
        return 0 if index is None else int(index.searcher().num_docs)

    # -- queries -----------------------------------------------------------------------------

    def _const(self, q: tantivy.Query) -> tantivy.Query:
        return tantivy.Query.const_score_query(q, 0.0)

    def _int_range(self, field: str, lo: int | None, hi: int | None) -> tantivy.Query:
        return tantivy.Query.range_query(
            self.schema, field, tantivy.FieldType.Integer, lo, hi, True, True
        )

    def _scope_clauses(self, scope: Scope) -> list[tantivy.Query]:
        """The scope's MUST clauses (constant score), built once per scope."""
        clauses = self._scopes.get(scope)
        if clauses is None:
            clauses = [self._const(q) for q in self._build_scope(scope)]
            if len(self._scopes) >= 1024:
                self._scopes.clear()
            self._scopes[scope] = clauses
        return clauses

    def _build_scope(self, scope: Scope) -> list[tantivy.Query]:
        withheld = []
        if scope.withheld:  # narrowed in the catalogue, not yet re-indexed
            ids = tantivy.Query.term_set_query(self.schema, "id", sorted(scope.withheld))
            withheld = [_boolean([(tantivy.Occur.MustNot, ids)])]
        if (
            scope.public
        ):  # open, and not classified (an open record still marked 密级 is not public)
            return [
                tantivy.Query.term_query(self.schema, "f_open_status", "open"),
                self._int_range("classification_level", None, 0),
                *withheld,
            ]
        clauses = [
            self._int_range("classification_level", None, scope.max_classification),
            *withheld,
        ]
        if not scope.all_fonds:
            allowed = [
                tantivy.Query.term_set_query(self.schema, field, sorted(ids))
                for field, ids in (
                    ("fonds_id", scope.fonds_ids),
                    ("repository_id", scope.repository_ids),
                )
                if ids
            ]
            clauses.append(
                tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in allowed])
                if allowed
                else tantivy.Query.empty_query()
            )
        return clauses

    def _substring(self, field: str, text: str) -> tantivy.Query | None:
        """The field contains `text`: one character a unigram term, two a bigram term, more a
        phrase of the bigrams at their offsets. Only every other bigram and the last one are
        needed (ab@0 cd@2 de@3 for abcde): they still cover every character at its offset."""
        text = _fold(text)
        if not text:
            return None
        if len(text) == 1:
            (token,) = self._unigram.analyze(text)
            return tantivy.Query.term_query(self.schema, f"u_{field}", token, "basic")
        bigrams = self._bigram.analyze(_pairs(text))
        if len(bigrams) == 1:
            return tantivy.Query.term_query(self.schema, f"b_{field}", bigrams[0], "freq")
        last = len(bigrams) - 1
        cover = [*range(0, last, 2), last]
        return tantivy.Query.phrase_query(
            self.schema, f"b_{field}", [(i, bigrams[i]) for i in cover]
        )

    def _condition(self, cond: TextCondition, scope: Scope) -> tantivy.Query:
        """The exact match (the field contains cond.text) OR-ed over the fields it targets."""
        if cond.field == "all":
            fields: tuple[str, ...] = PUBLIC_TEXT_FIELDS if scope.public else BIGRAM_FIELDS
        elif cond.field in PUBLIC_TEXT_FIELDS:
            fields = (cond.field,)
        else:
            raise ValueError(f"unknown search field {cond.field!r}")
        boosts = {"title": 3.0, "reference_code": 2.0, "document_number": 2.0}
        subs = []
        for field in fields:
            q = self._substring(field, cond.text.strip())
            if q is not None:
                subs.append(
                    (tantivy.Occur.Should, tantivy.Query.boost_query(q, boosts.get(field, 1.0)))
                )
        if not subs:
            return tantivy.Query.all_query()
        return tantivy.Query.boolean_query(subs)

    def _match_clauses(
        self, query: Query, scope: Scope
    ) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """Everything a query asks apart from the scope; earlier queries of `within` are ANDed."""
        out: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for cond in _terms(query):
            occur = tantivy.Occur.MustNot if cond.exclude else tantivy.Occur.Must
            out.append((occur, self._condition(cond, scope)))
        for name, values in query.filters.items():
            if name not in FACETS:
                raise ValueError(f"unknown filter {name!r}")
            if scope.public and name not in PUBLIC_FIELDS:
                continue  # the public cannot filter on what it cannot see (classification)
            q = tantivy.Query.term_set_query(self.schema, f"f_{name}", [str(v) for v in values])
            out.append((tantivy.Occur.Must, self._const(q)))
        if query.date_from or query.date_to:
            lo = _day(query.date_from) if query.date_from else None
            hi = _day(query.date_to) if query.date_to else None
            out.append((tantivy.Occur.Must, self._const(self._int_range("date", lo, hi))))
        if query.year_from is not None or query.year_to is not None:
            q = self._int_range("year", query.year_from, query.year_to)
            out.append((tantivy.Occur.Must, self._const(q)))
        for earlier in query.within:
            inner = self._match_clauses(earlier, scope)
            if inner:
                out.append((tantivy.Occur.Must, self._const(_boolean(inner))))
        return out

    def _ranking(self, query: Query) -> list[tuple[tantivy.Occur, tantivy.Query]]:
        """BM25 on the jieba word fields: SHOULD clauses, they rank but never filter."""
        out = []
        for cond in _terms(query):
            if cond.exclude or cond.field not in ("all", "title", "full_text"):
                continue
            for word in {w.lower() for w in rjieba.cut(cond.text) if w.strip()}:
                for field, boost in (("w_title", 2.0), ("w_text", 1.0)):
                    q = tantivy.Query.term_query(self.schema, field, word)
                    out.append((tantivy.Occur.Should, tantivy.Query.boost_query(q, boost)))
        return out

    def _query(self, query: Query, scope: Scope) -> tantivy.Query:
        clauses = [(tantivy.Occur.Must, q) for q in self._scope_clauses(scope)]
        clauses += self._match_clauses(query, scope) + self._ranking(query)
        return _boolean(clauses)

    def _filter(self, query: Query, scope: Scope) -> tantivy.Query:
        """The same match set without the ranking clauses (for facet counts: no scores)."""
        clauses = [(tantivy.Occur.Must, q) for q in self._scope_clauses(scope)]
        return _boolean(clauses + self._match_clauses(query, scope))

    def search(self, query: Query, scope: Scope) -> Results:
        if query.sort not in ("relevance", "date", "reference_code"):
            raise ValueError(f"unknown sort {query.sort!r}")
        index = self._current()
        if index is None:
            return Results(total=0, hits=[], facets={f: {} for f in query.facets})
        q = self._query(query, scope)
        searcher = index.searcher()
        order = {"date": "date_sort", "reference_code": "rc_sort"}.get(query.sort)
        result = searcher.search(
            q,
            limit=max(query.limit, 1),  # tantivy needs >= 1; limit 0 = count and facets only
            count=True,
            order_by_field=order,
            offset=max(query.offset, 0),
            order=tantivy.Order.Asc,
        )
        terms = _highlights(query) if query.highlight else []
        hits = []
        for score, address in result.hits[: max(query.limit, 0)]:
            doc = _stored(searcher, address)
            hits.append(
                Hit(
                    id=int(doc["id"]),
                    score=float(score) if order is None else 0.0,
                    fields=_visible(doc, scope),
                    snippets=_snippets(doc, terms, scope),
                )
            )
        facets = (
            self._facets(searcher, self._filter(query, scope), query.facets, scope.public)
            if query.facets
            else {}
        )
        return Results(total=int(result.count), hits=hits, facets=facets)  # type: ignore[attr-defined]

    def _facets(
        self, searcher: tantivy.Searcher, q: tantivy.Query, names: Iterable[str], public: bool
    ) -> dict[str, dict[str, int]]:
        aggs = {}
        for name in names:
            if name not in FACETS:
                raise ValueError(f"unknown facet {name!r}")
            if not (public and name not in PUBLIC_FIELDS):  # no counts of what it cannot see
                terms = {"field": f"f_{name}", "size": FACET_SIZE, "segment_size": FACET_SIZE}
                aggs[name] = {"terms": terms}
        raw = searcher.aggregate(q, aggs) if aggs else {}
        return {
            name: {str(b["key"]): int(b["doc_count"]) for b in raw[name]["buckets"]}
            if name in raw
            else {}
            for name in names
        }

    def suggest(self, prefix: str, scope: Scope, limit: int = 10) -> list[str]:
        prefix = prefix.strip()
        index = self._current()
        if not prefix or index is None or limit <= 0:
            return []
        match = self._substring("title", prefix)
        if match is None:
            return []
        clauses = [(tantivy.Occur.Must, q) for q in self._scope_clauses(scope)]
        q = _boolean([*clauses, (tantivy.Occur.Must, match)])
        searcher = index.searcher()
        titles: list[str] = []
        for _score, address in searcher.search(q, limit=limit * 5, count=False).hits:
            title = _stored(searcher, address)["title"]
            if title not in titles:
                titles.append(title)
                if len(titles) == limit:
                    break
        return titles


def _stored(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(bytes(searcher.doc(address).get_first("doc") or b"{}"))
    return data


def _boolean(clauses: list[tuple[tantivy.Occur, tantivy.Query]]) -> tantivy.Query:
    if not any(occur == tantivy.Occur.Must for occur, _ in clauses):
        clauses = [(tantivy.Occur.Must, tantivy.Query.all_query()), *clauses]
    return tantivy.Query.boolean_query(clauses)


def _day(d: date) -> int:
    return d.year * 10_000 + d.month * 100 + d.day


def _visible(doc: dict[str, Any], scope: Scope) -> dict[str, object]:
    names = PUBLIC_FIELDS if scope.public else [k for k in doc if k not in STAFF_HIDDEN]
    fields: dict[str, object] = {k: doc.get(k) for k in names}
    if isinstance(fields.get("date"), str):
        fields["date"] = date.fromisoformat(str(fields["date"]))
    return fields


def _highlights(query: Query) -> list[TextCondition]:
    out = [c for c in _terms(query) if not c.exclude]
    for earlier in query.within:
        out += _highlights(earlier)
    return out


def _snippets(doc: dict[str, Any], terms: list[TextCondition], scope: Scope) -> dict[str, str]:
    """The snippets of a hit (`lantai.search.snippets`), only from fields the scope may search
    (never remarks for the public)."""
    fields = PUBLIC_TEXT_FIELDS if scope.public else BIGRAM_FIELDS
    out = {}
    for field in fields:
        text = doc.get(field) or ""
        needles = [
            _fold(t.text.strip()) for t in terms if t.field in ("all", field) and t.text.strip()
        ]
        snippet = highlight(text, needles) if needles else None
        if snippet is not None:
            out[field] = snippet
    return out
