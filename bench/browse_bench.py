"""`lantai bench browse`: list pages of a fonds holding ROWS records must render in < 200 ms.

Loads ROWS generated records into one fonds (through the real import), then times full page renders
through Django's test client as a signed-in archivist: the first page, pages deep in the list
(keyset cursor), a year page and a title-filter page. The peer is the classic OFFSET + COUNT(*)
pagination (Django's Paginator) fetching the same middle page, compared query against query.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
import import_bench  # noqa: E402

REPEAT = 15
LIMIT_MS = 200


def _timed(fn: Any) -> dict[str, float]:
    times = []
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "max_ms": round(times[-1], 1),
    }


def phase(path: Path) -> dict[str, Any]:
    from django.core.paginator import Paginator
    from django.test import Client
    from django.urls import reverse

    from lantai.catalog.importing import import_file
    from lantai.catalog.models import Record
    from lantai.core import accounts

    category = import_bench._category()
    started = time.perf_counter()
    loaded = import_file(path, category).rows_imported
    load_s = time.perf_counter() - started
    accounts.create_user(
        "bench", role="cataloguer", password="Bench@2024pass", scope_all=True, clearance=4
    )
    client = Client()
    client.login(username="bench", password="Bench@2024pass")
    url = reverse("web:records", args=[category.pk])
    codes = list(
        Record.objects.filter(category=category)
        .order_by("reference_code", "pk")
        .values_list("reference_code", "pk")[loaded // 2 : loaded // 2 + 1]
    )
    deep_code, deep_id = codes[0]
    year = Record.objects.filter(category=category).values_list("year", flat=True).first()

    def get(params: dict[str, Any]) -> None:
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code

    pages = {
        "first_page": _timed(lambda: get({})),
        "middle_page_keyset": _timed(lambda: get({"after_code": deep_code, "after_id": deep_id})),
        "year_page": _timed(lambda: get({"year": year})),
        "title_filter_page": _timed(lambda: get({"title": "通知"})),
    }
    from lantai.catalog import services
    from lantai.core.models import User

    user = User.objects.get(username="bench")
    qs = services.visible_records(user).filter(category=category).order_by("reference_code", "pk")
    # The same middle page as a query alone: keyset (ours) against OFFSET + COUNT(*) (the peer).
    peer = {
        "keyset_middle_page_query": _timed(
            lambda: services.browse(user, category=category, after=(deep_code, deep_id))
        ),
        "offset_count_middle_page_query": _timed(
            lambda: list(Paginator(qs, 50).page(loaded // 100).object_list)
        ),
    }
    worst = max(p["p95_ms"] for p in pages.values())
    return {
        "rows": loaded,
        "load_seconds": round(load_s, 1),
        "pages": pages,
        "peer": peer,
        "worst_p95_ms": worst,
        "meets_target": worst < LIMIT_MS,
    }


def run(rows: int, databases: list[str], out: Path | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="lantai-bench-browse-"))
    path = work / "catalogue.csv"
    import_bench.generate_csv(path, rows)
    result: dict[str, Any] = {
        "benchmark": "browse list pages",
        "target_ms": LIMIT_MS,
        "rows": rows,
        "machine": common.machine(),
        "databases": {},
    }
    for kind in databases:
        env, _ = common.fresh_database(kind, "lantai_bench_browse")
        try:
            result["databases"][kind] = common.run_child(
                Path(__file__).resolve(), ["--phase", "--csv", str(path)], env
            )
        finally:
            common.drop_database(kind, "lantai_bench_browse")
    path.unlink()
    result["saved_to"] = str(common.save("browse", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", action="store_true")
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if args.phase:
        common.setup_django()
        print(json.dumps(phase(args.csv)))
    else:
        print(json.dumps(run(args.rows, args.databases.split(",")), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
