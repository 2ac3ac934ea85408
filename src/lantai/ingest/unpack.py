"""Safe unpacking of a transfer package (the first step of 收) into a work directory.

The source is a folder or a .zip (told apart by magic bytes, not by the suffix). The original is
only read, never modified: the caller keeps it in quarantine. Every name in the package is treated
as hostile: absolute paths, drive letters, ``..`` segments, backslashes, control characters,
symbolic links and special files, duplicate names and names that collide on case-insensitive
media are refused, each with a failed DA/T 70 check naming the entry as it appeared. Zip bombs are
stopped while streaming (actual bytes written are counted; the header's sizes are not trusted):
total bytes, per-entry compression ratio and number of entries are limited.

Only the package container is unpacked. A .zip (or any archive) inside the package is a file like
any other: it may itself be a declared electronic record, whose bytes the register's digest and
the catalogue describe, so it is kept as received (the virus scanner looks inside it).

Plain Python, no Django: limits come in as arguments. :func:`unpack` raises only
:class:`UnreadableSource` (the source is neither a folder nor a readable zip); everything hostile
or broken inside it becomes a :class:`CheckResult`.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import stat
import struct
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai import __version__
from lantai.ingest.deflate64 import DEFLATE64, Deflate64Entry
from lantai.ingest.summaries import summarize
from lantai.standards.dat70 import CheckResult

__all__ = ["Limits", "UnpackResult", "UnreadableSource", "copy_received", "unpack"]

CHUNK = 1 << 20
# DA/T 70 content of an unpack problem -> its catalogue check (standards/data/dat70-2018.yaml)
CHECK_OF = {"4-2": "safe_unpack", "3-4": "compression_encryption", "2-3": "content_completeness"}
GIB = 1 << 30
MIB = 1 << 20

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
SUPPORTED_METHODS = {
    zipfile.ZIP_STORED: "stored",
    zipfile.ZIP_DEFLATED: "deflate",
    zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma",
    DEFLATE64: "deflate64",
}
METHOD_NAMES = {
    1: "shrink",
    6: "implode",
    9: "deflate64",
    10: "PKWARE implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    93: "zstd",
    95: "xz",
    96: "jpeg",
    97: "wavpack",
    98: "PPMd",
    99: "AES",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"^[A-Za-z]:")
TOOL = "lantai.unpack"


class UnreadableSource(Exception):
    """The source cannot be read as a package at all (not a folder or zip, broken central
    directory). The message is Chinese and meant for the user."""

    @property
    def message_zh(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Limits:
    max_total_bytes: int = 50 * GIB  # all bytes written, nested zips included
    max_ratio: int = 100  # uncompressed / compressed, per entry …
    ratio_floor: int = MIB  # … checked only once an entry has produced more than this
    max_entries: int = 200_000  # entries of the package


@dataclass
class UnpackResult:
    root: Path  # the unpacked tree (regular files and folders only)
    results: list[CheckResult]  # refusals and notes; one pass result when nothing was refused
    entries: int  # regular files in the tree
    bytes: int  # their total size
    # kept for the resumable check's memo; always empty: archives inside the package are files
    expanded: list[str] = field(default_factory=list)


class _Stop(Exception):
    """A package-wide limit was reached: stop extracting."""


@dataclass
class _State:
    root: Path
    real_root: str
    limits: Limits
    results: list[CheckResult] = field(default_factory=list)
    written: int = 0  # bytes written (limit)
    seen: int = 0  # entries seen (limit)
    expanded: list[str] = field(default_factory=list)
    stopped: bool = False

    def fail(
        self,
        prop: str,
        code: str,
        title: str,
        obj: str,
        reason: str,
        limit: Any = None,
        found: Any = None,
        status: str = "fail",
    ) -> None:
        evidence: dict[str, Any] = {"reason": reason, "aspect": title}
        if limit is not None:
            evidence["limit"] = limit
        if found is not None:
            evidence["found"] = found
        self.results.append(
            CheckResult.from_spec(
                CHECK_OF[code],
                status,
                object=obj,
                evidence=evidence,
                tool=TOOL,
                tool_version=__version__,
            )  # fmt: skip
        )

    def security(self, obj: str, reason: str, limit: Any = None, found: Any = None) -> None:
        self.fail(
            "security", "4-2", "移交载体安全性（非移交文件、读取情况）", obj, reason, limit, found
        )

    def count_entry(self, obj: str) -> None:
        self.seen += 1
        if self.seen > self.limits.max_entries:
            self.security(
                obj,
                "条目数超过限制，停止解包（疑似压缩炸弹），其后的条目均未解出",
                self.limits.max_entries,
                self.seen,
            )
            raise _Stop


# --------------------------------------------------------------------------- names


CP437_NOTE = "文件名既不是 UTF-8 也不是 GB18030 编码，按 CP437 读取，可能显示为乱码"


def _guess_name(raw: bytes) -> tuple[str, str | None]:
    """Decode a name stored without an encoding: UTF-8 when it is unmistakably UTF-8 (valid and
    only ASCII or three/four-byte characters, as Chinese text is), else GB18030 (Chinese Windows),
    else UTF-8 (valid but with two-byte characters), else CP437 with a note."""
    if raw.isascii():
        return raw.decode("ascii"), None
    try:
        utf8: str | None = raw.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = None
    # GBK bytes are often valid UTF-8 too (e.g. 通知 = CD A8 D6 AA), but then as two-byte
    # characters U+0100..U+07FF (Greek, Cyrillic, Hebrew, ...), not as CJK. Latin-1 punctuation
    # (U+00A0..U+00FF) is allowed: archival codes carry the middle dot · (U+00B7).
    if utf8 is not None and all(
        ord(c) < 0x80 or 0xA0 <= ord(c) <= 0xFF or ord(c) >= 0x800 for c in utf8
    ):
        return utf8, None
    try:
        return raw.decode("gb18030"), None
    except UnicodeDecodeError:
        pass
    if utf8 is not None:
        return utf8, None
    return raw.decode("cp437"), CP437_NOTE


def _unicode_path_extra(info: zipfile.ZipInfo, raw: bytes) -> str | None:
    """The Info-ZIP Unicode Path extra field (0x7075), when present and matching the raw name."""
    extra = info.extra
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i : i + 4])
        data = extra[i + 4 : i + 4 + size]
        i += 4 + size
        if tag == 0x7075 and len(data) > 5 and data[0] == 1:
            if struct.unpack("<L", data[1:5])[0] != zlib.crc32(raw):
                return None  # the name was changed after the field was written: ignore it
            try:
                return data[5:].decode("utf-8")
            except UnicodeDecodeError:
                return None
    return None


def _decode_name(info: zipfile.ZipInfo) -> tuple[str, str | None]:
    """The entry's real name and, when it could only be read as CP437, a note saying so."""
    name = info.orig_filename
    if info.flag_bits & 0x800:
        return name, None
    raw = name.encode("cp437")
    if raw.isascii():
        return name, None
    unicode_path = _unicode_path_extra(info, raw)
    if unicode_path is not None:
        return unicode_path, None
    return _guess_name(raw)


