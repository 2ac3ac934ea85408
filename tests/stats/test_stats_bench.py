"""Smoke test of `lantai bench stats` on a few thousand records (SQLite, in its own process and
data directory): the JSON carries the report read from the counters, its peer by the plain
aggregate, verify, and both give the same figures. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lantai.cli_bench import bench


def test_bench_stats_runs_and_agrees_with_its_peer(tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    args = ["stats", "--records", "3000", "--databases", "sqlite", "--out", str(out)]
    result = CliRunner().invoke(bench, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert json.loads(out.read_text())["databases"] == data["databases"]
    assert data["saved_to"] == str(out)
    sqlite = data["databases"]["sqlite"]
    assert "error" not in sqlite, sqlite
    assert (sqlite["records"], sqlite["components"]) == (3000, 300)
    assert sqlite["holdings_items"] == 2700  # every tenth record is a volume
    assert sqlite["same_figures"] is True and sqlite["verify"]["drifts"] == 0
    for part in ("report_from_counters", "peer_report_by_plain_aggregate"):
        assert set(sqlite[part]) == {"median_s", "max_s", "runs"}
    assert sqlite["counter_rows"] < 1000
    assert sqlite["trigger_overhead"]["honest_after_repair"] is True
