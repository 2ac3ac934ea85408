"""Fixity of a transfer package: SM3 (GB/T 32905) and SHA-256 of every file, compared with the
digests the package declares (bag manifests, EEP digests, the register's 数字摘要 list).

Every file is read once and fed to all its hashers. Files up to a few MiB are read whole and
their SM3 digests computed 16 at a time in SIMD lanes (`lantai.core.sm3.sm3_many`, decision 0016:
SM3 is otherwise the slowest part by far); larger files stream through OpenSSL in 1 MiB chunks.
Files are hashed by a pool of worker processes; they travel to the workers in tasks (large files
first, small files batched by the hundred) so 10,000 small files cost a few dozen messages, not
10,000; the tasks shrink towards the end (the last ones are about a megabyte) so the workers
finish together instead of one waiting on the other's last batch. MD5, SHA-1 and SHA-512 are
computed only for files whose declared digests use them.

Plain Python, no Django.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol

from lantai import __version__
from lantai.core.sm3 import LANES_FAST, sm3_many
from lantai.ingest.processes import pool_context
from lantai.standards.dat70 import CheckResult, load_catalogue
from lantai.standards.transfer.package import DeclaredDigest

__all__ = ["ALGORITHMS", "compare", "extra_for", "hash_files", "normalize_algorithm", "wanted"]

CHUNK = 1 << 20
ALGORITHMS = ("sm3", "sha256", "sha512", "sha384", "sha224", "sha1", "md5")
TOOL = "lantai.fixity"
ERROR = "error"  # key of a computed entry for a file that could not be read
_HEX = re.compile(r"^[0-9a-f]+$")
_LENGTHS = {
    "sm3": 64,
    "sha256": 64,
    "sha512": 128,
    "sha384": 96,
    "sha224": 56,
    "sha1": 40,
    "md5": 32,
}
_TASK_FILES = 256  # small files per task at most
_TASK_BYTES = 64 << 20  # bytes per task at most (one larger file makes a task alone)
_TASK_MIN_BYTES = 1 << 20  # the last tasks: a few milliseconds of hashing each
_TASK_SHARE = 4  # a task holds at most 1/(4 x processes) of the bytes not yet in a task
_FILE_COST = 16 << 10  # opening, reading and reporting one file, in bytes of hashing
_WHOLE_MAX = 4 << 20  # files up to this size are read whole and hashed in SM3 lanes
_BATCH_BYTES = 32 << 20  # SM3 lanes hash the whole files read so far once they hold this much
_LANES = LANES_FAST  # a module global so that tests can take either path


class _Hasher(Protocol):
    def update(self, data: bytes | bytearray | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySM3:
    """SM3 through `cryptography`, for an OpenSSL built without it."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes

        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        self._h.update(bytes(data))

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


def _openssl_has_sm3() -> bool:
    try:
        hashlib.new("sm3", b"abc")
    except ValueError:
        return False
    return True


_SM3_NATIVE = _openssl_has_sm3()


def normalize_algorithm(name: str) -> str:
    """'SHA-256', 'SHA256', 'sha256' -> 'sha256'; 'SM3' -> 'sm3'; 'SHA-1' -> 'sha1'."""
    return name.strip().lower().replace("-", "").replace("_", "")


def _new(name: str) -> _Hasher:
    if name == "sm3" and not _SM3_NATIVE:
        return _CryptographySM3()
    return hashlib.new(name)


def _safe_path(root: str, rel: str, parents: dict[str, str]) -> str | None:
    """The absolute path of rel under root, or None when it would leave root. Its directory is
    resolved (symbolic links followed) once per task and must stay inside root; the file itself
    is then opened with O_NOFOLLOW, so a link as the last component fails to open."""
    if not rel or "\0" in rel or os.path.isabs(rel):
        return None
    parent, name = os.path.split(rel)
    if name in ("", ".", ".."):
        return None
    real = parents.get(parent)
    if real is None:
        real = parents[parent] = os.path.realpath(os.path.join(root, parent))
    if real != root and not real.startswith(root + os.sep):
        return None
    return os.path.join(real, name)


def _open(root: str, rel: str, parents: dict[str, str]) -> int | dict[str, str]:
    """A read-only descriptor of the file, or {"error": reason}."""
    full = _safe_path(root, rel, parents)
    if full is None:
        return {ERROR: "路径越出信息包根目录"}
    try:
        return os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return {ERROR: "文件不存在"}
    except OSError as exc:
        return {ERROR: f"无法读取：{exc.strerror or exc}"}


def _read_whole(fd: int, size: int) -> bytes:
    """The file's bytes to its end; `size` (from fstat) is what it should hold."""
    parts = []
    while chunk := os.read(fd, size if size > 0 else 4096):  # then a small read finds the end
        parts.append(chunk)
        size -= len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _stream(fd: int, algorithms: tuple[str, ...], buf: bytearray) -> dict[str, str]:
    """Digests of a file read in chunks (os.readv into the task's buffer: no file object)."""
    hashers = [_new(a) for a in algorithms]
    view = memoryview(buf)
    try:
        while n := os.readv(fd, [buf]):
            data = view[:n]
            for h in hashers:
                h.update(data)
    finally:
        view.release()
    return {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}


