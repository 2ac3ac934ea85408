"""`lantai init`: the data directory, the database schema and the default repository."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command


def initialise() -> Path:
    for sub in ("files", "uploads", "exports"):
        (settings.DATA_DIR / sub).mkdir(parents=True, exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    return Path(settings.DATA_DIR)
