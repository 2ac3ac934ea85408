"""The per-archive sensitivity classifier (办法 第八条 pre-screen, layer e): character n-gram TF-IDF and a
linear model trained from the reviewers' decisions, chosen by active learning, evaluated honestly.

It ranks and explains; it never decides. Its scores order the review queue and its n-grams say why an item
came up; every decision stays with a reviewer.

- Features: character 1–3 grams (``analyzer="char"``: Chinese has no spaces, so ``char_wb`` would only add
  padding grams that are not in the text), hashed into 2^20 buckets, sublinear tf, l2-normalised TF-IDF.
- Model: ``LogisticRegression(class_weight="balanced")``. Its probabilities come from the log-loss (no separate
  calibration set needed with the few hundred decisions a task has); the balanced weights put 0.5 where the
  rates on both classes balance, which is what balanced accuracy rewards and what a reviewer wants from a
  queue (sensitive items are rare). The scores therefore over-state the share of sensitive items; use them to
  rank, not as frequencies.
- Evaluation: balanced accuracy (BAC) and recall-weighted F2, with stratified bootstrap 95% intervals, on
  held-back decisions (``cross_validated``): never plain accuracy, which a model that opens everything wins.
- Active learning: uncertainty sampling (``next_to_label``) and a stopping rule (``should_stop``).
- Storage: ``to_bytes`` is a pickle, i.e. code; ``from_bytes`` loads it only when its SM3 matches the digest
  the database holds for that model (and the scikit-learn version is the one it was trained with).
"""

from __future__ import annotations

import hmac
import pickle
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.feature_extraction import FeatureHasher
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split

from lantai.core.sm3 import sm3_hex

__all__ = [
    "ClassifierError",
    "Evaluation",
    "RoundRecord",
    "SensitivityClassifier",
    "Simulation",
    "StopDecision",
    "cross_validated",
    "evaluate",
    "next_to_label",
    "round_record",
    "should_stop",
    "simulate",
]

MODEL_ID = "char-tfidf-logreg"
FORMAT = 1  # of to_bytes


