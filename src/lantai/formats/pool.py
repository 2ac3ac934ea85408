"""The one way the check stages (transfer and long-term) start worker processes."""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any


def pool_context() -> Any:
    """fork when this process has a single thread (fast, nothing re-imported); otherwise
    forkserver, so a threaded parent (a job worker) is never forked; spawn where neither exists.
    A process that has loaded pygfried (Siegfried's Go runtime, whose threads Python does not
    count) is never forked either: the child's Go runtime would hang on its first call. Lantai
    runs Siegfried in a helper process (formats/siegfried.py); this guards other callers."""
    methods = multiprocessing.get_all_start_methods()
    go_loaded = "pygfried" in sys.modules
    if "fork" in methods and threading.active_count() == 1 and not go_loaded:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")
