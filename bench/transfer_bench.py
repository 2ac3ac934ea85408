"""`lantai bench transfer`: the whole 移交与接收 check of a generated 10,000-file transfer.

Targets (issue 3): the whole check (every pipeline stage, ClamAV included) in ≤ 60 s on a 2-core
machine; the fixity stage alone (SM3 + SHA-256 of every file, compared with the declared digests)
at least as fast as the peer, `bagit.py --validate --processes 2` (bagit.Bag(...).validate) on a
bag of the same files with MD5 + SHA-256; hashing throughput ≥ 70% of `sha256sum` and
`openssl dgst -sm3` run side by side (one process each) over the same files. Format
identification is compared with opf-fido's own matching on a sample (same answers, ms per file).

The check runs in its own process (its own peak RSS), against a clamd started for the run with a
signature database built at run time as the tests build it (EICAR hash via sigtool, body .ndb).
All files are in the page cache for every timing (they were just written): a CPU comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# EICAR, in two halves (the repository never holds it whole; see tests/ingest/conftest.py)
_EICAR_HEAD = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$"
_EICAR_TAIL = "EICAR-STANDARD-ANTIVIRUS-" + "TEST-FILE!$H+H*"


def build_signatures(work: Path) -> Path:
    """A test signature database: the EICAR MD5 (sigtool --md5 → .hdb) and its body (.ndb)."""
    eicar, sigs = work / "eicar.com", work / "sigs"
    sigs.mkdir(parents=True)
    eicar.write_bytes((_EICAR_HEAD + _EICAR_TAIL).encode("ascii"))
    out = subprocess.run(["sigtool", "--md5", str(eicar)], capture_output=True, text=True)
    md5, size, _ = out.stdout.strip().split(":", 2)
    eicar.unlink()
    (sigs / "bench.hdb").write_text(f"{md5}:{size}:Test.EICAR.Hash\n", encoding="ascii")
    body = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE".hex()
    (sigs / "bench.ndb").write_text(f"Test.EICAR.Body:0:*:{body}\n", encoding="ascii")
    return sigs


def _proc_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def phase_check(source: Path, work: Path, processes: int) -> dict[str, Any]:
    """Child process: start clamd, run check_transfer, report timings and memory."""
    from lantai.ingest.pipeline import check_transfer
    from lantai.ingest.virus import Scanner

    scanner = Scanner(work / "clamav-data")
    try:
        started = time.perf_counter()
        info = scanner.import_signatures(build_signatures(work))
        clamd_start = time.perf_counter() - started
        started = time.perf_counter()
        report = check_transfer(source, work / "check", scanner=scanner, processes=processes)
        seconds = time.perf_counter() - started
        pid = int(scanner.pid_path.read_text().strip()) if scanner.pid_path.exists() else 0
        clamd_hwm, clamd_rss = _proc_kib(pid, "VmHWM"), _proc_kib(pid, "VmRSS")
    finally:
        scanner.stop()
    stages = {k: round(v, 2) for k, v in report.stages.items()}
    failing = [c.as_dict() for c in report.checks if c.status == "fail"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "result": report.result,
        "files": report.files,
        "bytes": report.bytes,
        "seconds": round(seconds, 3),
        "files_per_s": round(report.files / seconds),
        "mb_per_s": round(report.bytes / 1e6 / seconds, 1),
        "stage_seconds": stages,
        "slowest_stage": max(stages, key=stages.__getitem__),
        "checks_by_property": report.summary()["by_property"],
        "failing_checks": failing[:20],
        "failing_count": len(failing),
        "clamd_start_seconds": round(clamd_start, 2),
        "signatures": info.count,
        "peak_rss_mib": {
            "main": round(common.peak_rss_mib(), 1),
            "largest_child (fixity worker, sigtool)": round(children, 1),
            "clamd_vmhwm": round(clamd_hwm / 1024, 1) if clamd_hwm else None,
            "clamd_vmrss_after": round(clamd_rss / 1024, 1) if clamd_rss else None,
        },
    }


def content_paths(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in (root / "电子档案").rglob("*.*"))


def lantai_fixity(root: Path, rels: list[str], processes: int) -> dict[str, Any]:
    """hash_files (SM3 + SHA-256) and the comparison with the register's declared digests; then
    hash_files with the peer's algorithms (MD5 + SHA-256), to separate algorithm from machinery.
    As in the pipeline's fixity stage, the package has been read before the stage (the read
    stage): its declared digests, and its inventory's file sizes, which order the work."""
    from lantai.ingest import fixity
    from lantai.standards.transfer.detect import read_package

    package = read_package(root, root.parent / "unused", verify_bag_payload=False)
    declared = package.declared
    sizes = {f.path: f.size for f in package.package_files}
    started = time.perf_counter()
    computed = fixity.hash_files(
        root, rels, algorithms=("sm3", "sha256"), processes=processes, sizes=sizes
    )
    hashed = time.perf_counter() - started
    failed = sum(r.status == "fail" for r in fixity.compare(declared, computed))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    fixity.hash_files(root, rels, algorithms=("md5", "sha256"), processes=processes, sizes=sizes)
    md5 = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "hash_seconds": round(hashed, 3),
        "failed": failed,
        "md5_sha256_hash_seconds": round(md5, 3),
    }