class ClassifierError(ValueError):
    """A problem a user can cause (too few decisions, a model file that does not match its digest)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} ({message_en})")
        self.message_zh = message_zh
        self.message_en = message_en


HASH_BITS = 20  # 2^20 feature buckets: model size fixed (~16 MB), whatever the archive's vocabulary


class Features:
    """Character 1–3 gram TF-IDF over hashed n-grams (sublinear tf, smooth idf, l2 rows).

    Hashed rather than a vocabulary: a vocabulary of every 3-gram of tens of thousands of OCR'd
    records runs to millions of Python strings while it is counted (and into the pickled model);
    hashing keeps memory and the model file fixed. ``grams`` recovers the n-grams of one text and
    their buckets, which is all ``explain`` needs."""

    def __init__(self) -> None:
        self.hasher = HashingVectorizer(
            analyzer="char", ngram_range=(1, 3), n_features=2**HASH_BITS, alternate_sign=False,
            norm=None, lowercase=True, dtype=np.float64,
        )  # fmt: skip
        self.tfidf = TfidfTransformer(sublinear_tf=True)

    def fit(self, texts: Sequence[str]) -> Features:
        self.tfidf.fit(self.hasher.transform(texts))
        return self

    def transform(self, texts: Sequence[str]) -> Any:
        return self.tfidf.transform(self.hasher.transform(texts))

    def fit_transform(self, texts: Sequence[str]) -> Any:
        counts = self.hasher.transform(texts)
        return self.tfidf.fit(counts).transform(counts)

    def grams(self, text: str) -> dict[int, str]:
        """Bucket → the first n-gram of ``text`` (as analysed: lower case, runs of white space
        as one space) that falls in it."""
        grams = list(dict.fromkeys(self.hasher.build_analyzer()(text)))
        if not grams:
            return {}
        hasher = FeatureHasher(2**HASH_BITS, input_type="string", alternate_sign=False)
        buckets = hasher.transform([[g] for g in grams]).tocsr().indices
        out: dict[int, str] = {}
        for bucket, gram in zip(buckets.tolist(), grams, strict=True):
            out.setdefault(bucket, gram)
        return out


def _make_vectorizer() -> Features:
    return Features()


def _make_model() -> LogisticRegression:
    return LogisticRegression(
        class_weight="balanced", C=10.0, solver="liblinear", max_iter=1000, random_state=0
    )


class LinearScorer:
    """The fitted logistic regression as one weight per feature bucket and an intercept. It is
    trained on the buckets the training texts use only (of 2^20 most are empty, and liblinear
    walks all columns it is given: 2 s instead of 10 ms on 300 items); empty buckets get weight 0,
    which L2 regularisation would give them anyway."""

    def __init__(self, weights: np.ndarray[Any, Any], intercept: float) -> None:
        self.weights = weights
        self.intercept = intercept

    @classmethod
    def fit(cls, matrix: Any, y: np.ndarray[Any, Any]) -> LinearScorer:
        matrix = matrix.tocsr()
        used = np.unique(matrix.indices)
        model = _make_model().fit(matrix[:, used], y)
        weights = np.zeros(matrix.shape[1], dtype=np.float64)
        weights[used] = model.coef_[0]
        return cls(weights, float(model.intercept_[0]))

    def scores(self, matrix: Any) -> np.ndarray[Any, Any]:
        return np.asarray(expit(matrix @ self.weights + self.intercept), dtype=np.float64)


def _check_labels(labels: Sequence[bool], need_each: int = 1) -> np.ndarray[Any, Any]:
    y = np.asarray([bool(v) for v in labels], dtype=bool)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < need_each:
        raise ClassifierError(
            f"审核决定不足：训练分类器至少需要敏感与非敏感决定各 {need_each} 条"
            f"（现有敏感 {positives} 条、非敏感 {len(y) - positives} 条）",
            f"too few decisions: the classifier needs at least {need_each} sensitive and "
            f"{need_each} non-sensitive ones (have {positives} and {len(y) - positives})",
        )
    return y


def training_digest(texts: Sequence[str], labels: Sequence[bool]) -> str:
    """SM3 of the training set (order-independent): which decisions a model was trained on."""
    lines = sorted(f"{int(bool(label))}\t{text}" for text, label in zip(texts, labels, strict=True))
    return sm3_hex("\n".join(lines).encode("utf-8"))


class SensitivityClassifier:
    """Character n-gram TF-IDF + balanced logistic regression, trained on reviewers' decisions
    (``True`` = the reviewer deferred or restricted the item for a sensitivity)."""

    def __init__(self) -> None:
        self._vectorizer: Features | None = None
        self._model: LinearScorer | None = None
        self.version = ""
        self.trained_on = 0

    def fit(
        self, texts: Sequence[str], labels: Sequence[bool], unlabeled: Sequence[str] = ()
    ) -> SensitivityClassifier:
        """Train on the decisions; ``unlabeled`` texts (the rest of the task) may widen the
        vocabulary and the IDF — they carry no labels."""
        if len(texts) != len(labels):
            raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
        y = _check_labels(labels)
        vectorizer = _make_vectorizer().fit([*texts, *unlabeled])
        self._model = LinearScorer.fit(vectorizer.transform(texts), y)
        self._vectorizer = vectorizer
        self.trained_on = len(texts)
        self.version = (
            f"{MODEL_ID}/sklearn-{sklearn.__version__}/train-{training_digest(texts, labels)[:16]}"
            f"/n{len(texts)}"
        )
        return self

    def _ready(self) -> tuple[Features, LinearScorer]:
        if self._vectorizer is None or self._model is None:
            raise RuntimeError("the classifier has not been trained (fit) or loaded (from_bytes)")
        return self._vectorizer, self._model

    def predict_proba(self, texts: Sequence[str]) -> list[float]:
        """The score of each text, 0..1: higher = more like the items reviewers found sensitive."""
        if not texts:
            return []
        vectorizer, model = self._ready()
        return [float(p) for p in model.scores(vectorizer.transform(texts))]

    def explain(self, text: str, top: int = 5) -> list[tuple[str, float]]:
        """The n-grams of ``text`` that pushed it most towards sensitive, with their contribution
        (tf-idf weight × coefficient, in log-odds), largest first; only positive contributions."""
        vectorizer, model = self._ready()
        row = vectorizer.transform([text]).tocsr()
        coef = model.weights
        contributions = row.data * coef[row.indices]
        order = np.argsort(-contributions, kind="stable")
        names = vectorizer.grams(text)
        return [
            (names[int(row.indices[i])], round(float(contributions[i]), 6))
            for i in order[:top]
            if contributions[i] > 0
        ]

    def to_bytes(self) -> bytes:
        """The trained model as bytes; store them with ``sm3_hex(data)`` beside them."""
        vectorizer, model = self._ready()
        state = {
            "format": FORMAT,
            "model_id": MODEL_ID,
            "sklearn": sklearn.__version__,
            "version": self.version,
            "trained_on": self.trained_on,
            "vectorizer": vectorizer,
            "model": model,
        }
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes, expected_sm3: str) -> SensitivityClassifier:
        """Load a model stored with ``to_bytes``. Unpickling runs code, so the bytes are checked first
        against the SM3 digest the database holds; a mismatch is refused before anything is loaded."""
        actual = sm3_hex(data)
        if not hmac.compare_digest(actual, expected_sm3.strip().lower()):
            raise ClassifierError(
                f"分类器模型文件校验失败：SM3 为 {actual[:16]}…，与数据库记录的 {expected_sm3[:16]}… 不符，"
                "拒绝加载（模型文件可能被替换或损坏）",
                "classifier model refused: its SM3 digest does not match the one recorded in the "
                "database (the file was replaced or damaged)",
            )
        state = pickle.loads(data)  # noqa: S301 - digest checked above
        if state.get("format") != FORMAT or state.get("sklearn") != sklearn.__version__:
            raise ClassifierError(
                f"分类器模型由 scikit-learn {state.get('sklearn')} 训练，当前为 {sklearn.__version__}："
                "请用已有审核决定重新训练",
                f"the classifier was trained with scikit-learn {state.get('sklearn')}, this is "
                f"{sklearn.__version__}: retrain it from the recorded decisions",
            )
        clf = cls()
        clf._vectorizer, clf._model = state["vectorizer"], state["model"]
        clf.version, clf.trained_on = state["version"], state["trained_on"]
        return clf


# --- evaluation ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """Balanced accuracy and F2 (recall weighs 4× precision) of scores cut at ``threshold``, with
    stratified bootstrap 95% intervals (positives and negatives resampled separately, so each
    resample has the same class counts as the sample)."""

    balanced_accuracy: float
    f2: float
    recall: float
    precision: float
    n: int
    positives: int
    bac_interval: tuple[float, float]
    f2_interval: tuple[float, float]
    threshold: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        return {
            "balanced_accuracy": self.balanced_accuracy, "f2": self.f2, "recall": self.recall,
            "precision": self.precision, "n": self.n, "positives": self.positives,
            "bac_interval": list(self.bac_interval), "f2_interval": list(self.f2_interval),
            "threshold": self.threshold,
        }  # fmt: skip


def _rates(tp: Any, fn: Any, tn: Any, fp: Any) -> tuple[Any, Any, Any, Any]:
    """BAC, F2, recall, precision (numpy-vectorised); an absent class counts as rate 0 on it,
    precision with no predicted positives is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        specificity = np.where(tn + fp > 0, tn / np.maximum(tn + fp, 1), 0.0)
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        f2 = np.where(
            4 * precision + recall > 0, 5 * precision * recall / (4 * precision + recall), 0.0
        )
    return (recall + specificity) / 2, f2, recall, precision


