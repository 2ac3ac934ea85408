"""Storage locations: where preserved bytes live (local filesystem or S3-compatible object storage).

One interface, keys are POSIX paths relative to the location's root ("a/b/c.txt", no leading "/",
no ".." segments). A write is atomic: a reader sees the whole new object or nothing. Plain Python,
no Django: the preservation services and the OCFL module use it, tests run it against real servers.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

__all__ = [
    "Capacity",
    "InvalidKey",
    "Location",
    "LocalLocation",
    "LocationUnavailable",
    "ObjectMissing",
    "check_key",
]


class LocationUnavailable(OSError):
    """The location cannot be reached (unmounted disk, S3 endpoint down, timeouts, server errors)."""


class ObjectMissing(FileNotFoundError):
    """The key does not exist on the location."""


class InvalidKey(ValueError):
    """A key that is absolute, empty, or leaves the location's root."""


@dataclass(frozen=True)
class Capacity:
    used_bytes: int | None  # bytes under the location's root, None when unknown
    free_bytes: int | None  # free space where the location can tell (local disks), else None
    total_bytes: int | None


def check_key(key: str) -> str:
    """The key itself when it is a safe relative POSIX path, else InvalidKey."""
    if not key or "\0" in key or "\\" in key or key.startswith("/"):
        raise InvalidKey(f"非法的存储键：{key!r}")
    parts = PurePosixPath(key).parts
    if any(p in ("", ".", "..") for p in parts) or key.endswith("/"):
        raise InvalidKey(f"非法的存储键：{key!r}")
    return key


class Location(Protocol):
    """What every storage backend offers."""

    name: str

    def put_file(self, key: str, source: Path) -> None:
        """Store the file at `source` under `key`, atomically, replacing what was there."""

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store `data` under `key`, atomically."""

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the object; ObjectMissing when absent."""

    def read_bytes(self, key: str) -> bytes:
        """The whole object; ObjectMissing when absent."""

    def size(self, key: str) -> int | None:
        """The object's size in bytes, None when it does not exist."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key under `prefix` (a directory-like prefix, "" for all), recursively, sorted."""

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""

    def capacity(self) -> Capacity:
        """How much is used and free."""


class LocalLocation:
    """A directory on a local or mounted filesystem. Writes go to a temporary file in the target
    directory, are fsynced, then renamed into place (and the directory fsynced)."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _ensure_root(self) -> None:
        if not self.root.is_dir():
            raise LocationUnavailable(errno.ENOENT, f"存储位置不可用：{self.root} 不存在或不是目录")

    def _write_atomic(self, key: str, write: object) -> None:
        self._ensure_root()
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)  # type: ignore[operator]
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with _suppress_missing():
                os.unlink(tmp)
            raise
        _fsync_dir(target.parent)

    def put_file(self, key: str, source: Path) -> None:
        def write(out: BinaryIO) -> None:
            with open(source, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)

        self._write_atomic(key, write)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomic(key, lambda out: out.write(data))

    def open(self, key: str) -> BinaryIO:
        self._ensure_root()
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
            raise ObjectMissing(errno.ENOENT, f"对象不存在：{key}") from e

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def size(self, key: str) -> int | None:
        self._ensure_root()
        try:
            st = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        return st.st_size

    def list(self, prefix: str = "") -> Iterator[str]:
        self._ensure_root()
        base = self.root / check_key(prefix.rstrip("/")) if prefix else self.root
        keys = []
        for dirpath, _dirs, files in os.walk(base):
            for f in files:
                if f.startswith(".tmp-"):  # an interrupted write, never a visible object
                    continue
                keys.append(Path(dirpath, f).relative_to(self.root).as_posix())
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        self._ensure_root()
        with _suppress_missing():
            os.unlink(self._path(key))

    def capacity(self) -> Capacity:
        self._ensure_root()
        usage = shutil.disk_usage(self.root)
        used = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for f in files:
                with _suppress_missing():
                    used += os.lstat(os.path.join(dirpath, f)).st_size
        return Capacity(used_bytes=used, free_bytes=usage.free, total_bytes=usage.total)


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, et: object, ev: object, tb: object) -> bool:
        return et is not None and issubclass(et, FileNotFoundError)  # type: ignore[arg-type]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
