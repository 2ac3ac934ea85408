"""Smoke test of the `lantai bench av` module on a few seconds of small video: it runs end to
end, both contenders make a copy, Lantai's copy passes its checks, and the JSON has the figures
the issue asks for. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _module() -> Any:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("av_bench", BENCH / "av_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_av_bench_compares_lantai_with_plain_ffmpeg(tmp_path: Path) -> None:
    out = tmp_path / "av.json"
    result = _module().run(0.05, out, size="320x240", threads=1, rounds=1)
    saved = json.loads(out.read_text())
    assert result.pop("saved_to") == str(out)
    assert saved == json.loads(json.dumps(result, ensure_ascii=False))
    assert saved["material"]["seconds"] == 3.0 and saved["material"]["container"] == "MXF"
    assert all(saved["checks"].values()), saved["checks"]
    assert saved["lantai"]["seconds"] > 0 and saved["peer"]["seconds"] > 0
    assert saved["ratio"] == round(saved["peer"]["seconds"] / saved["lantai"]["seconds"], 3)
    assert set(saved["meets_target"]) == {"ratio_ge_0.9", "checks"}
    assert saved["settings"]["threads"] == 1 and "libx264" in saved["lantai"]["command"]