def evaluate(
    y_true: Sequence[bool],
    scores: Sequence[float],
    threshold: float = 0.5,
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Evaluation:
    """Judge ``scores >= threshold`` against the reviewers' decisions ``y_true``."""
    y = np.asarray([bool(v) for v in y_true], dtype=bool)
    predicted = np.asarray(scores, dtype=float) >= threshold
    if len(y) != len(predicted):
        raise ValueError(f"{len(y)} decisions but {len(predicted)} scores")
    pos_hits, neg_hits = predicted[y], ~predicted[~y]  # per item: counted as right?
    tp, tn = int(pos_hits.sum()), int(neg_hits.sum())
    fn, fp = len(pos_hits) - tp, len(neg_hits) - tn
    bac, f2, recall, precision = (float(v) for v in _rates(tp, fn, tn, fp))
    rng = np.random.default_rng(seed)
    if bootstrap and len(y):
        # resample each class with replacement: the counts of right answers per resample
        b_tp = _resampled_sum(rng, pos_hits, bootstrap)
        b_tn = _resampled_sum(rng, neg_hits, bootstrap)
        b_bac, b_f2, _, _ = _rates(b_tp, len(pos_hits) - b_tp, b_tn, len(neg_hits) - b_tn)
        bac_i = (float(np.quantile(b_bac, 0.025)), float(np.quantile(b_bac, 0.975)))
        f2_i = (float(np.quantile(b_f2, 0.025)), float(np.quantile(b_f2, 0.975)))
    else:
        bac_i, f2_i = (bac, bac), (f2, f2)
    return Evaluation(bac, f2, recall, precision, len(y), int(y.sum()), bac_i, f2_i, threshold)


def _resampled_sum(rng: np.random.Generator, hits: np.ndarray[Any, Any], times: int) -> Any:
    if len(hits) == 0:
        return np.zeros(times)
    return rng.binomial(len(hits), hits.mean(), size=times).astype(float)


def cross_validated(
    texts: Sequence[str], labels: Sequence[bool], folds: int = 5, seed: int = 0
) -> list[float]:
    """Held-back scores: each text scored by a model that did not see its decision (stratified
    k-fold). Evaluate these (``evaluate(labels, cross_validated(...))``) to report honestly on a
    model trained on all decisions; ``folds`` shrinks to the size of the smaller class."""
    y = _check_labels(labels, need_each=2)
    k = min(folds, int(y.sum()), int((~y).sum()))
    scores = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y):
        clf = SensitivityClassifier().fit([texts[i] for i in train], y[train].tolist())
        scores[test] = clf.predict_proba([texts[i] for i in test])
    return scores.tolist()