def _hash_task(
    root: str, items: list[tuple[str, tuple[str, ...]]]
) -> list[tuple[str, dict[str, str]]]:
    """Digests of the task's files. Where the SIMD lanes are fast (LANES_FAST), files up to
    _WHOLE_MAX are read whole and their SM3 is computed in batches by `sm3_many` (several times
    OpenSSL's speed on many files); larger files, and every file elsewhere, stream through
    OpenSSL."""
    buf = bytearray(CHUNK)
    parents: dict[str, str] = {}  # directory -> its resolved path, for this task's files
    out: list[tuple[str, dict[str, str]]] = []
    waiting: list[tuple[dict[str, str], bytes]] = []  # (digests so far, data) awaiting SM3
    waiting_bytes = 0

    def flush() -> None:
        nonlocal waiting_bytes
        if not waiting:
            return
        # longest first: the lanes finish together (see _sm3lanes.c)
        waiting.sort(key=lambda w: -len(w[1]))
        for (digests, _), sm3 in zip(waiting, sm3_many([d for _, d in waiting]), strict=True):
            digests["sm3"] = sm3
        waiting.clear()
        waiting_bytes = 0

    for rel, algorithms in items:
        fd = _open(root, rel, parents)
        if isinstance(fd, dict):
            out.append((rel, fd))
            continue
        try:
            size = os.fstat(fd).st_size
            if _LANES and "sm3" in algorithms and size <= _WHOLE_MAX:
                data = _read_whole(fd, size)
                digests = {a: hashlib.new(a, data).hexdigest() for a in algorithms if a != "sm3"}
                waiting.append((digests, data))
                waiting_bytes += len(data)
            else:
                digests = _stream(fd, algorithms, buf)
        except OSError as exc:
            digests = {ERROR: f"无法读取：{exc.strerror or exc}"}
        finally:
            os.close(fd)
        out.append((rel, digests))
        if waiting_bytes >= _BATCH_BYTES:
            flush()
    flush()
    # the order of the algorithms as asked (SM3 was added last to the batched files)
    return [
        (rel, d if ERROR in d else {a: d[a] for a in algs})
        for (rel, d), (_, algs) in zip(out, items, strict=True)
    ]


