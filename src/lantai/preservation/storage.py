"""Storage locations: where preserved bytes live (local filesystem or S3-compatible object storage).

One interface, keys are POSIX paths relative to the location's root ("a/b/c.txt", no leading "/",
no ".." segments). A write is atomic: a reader sees the whole new object or nothing. Plain Python,
no Django: the preservation services and the OCFL module use it, tests run it against real servers.

The S3-compatible location lives in `lantai.preservation.s3` (it imports boto3).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

__all__ = [
    "Capacity",
    "InvalidKey",
    "Location",
    "LocalLocation",
    "LocationOffline",
    "LocationUnavailable",
    "ObjectMissing",
    "check_key",
]

CHUNK = 1 << 20

# Temporary files of LocalLocation's writes carry a backslash in their name: check_key refuses
# backslashes, so no key can ever name (or collide with) a temporary file, and list() can skip them
# without hiding any real object.
TMP_PREFIX = ".lantai\\tmp-"


class LocationUnavailable(OSError):
    """The location cannot be reached (unmounted disk, S3 endpoint down, timeouts, server errors)."""


class LocationOffline(LocationUnavailable):
    """The location answers but is not the one configured: its identity marker is missing (an
    empty mount point, an emptied bucket) or names another location (another disk, a wrong
    bucket). Nothing may be written to it (decision 0020)."""


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
    if not isinstance(key, str) or not key or "\0" in key or "\\" in key or key.startswith("/"):
        raise InvalidKey(f"非法的存储键：{key!r}")
    # split, not PurePosixPath: that would quietly turn "a//b" and "a/./b" into "a/b"
    if any(p in ("", ".", "..") for p in key.split("/")):
        raise InvalidKey(f"非法的存储键：{key!r}")
    return key


def _open_source(source: Path) -> BinaryIO:
    """Open the file a put_file() copies from (one place, so tests can interrupt a copy)."""
    return open(source, "rb")


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
    directory, are fsynced, then renamed into place (and the directory fsynced).

    `require_marker`: the root must hold the file MARKER (written by `initialize()`); a mount point
    whose filesystem is not mounted is an empty directory, and without the marker it would silently
    take writes on the wrong disk. Errors of the filesystem itself (EIO, ENOSPC, EROFS, stale NFS
    handles, permissions) surface as LocationUnavailable naming the path.
    """

    MARKER = ".lantai-location"

    def __init__(self, name: str, root: Path, *, require_marker: bool = False) -> None:
        self.name = name
        self.root = Path(root)
        self.require_marker = require_marker

    def __repr__(self) -> str:
        return f"LocalLocation({self.name!r}, {str(self.root)!r})"

    def initialize(self) -> None:
        """Create the root and its marker file (for `require_marker`)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            marker = self.root / self.MARKER
            if not marker.exists():
                marker.write_text(f"lantai storage location {self.name}\n", encoding="utf-8")
        except OSError as e:
            raise self._unavailable(e, "初始化") from e

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _unavailable(self, e: OSError, action: str) -> LocationUnavailable:
        return LocationUnavailable(
            e.errno or errno.EIO,
            f"存储位置“{self.name}”（{self.root}）{action}失败：{e.strerror or e}",
        )

    def _ensure_root(self) -> None:
        try:
            ok = self.root.is_dir()
            if ok and self.require_marker:
                ok = (self.root / self.MARKER).is_file()
        except OSError as e:  # e.g. ESTALE / EIO from a dead network mount
            raise self._unavailable(e, "访问") from e
        if not ok:
            what = (
                "未挂载或缺少标记文件 " + self.MARKER if self.root.is_dir() else "不存在或不是目录"
            )
            raise LocationUnavailable(
                errno.ENOENT, f"存储位置“{self.name}”不可用：{self.root} {what}"
            )

    def _makedirs(self, directory: Path) -> None:
        """Create `directory` and its missing parents, fsyncing each new entry's parent."""
        missing = []
        d = directory
        while not d.is_dir() and d != self.root:
            missing.append(d)
            d = d.parent
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                if not d.is_dir():
                    raise
                continue
            _fsync_dir(d.parent)

    def _write_atomic(self, key: str, write: Callable[[BinaryIO], None]) -> None:
        target = self._path(key)
        self._ensure_root()
        try:
            self._makedirs(target.parent)
            fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
        except OSError as e:
            raise self._unavailable(e, f"写入 {key} ") from e
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            _fsync_dir(target.parent)
        except BaseException as e:
            with _suppress_missing():
                os.unlink(tmp)
            if isinstance(e, _SourceError) and e.__cause__ is not None:
                raise e.__cause__ from None
            if isinstance(e, OSError) and not isinstance(e, LocationUnavailable):
                raise self._unavailable(e, f"写入 {key} ") from e
            raise

    def put_file(self, key: str, source: Path) -> None:
        check_key(key)
        src = _open_source(source)  # a missing source is the caller's error, raised as is

        def write(out: BinaryIO) -> None:
            while True:
                try:
                    chunk = src.read(CHUNK)
                except BaseException as e:  # the source failed, not the location
                    raise _SourceError() from e
                if not chunk:
                    return
                out.write(chunk)

        with src:
            self._write_atomic(key, write)

    def put_bytes(self, key: str, data: bytes) -> None:
        def write(out: BinaryIO) -> None:
            out.write(data)

        self._write_atomic(key, write)

    def open(self, key: str) -> BinaryIO:
        path = self._path(key)
        self._ensure_root()
        try:
            return open(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
            raise ObjectMissing(errno.ENOENT, f"对象不存在：{key}（存储位置“{self.name}”）") from e
        except OSError as e:
            raise self._unavailable(e, f"读取 {key} ") from e

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as fh:
            try:
                return fh.read()
            except OSError as e:
                raise self._unavailable(e, f"读取 {key} ") from e

    def size(self, key: str) -> int | None:
        path = self._path(key)
        self._ensure_root()
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            raise self._unavailable(e, f"读取 {key} 的大小") from e
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def _walk(self, base: Path) -> Iterator[tuple[str, list[str], list[str]]]:
        def fail(e: OSError) -> None:
            if isinstance(e, FileNotFoundError | NotADirectoryError) and (
                Path(e.filename or "") == base
            ):
                return  # listing a prefix that holds nothing (or names an object)
            raise self._unavailable(e, "列出对象")

        return os.walk(base, onerror=fail)

    def list(self, prefix: str = "") -> Iterator[str]:
        base = self.root / check_key(prefix.rstrip("/")) if prefix else self.root
        self._ensure_root()
        keys = []
        for dirpath, _dirs, files in self._walk(base):
            for f in files:
                if f.startswith(TMP_PREFIX) or "\\" in f:  # an interrupted write, never an object
                    continue
                key = Path(dirpath, f).relative_to(self.root).as_posix()
                if key == self.MARKER:
                    continue
                keys.append(key)
        return iter(sorted(keys))

    def delete(self, key: str) -> None:
        path = self._path(key)
        self._ensure_root()
        try:
            os.unlink(path)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise self._unavailable(e, f"删除 {key} ") from e
        # Prune directories left empty (OCFL validators reject empty directories in an object).
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:  # not empty (or gone): stop
                break
            parent = parent.parent

    def capacity(self) -> Capacity:
        self._ensure_root()
        try:
            usage = shutil.disk_usage(self.root)
        except OSError as e:
            raise self._unavailable(e, "读取容量") from e
        # used_bytes is left unknown: walking millions of files on every health check is too dear;
        # the preservation services count what they stored.
        return Capacity(used_bytes=None, free_bytes=usage.free, total_bytes=usage.total)


class _SourceError(Exception):
    """Carries an error raised while reading a put_file() source (its __cause__)."""


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, et: object, ev: object, tb: object) -> bool:
        return isinstance(et, type) and issubclass(et, FileNotFoundError)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