def _check_name(name: str) -> tuple[list[str] | None, str]:
    """Split a package name into safe segments, or return None and the reason for refusing it."""
    if not name or name in {"/", "."}:
        return None, "空文件名"
    if _CONTROL.search(name):
        return None, "文件名含 NUL 或控制字符"
    if "\\" in name:
        return None, "文件名含反斜杠（Windows 路径分隔符），可能造成路径穿越"
    if name.startswith("/"):
        return None, "绝对路径，指向信息包之外"
    if _DRIVE.match(name):
        return None, "含盘符的绝对路径，指向信息包之外"
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None, "路径含“..”，试图穿越到信息包之外"
    if not parts:
        return None, "空文件名"
    if any(len(p.encode("utf-8")) > 255 for p in parts):
        return None, "文件名过长（超过 255 字节）"
    return parts, ""


def _fold(rel: str) -> str:
    return unicodedata.normalize("NFC", rel).casefold()


def _inside(state: _State, target: Path) -> bool:
    real = os.path.realpath(target)
    return real == state.real_root or real.startswith(state.real_root + os.sep)


# --------------------------------------------------------------------------- zip


def _zip_entry_count(fp: Any) -> int | None:
    """Entry count from the end of central directory record (zip64 aware), read before zipfile
    loads the whole central directory into memory; None when it cannot be found."""
    fp.seek(0, os.SEEK_END)
    size = fp.tell()
    tail_len = min(size, 65536 + 22)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    count: int = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    if count != 0xFFFF or at < 20:
        return count
    loc = tail[at - 20 : at]
    if loc[:4] != b"PK\x06\x07":
        return count
    offset: int = struct.unpack("<Q", loc[8:16])[0]
    if offset + 56 > size:
        return None
    fp.seek(offset)
    rec = fp.read(56)
    if rec[:4] != b"PK\x06\x06":
        return None
    total: int = struct.unpack("<Q", rec[32:40])[0]
    return total


