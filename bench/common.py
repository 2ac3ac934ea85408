"""Shared plumbing for the benchmarks: fresh databases, child processes, memory readings."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PG_URL = os.environ.get("LANTAI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
RESULTS = Path(__file__).parent / "results"


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(kind: str, name: str) -> tuple[dict[str, str], Path]:
    """Environment for a child process with an empty database of `kind` (sqlite | postgresql)."""
    data_dir = Path(tempfile.mkdtemp(prefix=f"lantai-bench-{name}-"))
    env = {
        **os.environ,
        "LANTAI_DATA_DIR": str(data_dir),
        "LANTAI_SECRET_KEY": "bench",
        "LANTAI_DATABASE_URL": "",
    }
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(
                f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
            )
        env["LANTAI_DATABASE_URL"] = f"{PG_URL}/{name}"
    return env, data_dir


def drop_database(kind: str, name: str) -> None:
    if kind == "postgresql":
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def run_child(script: Path, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run a benchmark phase in its own process (own peak RSS) and return its JSON line."""
    proc = subprocess.run(
        [sys.executable, str(script), *args], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lantai.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def save(name: str, result: dict[str, Any], out: Path | None) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = out or RESULTS / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    return path
