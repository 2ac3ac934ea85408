"""Fixtures of the exhibits tests (exhibitions: exhibition_fixtures.py)."""

from .exhibition_fixtures import _exhibition_settings, hall, live_hall  # noqa: F401