def _overlapping(infos: list[zipfile.ZipInfo]) -> set[int]:
    """Indexes of entries whose data overlaps the next local header (overlapping-entry bombs)."""
    order = sorted(range(len(infos)), key=lambda i: infos[i].header_offset)
    bad: set[int] = set()
    for a, b in zip(order, order[1:], strict=False):
        ia, ib = infos[a], infos[b]
        if ib.header_offset < ia.header_offset + 30 + ia.compress_size:
            bad.add(b)
    return bad


def _is_zip_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in ZIP_MAGICS
    except OSError:
        return False


def _open_zip(path: Path, state: _State, obj: str) -> zipfile.ZipFile:
    """Open a zip, refusing it when its declared entry count alone breaks the limit."""
    with open(path, "rb") as fh:
        declared = _zip_entry_count(fh)
    if declared is not None and state.seen + declared > state.limits.max_entries:
        state.security(
            obj,
            "压缩包声明的条目数超过限制，未解包（疑似压缩炸弹）",
            state.limits.max_entries,
            state.seen + declared,
        )
        raise _Stop
    return zipfile.ZipFile(path)


def _extract_zip(zf: zipfile.ZipFile, dest: Path, prefix: str, state: _State) -> list[Path]:
    """Extract every acceptable entry of zf under dest; return the regular files written."""
    infos = zf.infolist()
    overlap = _overlapping(infos)
    names: dict[str, str] = {}  # exact relative name -> shown name
    folded: dict[str, str] = {}  # case-folded relative name -> shown name
    kinds: dict[str, bool] = {}  # relative name -> is a directory
    written_files: list[Path] = []
    for index, info in enumerate(infos):
        name, note = _decode_name(info)
        obj = prefix + name
        state.count_entry(obj)
        if note:
            state.fail(
                "usability",
                "3-4",
                "移交信息包可用性（文件名编码）",
                obj,
                note,
                status="warn",
            )
        parts, reason = _check_name(name)
        if parts is None:
            state.security(obj, reason, found=name)
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            state.security(obj, "符号链接条目，不予解出（可能指向信息包之外）")
            continue
        if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            kind = _special_kind(mode)
            state.security(obj, f"特殊文件条目（{kind}），不是移交文件，不予解出", found=kind)
            continue
        if index in overlap:
            state.security(obj, "条目数据与其他条目重叠（疑似压缩炸弹），不予解出")
            continue
        rel = "/".join(parts)
        is_dir = info.is_dir()
        if rel in names:
            if is_dir and kinds.get(rel):
                continue  # a folder listed twice is harmless
            state.fail(
                "integrity",
                "2-3",
                "内容完整性（重复文件名）",
                obj,
                "信息包内有同名条目，只保留第一个",
                found=names[rel],
            )
            continue
        key = _fold(rel)
        if key in folded:
            if is_dir and kinds.get(key + "\0dir"):
                continue  # folders differing in case merge harmlessly; their files are checked
            state.fail(
                "integrity",
                "2-3",
                "内容完整性（文件名仅大小写不同）",
                obj,
                "与另一条目仅大小写（或 Unicode 规范化形式）不同，在不区分大小写的介质上会相互覆盖，只保留第一个",
                found=folded[key],
            )
            continue
        if info.flag_bits & 0x1:
            state.fail(
                "usability",
                "3-4",
                "移交信息包可用性（加密）",
                obj,
                "条目已加密，无法读取内容",
            )
            continue
        if not is_dir and info.compress_type not in SUPPORTED_METHODS:
            method = METHOD_NAMES.get(info.compress_type, f"方法 {info.compress_type}")
            state.fail(
                "usability",
                "3-4",
                "移交信息包可用性（非公开/不支持的压缩算法）",
                obj,
                "使用非公开或不支持的压缩算法",
                limit=", ".join(SUPPORTED_METHODS.values()),
                found=method,
            )
            continue
        target = dest.joinpath(*parts)
        if not _inside(state, target):
            state.security(obj, "解析后的路径位于信息包之外", found=name)
            continue
        names[rel] = obj
        folded[key] = obj
        kinds[rel] = is_dir
        if is_dir:
            kinds[key + "\0dir"] = True
            try:
                target.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                state.security(obj, f"无法建立目录：{exc.strerror or exc}")
            continue
        if _write_entry(zf, info, target, obj, state):
            written_files.append(target)
    return written_files


