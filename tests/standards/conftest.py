"""`lantai.standards` is pure Python: its tests need no Django, settings or data directory.

The project conftest gives every test an autouse `_isolated_files` fixture that needs
pytest-django's `settings`; overriding it here keeps these tests runnable in a venv with only
PyYAML and pytest.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_files() -> None:
    """No per-test media directories: nothing here touches files or Django."""
