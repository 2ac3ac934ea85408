"""Jobs of 移交预警 and 进馆档案质量: every night the due years of every unit are computed again
and a reminder is recorded for each unit still due (``warning.refresh_reminders``); a web
self-check runs as a queued job like a transfer check."""

from __future__ import annotations

from pathlib import Path

from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey


@huey.periodic_task(crontab(hour="2", minute="40"))  # type: ignore[untyped-decorator]
def refresh_transfer_reminders() -> dict[str, int]:
    from lantai.ingest import warning

    with acting_as("system"):
        return warning.refresh_reminders()


@huey.task()  # type: ignore[untyped-decorator]
def run_self_check(self_check_id: int, path: str, actor: str = "system") -> None:
    """Check an uploaded self-check package, then remove it (the archives keeps no copy)."""
    from lantai.ingest import quality
    from lantai.ingest.quality_models import SelfCheck

    sc = SelfCheck.objects.select_related("fonds").get(pk=self_check_id)
    with acting_as(actor):
        quality.run(sc, Path(path), remove_source=True)
