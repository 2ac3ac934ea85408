"""An exhibition page with 50 page images in real Chromium on loopback against `lantai serve`:
first paint, first contentful paint, the load event and every image drawn (after scrolling to
the end), cold (the IIIF derivative cache emptied, so each image is cut from its page on first
request) and warm. Peer in the same run: a plain static HTML page with the same 50 images (the
JPEG bytes the exhibition served) from `python -m http.server` on the same machine.

Target (issue 18): first paint ≤ 1 s. Run: `python bench/exhibition_bench.py` (or `lantai bench
exhibition`); JSON on stdout and under bench/results/."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import common  # noqa: E402

IMAGES = 50
PAGE_SIZE = (1600, 2200)  # a scanned A4 page at about 190 dpi
TARGET_FIRST_PAINT_MS = 1000
WARM_RUNS = 3
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage"]
URLCONF = """from django.urls import include, path
from django.urls.exceptions import Resolver404
from lantai.urls import urlpatterns as site
from django.urls import resolve
extra = []
try:
    resolve("/public/exhibitions/", "lantai.urls")
except Resolver404:
    extra.append(path("public/exhibitions/", include("lantai.exhibits.public_exhibition_urls")))
urlpatterns = [*extra, *site]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _page_image(n: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", PAGE_SIZE, (244, 236, 220))
    draw = ImageDraw.Draw(image)
    for line in range(40):  # lines of "text", so that JPEG has something to encode
        y = 160 + line * 48
        draw.rectangle((140, y, 140 + (n * 37 + line * 53) % 1200 + 100, y + 18), fill=(60, 50, 40))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _build() -> str:
    """An open record with 50 page images and a published exhibition showing all of them."""
    from lantai.catalog import services
    from lantai.catalog.components import attach_component
    from lantai.core import accounts
    from lantai.exhibits import exhibitions as ex

    fonds = services.create_fonds("G001", "中共广西省委", creator="中共广西省委")
    category = services.create_category(fonds, "WS")
    record, issues = services.save_record(category, {
        "title": "广西解放布告汇编", "author": "中共广西省委", "date": "19491211", "year": "1949",
        "retention": "Y", "item_number": "1", "org_code": "BGS", "classification": "公开",
        "open_status": "开放"})  # fmt: skip
    assert record is not None, issues
    pages = [
        attach_component(record, [_page_image(n)], f"p{n + 1:04d}.jpg", user=None)
        for n in range(IMAGES)
    ]
    curator = accounts.create_user(
        "curator", role="curator", password="Bench#2024pass", scope_all=True
    )
    publisher = accounts.create_user(
        "publisher", role="curator", password="Bench#2024pass", scope_all=True
    )
    exhibition = ex.create(
        curator, slug="bench", title="红色广西——革命历史档案史料展", repository=record.repository
    )
    ex.add_section(curator, exhibition, "布告")
    ex.add_page(curator, exhibition, 0, "all", "五十幅布告")
    ex.add_block(
        curator,
        exhibition,
        0,
        0,
        {"kind": "text", "heading": "序", "body": "1949年12月，广西全境解放。" * 8},
    )
    items = [
        {"record": record.pk, "component": c.pk, "alt": f"布告第{i + 1}页"}
        for i, c in enumerate(pages)
    ]
    ex.add_block(curator, exhibition, 0, 0, {"kind": "gallery", "items": items})
    ex.submit(curator, exhibition)
    ex.approve(publisher, exhibition)
    return "/public/exhibitions/bench/all/"


def _visit(browser: Any, url: str) -> dict[str, float]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        started = time.perf_counter()
        page.goto(url, wait_until="load")
        load_ms = (time.perf_counter() - started) * 1000
        # a fast page fires load before its first frame: wait for the paint entries to exist
        page.wait_for_function(
            "() => performance.getEntriesByType('paint').length > 0", timeout=30000
        )
        timing = page.evaluate("""() => {
            const paint = Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
            const nav = performance.getEntriesByType('navigation')[0];
            return {first_paint: paint['first-paint'] || 0, first_contentful_paint: paint['first-contentful-paint'] || 0,
                    dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
                    images: document.images.length};
        }""")  # fmt: skip
        failed: list[int] = []
        page.on("response", lambda r: failed.append(r.status) if r.status >= 400 else None)
        for _ in range(200):  # scroll a screen at a time, as a visitor would: lazy images load
            at_end = page.evaluate(
                "() => { window.scrollBy(0, window.innerHeight); "
                "return window.scrollY + window.innerHeight >= document.body.scrollHeight - 2; }"
            )
            page.wait_for_timeout(50)
            if at_end:
                break
        page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=120000)
        all_ms = (time.perf_counter() - started) * 1000
        broken = page.evaluate("() => [...document.images].filter(i => !i.naturalWidth).length")
        timing["images_broken"] = broken
        timing["http_errors"] = len(failed)
        return {
            k: round(float(v), 1)
            for k, v in {**timing, "load_wall": load_ms, "all_images_wall": all_ms}.items()
        }
    finally:
        context.close()


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}


