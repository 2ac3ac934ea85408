"""`lantai bench iiif`: IIIF Image API tile serving from one large page (issue 18, "Performance").

    run(out_dir, megapixels=100) -> dict   (`python bench/iiif_bench.py --megapixels N --out DIR`)

In a child process on a fresh data directory (SQLite, migrated) it makes a scanned-page-like image
of MEGAPIXELS (paper tone and grain, lines of Chinese text, a red seal; JPEG q 90, A-series
aspect), stores it as the page image of an open record, and measures:
  pyramid_build_s    the public pyramid (watermark drawn over the full page, then the tiled
                     pyramidal TIFF, 512 px JPEG tiles) and the staff pyramid (no watermark).
  cold_tiles_per_s   a zoom sequence of ≥ 200 distinct 512 px tiles at several levels, as a
                     viewer asks for them (whole page, then three points zoomed into down to full
                     resolution), pyramid built and the answer cache empty. Target ≥ 20/s.
  cached_tiles_per_s the same tiles again (answered from files). Target ≥ 200/s.
Requests go through django.test.Client in the same process: the whole middleware stack, URL
routing, the per-request public access check and the rate limiter (set high), no network.
Peers on a sample of the same requests (every k-th tile, each level represented): a plain
Pillow crop-and-encode per request from the stored source (JPEG draft decoding for reduced
sizes, no watermark) and the `iiif` reference implementation from PyPI
(iiif.manipulator_pil.IIIFManipulatorPIL, Image API 3.0 requests). Each figure is the best of
ROUNDS rounds, with the median beside it and the load average of the machine (it is shared).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

TARGETS = {"cold_tiles_per_s": 20.0, "cached_tiles_per_s": 200.0}
TILE = 512
VIEWPORT = (1920, 1080)  # a desktop viewer's canvas in screen pixels
PEER_SAMPLE = 16


def make_page(path: Path, megapixels: int) -> tuple[int, int]:
    """A scanned-page-like JPEG of about `megapixels` million pixels (width:height = 1:√2)."""
    import numpy as np
    from PIL import Image, ImageDraw

    from lantai.access import derivatives

    width = int(math.sqrt(megapixels * 1e6 / math.sqrt(2)))
    height = int(width * math.sqrt(2))
    rng = np.random.default_rng(18)
    grain = rng.integers(0, 12, size=(height, width), dtype=np.uint8)
    tone = np.linspace(0, 14, height, dtype=np.float32)[:, None].astype(np.uint8)
    base = np.stack([230 - grain - tone, 222 - grain - tone, 200 - grain], axis=2)
    image = Image.fromarray(base, "RGB")
    del base, grain
    draw = ImageDraw.Draw(image)
    size = max(16, width // 90)
    face = derivatives.font(size)
    line = "兰州市民政局关于婚姻登记工作的通知各县区民政局根据有关规定现将一九八五年婚姻登记统计"
    margin, step = width // 12, int(size * 1.8)
    for n, y in enumerate(range(margin, height - margin, step)):
        text = (line[n % 7 :] + line) * 2
        draw.text((margin, y), text[: (width - 2 * margin) // size], font=face, fill=(30, 28, 26))
    seal = width // 6
    draw.ellipse((width - 2 * seal, height - 2 * seal, width - seal // 2, height - seal // 2),
                 outline=(190, 30, 30), width=max(4, seal // 20))  # fmt: skip
    image.save(path, "JPEG", quality=90)
    return width, height


def zoom_sequence(width: int, height: int, factors: list[int]) -> list[tuple[str, str, int]]:
    """(region, size, scale factor) of the tiles a viewer fetches: the whole page at the level
    that fits the viewport, then, for three points of interest (text at the top left, the middle,
    the seal at the foot and three more), a viewport's worth of tiles at each level down to full resolution."""
    points = [(0.25, 0.2), (0.5, 0.5), (0.8, 0.85), (0.3, 0.6), (0.7, 0.3), (0.2, 0.9)]
    seen: dict[tuple[int, int, int], None] = {}
    for factor in reversed(factors):  # coarse to fine
        span_x, span_y = VIEWPORT[0] * factor, VIEWPORT[1] * factor
        step = TILE * factor
        for fx, fy in points:
            cx, cy = fx * width, fy * height
            x0, x1 = max(0, cx - span_x / 2), min(width, cx + span_x / 2)
            y0, y1 = max(0, cy - span_y / 2), min(height, cy + span_y / 2)
            for ty in range(int(y0 // step), int(math.ceil(y1 / step))):
                for tx in range(int(x0 // step), int(math.ceil(x1 / step))):
                    seen[(factor, tx, ty)] = None
    tiles = []
    for factor, tx, ty in seen:
        step = TILE * factor
        x, y = tx * step, ty * step
        w, h = min(step, width - x), min(step, height - y)
        size = f"{math.ceil(w / factor)},{math.ceil(h / factor)}"
        tiles.append((f"{x},{y},{w},{h}", size, factor))
    return tiles


def _record_with_page(source: Path) -> Any:
    from lantai.catalog import services
    from lantai.catalog.components import attach_component

    fonds = services.create_fonds("Z118", "兰州市民政局", creator="兰州市民政局")
    category = services.create_category(fonds, "WS")
    record, issues = services.save_record(
        category,
        {"title": "关于婚姻登记工作的通知", "author": "兰州市民政局", "date": "19850301",
         "year": "1985", "retention": "Y", "item_number": "1", "org_code": "BGS",
         "classification": "公开", "open_status": "开放"},
    )  # fmt: skip
    assert record is not None, issues
    with source.open("rb") as handle:
        chunks = iter(lambda: handle.read(1 << 20), b"")
        return attach_component(record, chunks, "page-0001.jpg", user=None)


def _timed_requests(client: Any, urls: list[str]) -> dict[str, Any]:
    started = time.perf_counter()
    sizes = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.content[:200]!r}")
        sizes += sum(len(part) for part in response.streaming_content)
    seconds = time.perf_counter() - started
    return {"tiles": len(urls), "seconds": round(seconds, 3),
            "tiles_per_s": round(len(urls) / seconds, 1), "bytes": sizes}  # fmt: skip


def _pillow_tile(source: Path, region: str, size: str) -> bytes:
    """The plain peer: open the stored page, crop, resize, encode, per request."""
    import io

    from PIL import Image

    x, y, w, h = (int(v) for v in region.split(","))
    out_w, out_h = (int(v) for v in size.split(","))
    with Image.open(source) as image:
        scale = max(1, min(w // out_w, h // out_h))
        image.draft("RGB", (image.width // scale, image.height // scale))  # JPEG: decode smaller
        ratio = image.width / _pillow_tile.full_width  # type: ignore[attr-defined]
        box = (x * ratio, y * ratio, (x + w) * ratio, (y + h) * ratio)
        tile = image.crop(tuple(round(v) for v in box)).resize((out_w, out_h))
        out = io.BytesIO()
        tile.save(out, "JPEG", quality=85)
        return out.getvalue()


def _reference_tile(source: Path, region: str, size: str, work: Path) -> bytes:
    """The `iiif` package's reference implementation (Pillow inside), Image API 3.0."""
    from iiif.manipulator_pil import IIIFManipulatorPIL
    from iiif.request import IIIFRequest

    request = IIIFRequest(api_version="3.0")
    request.split_url(f"page/{region}/{size}/0/default.jpg")
    request.parse_parameters()
    manipulator = IIIFManipulatorPIL(api_version="3.0")
    out = work / "reference.jpg"
    manipulator.derive(srcfile=str(source), request=request, outfile=str(out))
    return out.read_bytes()


def _peer(fn: Any, sample: list[tuple[str, str, int]], *args: Any) -> dict[str, Any]:
    started = time.perf_counter()
    size = sum(len(fn(*args[:1], region, tile_size, *args[1:])) for region, tile_size, _ in sample)
    seconds = time.perf_counter() - started
    return {"tiles": len(sample), "seconds": round(seconds, 3),
            "tiles_per_s": round(len(sample) / seconds, 2), "bytes": size}  # fmt: skip


def _make(source: Path, megapixels: int) -> dict[str, Any]:
    started = time.perf_counter()
    width, height = make_page(source, megapixels)
    return {"width": width, "height": height, "make_s": round(time.perf_counter() - started, 2)}


def _median(runs: list[dict[str, Any]]) -> float:
    ordered = sorted(r["tiles_per_s"] for r in runs)
    return float(ordered[len(ordered) // 2])


def _measure(source: Path, width: int, height: int, rounds: int) -> dict[str, Any]:
    common.setup_django()
    from django.conf import settings
    from django.test import Client
    from PIL import Image

    from lantai.access import delivery, iiif
    from lantai.standards import iiif_image

    work = source.parent
    rss_start = common.peak_rss_mib()
    component = _record_with_page(source)
    stored = iiif.stored_path(component)
    assert stored is not None

    stamp = delivery.watermark_text(component)
    public = iiif.pyramid_path(component, stamp, "public")
    started = time.perf_counter()
    iiif.build_pyramid(stored, stamp, public)
    public_s = time.perf_counter() - started
    rss_after_build = common.peak_rss_mib()
    started = time.perf_counter()
    iiif.build_pyramid(stored, "", iiif.pyramid_path(component, "", "staff"))
    staff_s = time.perf_counter() - started

    full_w, full_h = iiif.pyramid_size(public)  # the page with its watermark band
    factors = iiif_image.scale_factors(full_w, full_h, TILE)
    tiles = zoom_sequence(full_w, full_h, factors)
    urls = [f"/iiif/3/c{component.pk}/{region}/{size}/0/default.jpg" for region, size, _ in tiles]
    answers = Path(settings.DATA_DIR) / "delivery" / "iiif"
    client = Client()
    client.get(f"/iiif/3/c{component.pk}/info.json")  # a running server: code loaded, warm
    cold_runs, cached_runs = [], []
    for _ in range(rounds):  # each round: the answer cache emptied, then the tiles twice
        shutil.rmtree(answers, ignore_errors=True)
        cold_runs.append(_timed_requests(client, urls))
        cached_runs.append(_timed_requests(client, urls))

    Image.MAX_IMAGE_PIXELS = None  # the peers read the 100 MP source as it is
    _pillow_tile.full_width = width  # type: ignore[attr-defined]
    step = max(1, len(tiles) // PEER_SAMPLE)
    sample = tiles[::step][:PEER_SAMPLE]
    sample_urls = [f"/iiif/3/c{component.pk}/{r}/{s}/0/default.jpg" for r, s, _ in sample]
    # peers read the unwatermarked page: cut their regions to it (the band is ours alone)
    peer_sample = []
    for region, _, factor in sample:
        x, y, w, h = (int(v) for v in region.split(","))
        if y < height:
            h = min(h, height - y)
            size = f"{math.ceil(w / factor)},{math.ceil(h / factor)}"
            peer_sample.append((f"{x},{y},{w},{h}", size, factor))
    pillow = _peer(_pillow_tile, peer_sample, stored)
    reference = _peer(_reference_tile, peer_sample, stored, work)
    shutil.rmtree(Path(settings.DATA_DIR) / "delivery" / "iiif", ignore_errors=True)
    ours_sample = _timed_requests(client, sample_urls)

    levels: dict[str, int] = {}
    for _, _, factor in tiles:
        levels[str(factor)] = levels.get(str(factor), 0) + 1
    return {
        "page": {"width": width, "height": height, "megapixels": round(width * height / 1e6, 1),
                 "source": "JPEG q90", "source_bytes": stored.stat().st_size},
        "pyramid": {"public_build_s": round(public_s, 2), "staff_build_s": round(staff_s, 2),
                    "public_bytes": public.stat().st_size, "levels": len(factors),
                    "served_size": [full_w, full_h],
                    "peak_rss_mib_before_build": round(rss_start, 1),
                    "peak_rss_mib_after_public_build": round(rss_after_build, 1)},
        "sequence": {"tiles": len(tiles), "distinct": len(set(urls)), "by_scale_factor": levels},
        "rounds": rounds,
        "cold": max(cold_runs, key=lambda r: r["tiles_per_s"]),
        "cold_median_tiles_per_s": _median(cold_runs),
        "cached": max(cached_runs, key=lambda r: r["tiles_per_s"]),
        "cached_median_tiles_per_s": _median(cached_runs),
        "runs": {"cold": [r["tiles_per_s"] for r in cold_runs],
                 "cached": [r["tiles_per_s"] for r in cached_runs]},
        "peers": {"sample": len(peer_sample), "ours_cold_on_sample": ours_sample,
                  "pillow_crop_encode_per_request": pillow, "iiif_reference_pil": reference},
        "peak_rss_mib": round(common.peak_rss_mib(), 1),
    }  # fmt: skip


def run(out_dir: Path, *, megapixels: int = 100, rounds: int = 3) -> dict[str, Any]:
    """Measure in child processes on a fresh data directory (the page is made in one, measured
    in another, so that the memory figures are the server's); the JSON is saved in `out_dir`."""
    env, data_dir = common.fresh_database("sqlite", "iiif")
    env.update({"LANTAI_PUBLIC_CONTENT_RATE": "1000000/min", "LANTAI_PUBLIC_RATE": "1000000/min",
                "LANTAI_PUBLIC_TILE_RATE": "1000000/min", "LANTAI_JOBS_IMMEDIATE": "1"})  # fmt: skip
    source = data_dir / "bench-page.jpg"
    try:
        made = common.run_child(
            Path(__file__),
            ["--phase", "make", "--source", str(source), "--megapixels", str(megapixels)], env,
        )  # fmt: skip
        measured = common.run_child(
            Path(__file__),
            ["--phase", "measure", "--source", str(source), "--width", str(made["width"]),
             "--height", str(made["height"]), "--rounds", str(rounds)], env,
        )  # fmt: skip
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    measured["page"]["make_s"] = made["make_s"]
    result = {
        "benchmark": "iiif",
        "client": "django.test.Client in process (middleware, routing, access check, rate limit)",
        **measured,
        "targets": TARGETS,
        "meets_targets": measured["cold"]["tiles_per_s"] >= TARGETS["cold_tiles_per_s"]
        and measured["cached"]["tiles_per_s"] >= TARGETS["cached_tiles_per_s"],
        "machine": {**common.machine(), "load_average_1_5_15": list(os.getloadavg())},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = out_dir / f"iiif-{time.strftime('%Y%m%d-%H%M%S')}.json"
    result["saved"] = str(common.save("iiif", result, saved))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["make", "measure"], default=None)
    parser.add_argument("--megapixels", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--source", type=Path)
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args()
    if args.phase == "make":
        print(json.dumps(_make(args.source, args.megapixels)))
    elif args.phase == "measure":
        measured = _measure(args.source, args.width, args.height, args.rounds)
        print(json.dumps(measured, ensure_ascii=False))
    else:
        result = run(args.out, megapixels=args.megapixels, rounds=args.rounds)
        print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
