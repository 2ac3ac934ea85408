"""`lantai bench fixity`: the continuous fixity audit over 10,000 stored files (~2 GB) on local
storage.

Target (preservation issue): audit throughput (SM3 and SHA-256 of every file verified against the
OCFL inventories) ≥ 80% of the hashing limit measured in the same run, `sha256sum` and
`openssl dgst -sm3` over the same files, one process each, started together (2 cores); memory flat.
Also: how long a full pass of 50 million 2 MB files takes on N machines at the measured per-core
rate.

Setup (a child process with a throwaway data directory and SQLite database): `packages` OCFL
objects of `files / packages` incompressible files each, written with `ocfl.write_version` on the
primary local location, with their Package and Replica rows (version 1, as `preserve` leaves them).
The audit runs in its own child process (own peak RSS; this process samples its RSS and that of
its worker processes). Every file is read once, untimed, before any timing, and the files are synced
to disk: every contender finds the same files in the page cache (a CPU comparison).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

CORES = 2  # the audit's hashing pool (fixity.hash_files, processes=2) and the tools' two processes
PAPER_FILES = 50_000_000
PAPER_FILE_BYTES = 2_000_000  # "2 MB" (10^6 bytes, like the MB/s figures)
PAPER_MACHINES = (1, 4, 10, 20)


# --- child phases (run in a fresh process with LANTAI_DATA_DIR set) ------------------------------


def phase_setup(files: int, size_kb: int, packages: int, listing: Path) -> dict[str, Any]:
    """Write the stored files as OCFL objects on the primary location, with their DB rows; write
    the NUL-separated list of content files (relative to the storage root) to `listing`."""
    common.setup_django()
    from django.utils import timezone

    from lantai.preservation import locations, ocfl
    from lantai.preservation.models import Package, Replica

    primary = locations.ensure_primary()
    backend = locations.open_location(primary)
    rng = random.Random(20260101)
    mean = size_kb * 1024
    pool = os.urandom(max(4 * mean, 32 << 20))  # sliced at random offsets, each file made unique
    sizes = [rng.randint(mean // 2, mean * 3 // 2) for _ in range(files)]
    offsets = [rng.randrange(0, len(pool) - s + 1) for s in sizes]
    per = -(-files // packages)
    groups = [list(range(i, min(i + per, files))) for i in range(0, files, per)]
    rows = []
    for n in range(len(groups)):
        pkg = Package.objects.create(
            object_id="", kind="transfer", label=f"基准测试信息包 {n + 1}", status="preserved"
        )
        pkg.object_id = f"urn:lantai:package:{pkg.pk}"
        pkg.save(update_fields=["object_id"])
        rows.append(pkg)
    created = timezone.now()

    def write(job: tuple[Any, list[int]]) -> tuple[int, list[str]]:
        pkg, group = job
        state = {}
        for i in group:
            body = pool[offsets[i] : offsets[i] + sizes[i] - 8]
            state[f"records/BENCH-{i // 10:05d}/正文{i:05d}.bin"] = i.to_bytes(8, "big") + body
        inventory = ocfl.write_version(
            backend, pkg.object_id, state,
            message="基准测试", user_name="lantai bench", user_address=None, created=created,
        )  # fmt: skip
        root = ocfl.object_root(pkg.object_id)
        keys = [f"{root}/{c.content_path}" for c in ocfl.content_files(inventory)]
        return sum(sizes[i] for i in group), keys

    started = time.perf_counter()
    with ThreadPoolExecutor(CORES) as threads:  # hashlib and file writes release the GIL
        written = list(threads.map(write, zip(rows, groups, strict=True)))
    for pkg, group, (nbytes, _) in zip(rows, groups, written, strict=True):
        pkg.version, pkg.files, pkg.bytes, pkg.written_changes = 1, len(group), nbytes, pkg.changes
    Package.objects.bulk_update(rows, ["version", "files", "bytes", "written_changes"])
    Replica.objects.bulk_create(
        [Replica(package=p, location=primary, version=1, verified_at=created) for p in rows]
    )
    keys = [k for _, ks in written for k in ks]
    listing.write_bytes(b"".join(k.encode() + b"\0" for k in keys))
    return {
        "root": str(backend.root),
        "packages": len(rows),
        # every content file of the objects: the payload plus each version's SM3 list (decision
        # 0020), what the audit and the side-by-side tools both hash
        "files": len(keys),
        "payload_files": files,
        "bytes": sum((backend.root / k).stat().st_size for k in keys),
        "write_seconds": round(time.perf_counter() - started, 1),
    }


def phase_audit(files: int) -> dict[str, Any]:
    """One `run_audit` over everything; the share of it spent hashing (audit.hash_keys)."""
    common.setup_django()
    from lantai.preservation import audit

    hashing = [0.0, 0]
    original = getattr(audit, "hash_keys", None)
    if original is not None:  # time the hashing calls, without changing what they do

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                hashing[0] += time.perf_counter() - started
                hashing[1] += 1

        audit.hash_keys = timed  # type: ignore[attr-defined]

    def cpu(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    rss_before, wall_start = common.rss_mib(), time.time()
    cpu_before = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = audit.run_audit(limit_files=files)
    seconds = time.perf_counter() - started
    wall_end, rss_after = time.time(), common.rss_mib()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "seconds": round(seconds, 3),
        "files": run.files,
        "bytes": run.bytes,
        "replicas": getattr(run, "replicas", None),
        "problems": run.problems,
        "repaired": run.repaired,
        "hash_keys_seconds": round(hashing[0], 3) if original is not None else None,
        "hash_keys_calls": hashing[1] if original is not None else None,
        "cpu_seconds": {  # during run_audit
            "main": round(cpu(resource.RUSAGE_SELF) - cpu_before[0], 2),
            "children": round(cpu(resource.RUSAGE_CHILDREN) - cpu_before[1], 2),
        },
        "window": [wall_start, wall_end],
        "main_rss_mib_before_after": [round(rss_before, 1), round(rss_after, 1)],
        "peak_rss_mib": {
            "main (RUSAGE_SELF)": round(own.ru_maxrss / 1024, 1),
            "largest_child (RUSAGE_CHILDREN)": round(children.ru_maxrss / 1024, 1),
        },
    }


# --- the parent ----------------------------------------------------------------------------------


def _child(args: list[str]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--phase", *args]


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(k) for k in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


class RssSampler(threading.Thread):
    """VmRSS of a process and of all its descendants, every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, int, int]] = []  # (time, main KiB, main + workers KiB)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            main = _rss_kib(self.pid)
            if main:
                total = main + sum(_rss_kib(c) for c in _descendants(self.pid))
                self.samples.append((time.time(), main, total))
            self._done.wait(self.interval)

    def stop(self, window: tuple[float, float]) -> dict[str, Any]:
        """Start (first sample in the window), max and end (last sample in it) of the samples
        taken while `window` (the audit call, wall-clock times) lasted."""
        self._done.set()
        self.join()
        s = [x for x in self.samples if window[0] <= x[0] <= window[1]]
        if not s:
            return {"samples": 0}
        mib = 1024

        def stats(i: int) -> dict[str, float]:
            return {
                "start": round(s[0][i] / mib, 1),
                "max": round(max(x[i] for x in s) / mib, 1),
                "end": round(s[-1][i] / mib, 1),
            }

        return {
            "samples": len(s),
            "interval_s": self.interval,
            "main_mib": stats(1),
            "main_plus_workers_mib": stats(2),
        }


