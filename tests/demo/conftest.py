"""Each demo test seeds into its own data directory: the demo sets up storage locations whose
identity files (lantai-location.json) would otherwise belong to another test's database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _roots(settings: Any, tmp_path: Path) -> None:
    settings.DATA_DIR = tmp_path
    settings.UPLOAD_DIR = tmp_path / "uploads"
    settings.PRESERVATION_ROOT = tmp_path / "preservation"
    settings.MEDIA_ROOT = tmp_path / "files"
