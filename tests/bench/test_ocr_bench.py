"""Smoke test of `lantai bench ocr` on two tiny pages: every contender runs in its own process,
the JSON has the figures the issue asks for, and the CER arithmetic is right on known pairs. No
timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ocr_bench.py"


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("ocr_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_levenshtein_and_cer_on_known_pairs(bench: Any) -> None:
    assert bench.levenshtein("kitten", "sitting") == 3
    assert bench.levenshtein("", "档案") == 2 and bench.levenshtein("档案", "") == 2
    assert bench.levenshtein("关于做好档案工作", "关于作好档案的工作") == 2
    # whitespace is ignored, distance over the reference length
    assert bench.cer("关于 做好\n档案", "关于做好档案局") == pytest.approx(1 / 7)
    assert bench.cer("档案", "档案") == 0.0


def test_tiny_run_reports_every_contender(bench: Any, tmp_path: Path) -> None:
    out = tmp_path / "ocr.json"
    result = bench.run(1, out, size=(620, 420))  # a few short lines: seconds per contender
    saved = json.loads(out.read_text())
    assert saved["pages"] == 1 and result["saved_to"] == str(out)
    for name in ("lantai", "naive", "tesseract"):
        c = saved["contenders"][name]
        assert set(c["cer"]) == {"clean", "degraded"}
        assert 0 <= c["cer"]["clean"] <= 1
        assert c["pages_timed"] == 2 and c["pages_per_min_per_core"] > 0 and c["peak_rss_mib"] > 0
        assert c["settings"] and c["engine"]
    assert saved["contenders"]["lantai"]["settings"]["threads"] == 1
    assert saved["contenders"]["lantai"]["cer"]["clean"] <= 0.05  # the small clean page is read
    assert "speedup_per_core_vs_naive" in saved and "meets_target" in saved
