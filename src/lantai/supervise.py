"""Run a few processes as one: ``lantai serve`` runs gunicorn and the job worker together.

The children stop when the parent stops: SIGTERM, SIGINT or SIGHUP to the parent is passed on
to every child, the parent waits for them, and when one child ends the others are stopped too
(a web server that cannot bind its port does not leave a worker behind). Should the parent be
killed outright, Linux's parent-death signal (prctl PR_SET_PDEATHSIG) sends each child SIGTERM.
No Django here.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import FrameType

__all__ = ["run_together"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_SECONDS = 40.0  # gunicorn's graceful timeout is 30 s
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the parent dies (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _stop(children: Mapping[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_together(commands: Mapping[str, Sequence[str]]) -> int:
    """Start every command, wait until one ends or a stop signal comes, stop the rest.
    Returns the exit code to leave with (0 after a stop signal)."""
    stopping: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in commands.items():
            children[name] = subprocess.Popen(list(argv), preexec_fn=_die_with_parent)  # noqa: PLW1509
        while not stopping:
            ended = [(n, p.returncode) for n, p in children.items() if p.poll() is not None]
            if ended:
                name, code = ended[0]
                print(f"{name} 已退出 (exit {code})，正在停止其余进程", file=sys.stderr)
                return code or 1
            time.sleep(0.2)
        return 0
    finally:
        _stop(children)
        for s, handler in previous.items():
            signal.signal(s, handler)
