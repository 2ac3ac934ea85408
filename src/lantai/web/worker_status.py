"""Whether the pages that wait on a job should say that no job worker is running.

A page whose view sets ``waits_on_job`` in its context (a transfer being checked, a queued import,
a package waiting to be preserved), and any staff page while jobs are queued, shows the banner of
``web/_worker_status.html`` when no worker has been seen for a minute, instead of an endless
排队等待. Used by the ``{% worker_status_banner %}`` tag (templatetags/lantai_jobs.py)."""

from __future__ import annotations

from typing import Any

from lantai.jobs import START_COMMAND, worker_status


def banner_context(waits_on_job: bool) -> dict[str, Any]:
    try:
        status = worker_status()
    except Exception:  # the queue or the state store is unreachable: never break the page
        return {"worker_down": False, "waits_on_job": waits_on_job}
    show = not status.seen and (waits_on_job or status.pending > 0)
    return {
        "worker_down": show,
        "waits_on_job": waits_on_job,  # the page polls: the banner is there, hidden, for lantai.js
        "pending": status.pending,
        "start_command": START_COMMAND,
    }


def worker_down_while_waiting() -> bool:
    """For a waiting page's progress JSON (`worker_down`): lantai.js shows or hides the banner
    while the page polls, so a worker that stops meanwhile is noticed without a reload."""
    return bool(banner_context(True)["worker_down"])