def _tasks(
    root: str,
    jobs: list[tuple[str, tuple[str, ...]]],
    processes: int = 1,
    sizes: Mapping[str, int] | None = None,
) -> list[list[tuple[str, tuple[str, ...]]]]:
    """Group files into tasks, largest first, so the pool's last tasks are small ones; at least
    two tasks per process when there are that many files, so no worker sits idle. A task
    holds at most 1/(4 x processes) of the work not yet in a task (and at least 1 MiB), so the
    tasks shrink geometrically towards the end and the workers finish within milliseconds of
    each other. Sizes come from ``sizes`` where it has the file, from os.stat otherwise."""
    per_task = max(1, min(_TASK_FILES, -(-len(jobs) // (2 * max(1, processes)))))
    share = _TASK_SHARE * max(1, processes)
    sized: list[tuple[int, str, tuple[str, ...]]] = []
    known = sizes or {}
    for rel, algs in jobs:
        size = known.get(rel)
        if size is None:
            try:
                size = os.stat(os.path.join(root, rel)).st_size
            except (OSError, ValueError):
                size = 0
        sized.append((size + _FILE_COST, rel, algs))
    sized.sort(key=lambda t: -t[0])
    remaining = sum(t[0] for t in sized)  # the work not yet in a closed task
    tasks: list[list[tuple[str, tuple[str, ...]]]] = []
    current: list[tuple[str, tuple[str, ...]]] = []
    current_bytes, limit = 0, _TASK_BYTES
    for cost, rel, algs in sized:
        if current and (current_bytes + cost > limit or len(current) >= per_task):
            tasks.append(current)
            remaining -= current_bytes
            current, current_bytes = [], 0
        if not current:
            limit = max(_TASK_MIN_BYTES, min(_TASK_BYTES, remaining // share))
        current.append((rel, algs))
        current_bytes += cost
    if current:
        tasks.append(current)
    return tasks


def hash_files(
    root: Path,
    paths: list[str],
    *,
    algorithms: Iterable[str] = ("sm3", "sha256"),
    extra: dict[str, set[str]] | None = None,
    processes: int = 2,
    on_done: Callable[[dict[str, dict[str, str]]], None] | None = None,
    sizes: Mapping[str, int] | None = None,
) -> dict[str, dict[str, str]]:
    """Digest every file of ``paths`` (POSIX, relative to ``root``) with ``algorithms`` plus the
    algorithms ``extra`` names for that file, reading each file once.

    Returns path -> {algorithm: lower-case hex}. A file that cannot be read (missing, outside the
    root, a symbolic link, unreadable) maps to ``{"error": reason}`` instead. ``on_done`` is called
    (in this thread) with the digests of each batch of files as soon as that batch is finished.
    ``sizes`` (path -> bytes, from the caller's inventory) only orders the work, largest files
    first; files it lacks are stat'ed. A wrong size costs balance between the workers, never a
    digest: every file is read to its end.
    """
    base = wanted("", algorithms)  # the same tuple for every file that extra does not name
    extra = extra or {}
    jobs = [
        (rel, wanted(rel, base, extra) if rel in extra else base) for rel in dict.fromkeys(paths)
    ]
    real_root = os.path.realpath(root)
    tasks = _tasks(real_root, jobs, processes, sizes)
    out: dict[str, dict[str, str]] = {}

    def done(part: list[tuple[str, dict[str, str]]]) -> None:
        out.update(part)
        if on_done is not None:
            on_done(dict(part))

    if processes <= 1 or len(tasks) <= 1:
        for task in tasks:
            done(_hash_task(real_root, task))
    else:
        workers = min(processes, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=pool_context()) as pool:
            futures = [pool.submit(_hash_task, real_root, task) for task in tasks]
            for future in as_completed(futures):
                done(future.result())
    return {rel: out[rel] for rel, _ in jobs}


def wanted(
    rel: str,
    algorithms: Iterable[str] = ("sm3", "sha256"),
    extra: dict[str, set[str]] | None = None,
) -> tuple[str, ...]:
    """The algorithms :func:`hash_files` computes for ``rel``."""
    algs = [normalize_algorithm(a) for a in algorithms]
    for a in sorted((extra or {}).get(rel, ())):
        a = normalize_algorithm(a)
        if a in ALGORITHMS and a not in algs:
            algs.append(a)
    return tuple(algs)


def extra_for(declared: Iterable[DeclaredDigest]) -> dict[str, set[str]]:
    """The ``extra`` argument of :func:`hash_files` that covers every declared algorithm."""
    extra: dict[str, set[str]] = {}
    for d in declared:
        extra.setdefault(d.path, set()).add(normalize_algorithm(d.algorithm))
    return extra


def _result(key: str, status: str, obj: str, evidence: dict[str, Any]) -> CheckResult:
    """The outcome of DA/T 70 catalogue check `key` (standards/data/dat70-2018.yaml)."""
    return CheckResult.from_spec(
        key, status, object=obj, evidence=evidence, tool=TOOL, tool_version=__version__
    )


def _digest_result() -> Callable[[str, str, dict[str, Any]], CheckResult]:
    """_result("fixity", ...) with the catalogue entry looked up once: one per declared digest,
    so tens of thousands per transfer."""
    spec = load_catalogue().check("fixity")

    def make(status: str, obj: str, evidence: dict[str, Any]) -> CheckResult:
        return CheckResult.from_spec(
            spec, status, object=obj, evidence=evidence, tool=TOOL, tool_version=__version__
        )

    return make


def compare(
    declared: list[DeclaredDigest], computed: dict[str, dict[str, str]]
) -> list[CheckResult]:
    """One result per declared digest (authenticity 1-1); one failed integrity 2-3 result per
    declared file that is missing or unreadable (instead of its digest results)."""
    results: list[CheckResult] = []
    missing: dict[str, list[DeclaredDigest]] = {}
    result = _digest_result()
    names: dict[str, str] = {}  # declared algorithm name -> normalized
    for d in declared:
        found = computed.get(d.path)
        if found is None or ERROR in found:
            missing.setdefault(d.path, []).append(d)
            continue
        algorithm = names.get(d.algorithm)
        if algorithm is None:
            algorithm = names[d.algorithm] = normalize_algorithm(d.algorithm)
        expected = d.value.strip().lower()
        evidence: dict[str, Any] = {
            "algorithm": algorithm,
            "expected": expected,
            "found": found.get(algorithm, ""),
            "source": d.source,
        }
        if algorithm not in _LENGTHS:
            evidence["reason"] = (
                f"不支持的摘要算法“{d.algorithm}”（支持 SM3、SHA256、SHA224、SHA384、SHA512、SHA1、MD5）"
            )
            results.append(result("fail", d.path, evidence))
        elif not _HEX.match(expected) or len(expected) != _LENGTHS[algorithm]:
            evidence["reason"] = f"声明的摘要值不是 {_LENGTHS[algorithm]} 位十六进制数"
            results.append(result("fail", d.path, evidence))
        elif algorithm not in found:
            evidence["reason"] = "未计算该算法的摘要（调用方未在 extra 中请求）"
            results.append(result("fail", d.path, evidence))
        elif found[algorithm] == expected:
            evidence["reason"] = "声明的摘要与实际计算的摘要一致"
            results.append(result("pass", d.path, evidence))
        else:
            evidence["reason"] = "声明的摘要与实际计算的摘要不一致，文件可能被修改或损坏"
            results.append(result("fail", d.path, evidence))
    for path, digests in missing.items():
        entry = computed.get(path)
        reason = entry[ERROR] if entry else "文件不存在"
        results.append(
            _result(
                "content_completeness",
                "fail",
                path,
                {
                    "reason": f"声明了数字摘要的文件无法核对：{reason}",
                    "expected": path,
                    "found": "",
                    "source": "；".join(dict.fromkeys(d.source for d in digests)),
                },
            )
        )
    return results
