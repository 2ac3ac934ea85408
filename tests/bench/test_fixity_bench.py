"""Smoke test of `lantai bench fixity` on a few tiny files: it runs end to end, the audit checks
every stored file and finds them intact, and the JSON has the figures the issue asks for. No
timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from lantai.cli import main


def test_fixity_bench_audits_every_file_and_reports_the_comparison(tmp_path: Path) -> None:
    out = tmp_path / "fixity.json"
    result = CliRunner().invoke(
        main, ["bench", "fixity", "--files", "40", "--size-kb", "8", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    saved = json.loads(out.read_text())
    storage = saved["storage"]
    # 40 payload files in 20 packages, each version with its SM3 list (decision 0020)
    assert storage["payload_files"] == 40 and storage["packages"] == 20
    assert storage["files"] == 60 and storage["bytes"] > 40 * 4096
    audit = saved["audit"]
    assert audit["files"] == 60 and audit["bytes"] == storage["bytes"]
    assert audit["problems"] == 0 and audit["repaired"] == 0
    for key in ("seconds", "files_per_s", "mb_per_s"):
        assert audit[key] > 0
    limit = saved["limit"]
    assert {"sha256sum_seconds", "openssl_sm3_seconds", "seconds", "mb_per_s"} <= set(limit)
    assert saved["ratio"] > 0
    estimate = saved["paper_estimate"]
    assert estimate["files"] == 50_000_000
    assert set(estimate["full_pass"]) == {f"{n} machines x 2 cores" for n in (1, 4, 10, 20)}
    assert "openssl" in saved["machine"]["openssl"].lower()
    assert json.loads(result.output)["saved_to"] == str(out)
