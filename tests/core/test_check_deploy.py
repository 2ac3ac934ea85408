"""`django check --deploy --fail-level WARNING` is clean with the production environment file
deploy/lantai.env (the data directory and secret key replaced by a test's own), and is not clean
without it — so this test fails when a security setting or the file goes wrong."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_FILE = ROOT / "deploy" / "lantai.env"


def production_environment() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _sep, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def check_deploy(extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # a clean environment as systemd gives: none of the test run's own LANTAI_* or DJANGO_* (the
    # browser tests set DJANGO_ALLOW_ASYNC_UNSAFE, which check --deploy rightly refuses)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANTAI_", "DJANGO_"))}
    env.update(extra)
    env["LANTAI_DATA_DIR"] = str(tmp_path / "data")
    env["LANTAI_SECRET_KEY"] = secrets.token_urlsafe(50)  # 67 characters, as the file-made key
    env["DJANGO_SETTINGS_MODULE"] = "lantai.settings"
    return subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_production_environment_file_passes_check_deploy(tmp_path: Path) -> None:
    values = production_environment()
    for name in ("LANTAI_SECURE_COOKIES", "LANTAI_BEHIND_TLS_PROXY", "LANTAI_HSTS_SECONDS"):
        assert name in values, name
    assert "LANTAI_SECRET_KEY" not in values  # never in this file
    values.pop("LANTAI_DATABASE_URL", None)  # check --deploy needs no database server
    done = check_deploy(values, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_without_the_file_check_deploy_warns(tmp_path: Path) -> None:
    done = check_deploy({}, tmp_path)
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr, done.stderr  # HSTS, SSL redirect, cookies
