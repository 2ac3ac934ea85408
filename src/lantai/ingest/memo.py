"""A durable memo of the per-file work of one transfer check, so a check resumes after a crash.

One JSON-lines file per version's work folder. The first line names the original the memo
belongs to (its SM3) and the Lantai version that wrote it; a memo of another original or another
Lantai version is discarded. Every later line is one finished
piece of work, appended and flushed as soon as it is done:

    {"stage": "fixity", "path": "电子档案/0001.pdf", "size": 1234, "mtime_ns": ..., "value": ...}

An entry counts only while the file still has that size and mtime_ns, so a changed file is redone.
Entries without a file (``path`` null) mark a stage as finished, e.g. the unpack stage with its
CheckResults. A last line torn by a kill is ignored and cut off before the next append.
A killed process loses nothing that was flushed; after a power loss the last unsynced entries may
be missing, and their files are simply done again.

Plain Python, no Django.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, BinaryIO

from lantai import __version__
from lantai.standards.dat70 import CheckResult

__all__ = ["Memo", "result_from_dict"]

FORMAT = 1


def result_from_dict(data: dict[str, Any]) -> CheckResult:
    """The CheckResult that ``CheckResult.as_dict()`` gave ``data``."""
    return CheckResult(**data)


class Memo:
    """Finished work keyed by (stage, relative path) for the files, by stage for stage marks."""

    def __init__(self, path: Path, owner: str) -> None:
        self.path = Path(path)
        self.owner = owner
        self._header = {"memo": FORMAT, "original": owner, "lantai": __version__}
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._file: BinaryIO
        good = self._load()
        if good is None:  # missing, or the memo of another original: start over
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")
            self._write(self._header)
        else:
            self._file = self.path.open("r+b")
            self._file.truncate(good)  # drop a torn last line
            self._file.seek(good)

    def _load(self) -> int | None:
        """Read the entries; returns the byte length of the good lines, None to start over."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        good = 0
        for n, line in enumerate(data.splitlines(keepends=True)):
            if not line.endswith(b"\n"):
                break  # torn by a kill
            try:
                entry = json.loads(line)
                key = (entry["stage"], entry["path"]) if n else None
            except (ValueError, KeyError, TypeError):
                break
            if key is None:
                if entry != self._header:
                    return None
            else:
                self._entries[key] = entry
            good += len(line)
        return good or None

    def _write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
        self._file.write(line.encode("utf-8"))
        self._file.flush()

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                os.fsync(self._file.fileno())
                self._file.close()

    def __enter__(self) -> Memo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reset(self) -> None:
        """Forget everything (the unpacked tree is being rebuilt)."""
        with self._lock:
            self._entries.clear()
            self._file.seek(0)
            self._file.truncate()
            self._write(self._header)

    # --- per-file work -------------------------------------------------------------------------

    def get(self, stage: str, rel: str, path: Path) -> Any:
        """The value stored for ``rel`` at ``stage`` while ``path`` is unchanged, else None."""
        entry = self._entries.get((stage, rel))
        if entry is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        if (st.st_size, st.st_mtime_ns) != (entry["size"], entry["mtime_ns"]):
            return None
        return entry["value"]

    def put(self, stage: str, rel: str, path: Path, value: Any) -> None:
        """Record that ``rel`` (the file at ``path``) finished ``stage`` with ``value``."""
        try:
            st = os.stat(path)
        except OSError:
            return  # nothing to key it by: it will be done again
        entry = {
            "stage": stage,
            "path": rel,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "value": value,
        }
        with self._lock:
            self._write(entry)
            self._entries[(stage, rel)] = entry

    # --- whole stages ----------------------------------------------------------------------------

    def finished(self, stage: str) -> Any:
        """The value a finished ``stage`` was marked with, or None."""
        entry = self._entries.get((stage, None))
        return None if entry is None else entry["value"]

    def finish(self, stage: str, value: Any) -> None:
        entry = {"stage": stage, "path": None, "value": value}
        with self._lock:
            self._write(entry)
            os.fsync(self._file.fileno())
            self._entries[(stage, None)] = entry
