"""Shared helpers of the transfer-reader tests (no Django: see tests/standards/conftest.py)."""

from __future__ import annotations

from pathlib import Path

from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer.package import Package


def failed(pkg: Package, content_code: str | None = None) -> list[CheckResult]:
    return [
        r
        for r in pkg.results
        if r.status == "fail" and (content_code is None or r.content_code == content_code)
    ]


def read_only_snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Path -> (size, mtime_ns) of every file, to prove a reader modified nothing."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