def _write_entry(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, obj: str, state: _State
) -> bool:
    limits = state.limits
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not _inside(state, target.parent):
            state.security(obj, "解析后的路径位于信息包之外")
            return False
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        state.security(obj, f"无法建立文件（路径与其他条目冲突或不合法）：{exc.strerror or exc}")
        return False
    size = 0
    compressed = max(info.compress_size, 1)
    problem: tuple[str, str, str, str, Any, Any] | None = None
    stop = False
    try:
        with os.fdopen(fd, "wb") as out, _open_entry(zf, info, obj) as src:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if state.written + size > limits.max_total_bytes:
                    problem = (
                        "security",
                        "4-2",
                        "移交载体安全性（解压总量）",
                        "解压后的总字节数超过限制，停止解包（疑似压缩炸弹）",
                        limits.max_total_bytes,
                        f"> {state.written + size}",
                    )
                    stop = True
                    break
                if size > limits.ratio_floor and size > limits.max_ratio * compressed:
                    problem = (
                        "security",
                        "4-2",
                        "移交载体安全性（压缩比）",
                        "条目压缩比超过限制，停止解出该条目（疑似压缩炸弹）",
                        f"{limits.max_ratio}:1",
                        f"> {size // compressed}:1（压缩 {info.compress_size} 字节，已解出 {size} 字节）",
                    )
                    break
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, ValueError) as exc:
        problem = ("integrity", "2-3", "内容完整性（条目损坏）", f"条目数据损坏：{exc}", None, None)
    except NotImplementedError as exc:
        problem = (
            "usability",
            "3-4",
            "移交信息包可用性（非公开/不支持的压缩算法）",
            f"使用非公开或不支持的压缩算法：{exc}",
            None,
            None,
        )
    except RuntimeError as exc:  # zipfile: encrypted (flag set in the local header only)
        problem = (
            "usability",
            "3-4",
            "移交信息包可用性（加密）",
            f"条目无法读取：{exc}",
            None,
            None,
        )
    except OSError as exc:
        problem = ("integrity", "2-3", "内容完整性（条目无法读取）", f"读写失败：{exc}", None, None)
    except Exception as exc:  # noqa: BLE001 - hostile input must never crash the unpack
        problem = (
            "integrity",
            "2-3",
            "内容完整性（条目无法读取）",
            f"无法解出：{exc!r}",
            None,
            None,
        )
    if problem is not None:
        target.unlink(missing_ok=True)
        prop, code, title, reason, limit, found = problem
        state.fail(prop, code, title, obj, reason, limit, found)
        if stop:
            raise _Stop
        return False
    state.written += size
    try:  # keep the entry's modification time: later checks compare it with the metadata
        stamp = time.mktime((*info.date_time, 0, 0, -1))
        os.utime(target, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass
    return True


def _open_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, obj: str) -> Any:
    """A readable stream of the entry's bytes: zipfile's own, or for Deflate64 (which zipfile
    refuses) inflate64's, checked against the central directory's CRC-32 and size like zipfile's."""
    if info.compress_type == DEFLATE64:
        return Deflate64Entry(zf, info, obj)
    return zf.open(info)


