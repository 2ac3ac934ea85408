"""The periodic job that keeps the OAI-PMH publication table in step with the catalogue, so that
harvest requests find it ready (each request also syncs, within a time budget)."""

from __future__ import annotations

import logging

from huey import crontab

from lantai.jobs import huey

log = logging.getLogger(__name__)


@huey.periodic_task(crontab(minute="*"))
def sync_published_tick() -> None:
    """Publish what the catalogue opened and tombstone what it closed or deleted, without a
    time budget (after a large import this is where most of the reading happens)."""
    from lantai.interop import publishing

    result = publishing.sync()
    if result.read:
        log.info(
            "interop: OAI-PMH sync read %d records: %d published, %d tombstoned",
            result.read, result.published, result.tombstoned,
        )  # fmt: skip
