"""The wrk part of `lantai bench search`: a seeded data directory served by `lantai serve`, loaded on
its public search page at a few concurrency levels."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from search_corpus import SEED, TextMaker  # noqa: E402

WRK_CONNECTIONS = (2, 4, 8, 16)
WRK_P99_MS = 300.0

# --- the public portal under wrk ---------------------------------------------------------------


def phase_portal_seed(records: int, fulltext_share: float) -> dict[str, Any]:
    """(child, Django) Seed `records` demo catalogue records in the fresh data directory (the demo's
    catalogue without its files, transfers and packages: the public search page reads only the
    catalogue and the index) and build the search index, adding generated full text to
    `fulltext_share` of the records."""
    started = time.perf_counter()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    import django

    django.setup()
    from lantai.core.setup import initialise
    from lantai.demo.seed import seed_demo
    from lantai.search import documents, services

    initialise()
    seed_demo(records, alive=False)
    seeded = time.perf_counter()
    maker = TextMaker(SEED)
    every = max(1, round(1 / fulltext_share)) if fulltext_share > 0 else 0

    def docs() -> Iterator[dict[str, Any]]:
        for doc in documents.iter_documents():
            if every and doc["id"] % every == 0:
                doc["full_text"] = maker(doc["title"], doc["year"])
            yield doc

    n = services.backend().rebuild(docs())
    return {"seed_seconds": round(seeded - started, 1),
            "index": {"records": n, "seconds": round(time.perf_counter() - seeded, 1)}}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wrk_parse(text: str) -> dict[str, Any]:
    def ms(value: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s|m)", value)
        if not m:
            return float("nan")
        return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[m[2]]

    out: dict[str, Any] = {}
    for p in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{p}%\s+(\S+)", text, re.M)
        out[f"p{p}_ms"] = round(ms(m[1]), 1) if m else None
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["requests_per_s"] = float(m[1]) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m[1]) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m[1]) if m else 0
    m = re.search(r"Socket errors:(.*)", text)
    out["socket_errors"] = m[1].strip() if m else ""
    return out


def run_wrk(terms: list[str], records: int, duration_s: int) -> dict[str, Any]:
    """Seed `records` demo catalogue records in a throwaway data directory, index them (20 % with
    generated full text), serve with `lantai serve` (gunicorn, 2 workers) and load /public/search/ with wrk
    at a few concurrency levels; the rate limits are raised for the run."""
    if shutil.which("wrk") is None:
        return {"available": False, "reason": "wrk not installed (apt-get install wrk)"}
    import importlib.util

    if importlib.util.find_spec("lantai.access.views") is None:
        return {"available": False, "reason": "the public portal (lantai.access) is not there"}
    env, data_dir = common.fresh_database("sqlite", "search-portal")
    unlimited = "1000000/s"
    env.update({"LANTAI_PUBLIC_RATE": unlimited, "LANTAI_PUBLIC_SEARCH_RATE": unlimited,
                "LANTAI_PUBLIC_SUGGEST_RATE": unlimited, "LANTAI_SEARCH_BACKEND": "tantivy",
                "LANTAI_LOG_LEVEL": "ERROR"})  # fmt: skip
    lantai = [sys.executable, "-m", "lantai.cli"]
    server = None
    try:
        seeded = common.run_child(Path(__file__).resolve(), [str(records)], env)
        port = _free_port()
        with (data_dir / "serve.log").open("wb") as server_log:  # the child keeps its own copy
            server = subprocess.Popen(
                [*lantai, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"], env=env,
                stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        paths = [f"/public/search/?q={urllib.parse.quote(t)}" for t in terms]
        for _ in range(120):
            try:
                with urllib.request.urlopen(base + paths[0], timeout=10) as r:
                    page_ok = r.status == 200
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise RuntimeError("lantai serve did not answer")
        for p in paths:  # every page once: warm caches, and each must be a 200
            with urllib.request.urlopen(base + p, timeout=30) as r:
                page_ok = page_ok and r.status == 200
        lua = data_dir / "queries.lua"
        lua.write_text(
            "local paths = {" + ",".join(json.dumps(p) for p in paths) + "}\n"
            "local i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            "  return wrk.format('GET', paths[i])\nend\n"
        )
        levels = []
        for c in WRK_CONNECTIONS:
            proc = subprocess.run(
                ["wrk", "-t2", f"-c{c}", f"-d{duration_s}s", "--latency", "-s", str(lua), base],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            levels.append({"connections": c, **_wrk_parse(proc.stdout)})
    except BaseException:
        log = data_dir / "serve.log"
        if log.exists():  # what the server said, before its data directory goes
            tail = log.read_bytes()[-4000:].decode("utf-8", "replace")
            print(f"[bench] lantai serve's log ends:\n{tail}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    ok = [lv for lv in levels if lv["p99_ms"] is not None and lv["p99_ms"] <= WRK_P99_MS
          and not lv["non_2xx"]]  # fmt: skip
    best = max(ok, key=lambda lv: lv["requests_per_s"]) if ok else None
    return {
        "available": True,
        "setup": {
            "records": records,
            "seed_seconds": seeded["seed_seconds"],
            "seeded": "the demo's catalogue (seed_demo without files, transfers or packages)",
            "full_text_share": 0.2,
            "index": seeded["index"],
            "server": "lantai serve (gunicorn, 2 workers, sync), tantivy index, read-only",
            "rate_limits": f"LANTAI_PUBLIC_RATE / _SEARCH_RATE / _SUGGEST_RATE={unlimited}",
        },
        "all_pages_200_before_load": page_ok,
        "command": f"wrk -t2 -c<N> -d{duration_s}s --latency -s queries.lua (cycles {len(paths)} "
        "queries on /public/search/?q=…)",
        "levels": levels,
        "best_within_p99": (
            {
                "connections": best["connections"],
                "requests_per_s": best["requests_per_s"],
                "p99_ms": best["p99_ms"],
            }
            if best
            else None
        ),  # fmt: skip
        "note": "plain wrk has no constant-rate mode: the rate at p99 <= 300 ms is the best "
        "closed-loop level whose p99 is within the bound (wrk and the server share the 2 cores)",
    }


if __name__ == "__main__":  # the child phase of run_wrk: seed and index the data directory
    print(json.dumps(phase_portal_seed(int(sys.argv[1]), 0.2)))
