"""The data directory's run lock, DATA_DIR/lantai.lock (flock).

`lantai serve` and `lantai worker` hold it shared for as long as they run; `lantai backup restore`
takes it exclusive, without waiting, so that it never overwrites the database and the keys under
a running process, and no server or worker starts while a restore is at work. The kernel drops
an flock when its process ends, however it ends: no stale pid file to clean up. A lock only
covers this machine; `lantai backup` does not copy it (RUNTIME_SUFFIXES). No Django here."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = "lantai.lock"


class DataDirInUse(Exception):
    """Someone else holds the run lock the way it cannot be shared: `pids` are the processes
    that hold it (as far as /proc/locks tells; empty where it cannot be read)."""

    def __init__(self, path: Path, pids: list[int]) -> None:
        super().__init__(str(path))
        self.path, self.pids = path, pids

    @property
    def pid_text(self) -> str:
        return ", ".join(str(p) for p in self.pids) or "?"


def lock_path(data_dir: Path | str) -> Path:
    return Path(data_dir) / LOCK_NAME


def holders(path: Path) -> list[int]:
    """The pids holding an flock on `path`, from /proc/locks (Linux), this process left out."""
    try:
        st = path.stat()
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids: set[int] = set()
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  READ  1234 fd:01:5678 0 EOF"; waiters carry "->" after the number
        if len(parts) < 6 or parts[1] == "->" or parts[1] != "FLOCK":
            continue
        try:
            major, minor, inode = parts[5].split(":")
            same = int(inode) == st.st_ino and (int(major, 16), int(minor, 16)) == (
                os.major(st.st_dev), os.minor(st.st_dev),
            )  # fmt: skip
            pid = int(parts[4])
        except ValueError:
            continue
        if same and pid > 0 and pid != os.getpid():
            pids.add(pid)
    return sorted(pids)


def _open(path: Path) -> int:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _take(path: Path, flags: int) -> int:
    fd = _open(path)
    try:
        fcntl.flock(fd, flags | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DataDirInUse(path, holders(path)) from None
    return fd


def hold_shared(data_dir: Path | str) -> int:
    """Take the lock shared for the rest of this process (and of a program it execs: the
    descriptor is left open and inheritable on purpose). Raises DataDirInUse while a restore
    holds it."""
    fd = _take(lock_path(data_dir), fcntl.LOCK_SH)
    os.set_inheritable(fd, True)
    return fd


@contextlib.contextmanager
def exclusive(data_dir: Path | str) -> Iterator[Path]:
    """Hold the lock alone for the `with` block. Raises DataDirInUse while a server, a worker
    or another restore holds it."""
    path = lock_path(data_dir)
    fd = _take(path, fcntl.LOCK_EX)
    try:
        yield path
    finally:
        os.close(fd)


def hold_while_running(data_dir: Path | str) -> None:
    """For `lantai serve` and `lantai worker`: hold the lock shared, or end the command (exit 2)
    while a restore holds it."""
    from lantai.cli_common import EXIT_UNREADABLE, fail

    try:
        hold_shared(data_dir)
    except DataDirInUse as e:
        fail(
            f"正在恢复备份，暂不能启动（pid {e.pid_text}）a backup restore holds this data directory"
            f" (pid {e.pid_text}): start again once it has finished: {e.path}",
            EXIT_UNREADABLE,
            False,
        )
