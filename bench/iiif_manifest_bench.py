"""IIIF manifest generation for one open record of N page images (default 1,000), target
≤ 200 ms (issue 18): the service alone (`interop.iiif.find_public_record` + `record_manifest`)
and the whole request through the view (Django's test client: URL routing, rate limit, public
check, JSON encoding), median and p95 of RUNS runs each, with the page sizes cached in
catalog.ImageSize as they are after a record's first manifest.

The cyclic garbage collector's full passes (over Django's whole heap) make the p95: the view is
measured again with the heap frozen after start-up (`gc.freeze()`), `view_gc_frozen`.

Peers, measured in the same run on the same record:
- `json_dumps`: plain `json.dumps` of the same manifest (the floor of any JSON answer of it);
- `header_reads`: reading the N page sizes from the image files' headers with Pillow (what each
  manifest would cost without the ImageSize cache), and `first_manifest_uncached`: one manifest
  with the cache emptied (it measures and stores every size).

    run(out_dir, pages=1000) -> dict   (`lantai bench iiif`; `python bench/iiif_manifest_bench.py`)

The measuring runs in a child process on a fresh SQLite database (bench.common)."""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGET_MS = 200.0
RUNS = 30


def _jpeg(width: int, height: int) -> bytes:
    """A scanned page as archives keep them (JPEG; the size and EXIF are in the header)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (width, height), 230).save(out, "JPEG", quality=80, dpi=(300, 300))
    return out.getvalue()


def _build(pages: int) -> Any:
    from lantai.catalog import services
    from lantai.catalog.components import attach_component

    fonds = services.create_fonds("Z109", "兰州市民政局", creator="兰州市民政局")
    category = services.create_category(fonds, "WS")
    record, issues = services.save_record(
        category,
        {
            "title": "关于婚姻登记工作的通知（一千页卷）", "author": "兰州市民政局",
            "document_number": "兰发〔1985〕1号", "date": "19850301", "year": "1985",
            "retention": "Y", "item_number": "1", "org_code": "BGS", "classification": "公开",
            "open_status": "开放",
        },
    )  # fmt: skip
    assert record is not None, issues
    for n in range(pages):  # distinct files (distinct sizes), as scanned pages are
        data = _jpeg(1000 + n % 97, 1400 + n // 97)
        attach_component(record, [data], f"{record.reference_code}-{n + 1:04d}.jpg", user=None)
    return record


def _p95(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _stats(wall_ms: list[float], cpu_ms: list[float]) -> dict[str, float]:
    """Wall-clock figures, and the CPU time of this process (what the work costs when the
    machine's other processes take the cores away: it is shared, see load_average)."""
    wall, cpu = sorted(wall_ms), sorted(cpu_ms)
    return {
        "median_ms": round(statistics.median(wall), 2),
        "p95_ms": round(_p95(wall), 2),
        "min_ms": round(wall[0], 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(_p95(cpu), 2),
        "runs": len(wall),
    }


def _timed(fn: Any, runs: int) -> tuple[dict[str, float], Any]:
    fn()  # warm (imports, first queries)
    wall, cpu, result = [], [], None
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return _stats(wall, cpu), result


def _measure(pages: int, runs: int) -> dict[str, Any]:
    common.setup_django()
    from django.test import Client
    from django.test.utils import setup_test_environment
    from PIL import Image

    from lantai.catalog import public
    from lantai.catalog.models import ImageSize
    from lantai.interop import iiif

    setup_test_environment()  # the test client's host name is allowed
    started = time.perf_counter()
    record = _build(pages)
    build_s = time.perf_counter() - started
    code, ref = record.repository.code, record.reference_code
    urls = iiif.Urls(iiif="http://testserver/iiif/", public="http://testserver/public/", oai="")
    components = public.public_images([record.pk])[record.pk]

    # the first manifest measures every page from its header and stores the sizes
    ImageSize.objects.all().delete()
    started = time.perf_counter()
    first = iiif.record_manifest(record, urls)
    uncached_ms = (time.perf_counter() - started) * 1000
    assert first is not None and len(first["items"]) == pages

    def service() -> dict[str, Any]:
        found = public.public_record_by_code(code, ref)
        assert found is not None
        doc = iiif.record_manifest(found, urls)
        assert doc is not None
        return doc

    service_stats, manifest = _timed(service, runs)
    client = Client()
    url = f"/iiif/manifest/{iiif._q(code)}/{iiif._q(ref, path=True)}"

    def view() -> int:
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        return len(response.content)

    view_stats, size = _timed(view, runs)
    # the p95 above is the cyclic garbage collector's full passes over the whole heap (Django and
    # all): with the start-up heap frozen (gc.freeze(), as a server worker may do once started)
    # the same requests skip them
    gc.collect()
    gc.freeze()
    frozen_stats, _ = _timed(view, runs)
    gc.unfreeze()
    dumps_stats, _ = _timed(lambda: json.dumps(manifest, ensure_ascii=False), runs)
    paths = [public.stored_path(c) for c in components]

    def headers() -> int:
        total = 0
        for path in paths:
            assert path is not None
            with Image.open(path) as image:
                total += image.size[0]
                image.getexif()
        return total

    header_stats, _ = _timed(headers, max(3, runs // 5))
    return {
        "pages": pages, "canvases": len(manifest["items"]), "build_s": round(build_s, 2),
        "manifest_bytes": size, "service": service_stats, "view": view_stats,
        "view_gc_frozen": frozen_stats,
        "peer_json_dumps": dumps_stats, "peer_header_reads": header_stats,
        "first_manifest_uncached_ms": round(uncached_ms, 2),
    }  # fmt: skip


def run(out_dir: Path | None, *, pages: int = 1000, runs: int = RUNS) -> dict[str, Any]:
    env, data_dir = common.fresh_database("sqlite", f"lantai_bench_iiif_{os.getpid()}")
    env["LANTAI_PUBLIC_CONTENT_RATE"] = "1000000/min"
    try:
        measured = common.run_child(
            Path(__file__), ["--phase", "measure", "--pages", str(pages), "--runs", str(runs)], env
        )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {
        "benchmark": "iiif_manifest", "database": "sqlite", **measured,
        "target_ms": TARGET_MS,
        # the target is for the whole answer (the view): its median wall time; the p95 is
        # reported beside it with the load of the (shared) machine while it ran
        "meets_target": measured["view"]["median_ms"] <= TARGET_MS,
        "p95_within_target": measured["view"]["p95_ms"] <= TARGET_MS,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "peers": {
            "json_dumps": "json.dumps of the same manifest (ensure_ascii=False)",
            "header_reads": "Pillow reads of the page sizes from the files' headers "
            "(the path without the ImageSize cache), warm OS cache",
        },
        "machine": common.machine(),
    }  # fmt: skip
    out_dir = Path(out_dir) if out_dir is not None else common.RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"iiif-manifest-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    result["saved"] = str(path)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["measure"], default=None)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args()
    if args.phase == "measure":
        print(json.dumps(_measure(args.pages, args.runs)))
        return
    print(json.dumps(run(args.out, pages=args.pages, runs=args.runs), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
