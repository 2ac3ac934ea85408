"""`lantai bench import`: catalogue import rows/s against plain Django bulk_create of the same rows.

The target (issue 2): ≥ 20,000 rows/s with every validation on (档号 rule, DA/T 46 profile, duplicates)
and the audit entry written, on SQLite and on PostgreSQL, i.e. at least as fast as the peer:
`Record.objects.bulk_create` of the same CSV rows, batches of 2,000 in one transaction, no
validation at all. Each phase runs in its own process on a fresh database, so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FONDS, CATEGORY = "Z109", "WS"


def generate_csv(path: Path, rows: int, seed: int = 7) -> float:
    from lantai.demo.generator import category_rows, write_csv

    started = time.perf_counter()
    write_csv(path, category_rows(rows, seed, fonds_code=FONDS, category=CATEGORY))
    return time.perf_counter() - started


def _category() -> Any:
    from lantai.catalog import services

    fonds = services.create_fonds(FONDS, "岭南省人民政府办公厅")
    return services.create_category(fonds, CATEGORY)


def phase_ours(path: Path) -> dict[str, Any]:
    from lantai.catalog.importing import import_file

    category = _category()
    samples: list[float] = []
    started = time.perf_counter()
    result = import_file(
        path,
        category,
        progress=lambda n: samples.append(common.rss_mib()) if n % 100_000 < 2000 else None,
    )
    seconds = time.perf_counter() - started
    return {
        "rows": result.rows_total,
        "imported": result.rows_imported,
        "rejected": result.rows_rejected,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.rows_total / seconds),
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
        "rss_samples_mib": [round(s, 1) for s in samples],
    }


def phase_peer(path: Path) -> dict[str, Any]:
    """Plain bulk_create: the CSV's values straight into model instances, nothing checked."""
    from datetime import date

    from django.db import transaction

    from lantai.catalog.models import Record

    category = _category()
    fonds = category.fonds
    started = time.perf_counter()
    n = 0
    with transaction.atomic(), path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        ix = {h: i for i, h in enumerate(header)}
        batch: list[Record] = []
        for row in reader:
            d = row[ix["日期"]]
            batch.append(
                Record(
                    repository_id=fonds.repository_id,
                    fonds=fonds,
                    category=category,
                    reference_code=row[ix["档号"]],
                    sequence_prefix="",
                    title=row[ix["题名"]],
                    author=row[ix["责任者"]],
                    document_number=row[ix["文号"]],
                    date=date.fromisoformat(d) if d else None,
                    year=int(row[ix["年度"]]),
                    retention=row[ix["保管期限"]],
                    classification=row[ix["密级"]],
                    pages=int(row[ix["页数"]] or 0),
                    remarks=row[ix["备注"]],
                    org_code=row[ix["机构（问题）"]],
                )  # fmt: skip
            )
            if len(batch) == 2000:
                Record.objects.bulk_create(batch)
                n += len(batch)
                batch = []
        Record.objects.bulk_create(batch)
        n += len(batch)
    seconds = time.perf_counter() - started
    return {
        "rows": n,
        "seconds": round(seconds, 2),
        "rows_per_s": round(n / seconds),
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
    }


def run(rows: int, databases: list[str], out: Path | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="lantai-bench-import-"))
    path = work / "catalogue.csv"
    gen_seconds = generate_csv(path, rows)
    result: dict[str, Any] = {
        "benchmark": "catalogue import",
        "target": "rows_per_s >= 20000 and >= peer (plain Django bulk_create, no validation)",
        "rows": rows,
        "csv_bytes": path.stat().st_size,
        "csv_generation_seconds": round(gen_seconds, 1),
        "machine": common.machine(),
        "databases": {},
    }
    script = Path(__file__).resolve()
    for kind in databases:
        entry: dict[str, Any] = {}
        for phase in ("ours", "peer"):
            name = f"lantai_bench_{phase}"
            env, _ = common.fresh_database(kind, name)
            try:
                entry[phase] = common.run_child(script, ["--phase", phase, "--csv", str(path)], env)
            finally:
                common.drop_database(kind, name)
        entry["ratio_to_peer"] = round(entry["ours"]["rows_per_s"] / entry["peer"]["rows_per_s"], 2)
        entry["meets_target"] = (
            entry["ours"]["rows_per_s"] >= 20000 and entry["ratio_to_peer"] >= 1.0
        )
        result["databases"][kind] = entry
    path.unlink()
    result["saved_to"] = str(common.save("import", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["ours", "peer"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.phase:
        common.setup_django()
        out = phase_ours(args.csv) if args.phase == "ours" else phase_peer(args.csv)
        print(json.dumps(out))
    else:
        print(json.dumps(run(args.rows, args.databases.split(",")), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
