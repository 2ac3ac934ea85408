"""Smoke tests for the test harness itself: the selected database, UTF-8 storage, the browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from lantai.catalog.models import Repository


def _expected_vendor() -> str:
    url = os.environ.get("LANTAI_DATABASE_URL", "")
    return "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"


@pytest.mark.django_db
def test_runs_on_the_database_selected_by_lantai_database_url() -> None:
    assert connection.vendor == _expected_vendor()
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite":
        assert connection.is_in_memory_db(), name  # pytest-django's SQLite test database
    else:
        assert name.startswith("test_"), name  # never the real database
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_encoding_to_char(encoding), datctype FROM pg_database"
                " WHERE datname = current_database()"
            )
            encoding, ctype = cursor.fetchone()
        assert encoding == "UTF8"
        # pg_trgm and case-insensitive matching drop CJK characters under the C/POSIX ctype.
        assert ctype.lower().replace("-", "").endswith("utf8"), ctype


@pytest.mark.django_db
def test_chinese_text_round_trips_through_the_database() -> None:
    Repository.objects.create(code="4500001", name="广西壮族自治区档案馆")
    reloaded = Repository.objects.get(code="4500001")
    assert reloaded.name == "广西壮族自治区档案馆"
    assert list(
        Repository.objects.filter(name__contains="壮族").values_list("code", flat=True)
    ) == ["4500001"]


def test_each_test_gets_its_own_data_and_upload_dirs(settings: Any, data_dir: Path) -> None:
    assert data_dir.name.startswith("lantai-test-")
    assert data_dir != (Path.cwd() / "lantai-data").resolve()
    for path in (Path(settings.MEDIA_ROOT), Path(settings.UPLOAD_DIR)):
        assert path.is_dir()
        assert data_dir in path.parents
    assert settings.MEDIA_ROOT.parent == settings.UPLOAD_DIR.parent
    assert not any(settings.MEDIA_ROOT.iterdir())


def test_jobs_run_inline() -> None:
    from huey.contrib.djhuey import HUEY

    assert HUEY.immediate


@pytest.mark.browser
def test_home_page_renders_in_chromium(live_server: Any, page: Any) -> None:
    response = page.goto(live_server.url + "/")
    assert response is not None
    assert response.ok, f"{response.status} {response.url}"
    assert page.locator("html").inner_text().strip()
