"""One version everywhere (issue 20, point 5): pyproject.toml, lantai.__version__, `lantai
--version`, a CHANGELOG section and upgrade notes for it, and the upgrade test's fixtures made
by the release just before it in the CHANGELOG."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import lantai

ROOT = Path(__file__).resolve().parents[2]


def _released() -> list[str]:
    """The versions the CHANGELOG lists, newest first (Keep a Changelog: ## [x.y.z] - date)."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", text, flags=re.M)


def test_one_version_everywhere() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == lantai.__version__
    done = subprocess.run(
        [sys.executable, "-m", "lantai.cli", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"lantai {lantai.__version__}"


def test_changelog_and_upgrade_notes_for_this_release() -> None:
    released = _released()
    assert released[0] == lantai.__version__, "CHANGELOG.md: a section for this version first"
    assert len(released) == len(set(released))
    notes = (ROOT / "docs" / "upgrading.md").read_text(encoding="utf-8")
    assert re.search(rf"^## .*{re.escape(released[1])} → {re.escape(released[0])}", notes, re.M)


def test_upgrade_fixtures_are_from_the_previous_release() -> None:
    previous = _released()[1]
    folder = ROOT / "tests" / "fixtures" / "upgrade" / previous
    assert (folder / "lantai.sqlite3.xz").is_file(), f"make the {previous} fixtures: {folder}"
    assert (folder / "postgresql.sql.xz").is_file()
    assert (folder / "README.md").is_file()
