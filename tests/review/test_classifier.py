"""The per-archive sensitivity classifier: it learns from decisions, explains with n-grams that are in
the text, refuses a stored model whose SM3 does not match, evaluates with BAC and F2 (hand-computed
here), asks for the decisions that teach it most, knows when to stop, and — simulated on the bench's
synthetic corpus — needs fewer decisions with active learning than with random sampling."""

from __future__ import annotations

import importlib.util
import pickle
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest
import sklearn

from lantai.core.sm3 import sm3_hex
from lantai.review.classifier import (
    ClassifierError,
    RoundRecord,
    SensitivityClassifier,
    cross_validated,
    evaluate,
    next_to_label,
    should_stop,
    simulate,
)

NAMES = [
    "王建国",
    "李秀英",
    "张志强",
    "刘桂兰",
    "陈德福",
    "杨玉梅",
    "黄永庆",
    "赵立新",
    "吴春生",
    "周丽",
]
SENSITIVE = [
    "{n}因贪污罪被判处有期徒刑五年",
    "{n}患精神分裂症住院治疗",
    "{n}与其妻协议离婚",
    "给予{n}开除党籍处分",
]
OPEN = [
    "关于做好秋季征购粮入库工作的通知",
    "全县开展爱国卫生运动的报告",
    "关于调整部分职工工资的批复",
    "县档案馆年度工作总结",
]


def toy() -> tuple[list[str], list[bool]]:
    texts, labels = [], []
    for i, name in enumerate(NAMES):
        for t in SENSITIVE:
            texts.append(t.format(n=name))
            labels.append(True)
        for t in OPEN:
            texts.append(f"{t}（{i + 1}）")
            labels.append(False)
    return texts, labels


@pytest.fixture(scope="module")
def trained() -> SensitivityClassifier:
    return SensitivityClassifier().fit(*toy())


def test_learns_a_separable_set(trained: SensitivityClassifier) -> None:
    unseen_sensitive = ["孙海燕因盗窃罪被判处有期徒刑三年", "马文光患精神分裂症"]
    unseen_open = ["关于做好防汛抗旱工作的通知", "县档案馆工作总结报告"]
    scores = trained.predict_proba(unseen_sensitive + unseen_open)
    assert all(s > 0.5 for s in scores[:2]) and all(s < 0.5 for s in scores[2:]), scores
    assert trained.predict_proba([]) == []


def test_one_class_or_untrained_is_refused() -> None:
    with pytest.raises(ClassifierError) as err:
        SensitivityClassifier().fit(["甲", "乙"], [False, False])
    assert "敏感" in err.value.message_zh and "sensitive" in err.value.message_en
    with pytest.raises(RuntimeError):
        SensitivityClassifier().predict_proba(["甲"])


def test_explain_gives_ngrams_of_the_text_largest_first(trained: SensitivityClassifier) -> None:
    text = "孙海燕因盗窃罪被判处有期徒刑三年"
    reasons = trained.explain(text, top=5)
    assert 1 <= len(reasons) <= 5
    assert all(gram in text for gram, _ in reasons)
    weights = [w for _, w in reasons]
    assert all(w > 0 for w in weights) and weights == sorted(weights, reverse=True)
    assert any(len(gram) > 1 for gram, _ in reasons)  # n-grams, not only characters
    # asked for all: only the n-grams that push towards sensitive, not those that pull away
    everything = trained.explain(text, top=1000)
    assert all(w > 0 for _, w in everything) and len(everything) < 3 * len(text)
    # an item like the open ones has little or nothing pushing it towards sensitive
    open_push = sum(w for _, w in trained.explain("关于做好秋季征购粮入库工作的通知"))
    assert open_push < sum(weights)


def test_version_names_the_training_set_and_sklearn() -> None:
    texts, labels = toy()
    a = SensitivityClassifier().fit(texts, labels)
    b = SensitivityClassifier().fit(list(reversed(texts)), list(reversed(labels)))
    flipped = [not labels[0], *labels[1:]]  # one decision changed, same count
    c = SensitivityClassifier().fit(texts, flipped)
    assert a.version == b.version  # the same decisions in another order
    assert a.version != c.version
    assert f"sklearn-{sklearn.__version__}" in a.version