def _static_peer(base: str, exhibition_page: str, work: Path) -> Path:
    """The same images (bytes as the exhibition served them) in a plain HTML page."""
    import re

    import requests

    html = requests.get(base + exhibition_page, timeout=30).text
    tags = re.findall(r'<img src="([^"]+)"[^>]*width="(\d+)" height="(\d+)"', html)
    site = work / "static-peer"
    site.mkdir()
    imgs = []
    for n, (src, width, height) in enumerate(tags):
        (site / f"{n}.jpg").write_bytes(
            requests.get(base + src.replace("&amp;", "&"), timeout=60).content
        )
        lazy = ' loading="lazy"' if n >= 2 else ""
        imgs.append(
            f'<li><img src="{n}.jpg" width="{width}" height="{height}" alt="布告第{n}页"{lazy}></li>'
        )
    (site / "index.html").write_text(
        '<!DOCTYPE html><html lang="zh-Hans"><head><meta charset="utf-8"><title>peer</title>'
        "<style>img{max-width:100%;height:auto}ul{display:grid;grid-template-columns:repeat(3,1fr)}</style>"
        f"</head><body><h1>五十幅布告</h1><p>{'1949年12月，广西全境解放。' * 8}</p><ul>{''.join(imgs)}</ul></body></html>",
        "utf-8",
    )
    return site


def _measure() -> dict[str, Any]:
    common.setup_django()
    import requests
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    page_path = _build()
    work = Path(tempfile.mkdtemp(prefix="lantai-exhibition-bench-"))
    (work / "exhibition_bench_urls.py").write_text(URLCONF)
    # the exhibition pages mounted even where lantai/urls.py does not mount them yet
    (work / "exhibition_bench_settings.py").write_text(
        "from lantai.settings import *  # noqa\nROOT_URLCONF = 'exhibition_bench_urls'\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{work}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "DJANGO_SETTINGS_MODULE": "exhibition_bench_settings"}  # fmt: skip
    port, peer_port = _free_port(), _free_port()
    serve = [sys.executable, "-m", "lantai.cli", "serve", "--no-worker", "--bind", f"127.0.0.1:{port}",
             "--workers", "2"]  # fmt: skip
    server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    peer = None
    try:
        for _ in range(300):
            try:
                if requests.get(base + "/public/exhibitions/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        shutil.rmtree(Path(settings.DERIVATIVES_DIR), ignore_errors=True)  # the tile cache: empty
        out: dict[str, Any] = {"images": IMAGES, "page_size_px": list(PAGE_SIZE), "url": page_path}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                out["cold"] = _visit(browser, base + page_path)
                out["warm"] = _median([_visit(browser, base + page_path) for _ in range(WARM_RUNS)])
                site = _static_peer(base, page_path, work)
                peer = subprocess.Popen([sys.executable, "-m", "http.server", str(peer_port), "--bind", "127.0.0.1"],
                                        cwd=site, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
                for _ in range(100):
                    try:
                        requests.get(f"http://127.0.0.1:{peer_port}/", timeout=2)
                        break
                    except requests.RequestException:
                        time.sleep(0.1)
                peer_url = f"http://127.0.0.1:{peer_port}/index.html"
                out["peer_static_http_server"] = _median(
                    [_visit(browser, peer_url) for _ in range(WARM_RUNS)]
                )
            finally:
                browser.close()
        return out
    finally:
        for proc in (server, peer):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def run(out_dir: Path) -> dict[str, Any]:
    """Measure in a child process on a fresh data directory; the JSON is saved under `out_dir`."""
    env, data_dir = common.fresh_database("sqlite", "exhibition")
    env.update({"LANTAI_PUBLIC_CONTENT_RATE": "1000000/min", "LANTAI_PUBLIC_RATE": "1000000/min",
                "LANTAI_PUBLIC_TILE_RATE": "1000000/min", "LANTAI_JOBS_IMMEDIATE": "1"})  # fmt: skip
    try:
        measured = common.run_child(Path(__file__), ["--phase", "measure"], env)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result = {
        "benchmark": "exhibition",
        "browser": "Debian Chromium (headless, Playwright), loopback, a fresh browser context per visit",
        **measured,
        "target_first_paint_ms": TARGET_FIRST_PAINT_MS,
        "meets_target": measured["cold"]["first_paint"] <= TARGET_FIRST_PAINT_MS
        and measured["warm"]["first_paint"] <= TARGET_FIRST_PAINT_MS,
        "machine": common.machine(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = out_dir / f"exhibition-{time.strftime('%Y%m%d-%H%M%S')}.json"
    result["saved"] = str(common.save("exhibition", result, saved))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["measure"], default=None)
    parser.add_argument("--out", type=Path, default=common.RESULTS)
    args = parser.parse_args()
    if args.phase == "measure":
        print(json.dumps(_measure(), ensure_ascii=False))
        return
    print(json.dumps(run(args.out), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
