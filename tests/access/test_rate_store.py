"""Rate-limit buckets live in a store that does not forget and that every process shares: the
SQLite state file of the machine by default, Redis when LANTAI_REDIS_URL names one. Two real
processes take from one bucket, and a flood of buckets from other addresses evicts nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REDIS_TEST_URL = "redis://127.0.0.1:6379/11"  # a database number only these tests use

# One process: take `n` tokens from 203.0.113.5's search bucket after filling `flood` buckets of
# other addresses (as a crawl from many addresses would); print each wait.
SCRIPT = """
import sys, django
django.setup()
from lantai.core.ratelimit import take
n, flood = int(sys.argv[1]), int(sys.argv[2])
for i in range(flood):
    take("search", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
print(" ".join(str(round(take("search", "203.0.113.5"))) for _ in range(n)))
"""


def _run(env: dict[str, str], n: int, flood: int = 0) -> list[int]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(n), str(flood)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [int(w) for w in done.stdout.split()]


@pytest.mark.parametrize("store", ["sqlite", "redis"])
def test_two_processes_share_a_bucket_that_a_flood_does_not_reset(
    store: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LANTAI_DATA_DIR": str(tmp_path),
        "LANTAI_PUBLIC_SEARCH_RATE": "3/h",
        "DJANGO_SETTINGS_MODULE": "lantai.settings",
    }
    env.pop("LANTAI_REDIS_URL", None)
    if store == "redis":
        import redis

        redis.Redis.from_url(REDIS_TEST_URL).flushdb()
        env["LANTAI_REDIS_URL"] = REDIS_TEST_URL
    assert _run(env, 2) == [0, 0]  # the first process takes two of the three tokens
    waits = _run(env, 2, flood=2000)  # the second takes the last one, then is refused
    assert waits[0] == 0 and waits[1] > 1000  # about 20 minutes until a token is back