def test_stored_model_loads_only_with_its_digest(trained: SensitivityClassifier) -> None:
    data = trained.to_bytes()
    digest = sm3_hex(data)
    loaded = SensitivityClassifier.from_bytes(data, digest)
    probe = ["孙海燕因盗窃罪被判处有期徒刑三年", "关于做好防汛抗旱工作的通知"]
    assert loaded.predict_proba(probe) == trained.predict_proba(probe)
    assert loaded.version == trained.version

    with pytest.raises(ClassifierError) as err:
        SensitivityClassifier.from_bytes(data, "0" * 64)
    assert "SM3" in err.value.message_zh and "digest" in err.value.message_en
    # bytes replaced behind the database's back: refused before unpickling
    tampered = pickle.dumps({"format": 1, "sklearn": sklearn.__version__, "evil": True})
    with pytest.raises(ClassifierError):
        SensitivityClassifier.from_bytes(tampered, digest)


def test_a_model_of_another_sklearn_is_refused(trained: SensitivityClassifier) -> None:
    state = pickle.loads(trained.to_bytes())
    state["sklearn"] = "0.24.2"
    old = pickle.dumps(state)
    with pytest.raises(ClassifierError) as err:
        SensitivityClassifier.from_bytes(old, sm3_hex(old))
    assert "0.24.2" in err.value.message_zh and "retrain" in err.value.message_en


def test_evaluate_on_hand_computed_vectors() -> None:
    # TP 2, FN 1 (3 sensitive); FP 2, TN 3 (5 open); 0.5 counts as flagged
    y = [True, True, True, False, False, False, False, False]
    s = [0.9, 0.5, 0.2, 0.7, 0.6, 0.1, 0.3, 0.4]
    e = evaluate(y, s)
    recall, specificity, precision = 2 / 3, 3 / 5, 2 / 4
    assert e.recall == pytest.approx(recall) and e.precision == pytest.approx(precision)
    assert e.balanced_accuracy == pytest.approx((recall + specificity) / 2)  # 0.6333
    assert e.f2 == pytest.approx(5 * precision * recall / (4 * precision + recall))  # 0.625
    assert (e.n, e.positives) == (8, 3)
    assert e.bac_interval[0] <= e.balanced_accuracy <= e.bac_interval[1]
    assert e.f2_interval[0] <= e.f2 <= e.f2_interval[1]
    assert e.bac_interval[1] - e.bac_interval[0] > 0.1  # 8 items: a wide interval
    assert evaluate(y, s, bootstrap=1000, seed=3) == evaluate(y, s, bootstrap=1000, seed=3)
    # a higher threshold: TP 1, FP 1
    high = evaluate(y, s, threshold=0.65)
    assert high.recall == pytest.approx(1 / 3) and high.precision == pytest.approx(1 / 2)
    # a model that opens everything: plain accuracy would be 5/8, BAC says 0.5, F2 0
    lazy = evaluate(y, [0.0] * 8)
    assert lazy.balanced_accuracy == pytest.approx(0.5) and lazy.f2 == 0.0
    assert not hasattr(lazy, "accuracy")


def test_cross_validated_scores_are_held_back() -> None:
    texts, labels = toy()
    scores = cross_validated(texts, labels, folds=5)
    assert len(scores) == len(texts) and all(0.0 <= s <= 1.0 for s in scores)
    assert evaluate(labels, scores).balanced_accuracy >= 0.9
    # a held-back score is not the score of a model that saw the item
    full = SensitivityClassifier().fit(texts, labels).predict_proba(texts)
    assert scores != full
    with pytest.raises(ClassifierError):
        cross_validated(texts[:5], [True] + [False] * 4)  # one sensitive decision cannot be split


def test_next_to_label_without_a_model_is_a_seeded_spread() -> None:
    texts = [f"关于第{i}批档案移交工作的通知" for i in range(30)] + ["判处有期徒刑", "精神分裂症"]
    first = next_to_label(None, texts, 5, seed=1)
    assert first == next_to_label(None, texts, 5, seed=1)
    assert len(set(first)) == 5 and all(0 <= i < len(texts) for i in first)
    assert next_to_label(None, texts, 0) == [] and next_to_label(None, [], 3) == []
    assert sorted(next_to_label(None, texts[:3], 10)) == [0, 1, 2]