def make_peer_bag(root: Path, bag: Path, processes: int) -> float:
    """The peer's bag: the same files (hard links) made into a bag with MD5 + SHA-256."""
    import bagit

    shutil.copytree(root / "电子档案", bag, copy_function=os.link)
    started = time.perf_counter()
    bagit.make_bag(str(bag), checksums=["md5", "sha256"], processes=processes)
    return round(time.perf_counter() - started, 3)


def bagit_validate(bag: Path, processes: int) -> dict[str, Any]:
    """`bagit.py --validate --processes N`: load the bag, hash every file, compare."""
    import bagit

    started = time.perf_counter()
    bagit.Bag(str(bag)).validate(processes=processes)
    return {"seconds": round(time.perf_counter() - started, 3)}


def identification_vs_fido(root: Path, rels: list[str], sample: int = 1000) -> dict[str, Any]:
    """Format identification of a sample of the files: Lantai's signature matching
    (formats/fido_index.py) against opf-fido's own Fido class, the peer, one process each. The
    answers (match type, every PUID in order) must be the same for every file."""
    from fido import fido as fido_mod
    from fido.versions import get_local_versions

    from lantai.formats import identify as formats

    ours = formats._get_fido()
    versions = get_local_versions(fido_mod.CONFIG_DIR)
    answers: dict[str, tuple[str, list[str]]] = {}

    def handle(name: str, matches: list[Any], _dt: float, matchtype: str = "") -> None:
        answers[name] = (matchtype, [str(peer.get_puid(fmt)) for fmt, _ in matches])

    peer = fido_mod.Fido(
        quiet=True,
        handle_matches=handle,
        conf_dir=fido_mod.CONFIG_DIR,
        format_files=[str(versions.pronom_signature), str(versions.fido_extension_signature)],
        nocontainer=False,
    )
    paths = [str(root / rel) for rel in rels[:: max(1, len(rels) // sample)]]
    ours.run(Path(paths[0]))  # both build their tables before the clock starts
    peer.identify_file(paths[0])
    started = time.perf_counter()
    for path in paths:
        peer.identify_file(path)
    peer_seconds = time.perf_counter() - started
    mine: dict[str, tuple[str, list[str]]] = {}
    started = time.perf_counter()
    for path in paths:
        found = ours.run(Path(path))
        if found:
            mine[path] = (found[0], [str(ours.fido.get_puid(fmt)) for fmt, _ in found[1]])
    our_seconds = time.perf_counter() - started
    return {
        "files": len(paths),
        "lantai_ms_per_file": round(our_seconds / len(paths) * 1e3, 2),
        "peer_fido_ms_per_file": round(peer_seconds / len(paths) * 1e3, 2),
        "ratio_to_peer": round(peer_seconds / our_seconds, 2),
        "answers_differ": sum(mine.get(p) != answers.get(p) for p in paths),
    }


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per key, the fastest of several runs (other load on a shared machine only adds time)."""
    return {k: (min if k.endswith("seconds") else max)(r[k] for r in runs) for k in runs[0]}


def side_by_side(root: Path, rels: list[str], work: Path) -> dict[str, Any]:
    """sha256sum and openssl dgst -sm3, one process each, in parallel over the same files."""
    listing = work / "files.lst"
    listing.write_bytes(b"\0".join(r.encode() for r in rels) + b"\0")
    commands = {
        "sha256sum_seconds": ["sha256sum"],
        "openssl_sm3_seconds": ["openssl", "dgst", "-sm3"],
    }

    def timed(cmd: list[str]) -> float:
        started = time.perf_counter()
        xargs = ["xargs", "-0", "-a", str(listing), *cmd]
        subprocess.run(xargs, cwd=root, stdout=subprocess.DEVNULL, check=True)
        return round(time.perf_counter() - started, 3)

    with ThreadPoolExecutor(2) as pool:
        out = dict(zip(commands, pool.map(timed, commands.values()), strict=True))
    out["seconds"] = max(out.values())
    return out


def run(
    files: int,
    size_kb: int,
    files_per_item: int = 2,
    processes: int = 2,
    out: Path | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    from lantai.demo.transfer import make_transfer

    work = Path(tempfile.mkdtemp(prefix="lantai-bench-transfer-"))
    try:
        root = work / "transfer"
        started = time.perf_counter()
        items = max(1, files // files_per_item)
        make_transfer(root, items, files_per_item=files_per_item, size_kb=size_kb)
        gen_seconds = time.perf_counter() - started
        rels = content_paths(root)
        total = sum((root / r).stat().st_size for r in rels)
        script, child = Path(__file__).resolve(), work / "child"
        args = ["--phase", "check", "--source", str(root), "--work", str(child)]
        check = common.run_child(script, [*args, "--processes", str(processes)], dict(os.environ))
        shutil.rmtree(child)  # the check's copy of the package
        made = make_peer_bag(root, work / "bag", processes)
        os.sync()  # no writeback of the generated files during the timings below
        runs = [
            (
                lantai_fixity(root, rels, processes),
                bagit_validate(work / "bag", processes),
                side_by_side(root, rels, work),
            )
            for _ in range(rounds)
        ]
        ours, peer, tools = (best([r[i] for r in runs]) for i in range(3))
        peer["make_bag_seconds"] = made
        ratio = round(tools["seconds"] / ours["hash_seconds"], 2)
        identification = identification_vs_fido(root, rels)
        result: dict[str, Any] = {
            "benchmark": "transfer check (移交与接收)",
            "target": "check <= 60 s; fixity <= bagit validate; hashing >= 0.7 x sha256sum+sm3",
            "transfer": {
                "files": len(rels),
                "items": items,
                "bytes": total,
                "size_kb": size_kb,
                "generation_seconds": round(gen_seconds, 1),
            },
            "comparison_rounds": f"best of {rounds} (fixity, bagit, sha256sum+sm3 interleaved)",
            "check": check,
            "fixity": {
                "lantai_sm3_sha256": ours,
                "peer_bagit_validate_md5_sha256": peer,
                "ratio_to_peer": round(peer["seconds"] / ours["seconds"], 2),
                "ratio_same_algorithms": round(
                    peer["seconds"] / ours["md5_sha256_hash_seconds"], 2
                ),
            },
            "identification": identification,
            "hashing": {
                "lantai_hash_files_seconds": ours["hash_seconds"],
                "lantai_mb_per_s": round(total / 1e6 / ours["hash_seconds"], 1),
                "peer_side_by_side": tools,
                "ratio_to_peer": ratio,
            },
            "machine": {
                **common.machine(),
                "mem_total_gib": round(
                    os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1
                ),
                "openssl": subprocess.run(
                    ["openssl", "version"], capture_output=True, text=True
                ).stdout.strip(),
            },  # fmt: skip
        }
        result["meets_target"] = {
            "check_le_60s": check["seconds"] <= 60 and check["result"] == "pass",
            "fixity_le_bagit": result["fixity"]["ratio_to_peer"] >= 1.0,
            "hashing_ge_0_7": ratio >= 0.7,
            "identification_same_as_fido": identification["answers_differ"] == 0,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if check["result"] != "pass":
        for c in check["failing_checks"]:
            print(
                f"FAIL {c.get('property')} {c.get('object')}: {c.get('evidence')}", file=sys.stderr
            )
    result["saved_to"] = str(common.save("transfer", result, out))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase", choices=["check"])
    parser.add_argument("--source", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--size-kb", type=int, default=108)
    parser.add_argument("--files-per-item", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(phase_check(args.source, args.work, args.processes), ensure_ascii=False))
    else:
        result = run(args.files, args.size_kb, args.files_per_item, args.processes)
        print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