# --------------------------------------------------------------------------- folders


def _copy_folder(source: Path, dest: Path, state: _State) -> list[Path]:
    """Link (or copy) the regular files of source under dest; refuse links and special files."""
    files: list[Path] = []
    folded: dict[str, str] = {}
    stack: list[tuple[Path, tuple[str, ...]]] = [(source, ())]
    while stack:
        folder, parts = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            state.security("/".join(parts) or "package", f"无法读取文件夹：{exc.strerror or exc}")
            continue
        for entry in entries:
            name = entry.name
            shown = "/".join((*parts, name))
            if not name.isascii():  # Linux names are bytes: GBK from Windows media is common
                name, note = _guess_name(os.fsencode(name))
                shown = "/".join((*parts, name))
                if note:
                    state.fail(
                        "usability",
                        "3-4",
                        "移交信息包可用性（文件名编码）",
                        shown,
                        note,
                        status="warn",
                    )
            state.count_entry(shown)
            segs, reason = _check_name(name)
            if segs is None or len(segs) != 1:
                state.security(shown, reason or "文件名不合法", found=name)
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                state.security(shown, f"无法读取：{exc.strerror or exc}")
                continue
            if stat.S_ISLNK(st.st_mode):
                state.security(shown, "符号链接，不予复制也不跟随（可能指向信息包之外）")
                continue
            rel_parts = (*parts, name)
            key = _fold("/".join(rel_parts))
            if key in folded:
                state.fail(
                    "integrity",
                    "2-3",
                    "内容完整性（文件名仅大小写不同）",
                    shown,
                    "与另一文件仅大小写（或 Unicode 规范化形式）不同，在不区分大小写的介质上会相互覆盖，只保留第一个",
                    found=folded[key],
                )
                continue
            folded[key] = shown
            target = dest.joinpath(*rel_parts)
            if stat.S_ISDIR(st.st_mode):
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    state.security(shown, f"无法建立目录：{exc.strerror or exc}")
                    continue
                stack.append((Path(entry.path), rel_parts))
                continue
            if not stat.S_ISREG(st.st_mode):
                state.security(
                    shown,
                    f"特殊文件（{_special_kind(st.st_mode)}），不是移交文件，不予复制也不读取",
                    found=_special_kind(st.st_mode),
                )
                continue
            if not _inside(state, target.parent):
                state.security(shown, "解析后的路径位于信息包之外")
                continue
            if state.written + st.st_size > state.limits.max_total_bytes:
                state.security(
                    shown,
                    "信息包总字节数超过限制，停止接收",
                    state.limits.max_total_bytes,
                    f"> {state.written + st.st_size}",
                )
                raise _Stop
            if _link_or_copy(Path(entry.path), target, shown, state):
                state.written += st.st_size
                files.append(target)
    return files


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "命名管道 FIFO"
    if stat.S_ISSOCK(mode):
        return "套接字 socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备文件"
    return "非普通文件"


def copy_received(src: str, dst: str, *, follow_symlinks: bool = True) -> str:
    """``shutil.copytree``'s copy function for quarantining a received folder: regular files are
    copied with their times; a FIFO, socket or device has no content and is recreated as a node of
    the same kind (a FIFO stands in for a device where this process may not create one), so the
    check finds and reports it (4-2) instead of the copy failing or blocking on a pipe."""
    st = os.lstat(src)
    if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
        return str(shutil.copy2(src, dst, follow_symlinks=follow_symlinks))
    try:
        os.mknod(dst, stat.S_IFMT(st.st_mode) | 0o600, st.st_rdev)
    except OSError:
        os.mkfifo(dst, 0o600)
    return dst


