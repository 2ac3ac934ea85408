"""Jobs of the thematic databases: every night each database's saved rule (收录规则) is applied
again, so that records catalogued or opened since then join it (a rule only adds; the curator's
"执行收录规则" button does the same at once)."""

from __future__ import annotations

from huey import crontab

from lantai.core.audit import acting_as
from lantai.jobs import huey


@huey.periodic_task(crontab(hour="3", minute="25"))
def apply_database_rules() -> dict[str, int]:
    from lantai.exhibits import databases

    with acting_as("system"):
        return databases.apply_rules()
