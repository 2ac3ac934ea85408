"""Nothing a user relies on is evicted at random: with thousands of keys in the stores (sessions of
other users, rate-limit buckets of a crawl, job progress), a signed-in archivist stays signed in
and a running transfer check keeps its progress, so it is not queued a second time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from lantai.catalog import services as catalog
from lantai.core import accounts
from lantai.core.ratelimit import take

pytestmark = pytest.mark.django_db

PASSWORD = "Lantai@2024test"
MANY = 3000


def flood() -> None:
    """What a busy day leaves behind: many sessions and many rate-limit buckets."""
    store = import_module(django_settings.SESSION_ENGINE).SessionStore
    for i in range(MANY):
        session = store()
        session["n"] = i
        session.create()
        take("page", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")


def test_a_signed_in_archivist_stays_signed_in() -> None:
    accounts.create_user("clerk", role="cataloguer", password=PASSWORD)
    client = Client()
    assert client.post("/login/", {"username": "clerk", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200
    flood()
    response = client.get("/")
    assert response.status_code == 200, "signed out: the session was evicted"


def test_a_running_check_is_not_queued_again(tmp_path: Path, settings: Any) -> None:
    from lantai.demo.transfer import make_transfer
    from lantai.ingest import services, tasks
    from lantai.ingest.models import Transfer

    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    catalog.create_category(catalog.create_fonds("Z109", "岭南省人民政府办公厅"), "WS")
    t = services.receive(make_transfer(tmp_path / "pkg", 2, kinds=("xml",)), "岭南省人民政府办公厅")
    version = t.versions.get()
    # a long check: its transfer row has not changed for hours, its worker reported a stage now
    hours_ago = timezone.now() - timedelta(seconds=tasks.STALE_SECONDS + 60)
    Transfer.objects.filter(pk=t.pk).update(status="checking", updated_at=hours_ago)
    cache.set(
        tasks.progress_key(version.pk),
        {"status": "checking", "stage": "virus", "stages": ["fixity", "virus"], "at": time.time()},
        tasks.PROGRESS_SECONDS,
    )
    flood()
    assert tasks.read_progress(version.pk)["stage"] == "virus"
    assert tasks.requeue_stale(time.time()) == []
    t.refresh_from_db()
    assert t.status == "checking"


# Sign in as a session in one process, fill the store with MANY other sessions, and print the key.
SIGN_IN = """
import django
django.setup()
from importlib import import_module
from django.conf import settings
store = import_module(settings.SESSION_ENGINE).SessionStore
mine = store()
mine["_auth_user_id"] = "7"
mine.create()
for i in range(3000):
    other = store()
    other["n"] = i
    other.create()
print(mine.session_key)
"""
READ = """
import sys, django
django.setup()
from importlib import import_module
from django.conf import settings
print(import_module(settings.SESSION_ENGINE).SessionStore(sys.argv[1]).get("_auth_user_id", "lost"))
"""


# Redis database 12 is this test's alone: on it once, in the SQLite run, so that scripts/test.sh's
# two runs, side by side, never flush it under each other.
@pytest.mark.sqlite_run_only
def test_sessions_live_in_redis_when_configured(tmp_path: Path) -> None:
    import redis

    url = "redis://127.0.0.1:6379/12"  # a database number only this test uses
    redis.Redis.from_url(url).flushdb()
    env = {
        **os.environ,
        "LANTAI_DATA_DIR": str(tmp_path),
        "LANTAI_REDIS_URL": url,
        "DJANGO_SETTINGS_MODULE": "lantai.settings",
    }

    def run(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", *args], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    key = run(SIGN_IN)
    assert run(READ, key) == "7"  # another process, after 3000 other sessions
    assert redis.Redis.from_url(url).dbsize() > 3000  # they are in Redis, not on this machine