def _link_or_copy(src: Path, target: Path, shown: str, state: _State) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target, follow_symlinks=False)
            st = os.lstat(target)
            if not stat.S_ISREG(st.st_mode):  # swapped for a link between the check and here
                target.unlink()
                state.security(shown, "文件在复制过程中被替换为符号链接或特殊文件")
                return False
            return True
        except OSError:
            pass
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fin, open(target, "xb") as fout:
            shutil.copyfileobj(fin, fout, CHUNK)
            st = os.fstat(fin.fileno())
        os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
        return True
    except OSError as exc:
        target.unlink(missing_ok=True)
        state.security(shown, f"无法复制：{exc.strerror or exc}")
        return False


# --------------------------------------------------------------------------- entry point


def _source_kind(source: Path) -> str:
    if source.is_symlink():
        raise UnreadableSource(f"“{source.name}”是符号链接，不是文件夹或 zip 压缩包")
    if source.is_dir():
        return "folder"
    if not source.is_file():  # a FIFO or device would block or never end
        raise UnreadableSource(f"“{source.name}”不是普通文件，也不是文件夹")
    try:
        with open(source, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise UnreadableSource(f"无法读取“{source.name}”：{exc.strerror or exc}") from exc
    if magic in ZIP_MAGICS:
        return "zip"
    raise UnreadableSource(f"“{source.name}”既不是文件夹也不是 zip 压缩包（文件头不是 PK）")


def unpack(source: Path, work: Path, limits: Limits = Limits()) -> UnpackResult:  # noqa: B008
    """Unpack a folder or .zip into ``work`` (created; must be empty) and check it on the way.

    Raises :class:`UnreadableSource` only when the source cannot be read at all.
    """
    source = Path(source)
    work = Path(work)
    kind = _source_kind(source)
    zf: zipfile.ZipFile | None = None
    work.mkdir(parents=True, exist_ok=True)
    if any(work.iterdir()):
        raise ValueError(f"work directory {work} is not empty")
    state = _State(root=work, real_root=os.path.realpath(work), limits=limits)
    try:
        if kind == "zip":
            try:
                zf = _open_zip(source, state, "package")
            except (zipfile.BadZipFile, EOFError, ValueError, struct.error) as exc:
                raise UnreadableSource(
                    f"“{source.name}”不是完整的 zip 压缩包（中央目录损坏或被截断）：{exc}"
                ) from exc
            except UnicodeDecodeError as exc:
                raise UnreadableSource(
                    f"“{source.name}”的中央目录中有标为 UTF-8 却不是 UTF-8 的文件名：{exc}"
                ) from exc
            except OSError as exc:
                raise UnreadableSource(f"无法读取“{source.name}”：{exc.strerror or exc}") from exc
            with zf:
                _extract_zip(zf, work, "", state)
        else:
            _copy_folder(source, work, state)
    except _Stop:
        state.stopped = True
    entries = 0
    total = 0
    for dirpath, _dirs, names in os.walk(work):
        for name in names:
            entries += 1
            total += os.lstat(os.path.join(dirpath, name)).st_size
    # the package-level 4-2 result: what was examined, and how many entries were refused
    summary = summarize(
        "safe_unpack", state.results, checked=max(entries, state.seen),
        compared="每个条目的路径、类型、大小 vs 安全解包规则（无路径穿越、链接、特殊文件、重名、压缩炸弹）",
        none_reason="信息包中没有文件",
    )  # fmt: skip
    if summary.status == "pass":
        summary.evidence["found"] = f"{entries} 个文件"
    summary.tool, summary.tool_version = TOOL, __version__
    state.results.append(summary)
    return UnpackResult(
        root=work, results=state.results, entries=entries, bytes=total, expanded=state.expanded
    )