# --- active learning -------------------------------------------------------------------------------
BREADTH = 5  # a batch of k is chosen among the BREADTH × k best candidates


def _uncertainty_order(scores: Sequence[float], seed: int = 0) -> list[int]:
    """Indices by closeness of the score to 0.5 (ties broken by a seeded shuffle)."""
    order = list(range(len(scores)))
    random.Random(seed).shuffle(order)
    order.sort(key=lambda i: abs(scores[i] - 0.5))
    return order


def _spread(matrix: Any, candidates: Sequence[int], k: int) -> list[int]:
    """Farthest-first among ``candidates`` (rows of an l2-normalised TF-IDF matrix): the first
    candidate, then each time the one least like (max cosine) those already chosen; ties go to the
    earlier candidate. Keeps a batch from being ten copies of the same kind of item."""
    candidates = list(candidates)
    if len(candidates) <= k:
        return candidates
    rows = matrix[candidates]
    similarity = (rows @ rows.T).toarray() if hasattr(rows, "toarray") else rows @ rows.T
    chosen = [0]
    closest = similarity[:, 0].copy()
    closest[0] = np.inf
    while len(chosen) < k:
        nxt = int(np.argmin(closest))
        chosen.append(nxt)
        closest = np.maximum(closest, similarity[:, nxt])
        closest[chosen] = np.inf
    return [candidates[i] for i in chosen]


