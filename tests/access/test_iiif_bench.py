"""Smoke test of bench/iiif_bench.py on a small page: it runs end to end, every tile of the zoom
sequence is answered (cold and cached), the peers answer the same sample, and the JSON holds the
figures the issue asks for. No timing is asserted."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path


def test_iiif_bench_runs_and_reports_the_comparison(tmp_path: Path) -> None:
    path = Path(__file__).resolve().parents[2] / "bench" / "iiif_bench.py"
    spec = importlib.util.spec_from_file_location("iiif_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(tmp_path, megapixels=3, rounds=1)
    saved = json.loads(Path(result["saved"]).read_text())
    assert Path(result["saved"]).parent == tmp_path
    assert saved["page"]["megapixels"] >= 2.9
    assert saved["pyramid"]["levels"] >= 3 and saved["pyramid"]["public_build_s"] > 0
    sequence = saved["sequence"]
    assert sequence["tiles"] == sequence["distinct"] >= 20
    assert len(sequence["by_scale_factor"]) >= 3  # several zoom levels
    for phase in ("cold", "cached"):
        assert saved[phase]["tiles"] == sequence["tiles"] and saved[phase]["bytes"] > 0
    assert saved["cold"]["bytes"] == saved["cached"]["bytes"]  # the same answers, from files
    peers = saved["peers"]
    for peer in ("pillow_crop_encode_per_request", "iiif_reference_pil"):
        assert peers[peer]["tiles"] == peers["sample"] > 0 and peers[peer]["bytes"] > 0
    assert set(saved["targets"]) == {"cold_tiles_per_s", "cached_tiles_per_s"}
    assert isinstance(saved["meets_targets"], bool)
