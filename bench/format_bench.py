"""`lantai bench formats`: format identification speed and agreement, same files, same run.

Contenders, each over the same files in this one process, one file at a time:
- `lantai` — what the formats stage runs (`lantai.formats.identify`: Siegfried first, fido's fast
  matcher where Siegfried has no sure answer; libmagic included);
- `fido_fast` — fido with Lantai's fast matcher (formats/fido_index.py, decision 0014);
- `fido_plain` — opf-fido's unmodified `Fido` class (the fast matcher's reference);
- `siegfried` — pygfried's default scanner in this process (`pygfried.identify`, newer PRONOM),
  the peer; `siegfried_helper` in ms_per_file: the same through Lantai's helper process.

Files: the format corpus (../shared/corpora/format-corpus) and a generated transfer like
`lantai bench transfer`'s (PDF, JPEG, TIFF, XML). Agreement: PUID per file between fido and
Siegfried, every disagreement listed with both answers and Siegfried's basis or warning.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common

ROOT = Path(__file__).resolve().parents[1]


def _corpus() -> Path:
    here = ROOT.parent / "shared" / "corpora" / "format-corpus"
    if here.is_dir():
        return here
    return Path(os.environ.get("LANTAI_SHARED", "/work/shared")) / "corpora" / "format-corpus"


def _timed(fn: Any, files: list[Path]) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    out = {str(p): fn(p) for p in files}
    return out, time.perf_counter() - start


def run(transfer_files: int, out: Path | None) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import pygfried
    from tests.ingest.test_fido_index import PlainFido, fast

    from lantai.demo.transfer import make_transfer
    from lantai.formats import identify as formats
    from lantai.formats import siegfried as sf

    corpus = sorted(p for p in _corpus().rglob("*") if p.is_file())
    tmp = Path(tempfile.mkdtemp(prefix="lantai-bench-formats-"))
    generated: list[Path] = []
    if transfer_files > 0:
        root = make_transfer(tmp / "t", max(1, transfer_files // 2), files_per_item=2, size_kb=108)
        generated = sorted(p for p in (root / "电子档案").rglob("*") if p.is_file())
    formats.identify(corpus[:1])  # build fido's tables and Siegfried's scanner before timing
    plain = PlainFido()
    scanner = sf.get()
    assert scanner is not None, "pygfried is not installed"

    def siegfried_puid(p: Path) -> str | None:
        try:
            return pygfried.identify(str(p))
        except pygfried.EmptySourceError:
            return None

    def fido_puid(answer: Any) -> str | None:
        return str(answer[1][0][0]) if answer and answer[1] else None

    sets: dict[str, Any] = {}
    for name, files in (("corpus", corpus), ("transfer", generated)):
        if not files:
            continue
        lantai, t_lantai = _timed(lambda p: formats.identify([p])[p], files)
        fido_fast, t_fast = _timed(fast, files)
        fido_plain, t_plain = _timed(plain.identify, files)
        sieg, t_sieg = _timed(scanner.identify, files)
        _, t_sieg_bare = _timed(siegfried_puid, files)
        n = len(files)
        disagree = []
        for p in files:
            k = str(p)
            f, s = fido_puid(fido_fast[k]), sieg[k]
            if f != s.puid:
                disagree.append({
                    "file": os.path.relpath(k, _corpus()) if name == "corpus" else p.name,
                    "fido": f, "fido_method": fido_fast[k][0] if fido_fast[k] else None,
                    "siegfried": s.puid, "siegfried_basis": s.basis[:120],
                    "siegfried_warning": s.warning[:120],
                    "lantai": lantai[k].puid, "lantai_tool": lantai[k].tool,
                })  # fmt: skip
        sets[name] = {
            "files": n,
            "files_per_s": {
                "lantai": round(n / t_lantai, 1),
                "fido_fast": round(n / t_fast, 1),
                "fido_plain": round(n / t_plain, 1),
                "siegfried": round(n / t_sieg_bare, 1),
            },
            "ms_per_file": {
                "lantai": round(1000 * t_lantai / n, 3),
                "fido_fast": round(1000 * t_fast / n, 3),
                "fido_plain": round(1000 * t_plain / n, 3),
                "siegfried": round(1000 * t_sieg_bare / n, 3),
                "siegfried_helper": round(1000 * t_sieg / n, 3),
            },
            "fido_fast_equals_plain": sum(fido_fast[k] == fido_plain[k] for k in fido_fast),
            "fido_siegfried_agree": n - len(disagree),
            "lantai_by_tool": {
                tool: sum(1 for i in lantai.values() if i.tool == tool)
                for tool in ("siegfried", "fido")
            },
            "disagreements": disagree,
        }
    versions = formats.tool_versions()
    result = {
        "benchmark": "formats",
        "peer": f"siegfried {scanner.version} (pygfried {scanner.package_version})",
        "signatures": {
            "fido": f"PRONOM {versions['pronom_signatures']}; {versions['container_signatures']}",
            "siegfried": f"{scanner.pronom} (built {scanner.created})",
        },
        "sets": sets,
        "machine": common.machine(),
    }
    result["saved"] = str(common.save("formats", result, out))
    return result