def _pick(matrix: Any, scores: Sequence[float] | None, k: int, seed: int) -> list[int]:
    """Batch-mode selection: the BREADTH × k most uncertain rows (or, without scores, a seeded
    random BREADTH × k), spread by ``_spread``."""
    n = matrix.shape[0]
    if scores is None:
        candidates = random.Random(seed).sample(range(n), n)
    else:
        candidates = _uncertainty_order(scores, seed)
    return _spread(matrix, candidates[: BREADTH * k], min(k, n))


def next_to_label(
    model: SensitivityClassifier | None, unlabeled_texts: Sequence[str], k: int, seed: int = 0
) -> list[int]:
    """Which of ``unlabeled_texts`` a reviewer should decide next (indices into it).

    With a model: uncertainty sampling (Lewis & Gale 1994; used in the Glasgow sensitivity-review
    work), made batch-aware: among the 5k items whose score is closest to 0.5, k that differ from
    each other (farthest-first on the TF-IDF, after Brinker 2003 and Zhdanov 2019's diverse
    mini-batches) — ten near-copies of one uncertain kind of item teach little more than one.
    Without a model (no decisions yet, or decisions of one class only, so nothing can be trained):
    the same spread over a seeded random 5k. Both halves count: on the 3,000 synthetic items of
    ``bench/review_corpus.py`` (batches of 10, seeds 0–4, medians, measured while writing this),
    BAC 0.70 took 200 decisions with random sampling, 60 with uncertainty alone, 60 with the spread
    over random candidates alone and 40 with both."""
    if k <= 0 or not unlabeled_texts:
        return []
    if model is None:
        return _pick(_make_vectorizer().fit_transform(unlabeled_texts), None, k, seed)
    vectorizer, _ = model._ready()
    scores = model.predict_proba(unlabeled_texts)
    return _pick(vectorizer.transform(unlabeled_texts), scores, k, seed)


UNCERTAIN_BAND = 0.1  # a score within 0.5 ± this is a call the model is unsure of


@dataclass(frozen=True)
class RoundRecord:
    """What one active-learning round leaves for the stopping rule."""

    labelled: int  # decisions so far
    positives_found: int  # of them sensitive
    stop_set_scores: tuple[float, ...]  # the model's scores on a fixed unlabeled stop set
    estimated_remaining: int  # undecided items the model scores ≥ 0.5 (what reviewers still face)

    @property
    def stop_set_calls(self) -> tuple[bool, ...]:
        return tuple(s >= 0.5 for s in self.stop_set_scores)

    @property
    def uncertain_share(self) -> float:
        scores = self.stop_set_scores
        return sum(abs(s - 0.5) < UNCERTAIN_BAND for s in scores) / len(scores) if scores else 0.0


@dataclass(frozen=True)
class StopDecision:
    stop: bool
    reason: str
    agreement: float | None = None  # the smallest kappa over the window
    uncertain_share: float | None = None
    estimated_remaining: int | None = None

    def __bool__(self) -> bool:
        return self.stop


def round_record(
    model: SensitivityClassifier,
    labels: Sequence[bool],
    stop_set_texts: Sequence[str],
    unlabeled_texts: Sequence[str],
) -> RoundRecord:
    """Measure a round: the model's scores on the stop set (a fixed sample of undecided items, the
    same every round) and how many undecided items it scores ≥ 0.5."""
    return RoundRecord(
        labelled=len(labels),
        positives_found=sum(bool(v) for v in labels),
        stop_set_scores=tuple(model.predict_proba(stop_set_texts)),
        estimated_remaining=sum(p >= 0.5 for p in model.predict_proba(unlabeled_texts)),
    )