def run_audit_child(files: int, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        _child(["audit", "--files", str(files)]),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    sampler = RssSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate()
    if proc.returncode != 0:
        sampler.stop((0, 0))
        raise RuntimeError(f"fixity_bench --phase audit failed:\n{err[-4000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["process_seconds (incl. start-up)"] = round(time.perf_counter() - started, 2)
    result["rss_sampled_during_audit"] = sampler.stop(tuple(result.pop("window")))
    return result


def warm(root: Path, keys: list[str]) -> float:
    """Read every file once, so every timing below starts from the same (warm) page cache."""
    started = time.perf_counter()
    buf = bytearray(1 << 20)
    for k in keys:
        with open(root / k, "rb", buffering=0) as f:
            while f.readinto(buf):
                pass
    return round(time.perf_counter() - started, 2)


def side_by_side(root: Path, listing: Path) -> dict[str, float]:
    """sha256sum and openssl dgst -sm3, one process each, started together over the same files."""
    commands = {
        "sha256sum_seconds": ["sha256sum"],
        "openssl_sm3_seconds": ["openssl", "dgst", "-sm3"],
    }

    def timed(cmd: list[str]) -> float:
        started = time.perf_counter()
        xargs = ["xargs", "-0", "-a", str(listing), *cmd]
        subprocess.run(xargs, cwd=root, stdout=subprocess.DEVNULL, check=True)
        return round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        out = dict(zip(commands, pool.map(timed, commands.values()), strict=True))
    out["seconds"] = round(time.perf_counter() - started, 3)  # until both have finished
    return out


def paper_estimate(per_core: float, per_cpu_second: float, cores_used: float) -> dict[str, Any]:
    """A full pass over PAPER_FILES files on N machines of CORES cores at `per_core` bytes/s."""
    total = PAPER_FILES * PAPER_FILE_BYTES

    def days(rate: float, n: int) -> float:
        return total / (rate * n * CORES) / 86400

    return {
        "files": PAPER_FILES,
        "file_bytes": PAPER_FILE_BYTES,
        "total_tb": total / 1e12,
        "per_core_mb_per_s": round(per_core / 1e6, 1),
        "assumption": (
            f"CPU bound at the measured per-core rate (audit bytes / (audit seconds x {CORES} "
            "cores)); storage I/O and network keep up, files are spread evenly, no other load"
        ),
        "full_pass": {
            f"{n} machines x {CORES} cores": {
                "hours": round(days(per_core, n) * 24, 1),
                "days": round(days(per_core, n), 2),
            }
            for n in PAPER_MACHINES
        },
        "cores_the_audit_kept_busy": round(cores_used, 2),
        "per_cpu_second_mb": round(per_cpu_second / 1e6, 1),
        "full_pass_days_if_both_cores_were_busy": {
            f"{n} machines x {CORES} cores": round(days(per_cpu_second, n), 2)
            for n in PAPER_MACHINES
        },
    }


def _tool_version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    except OSError:
        return "unavailable"
    return (out.stdout or out.stderr).strip().splitlines()[0]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def run(
    files: int = 10_000,
    size_kb: int = 200,
    out: Path | None = None,
    *,
    packages: int = 20,
    rounds: int = 3,
) -> dict[str, Any]:
    env, data_dir = common.fresh_database("sqlite", "fixity")
    env["LANTAI_PRESERVATION_ROOT"] = str(data_dir / "preservation")
    env["LANTAI_AUDIT_MAX_MB_PER_S"] = "0"  # no I/O cap: measure the audit, not the throttle
    env["LANTAI_AUDIT_BATCH_FILES"] = str(files)
    try:
        listing = data_dir / "files.lst"
        started = time.perf_counter()
        setup_args = ["setup", "--files", str(files), "--size-kb", str(size_kb)]
        setup_args += ["--packages", str(min(packages, files)), "--listing", str(listing)]
        stored = _run(setup_args, env)
        stored["setup_seconds"] = round(time.perf_counter() - started, 1)
        root = Path(stored["root"])
        keys = [k for k in listing.read_bytes().decode().split("\0") if k]
        os.sync()  # no writeback of the generated files during the timings
        warm_seconds = warm(root, keys)
        audits, tools = [], []
        for _ in range(rounds):  # interleaved; the best of each (other load only adds time)
            tools.append(side_by_side(root, listing))
            audits.append(run_audit_child(stored["files"], env))  # + each version's SM3 list
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    for a in audits:
        assert a["problems"] == 0, f"audit found problems on intact storage: {a}"
        assert a["files"] == stored["files"], f"audit checked {a['files']} of {stored['files']}"
    audit = min(audits, key=lambda a: a["seconds"])
    limit = {k: min(t[k] for t in tools) for k in tools[0]}
    nbytes = audit["bytes"]
    ratio = round(limit["seconds"] / audit["seconds"], 2)
    even_split = (limit["sha256sum_seconds"] + limit["openssl_sm3_seconds"]) / 2
    per_core = nbytes / (audit["seconds"] * CORES)
    cpu = audit["cpu_seconds"]["main"] + audit["cpu_seconds"]["children"]
    hashing = audit.get("hash_keys_seconds")
    result: dict[str, Any] = {
        "benchmark": "fixity audit (continuous audit of stored files, local storage)",
        "target": "audit >= 0.8 x the limit: sha256sum || openssl dgst -sm3 side by side; memory flat",
        "storage": {
            "files": stored["files"],
            "payload_files": stored["payload_files"],
            "packages": stored["packages"],
            "bytes": stored["bytes"],
            "mean_size_kb": size_kb,
            "setup_seconds": stored["setup_seconds"],
        },
        "cache": (
            f"all files synced, then read once untimed ({warm_seconds} s) before any timing: "
            "warm page cache for every contender"
        ),
        "rounds": f"best of {rounds} (tools and audit interleaved)",
        "audit": {
            **audit,
            "files_per_s": round(audit["files"] / audit["seconds"]),
            "mb_per_s": round(nbytes / 1e6 / audit["seconds"], 1),
            "outside_hashing_seconds": (
                round(audit["seconds"] - hashing, 3) if hashing is not None else None
            ),
            "all_rounds_seconds": [a["seconds"] for a in audits],
        },
        "limit": {
            **limit,
            "mb_per_s": round(nbytes / 1e6 / limit["seconds"], 1),
            "sha256sum_mb_per_s": round(nbytes / 1e6 / limit["sha256sum_seconds"], 1),
            "openssl_sm3_mb_per_s": round(nbytes / 1e6 / limit["openssl_sm3_seconds"], 1),
            "all_rounds_seconds": [t["seconds"] for t in tools],
        },
        "ratio": ratio,
        "ratio_to_even_split": {
            "value": round(even_split / audit["seconds"], 2),
            "note": (
                "stricter reference, for information: the tools' CPU time split evenly over "
                "2 cores, (sha256sum + sm3) / 2"
            ),
        },
        "paper_estimate": paper_estimate(per_core, nbytes / cpu, cpu / audit["seconds"]),
        "machine": {
            **common.machine(),
            "cpu_model": _cpu_model(),
            "mem_total_gib": round(
                os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1
            ),
            "openssl": _tool_version(["openssl", "version"]),
            "sha256sum": _tool_version(["sha256sum", "--version"]),
        },
    }
    rss = audit["rss_sampled_during_audit"].get("main_mib", {})
    worker_peak = audit["peak_rss_mib"]["largest_child (RUSAGE_CHILDREN)"]
    result["meets_target"] = {
        "ratio_ge_0_8": ratio >= 0.8,
        "problems_0": audit["problems"] == 0,
        "memory_flat (main max <= start + 64 MiB, each worker <= 256 MiB)": bool(rss)
        and rss["max"] <= rss["start"] + 64
        and worker_peak <= 256,
    }
    result["saved_to"] = str(common.save("fixity", result, out))
    return result


def _run(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    return common.run_child(Path(__file__).resolve(), ["--phase", *args], env)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["setup", "audit"])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size-kb", type=int, default=200)
    parser.add_argument("--packages", type=int, default=20)
    parser.add_argument("--listing", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.phase == "setup":
        result = phase_setup(args.files, args.size_kb, args.packages, args.listing)
    elif args.phase == "audit":
        result = phase_audit(args.files)
    else:
        result = run(args.files, args.size_kb, packages=args.packages, rounds=args.rounds)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.phase else 2))


if __name__ == "__main__":
    main()
