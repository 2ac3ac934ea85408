"""Jobs of the holdings room: every night, the records whose donor restrictions ran out by date
(or begin by date) are touched, so that the OAI-PMH table and the search index read them again.
The public rule itself compares with the clock when it is asked (`lantai.catalog.holds`), so a
restriction stops applying on its date whether or not this job has run."""

from __future__ import annotations

import datetime as dt

from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey


@huey.periodic_task(crontab(hour="0", minute="0"))  # type: ignore[untyped-decorator]
def touch_ended_holds() -> int:
    from lantai.catalog import holds
    from lantai.search import tasks as search_tasks

    with acting_as("system"):
        since = holds.today() - dt.timedelta(days=2)  # a night the worker was down is covered
        ids = holds.touch_ended(since)
        if ids:
            search_tasks.queue_sync(sorted(ids))
        return len(ids)
