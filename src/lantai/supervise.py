"""Run a few processes as one: ``lantai serve`` runs gunicorn and the job worker together.

The children stop when the parent stops: SIGTERM, SIGINT or SIGHUP to the parent is passed on
to every child, the parent waits for them, and when one child ends the others are stopped too
(a web server that cannot bind its port does not leave a worker behind), except a child named
in `restart` (the job worker), which is started again after a pause: the web UI stays up and says
that no worker runs while it is down. Should the parent be
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
RESTART_PAUSE_SECONDS = 5.0
RESTART_PAUSE_MAX_SECONDS = 300.0
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


def run_together(commands: Mapping[str, Sequence[str]], restart: Sequence[str] = ()) -> int:
    """Start every command, wait until one not in `restart` ends or a stop signal comes, stop
    the rest. A command in `restart` that ends is started again after RESTART_PAUSE_SECONDS
    (doubling up to RESTART_PAUSE_MAX_SECONDS while it keeps failing at once).
    Returns the exit code to leave with (0 after a stop signal)."""
    stopping: list[int] = []
    pauses = dict.fromkeys(restart, RESTART_PAUSE_SECONDS)
    due: dict[str, float] = {}  # restartable child -> when to start it again

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in commands.items():
            children[name] = subprocess.Popen(list(argv), preexec_fn=_die_with_parent)  # noqa: PLW1509
        while not stopping:
            now = time.monotonic()
            for name, proc in list(children.items()):
                if name in due or proc.poll() is None:
                    continue
                if name not in pauses:
                    print(
                        f"{name} 已退出 (exit {proc.returncode})，正在停止其余进程", file=sys.stderr
                    )
                    return proc.returncode or 1
                print(f"{name} 已退出 (exit {proc.returncode})，{pauses[name]:.0f} 秒后重新启动",
                      file=sys.stderr)  # fmt: skip
                due[name] = now + pauses[name]
                pauses[name] = min(pauses[name] * 2, RESTART_PAUSE_MAX_SECONDS)
            for name, at in list(due.items()):
                if at <= now:
                    del due[name]
                    children[name] = subprocess.Popen(
                        list(commands[name]), preexec_fn=_die_with_parent
                    )  # noqa: PLW1509
            time.sleep(0.2)
        return 0
    finally:
        _stop(children)
        for s, handler in previous.items():
            signal.signal(s, handler)
