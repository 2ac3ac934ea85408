"""The one way the check stages (transfer and long-term) start worker processes."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any


def pool_context() -> Any:
    """fork when this process has a single thread (fast, nothing re-imported); otherwise
    forkserver, so a threaded parent (a job worker) is never forked; spawn where neither exists."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
