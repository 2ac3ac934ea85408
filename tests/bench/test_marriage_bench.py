"""Smoke tests of `lantai bench marriage --quick` and `lantai bench certificates --quick`: the JSON
has every target as value/target/met with the detail behind it, and the peers and our method give
the same hits (ID lookup: the same registrations; fuzzy: the same registrations of the exact name;
verification: the same verdicts in Python, in bare SM2 and in the browser). No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SUMMARY_KEYS = {"queries", "p50_ms", "p95_ms", "max_ms", "mean_ms"}


def _load(name: str) -> Any:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def marriage() -> Any:
    return _load("marriage_bench")


def _all_agree(fraction: str) -> bool:
    agreed, total = fraction.split("/")
    return int(total) > 0 and agreed == total


def test_identity_numbers_are_valid_and_unique(marriage: Any) -> None:
    from lantai.standards import personal_ids

    # the low, middle and high digits of the index each move a different part of the number
    indexes = [*range(3000), *range(249_000, 251_000), *range(9_999_000, 10_000_000)]
    existing = {marriage.id_number(i, p) for i in indexes for p in (1, 2)}
    assert len(existing) == 2 * len(indexes)
    missing = {marriage.id_number(i, 1, exists=False) for i in indexes}
    assert not existing & missing
    for number in [*list(existing)[:2000], *list(missing)[:500]]:
        assert personal_ids.id18_problem(number) is None, number
    assert int(marriage.id_number(7, 1)[16]) % 2 == 1  # 男
    assert int(marriage.id_number(7, 2)[16]) % 2 == 0  # 女


def test_quick_marriage_run_same_hits_as_the_peers(marriage: Any, tmp_path: Path) -> None:
    # SQLite only: a PostgreSQL run migrates a fresh database (a minute of the test budget); the
    # same code path is what `lantai bench marriage` measures on PostgreSQL
    databases = ["sqlite"]
    out = tmp_path / "marriage.json"
    result = marriage.run(3000, databases, out, quick=True, queries=30, like_queries=4)
    saved = json.loads(out.read_text())
    assert result["saved_to"] == str(out) and saved["quick"] is True
    assert set(saved["targets"]) == {
        f"{w}_p95_ms_{d}" for w in ("exact", "fuzzy") for d in databases
    }
    for name, t in saved["targets"].items():
        assert set(t) == {"value", "target", "met"} and isinstance(t["met"], bool), name
    assert saved["all_met"] == all(t["met"] for t in saved["targets"].values())
    assert "constant" in saved["population"]["id_sealed"]
    for kind in databases:
        r = saved["databases"][kind]
        assert r["build"]["registrations"] == 3000 and r["build"]["parties"] == 6000
        assert r["build"]["database_mb"] > 0
        exact, fuzzy = r["exact"], r["fuzzy"]
        for s in (exact["ours"], exact["plain_indexed_sql"], exact["like_scan"], fuzzy["ours"],
                  fuzzy["like_scan"]):  # fmt: skip
            assert set(s) == SUMMARY_KEYS
        assert exact["ours"]["queries"] == fuzzy["ours"]["queries"] == 30
        assert exact["like_scan"]["queries"] == fuzzy["like_scan"]["queries"] == 4
        # 90% of the numbers exist; every name was drawn from the population
        assert 0 < exact["queries_with_hits"] < 30
        assert fuzzy["queries_with_hits"] == 30
        assert _all_agree(exact["agreement"]["ours_vs_plain_same_hits"]), kind
        assert _all_agree(exact["agreement"]["ours_vs_like_same_hits"]), kind
        assert _all_agree(fuzzy["agreement"]["exact_name_registrations_same"]), kind
        assert _all_agree(fuzzy["variant_skeleton_guard_raw_sql"]["same_hits_as_ours"]), kind


def test_quick_certificate_run_same_verdicts_everywhere(tmp_path: Path) -> None:
    bench = _load("certificate_bench")
    out = tmp_path / "certificates.json"
    result = bench.run(out, quick=True, issues=1, verifies=3, pdf_verifies=1, browser=2)
    saved = json.loads(out.read_text())
    assert result["saved_to"] == str(out)
    assert set(saved["targets"]) == {"issue_p95_ms", "verify_payload_p95_ms", "verify_pdf_p95_ms",
                                     "browser_p95_ms"}  # fmt: skip
    for name, t in saved["targets"].items():
        assert set(t) == {"value", "target", "met"} and isinstance(t["met"], bool), name
    # the largest realistic payload: 4 records, two 4-character names
    payload = saved["payload"]
    assert payload["records"] == 4
    assert [len(n) for n in payload["party_names"]] == [4, 4]
    assert len(payload["payload_names"]) == 2
    assert 1 <= saved["qr_version"] == payload["qr_version"] <= 12
    assert saved["certificates_issued"] == 2  # the cold one and the measured one
    assert saved["issue"]["ours"]["n"] == 1 and saved["issue"]["peer_weasyprint_alone"]["n"] == 2
    # Python, bare SM2, the PDF path and the browser all accept every genuine certificate
    assert saved["verify_payload"]["verdicts"] == {"valid": 3}
    assert _all_agree(saved["verify_payload"]["peer_bare_sm2"]["valid"])
    assert saved["verify_pdf"]["verdicts"] == {"valid": 1}
    browser = saved["browser"]
    if "skipped" in browser:
        pytest.skip(browser["skipped"])
    assert browser["verdicts"] == {"valid": 3}  # the first call and the two timed ones
