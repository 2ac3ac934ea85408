"""The life of the clamd that Lantai starts for itself, one per data directory.

Whoever starts clamd (:meth:`lantai.ingest.virus.Scanner.ensure_running`) writes an owner record
``<data_dir>/clamav/clamd.owner.json`` (clamd's pid, who started it, the starting process, when,
the idle limit) and makes sure one watchdog process runs beside it
(``python -m lantai.ingest.clamd_watchdog <data_dir>/clamav``). Every few seconds the watchdog
stops clamd when
- its data directory (or clamd's configuration in it) is gone: nothing may be left behind;
- it was started (or adopted, :func:`lantai.ingest.virus.adopt_clamd`) by a long-running
  ``lantai worker`` (or ``lantai serve``'s worker) that is no longer alive — such an owner stops
  clamd itself when it exits; this covers a killed one;
- it was started by a short CLI command and nothing scanned for the idle limit
  (``LANTAI_CLAMD_IDLE_SECONDS``, default 600): the next command within that time reuses it.
Scans hold a shared lock on ``use.lock``; the watchdog stops clamd only while it can take that
lock exclusively, so a scan in flight is never cut off. The watchdog ends with its clamd.
A second watchdog for the same directory exits at once (``watchdog.lock``). Should a watchdog be
killed, the next command that uses clamd starts another, and :func:`reap_orphans` stops any clamd
whose data directory is gone. Plain Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

OWNER_FILE = "clamd.owner.json"
USED_FILE = "last-used"
USE_LOCK = "use.lock"
WATCHDOG_LOCK = "watchdog.lock"
CONF_FILE = "clamd.conf"
DEFAULT_IDLE_SECONDS = 600.0
LONG_RUNNING = ("worker", "serve")  # owners that stop their clamd when they exit


def idle_limit_from_env() -> float:
    try:
        return max(1.0, float(os.environ.get("LANTAI_CLAMD_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS


@dataclass(frozen=True)
class Owner:
    clamd_pid: int
    started_by: str  # "cli", "worker" or "serve"
    owner_pid: int
    started_at: float
    idle_seconds: float


def read_owner(base: Path) -> Owner | None:
    try:
        data = json.loads((base / OWNER_FILE).read_text("utf-8"))
        return Owner(**data)
    except (OSError, ValueError, TypeError):
        return None


def write_owner(base: Path, owner: Owner) -> None:
    tmp = base / f".{OWNER_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(owner)), "utf-8")
    os.replace(tmp, base / OWNER_FILE)


def remove_owner(base: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (base / OWNER_FILE).unlink()


def touch_used(base: Path) -> None:
    with contextlib.suppress(OSError):
        (base / USED_FILE).touch()


def last_used(base: Path) -> float | None:
    try:
        return (base / USED_FILE).stat().st_mtime
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """A running (not zombie) process."""
    if pid <= 0:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not Path("/proc").is_dir()  # no /proc: trust kill(0)


def is_our_clamd(pid: int, conf: Path) -> bool:
    """`pid` is a live clamd run with this configuration file (not a reused pid)."""
    if not pid_alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return not Path("/proc").is_dir()
    return os.fsencode(str(conf)) in args


def terminate(pid: int, conf: Path, timeout: float = 15.0) -> None:
    """SIGTERM our clamd and wait for it to go (SIGKILL after `timeout`)."""
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        if not is_our_clamd(pid, conf):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and is_our_clamd(pid, conf):
            time.sleep(0.1)


@contextlib.contextmanager
def use_lock(base: Path, *, exclusive: bool = False, wait: bool = True) -> Iterator[bool]:
    """Shared while scanning; exclusive (no wait) when stopping. Yields whether it was taken."""
    try:
        fh = open(base / USE_LOCK, "a")  # noqa: SIM115
    except OSError:
        yield False
        return
    with fh:
        flags = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | (0 if wait else fcntl.LOCK_NB)
        try:
            fcntl.flock(fh, flags)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def watchdog_running(base: Path) -> bool:
    try:
        with open(base / WATCHDOG_LOCK, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
            return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def reap_orphans() -> list[int]:
    """Stop every clamd of this user that Lantai started for a data directory that is gone (its
    watchdog was killed too): each Lantai command calls this before using clamd. Returns the pids."""
    reaped: list[int] = []
    proc = Path("/proc")
    if not proc.is_dir():
        return reaped
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != os.getuid():
                continue
            args = [a.decode("utf-8", "surrogateescape") for a in
                    (entry / "cmdline").read_bytes().split(b"\0")]  # fmt: skip
        except OSError:
            continue
        if len(args) < 3 or not args[0].endswith("clamd") or args[1] != "-c":
            continue
        conf = Path(args[2])
        if conf.name == CONF_FILE and conf.parent.name == "clamav" and not conf.exists():
            terminate(int(entry.name), conf)
            reaped.append(int(entry.name))
    return reaped


def stop_reason(base: Path, owner: Owner, now: float) -> str:
    if owner.started_by in LONG_RUNNING:
        return "" if pid_alive(owner.owner_pid) else "owner-gone"
    used = last_used(base) or owner.started_at
    return "idle" if now - used >= owner.idle_seconds else ""


def watch(base: Path, poll: float | None = None) -> str:
    """Run until clamd is gone or stopped; returns why it ended."""
    base = Path(base)
    conf = base / CONF_FILE
    owner = read_owner(base)
    if owner is None:
        return "no-owner"
    if poll is None:
        poll = min(5.0, max(0.5, owner.idle_seconds / 5))
    pid = owner.clamd_pid
    while True:
        if not conf.exists():  # the data directory (or its clamav folder) was removed
            terminate(pid, conf)
            return "data-dir-gone"
        owner = read_owner(base)
        if owner is not None and owner.clamd_pid != pid and is_our_clamd(owner.clamd_pid, conf):
            pid = owner.clamd_pid  # stopped and started again meanwhile: watch the new one (its
            continue  # starter saw this watchdog running and started none)
        if owner is None or not is_our_clamd(pid, conf):
            return "clamd-gone"  # stopped by someone else
        reason = stop_reason(base, owner, time.time())
        if reason:
            with use_lock(base, exclusive=True, wait=False) as taken:
                owner = read_owner(base)  # again: a worker may have adopted it meanwhile
                if (
                    taken
                    and owner
                    and owner.clamd_pid == pid
                    and stop_reason(base, owner, time.time())
                ):
                    terminate(pid, conf)
                    remove_owner(base)
                    return reason
        time.sleep(poll)


def main(argv: list[str]) -> int:
    base = Path(argv[0])
    try:
        lock = open(base / WATCHDOG_LOCK, "a")  # noqa: SIM115 - held for the process's life
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except (OSError, BlockingIOError):
        return 0  # another watchdog watches this directory (or it is gone already)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while True:
        watch(base)
        # A clamd started just before this watchdog let go of its lock saw it running and started
        # no other watchdog: look once more after letting go, and watch that one too.
        fcntl.flock(lock, fcntl.LOCK_UN)
        owner = read_owner(base)
        if owner is None or not is_our_clamd(owner.clamd_pid, base / CONF_FILE):
            return 0
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a watchdog of its own has started meanwhile


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