def _kappa(a: Sequence[bool], b: Sequence[bool]) -> float:
    """Cohen's kappa of two sets of yes/no calls on the same items (1.0 when both agree fully)."""
    n = len(a)
    if n == 0:
        return 1.0
    agree = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    chance = pa * pb + (1 - pa) * (1 - pb)
    return 1.0 if chance >= 1.0 else (agree - chance) / (1 - chance)


def should_stop(
    history: Sequence[RoundRecord],
    *,
    window: int = 3,
    min_kappa: float = 0.99,
    max_uncertain: float = 0.02,
    min_labelled: int = 50,
    min_positives: int = 10,
) -> StopDecision:
    """Stopping rule: stop asking reviewers for decisions *to train the classifier* (and let its
    ordering run the queue) when all hold:

    1. at least ``min_labelled`` decisions, ``min_positives`` of them sensitive (a model that has
       seen a handful of sensitive items calls everything open, and calls it stably);
    2. *stabilising predictions* (Bloodgood & Vijay-Shanker, CoNLL 2009): over the last ``window``
       pairs of successive rounds, the models' calls on a fixed stop set of undecided items agree
       with Cohen's kappa ≥ ``min_kappa`` — more decisions no longer change what the model says;
    3. *overall uncertainty* (Zhu, Wang & Hovy, COLING 2008): at most ``max_uncertain`` of the stop
       set scores within 0.5 ± 0.1 — the model is no longer unsure about the items it would ask for.

    This follows the Glasgow line of work (McDonald, Macdonald & Ounis, SIGIR 2020, active learning
    stopping strategies for technology-assisted sensitivity review), where the stopping rule decides
    when the classifier's ordering hands over to the reviewers. Recall-targeting TAR rules
    (Cormack & Grossman 2016, Callaghan & Müller-Hansen 2020) stop the *review*; here every item is
    still decided by a person, so the rule only reports ``estimated_remaining`` (undecided items the
    model scores ≥ 0.5) for the archivist to plan with."""
    if not history:
        return StopDecision(False, "no rounds yet")
    last = history[-1]
    remaining, uncertain = last.estimated_remaining, last.uncertain_share
    if last.labelled < min_labelled or last.positives_found < min_positives:
        reason = (
            f"{last.labelled} decisions ({min_labelled} needed), {last.positives_found} sensitive "
            f"({min_positives} needed)"
        )
        return StopDecision(False, reason, None, uncertain, remaining)
    if len(history) < window + 1:
        reason = f"{len(history)} rounds: {window + 1} needed to judge stability"
        return StopDecision(False, reason, None, uncertain, remaining)
    agreement = min(
        _kappa(history[i - 1].stop_set_calls, history[i].stop_set_calls)
        for i in range(len(history) - window, len(history))
    )
    if agreement < min_kappa:
        reason = f"predictions still change (kappa {agreement:.3f} < {min_kappa})"
        return StopDecision(False, reason, agreement, uncertain, remaining)
    if uncertain > max_uncertain:
        reason = f"{uncertain:.1%} of the stop set still uncertain (> {max_uncertain:.0%})"
        return StopDecision(False, reason, agreement, uncertain, remaining)
    reason = f"stable (kappa ≥ {min_kappa}), {uncertain:.1%} uncertain, ~{remaining} sensitive left"
    return StopDecision(True, reason, agreement, uncertain, remaining)


@dataclass
class Simulation:
    """One simulated review: the learning curve (decisions, BAC on the held-out test split) and the
    decisions needed to reach the target BAC (None: not reached with the pool)."""

    strategy: str
    seed: int
    labels_needed: int | None
    curve: list[tuple[int, float]] = field(default_factory=list)
    stopped_at: int | None = None  # where should_stop would have stopped
    bac_at_stop: float | None = None


