"""The manifest of a backup (manifest.json): what a backup holds, each file's size and SM3, and the
state of the archives it was taken from (release, database engine, migrations, audit chain head,
row counts). `verify_files` re-hashes a backup folder against it."""

from __future__ import annotations

import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.core.sm3 import sm3_stream

MANIFEST = "manifest.json"
FORMAT = "lantai-backup/1"


class BackupError(Exception):
    """A backup that cannot be made, read or restored: the message names the place and the rule
    (Chinese first, English after). `code` is the `lantai` exit code (1 refused, 2 unreadable)."""

    def __init__(self, message: str, code: int = 1, **fields: Any) -> None:
        super().__init__(message)
        self.message, self.code, self.fields = message, code, fields


def file_sm3(path: Path) -> str:
    with path.open("rb") as f:
        return sm3_stream(f)


def list_files(root: Path) -> Iterator[Path]:
    """Every regular file under `root` but the manifest, relative paths sorted."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(root)
            if rel.as_posix() != MANIFEST and path.is_file() and not path.is_symlink():
                yield rel


def describe_files(root: Path) -> list[dict[str, Any]]:
    """path, size, sm3 and mode of every file of the backup folder."""
    rows = []
    for rel in list_files(root):
        path = root / rel
        st = path.stat()
        rows.append(
            {
                "path": rel.as_posix(),
                "size": st.st_size,
                "sm3": file_sm3(path),
                "mode": f"{st.st_mode & 0o777:o}",
            }
        )
    return rows


def write_manifest(root: Path, manifest: dict[str, Any]) -> str:
    """Write manifest.json (0600) and return its SM3."""
    path = root / MANIFEST
    data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return file_sm3(path)


def read_manifest(root: Path) -> dict[str, Any]:
    path = root / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"备份中没有清单文件 the backup has no manifest: {path}", 2, path=str(path)
        ) from None
    except (OSError, ValueError) as e:
        raise BackupError(
            f"无法读取备份清单 cannot read the backup manifest {path}: {e}", 2, path=str(path)
        ) from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(
            f"不是兰台备份清单（应为 {FORMAT}）not a Lantai backup manifest: {path}",
            2,
            path=str(path),
        )
    return manifest


@dataclass
class FileCheck:
    """What `verify_files` found: every listed file re-hashed."""

    checked: int = 0
    bytes: int = 0
    changed: list[str] = field(default_factory=list)  # size or SM3 differs
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # in the folder, not in the manifest

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files_checked": self.checked,
            "bytes_checked": self.bytes,
            "changed": self.changed,
            "missing": self.missing,
            "extra": self.extra,
        }


def verify_files(root: Path, manifest: dict[str, Any]) -> FileCheck:
    result = FileCheck()
    listed = {row["path"]: row for row in manifest.get("files", [])}
    present = {rel.as_posix() for rel in list_files(root)}
    for name, row in sorted(listed.items()):
        path = root / name
        if name not in present:
            result.missing.append(name)
            continue
        result.checked += 1
        size = path.stat().st_size
        result.bytes += size
        if size != row["size"] or file_sm3(path) != row["sm3"]:
            result.changed.append(name)
    result.extra = sorted(present - set(listed))
    return result


class Opened:
    """A backup to read: a folder as it is, or a .tar unpacked into a private temporary folder
    (removed on close)."""

    def __init__(self, src: Path) -> None:
        self.src = src
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if not src.exists():
            raise BackupError(f"备份不存在 backup does not exist: {src}", 2, path=str(src))
        if src.is_dir():
            self.root = src
            return
        try:
            is_tar = tarfile.is_tarfile(src)
        except OSError as e:
            raise BackupError(
                f"无法读取备份 cannot read the backup {src}: {e}", 2, path=str(src)
            ) from e
        if not is_tar:
            raise BackupError(
                f"不是备份目录或 tar 文件 not a backup folder or tar file: {src}", 2, path=str(src)
            )
        self._tmp = tempfile.TemporaryDirectory(prefix="lantai-restore-")
        try:
            self.root = self._unpack(src, Path(self._tmp.name))
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _unpack(src: Path, into: Path) -> Path:
        """Unpack the .tar with tarfile's "data" filter; a tar cut short or holding a member that
        filter refuses is an unreadable backup (exit 2), never a traceback."""
        try:
            with tarfile.open(src) as tar:
                tar.extractall(into, filter="data")
        except tarfile.FilterError as e:  # absolute path, link leading out, device file
            raise BackupError(
                f"备份 tar 含不安全的成员（绝对路径、指向包外的链接或设备文件），拒绝解包 the backup tar "
                f"holds a member the safe unpacking refuses (absolute path, link leading outside,"
                f" device file): {src}: {e}",
                2,
                path=str(src),
            ) from e
        except (tarfile.TarError, EOFError, OSError) as e:  # cut short, damaged, disk full
            raise BackupError(
                f"备份 tar 文件被截断或已损坏，无法解包 the backup tar is truncated or damaged and "
                f"cannot be unpacked: {src}: {e}",
                2,
                path=str(src),
            ) from e
        inner = list(into.iterdir())
        return inner[0] if len(inner) == 1 and inner[0].is_dir() else into

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