def test_next_to_label_asks_for_uncertain_and_different_items(
    trained: SensitivityClassifier,
) -> None:
    confident = [
        "孙海燕因盗窃罪被判处有期徒刑三年", "马文光患精神分裂症", "郑国华与其妻协议离婚",
        "关于做好防汛抗旱工作的通知", "县档案馆工作总结报告", "关于调整部分职工工资的通知",
    ] * 5  # fmt: skip
    ambiguous = [
        "孙海燕同志参加全县工作会议", "县法院审理盗窃案件情况的报告", "关于离婚登记工作的通知",
        "县医院精神科建设的报告", "全县处分决定汇编说明", "王建国同志任县财政局局长",
        "关于有期徒刑执行情况的报告", "李秀英在全县大会上的发言", "精神文明建设工作总结",
        "协议书的管理办法",
    ]  # fmt: skip
    surest = min(abs(p - 0.5) for p in trained.predict_proba(confident))
    assert all(abs(p - 0.5) < surest for p in trained.predict_proba(ambiguous))
    ranked = sorted(ambiguous, key=lambda t: abs(trained.predict_proba([t])[0] - 0.5))
    # the most uncertain one four times: a plain top-k would ask for it three times
    pool = confident + [ranked[0]] * 4 + ranked[1:]
    picked = [pool[i] for i in next_to_label(trained, pool, 3, seed=0)]
    assert picked[0] == ranked[0]
    assert len(set(picked)) == 3
    assert set(picked) <= set(ambiguous)  # none of the items the model is sure about


def _round(labelled: int, positives: int, calls: list[float], remaining: int = 5) -> RoundRecord:
    return RoundRecord(labelled, positives, tuple(calls), remaining)


def test_stopping_rule() -> None:
    stable = [0.9] * 10 + [0.05] * 90
    history = [_round(40 + 10 * i, 12 + i, stable) for i in range(5)]
    decision = should_stop(history)
    assert decision and decision.agreement == pytest.approx(1.0)
    assert decision.estimated_remaining == 5 and "stable" in decision.reason

    # predictions still moving in the window
    moving = [*history[:-1], _round(80, 16, [0.9] * 20 + [0.05] * 80)]
    assert not should_stop(moving) and "kappa" in should_stop(moving).reason
    # too many stop-set items near 0.5
    unsure = [_round(40 + 10 * i, 12 + i, [0.9] * 10 + [0.55] * 5 + [0.05] * 85) for i in range(5)]
    assert not should_stop(unsure) and "uncertain" in should_stop(unsure).reason
    # stable because it calls everything open after a few sensitive decisions: not yet
    blind = [_round(60 + 10 * i, 3, [0.05] * 100) for i in range(5)]
    assert not should_stop(blind) and "sensitive" in should_stop(blind).reason
    # too few rounds or decisions
    assert not should_stop(history[:2]) and not should_stop([])
    assert not should_stop([_round(20, 12, stable)] * 5)


def _bench_corpus() -> Any:
    path = Path(__file__).resolve().parents[2] / "bench" / "review_corpus.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location("review_corpus", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["review_corpus"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_active_learning_needs_fewer_decisions_than_random() -> None:
    """On 600 synthetic items (12% sensitive, reviewers' slips included) active learning reached
    BAC 0.70 before random sampling with each of seeds 0–4 (30/90, 40/80, 30/90, 30/60, 20/140
    decisions when written); three of them are run here."""
    items = _bench_corpus().labelled_items(600, seed=7)
    texts, decisions = [i.text for i in items], [i.decided for i in items]
    needed: dict[str, list[int]] = {"uncertainty": [], "random": []}
    for seed in (0, 1, 2):
        for strategy in needed:
            sim = simulate(texts, decisions, strategy, batch=10, target_bac=0.70, seed=seed)
            assert sim.curve and sim.curve[0][0] == 10
            assert sim.labels_needed is not None
            needed[strategy].append(sim.labels_needed)
    for al, rnd in zip(needed["uncertainty"], needed["random"], strict=True):
        assert al < rnd, needed
    assert statistics.median(needed["uncertainty"]) <= 0.5 * statistics.median(needed["random"])
    with pytest.raises(ValueError):
        simulate(texts, decisions, "greedy")