def simulate(
    texts: Sequence[str],
    labels: Sequence[bool],
    strategy: str = "uncertainty",
    batch: int = 10,
    target_bac: float = 0.70,
    seed: int = 0,
    *,
    test_fraction: float = 0.3,
    max_labels: int | None = None,
    stop_set_size: int = 300,
) -> Simulation:
    """Replay a review on a labelled corpus: each round the strategy picks ``batch`` items of the pool,
    their true labels become decisions, a model is trained and scored on a fixed held-out test split
    (stratified, seeded). ``"uncertainty"`` uses ``next_to_label``'s rules, ``"random"`` a seeded
    random order. The vocabulary and IDF come from the whole pool (the archive has the texts, not
    their decisions); the model and features are those of ``SensitivityClassifier``."""
    if strategy not in ("uncertainty", "random"):
        raise ValueError(f"unknown strategy {strategy!r}: uncertainty | random")
    y_all = np.asarray([bool(v) for v in labels], dtype=bool)
    pool_idx, test_idx = train_test_split(
        np.arange(len(texts)), test_size=test_fraction, stratify=y_all, random_state=seed
    )
    vectorizer = _make_vectorizer().fit([texts[i] for i in pool_idx])
    x_pool = vectorizer.transform([texts[i] for i in pool_idx]).tocsr()
    x_test = vectorizer.transform([texts[i] for i in test_idx])
    y_pool, y_test = y_all[pool_idx], y_all[test_idx]
    rng = random.Random(seed)
    stop_set = rng.sample(range(len(pool_idx)), min(stop_set_size, len(pool_idx) // 3))
    random_order = rng.sample(range(len(pool_idx)), len(pool_idx))
    limit = min(max_labels or len(pool_idx), len(pool_idx))

    labelled: list[int] = []
    taken = np.zeros(len(pool_idx), dtype=bool)
    result = Simulation(strategy, seed, None)
    history: list[RoundRecord] = []
    model: LinearScorer | None = None
    round_no = 0
    while len(labelled) < limit:
        want = min(batch, limit - len(labelled))
        rest = np.flatnonzero(~taken)
        if strategy == "random":
            picks = [i for i in random_order if not taken[i]][:want]
        else:
            scores = None if model is None else model.scores(x_pool[rest]).tolist()
            picks = [int(rest[j]) for j in _pick(x_pool[rest], scores, want, seed + round_no)]
        round_no += 1
        labelled.extend(picks)
        taken[picks] = True
        y_lab = y_pool[labelled]
        if y_lab.all() or not y_lab.any():
            model, bac = None, 0.5  # one class: no model, a constant answer
        else:
            model = LinearScorer.fit(x_pool[labelled], y_lab)
            bac = evaluate(y_test, model.scores(x_test).tolist(), bootstrap=0).balanced_accuracy
            rest = np.flatnonzero(~taken)
            remaining = model.scores(x_pool[rest]) if len(rest) else np.zeros(0)
            history.append(
                RoundRecord(
                    labelled=len(labelled),
                    positives_found=int(y_lab.sum()),
                    stop_set_scores=tuple(model.scores(x_pool[stop_set]).tolist()),
                    estimated_remaining=int((remaining >= 0.5).sum()),
                )
            )
            if result.stopped_at is None and should_stop(history):
                result.stopped_at, result.bac_at_stop = len(labelled), round(bac, 4)
        result.curve.append((len(labelled), round(bac, 4)))
        if result.labels_needed is None and bac >= target_bac:
            result.labels_needed = len(labelled)
        # once the target is reached: random sampling is done; active learning goes on until the
        # stopping rule has spoken (or 4× as far). ``max_labels`` asks for the whole curve.
        needed = result.labels_needed
        if needed is not None and max_labels is None:
            spoken = result.stopped_at is not None or len(labelled) >= 4 * needed
            if strategy == "random" or spoken:
                break
    return result
