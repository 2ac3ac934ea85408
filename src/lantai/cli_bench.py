"""`lantai bench …`: the benchmarks. Each lives in the checkout's bench/ folder, prints and saves
JSON (bench/results/) and measures a named peer or limit in the same run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import click

from lantai.cli_common import EXIT_UNREADABLE, JsonCommand, echo_json, fail


def _bench_module(name: str) -> Any:
    """Benchmarks live in the checkout's bench/ folder (not in the installed package)."""
    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    if not path.exists():
        fail(
            f"找不到基准测试 {path}：请在源码目录中运行 (run from a source checkout)",
            EXIT_UNREADABLE,
            True,
        )
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@click.group()
def bench() -> None:
    """Benchmarks: each prints and saves JSON (bench/results/)."""


@bench.command("import", cls=JsonCommand)
@click.option("--rows", default=1_000_000, show_default=True)
@click.option("--databases", default="sqlite,postgresql", show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_import(rows: int, databases: str, out: Path | None) -> None:
    """Catalogue import rows/s versus plain Django bulk_create of the same rows."""
    echo_json(_bench_module("import_bench").run(rows, databases.split(","), out))


@bench.command("browse", cls=JsonCommand)
@click.option("--rows", default=1_000_000, show_default=True)
@click.option("--databases", default="sqlite,postgresql", show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_browse(rows: int, databases: str, out: Path | None) -> None:
    """List-page render time on a fonds with ROWS records (target < 200 ms)."""
    echo_json(_bench_module("browse_bench").run(rows, databases.split(","), out))


@bench.command("transfer", cls=JsonCommand)
@click.option("--files", default=10_000, show_default=True)
@click.option("--size-kb", default=108, show_default=True, help="Size of each content file.")
@click.option("--files-per-item", default=2, show_default=True)
@click.option("--processes", default=2, show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_transfer(
    files: int, size_kb: int, files_per_item: int, processes: int, out: Path | None
) -> None:
    """The whole 移交与接收 check of a generated transfer (target ≤ 60 s for 10,000 files, ~1 GB)."""
    echo_json(_bench_module("transfer_bench").run(files, size_kb, files_per_item, processes, out))


@bench.command("fixity", cls=JsonCommand)
@click.option("--files", default=10_000, show_default=True)
@click.option("--size-kb", default=200, show_default=True, help="Mean size of each stored file.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_fixity(files: int, size_kb: int, out: Path | None) -> None:
    """Fixity audit of FILES stored files vs sha256sum ‖ openssl sm3 (target ≥ 0.8, memory flat)."""
    echo_json(_bench_module("fixity_bench").run(files, size_kb, out))


@bench.command("search", cls=JsonCommand)
@click.option("--records", default=1_000_000, show_default=True)
@click.option("--fulltext", default=200_000, show_default=True, help="Records with full text.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
@click.option(
    "--contenders",
    default="tantivy,postgresql,sqlite_fts5_trigram,postgresql_pg_trgm",
    show_default=True,
    help="Comma-separated: which engines to measure.",
)
@click.option("--no-wrk", is_flag=True, help="Leave out the HTTP run (wrk) on the public page.")
def bench_search(
    records: int, fulltext: int, out: Path | None, contenders: str, no_wrk: bool
) -> None:
    """Search p95 and indexing rate, tantivy and PostgreSQL vs SQLite FTS5 trigram and pg_trgm."""
    names = tuple(c.strip() for c in contenders.split(",") if c.strip())
    module = _bench_module("search_bench")
    unknown = [c for c in names if c not in module.CONTENDERS]
    if unknown or not names:
        choices = ", ".join(module.CONTENDERS)
        raise click.BadParameter(
            f"unknown {unknown}: choose from {choices}", param_hint="--contenders"
        )
    echo_json(module.run(records, fulltext, out, contenders=names, wrk=not no_wrk))


@bench.command("ocr", cls=JsonCommand)
@click.option(
    "--pages", type=int, default=10, show_default=True, help="A4 pages (each clean and degraded)."
)
@click.option("--ablation", is_flag=True, help="Also undo each optimisation in turn.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_ocr(pages: int, ablation: bool, out: Path | None) -> None:
    """OCR CER and pages/min/core: Lantai vs a naive rapidocr loop vs Tesseract chi_sim."""
    echo_json(_bench_module("ocr_bench").run(pages, out, ablation=ablation))


@bench.command("review", cls=JsonCommand)
@click.option(
    "--quick", is_flag=True, help="Small inputs (seconds): for the tests, not the targets."
)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_review(quick: bool, as_json: bool, out: Path | None) -> None:
    """Open review: ID recall/precision, pattern and NER chars/s vs peers, privacy recall, AL vs
    random sampling, no network."""
    echo_json(_bench_module("review_bench").run(out, quick=quick))


@bench.command("marriage", cls=JsonCommand)
@click.option(
    "--records", default=None, type=int, help="Synthetic registrations (default 10,000,000)."
)
@click.option("--database", "databases", multiple=True, type=click.Choice(["sqlite", "postgresql"]),
              help="Which databases (default: both).")  # fmt: skip
@click.option(
    "--quick", is_flag=True, help="Small inputs (seconds): for the tests, not the targets."
)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_marriage(
    records: int | None, databases: tuple[str, ...], quick: bool, as_json: bool, out: Path | None
) -> None:
    """Marriage records: exact ID lookup and fuzzy name + year p50/p95 vs an indexed plain SQL
    query and a LIKE scan, on SQLite and PostgreSQL."""
    module = _bench_module("marriage_bench")
    echo_json(module.run(records, databases or module.DATABASES, out, quick=quick))


@bench.command("certificates", cls=JsonCommand)
@click.option(
    "--quick", is_flag=True, help="Small inputs (seconds): for the tests, not the targets."
)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_certificates(quick: bool, as_json: bool, out: Path | None) -> None:
    """Certificates: issuance (PDF/A + PAdES + QR) p95, offline verification p95 in Python and in
    Chromium, the QR version of the largest payload."""
    echo_json(_bench_module("certificate_bench").run(out, quick=quick))


@bench.command("oai", cls=JsonCommand)
@click.option("--records", default=100000, show_default=True)
@click.option("--database", "kind", type=click.Choice(["sqlite", "postgresql"]), default="sqlite")
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_oai(records: int, kind: str, as_json: bool, out: Path | None) -> None:
    """OAI-PMH: a whole ListRecords harvest of N open records, records/s, by our harvester and by
    sickle on the same feed (target ≥ 5,000/s)."""
    echo_json(_bench_module("oai_bench").run(records, kind, out))


@bench.command("platform", cls=JsonCommand)
@click.option("--database", "databases", multiple=True, type=click.Choice(["sqlite", "postgresql"]),
              help="Which databases (default: both).")  # fmt: skip
@click.option(
    "--quick", is_flag=True, help="Small inputs (seconds): for the tests, not the targets."
)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_platform(
    databases: tuple[str, ...], quick: bool, as_json: bool, out: Path | None
) -> None:
    """Platform messages: signing and logging per second, a signed round trip p95 on loopback,
    the marriage index harvest per second."""
    module = _bench_module("platform_bench")
    echo_json(module.run(databases or module.DATABASES, out, quick=quick))


@bench.command("av", cls=JsonCommand)
@click.option("--minutes", default=10.0, show_default=True, help="Length of the generated master.")
@click.option("--size", default="1280x720", show_default=True)
@click.option("--threads", default=None, type=int, help="ffmpeg threads (default: all cores).")
@click.option("--rounds", default=2, show_default=True)
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_av(minutes: float, size: str, threads: int | None, rounds: int, out: Path | None) -> None:
    """Access copy of a recording vs the plain ffmpeg command doing the same encode (≥ 0.9×)."""
    module = _bench_module("av_bench")
    echo_json(module.run(minutes, out, size=size, threads=threads, rounds=rounds))


@bench.command("iiif", cls=JsonCommand)
@click.option("--megapixels", default=100, show_default=True, help="Size of the page image.")
@click.option("--pages", default=1000, show_default=True, help="Pages of the manifest's record.")
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_iiif(megapixels: int, pages: int, as_json: bool, out: Path | None) -> None:
    """IIIF: tiles/s cached and cold from a 100-megapixel page vs Pillow crop-and-encode and the
    `iiif` reference implementation (targets ≥ 200 and ≥ 20); a 1,000-page manifest (≤ 200 ms)."""
    folder = out or Path("bench/results")
    tiles = _bench_module("iiif_bench").run(folder, megapixels=megapixels)
    manifest = _bench_module("iiif_manifest_bench").run(folder, pages=pages)
    echo_json({"tiles": tiles, "manifest": manifest})


@bench.command("exhibition", cls=JsonCommand)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_exhibition(as_json: bool, out: Path | None) -> None:
    """An exhibition page with 50 images: first paint in Chromium on loopback, cold and warm, vs
    a static page with the same images (target ≤ 1 s)."""
    echo_json(_bench_module("exhibition_bench").run(out or Path("bench/results")))


@bench.command("stats", cls=JsonCommand)
@click.option("--records", default=100_000, show_default=True,
              help="Catalogue records to build (the target is 10,000,000).")  # fmt: skip
@click.option("--databases", default="sqlite,postgresql", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_stats(records: int, databases: str, as_json: bool, out: Path | None) -> None:
    """Annual statistics report on RECORDS records from the trigger-kept counters vs the plain
    aggregate queries (target ≤ 10 s for 10,000,000)."""
    echo_json(_bench_module("stats_bench").run(records, databases.split(","), out))


@bench.command("formats", cls=JsonCommand)
@click.option("--transfer-files", default=600, show_default=True,
              help="Files of a generated transfer beside the format corpus (0: corpus only).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Accepted: the output is always JSON.")
@click.option("--out", default=None, type=click.Path(path_type=Path))
def bench_formats(transfer_files: int, as_json: bool, out: Path | None) -> None:
    """Format identification files/s and PUID agreement: Lantai, fido (fast, plain) and
    Siegfried (pygfried) over the same files in one run."""
    echo_json(_bench_module("format_bench").run(transfer_files, out))
