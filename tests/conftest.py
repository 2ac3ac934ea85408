"""Shared pytest setup for Lantai.

The environment (a fresh LANTAI_DATA_DIR, a fixed secret key, inline jobs) is set by the plugin
`lantai._pytest_env`, loaded with `-p` from pyproject before pytest-django reads the settings.

Browser tests (`@pytest.mark.browser`) drive Debian's /usr/bin/chromium through Playwright's
bundled driver; `playwright install` is never needed. Without Chromium they are skipped locally
and fail under CI=true, so a CI machine without a browser cannot pass silently.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# A real clamd with test signatures, for the ingest and preservation tests (marker `clamd`).
pytest_plugins = ["tests.clamd"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("browser") and not CHROMIUM.exists():
        message = f"browser test needs {CHROMIUM} (apt-get install chromium); run scripts/setup.sh"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """Passwords hashed with a thousand PBKDF2 rounds in the test process instead of a million
    (~0.35 s a password here, minutes of the run for the users that tests make and sign in). The
    algorithm is the production one, so Lantai processes that tests start (production settings)
    verify these hashes, and the production hashers stay listed for existing hashes."""
    from django.conf import settings
    from django.test.utils import override_settings

    quick = override_settings(
        PASSWORD_HASHERS=["tests.hashers.QuickPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]
    )
    quick.enable()
    yield
    quick.disable()


# Fixtures through which a test reaches Django's database (directly or through others).
DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """LANTAI_TESTS_DATABASE_ONLY=1 (scripts/test.sh's PostgreSQL run): keep only the tests that
    use Django's database. The others do not depend on the catalogue's engine and have run in the
    SQLite run (the search backends' own PostgreSQL tests connect to PostgreSQL there too). The
    browser tests and those marked ``sqlite_run_only`` (PDF signing and verification, page flows
    whose queries the service tests cover on both engines) run in the SQLite run only: what they
    check is the same on either engine, and it keeps the whole check within its time budget."""
    if os.environ.get("LANTAI_TESTS_DATABASE_ONLY") != "1":
        return
    keep, other = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        uses_db = item.get_closest_marker("django_db") is not None or names & DATABASE_FIXTURES
        once = any(item.get_closest_marker(m) is not None for m in ("browser", "sqlite_run_only"))
        (keep if uses_db and not once else other).append(item)
    if other:
        config.hook.pytest_deselected(items=other)
        items[:] = keep


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The run's data directory (LANTAI_DATA_DIR, a fresh temporary directory)."""
    from django.conf import settings

    return Path(settings.DATA_DIR)


@pytest.fixture(autouse=True)
def _isolated_files(request: pytest.FixtureRequest, settings: Any, data_dir: Path) -> None:
    """Each test gets its own MEDIA_ROOT and UPLOAD_DIR under the data directory."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)[:60]
    per_test = data_dir / "tests"
    per_test.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=per_test))
    settings.MEDIA_ROOT = root / "files"
    settings.UPLOAD_DIR = root / "uploads"
    settings.MEDIA_ROOT.mkdir()
    settings.UPLOAD_DIR.mkdir()


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """Each test starts with empty caches, as its database starts as it was: progress and
    buckets stored by an earlier test under the same (reused) ids must not leak into it."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright's sync API (one browser per test session)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium); run scripts/setup.sh"
        if _in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in the test thread; Django would otherwise refuse
    # ORM calls from it (SynchronousOnlyOperation) for the rest of the session.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (locale zh-CN) and page for one test."""
    context = chromium.new_context(locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()
