"""The one way the ingest stages start worker processes (shared with the format checks)."""

from __future__ import annotations

from lantai.formats.pool import pool_context

__all__ = ["pool_context"]
