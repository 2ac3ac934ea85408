"""The 移交与接收 check of one transfer package, stage by stage (DA/T 70-2018).

unpack → read → fixity → formats → virus → metadata → package. Each stage adds its tools'
CheckResults and then, per check it owns, one package-level result saying what it examined
(:mod:`~lantai.ingest.summaries`); a stage whose tool fails yields a failed check with the error,
never a crash. The stages work on plain files, so `lantai transfer check` runs this without
registering anything; 4-3 (the transfer process) is then ``na``, and the services evaluate it for
a registered transfer.

With a :class:`~lantai.ingest.memo.Memo` the check resumes after a crash: the unpacked tree is
reused, and the files already hashed, identified and validated, or scanned are not done again;
their stored results take their place, so the report is the one a fresh run gives.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lantai.formats import identify as formats
from lantai.formats import stage as format_stage
from lantai.ingest import fixity, metadata_checks, package_checks, summaries, unpack, virus
from lantai.ingest.memo import Memo, result_from_dict
from lantai.ingest.summaries import CheckPolicy
from lantai.standards.dat70 import CheckResult, count_by_property
from lantai.standards.transfer.detect import read_package
from lantai.standards.transfer.package import Package, PackageFile

STAGE = "移交与接收"
UNREGISTERED = "未经登记接收（直接检测文件），移交过程无从核对；登记接收后检测时评估"
# The check a stage's unexpected error is reported under.
ON_ERROR = {
    "read": "package_structure", "fixity": "fixity", "formats": "format_validation",
    "virus": "virus_scan", "metadata": "metadata_completeness", "package": "package_completeness",
}  # fmt: skip


@dataclass
class TransferCheck:
    checks: list[CheckResult] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage
    kind: str | None = None
    notes: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    items: int = 0  # catalogue entries (件) the package describes
    register: dict[str, Any] = field(default_factory=dict)  # what the 移交登记表 declares
    # SM3 of every working file the check hashed, by path relative to the work folder: what
    # accepting re-verifies (not part of the report)
    working: dict[str, str] = field(default_factory=dict)

    @property
    def result(self) -> str:
        return "fail" if any(c.status == "fail" for c in self.checks) else "pass"

    def summary(self) -> dict[str, Any]:
        return {
            "package_kind": self.kind,
            "files": self.files,
            "bytes": self.bytes,
            "items": self.items,
            "register": self.register,
            "by_property": count_by_property(self.checks),
            "stage_seconds": {k: round(v, 3) for k, v in self.stages.items()},
            "notes": self.notes,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "stage": STAGE,
            "checks": [c.as_dict() for c in self.checks],
            "summary": self.summary(),
        }


def check_transfer(
    source: Path,
    work: Path,
    *,
    scanner: virus.Scanner | None,
    processes: int = 2,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    memo: Memo | None = None,
    policy: CheckPolicy | None = None,
    transfer_process: CheckResult | None = None,
) -> TransferCheck:
    """Check the package at `source` (folder, .zip, EEP or bag), unpacking it into `work`.
    `scanner` None means no virus scanner is available: reported as "not scanned", a failure.
    `memo` records finished work under `work` and skips what it already holds (see module doc).
    `policy`: the archive's choices (default: from the settings). `transfer_process`: the 4-3
    result of a registered transfer (services.transfer_process); None gives 4-3 ``na``.
    Raises unpack.UnreadableSource when the input as a whole cannot be read."""
    out = TransferCheck()
    policy = policy if policy is not None else CheckPolicy.from_settings()

    def make(
        key: str, status: str, object: str = "package", evidence: dict[str, Any] | None = None
    ) -> CheckResult:
        return CheckResult.from_spec(key, status, object=object, evidence=evidence or {})

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if progress:
            progress(name)
        started = time.perf_counter()
        try:
            yield
        except unpack.UnreadableSource:
            raise
        except Exception as e:  # a tool that fails yields a failed check, never a stuck job
            out.checks.append(make(ON_ERROR.get(name, "package_structure"), "fail", evidence={
                "reason": f"{name} 阶段出错：{type(e).__name__}: {e}",
            }))  # fmt: skip
        finally:
            out.stages[name] = time.perf_counter() - started

    with stage("unpack"):
        unpacked = _unpack(source, work, memo)
        out.checks += unpacked.results

    package: Package | None = None
    with stage("read"):
        if memo is not None:  # a resumed check: EEP contents are decoded afresh
            shutil.rmtree(work / "extracted", ignore_errors=True)
        package = read_package(unpacked.root, work / "extracted", verify_bag_payload=False)
        out.checks += package.results
        out.checks += summaries.reading(package)
        out.kind, out.notes = package.kind, package.notes
        out.files = len(package.package_files)
        out.bytes = sum(f.size for f in package.package_files)
        out.items = len(package.items)
        reg = package.register
        out.register = {**reg.fields, "item_count": reg.item_count, "byte_count": reg.byte_count}
    if package is None:  # the reader itself failed: reported by the stage
        return out

    decoded = package.content_root is not None  # EEP: contents decoded beside the package
    with stage("fixity"):
        computed = _hash(
            package.root, [f.path for f in package.package_files], "fixity", memo,
            extra=fixity.extra_for(package.declared), processes=processes,
            sizes={f.path: f.size for f in package.package_files},
        )  # fmt: skip
        digests = fixity.compare(package.declared, computed)
        unlisted = summaries.undeclared(package, content_files(package), policy)
        out.checks += digests + unlisted
        out.checks.append(summaries.fixity(package, digests, policy, unlisted))
        _store_digests(package.package_files, computed)
        out.working = _working(work, package.root, computed)
        if package.content_root is not None:
            decoded_digests = _hash(
                package.content_root, [f.path for f in package.files], "fixity:decoded", memo,
                processes=processes, sizes={f.path: f.size for f in package.files},
            )  # fmt: skip
            _store_digests(package.files, decoded_digests)
            out.working.update(_working(work, package.content_root, decoded_digests))

    # The virus scan (clamd, its own processes) runs in a thread while the formats stage keeps
    # worker processes busy: the two are the slow stages and use different programs.
    content = content_files(package)
    targets = {f.path: package.root / f.path for f in package.package_files}
    if decoded:
        targets.update({f.path: package.path_of(f.path) for f in package.files})
    with ThreadPoolExecutor(max_workers=1) as background:
        scan = background.submit(_timed, _scan, scanner, targets, memo) if scanner else None
        with stage("formats"):
            paths = {f.path: package.path_of(f.path) for f in content if f.size}
            checked = _formats(paths, memo, processes, policy)
            out.checks += checked + summaries.formats(checked, len(paths), policy)
            out.checks.append(summaries.encryption(out.checks, len(paths)))
        scan_seconds = None
        with stage("virus"):
            if scan is None:
                out.checks.append(
                    make("virus_scan", "fail", evidence={"reason": "未配置病毒扫描引擎，未扫描"})
                )
            else:
                scan_seconds, results = scan.result()
                out.checks += results
                out.checks.append(summaries.virus(results, len(targets)))
        if scan_seconds is not None:
            out.stages["virus"] = scan_seconds  # its own duration, not the wait after formats

    with stage("metadata"):
        out.checks += metadata_checks.check_items(package.items, make, today=today)

    with stage("package"):
        out.checks += package_checks.check_package(package, content, make)
        out.checks += summaries.package(package, content, out.checks)
        out.checks.append(
            transfer_process or make("transfer_process", "na", evidence={"reason": UNREGISTERED})
        )
    return out


def _unpack(source: Path, work: Path, memo: Memo | None) -> unpack.UnpackResult:
    """Unpack into work/content, or reuse the tree a finished unpack left there."""
    content = work / "content"
    done = memo.finished("unpack") if memo is not None else None
    if memo is not None and done is not None and content.is_dir():
        return unpack.UnpackResult(
            root=work / done["root"],
            results=[result_from_dict(r) for r in done["results"]],
            entries=done["entries"],
            bytes=done["bytes"],
            expanded=done["expanded"],
        )
    if memo is not None:  # a new tree: nothing recorded about the old one holds
        memo.reset()
        shutil.rmtree(content, ignore_errors=True)
    unpacked = unpack.unpack(source, content)
    if memo is not None:
        memo.finish("unpack", {
            "root": unpacked.root.relative_to(work).as_posix(),
            "results": [r.as_dict() for r in unpacked.results],
            "entries": unpacked.entries, "bytes": unpacked.bytes, "expanded": unpacked.expanded,
        })  # fmt: skip
    return unpacked


def _hash(
    root: Path,
    rels: list[str],
    stage: str,
    memo: Memo | None,
    *,
    extra: dict[str, set[str]] | None = None,
    processes: int,
    sizes: dict[str, int] | None = None,
) -> dict[str, dict[str, str]]:
    """fixity.hash_files, skipping the files the memo holds every wanted digest of; ``sizes``
    (the inventory's) orders the work without a second stat of every file."""
    if memo is None:
        return fixity.hash_files(root, rels, extra=extra, processes=processes, sizes=sizes)
    known: dict[str, dict[str, str]] = {}
    for rel in dict.fromkeys(rels):
        digests = memo.get(stage, rel, root / rel)
        if digests is not None and set(fixity.wanted(rel, extra=extra)) <= set(digests):
            known[rel] = digests

    def record(part: dict[str, dict[str, str]]) -> None:
        for rel, digests in part.items():
            if fixity.ERROR not in digests:  # an unreadable file is tried again
                memo.put(stage, rel, root / rel, digests)

    todo = [rel for rel in rels if rel not in known]
    if todo:
        known.update(
            fixity.hash_files(
                root, todo, extra=extra, processes=processes, on_done=record, sizes=sizes
            )
        )
    return {rel: known[rel] for rel in dict.fromkeys(rels)}


def _formats(
    paths: dict[str, Path], memo: Memo | None, processes: int, policy: CheckPolicy
) -> list[CheckResult]:
    """Identify and validate every file; with a memo, per file, skipping the finished ones."""
    fingerprint = policy.formats.fingerprint if policy.formats is not None else "none"
    stage = f"formats@{formats.signature_key()}@{fingerprint}"
    done: dict[str, list[CheckResult]] = {}
    if memo is not None:
        for rel, path in paths.items():
            value = memo.get(stage, rel, path)
            if value is not None:
                done[rel] = [result_from_dict(r) for r in value["checks"]]

    def record(rel: str, ident: formats.Identification | None, checks: list[CheckResult]) -> None:
        assert memo is not None
        memo.put(stage, rel, paths[rel], {
            "identification": ident.as_dict() if ident else None,
            "checks": [r.as_dict() for r in checks],
        })  # fmt: skip

    todo = {rel: path for rel, path in paths.items() if rel not in done}
    done.update(
        format_stage.check_files(
            todo,
            processes=processes,
            on_done=record if memo is not None else None,
            policy=policy.formats,
        )  # fmt: skip
    )
    return [c for rel in paths for c in done[rel]]


def _scan(scanner: virus.Scanner, targets: dict[str, Path], memo: Memo | None) -> list[CheckResult]:
    """The virus scan of every target; with a memo, skipping the files already scanned."""
    if memo is None:
        return scanner.scan(list(targets.values()), list(targets))
    sigs = "external" if scanner.external else scanner.signature_info().version
    stage = f"virus@{sigs}"
    done: dict[str, CheckResult] = {}
    for rel, path in targets.items():
        value = memo.get(stage, rel, path)
        if value is not None:
            done[rel] = result_from_dict(value)

    def record(result: CheckResult) -> None:
        # only clamd's verdicts are kept: "not scanned" (no engine, unreadable) is tried again
        if result.status == "pass" or "signature" in result.evidence:
            memo.put(stage, result.object, targets[result.object], result.as_dict())

    todo = [rel for rel in targets if rel not in done]
    if todo:
        results = scanner.scan([targets[rel] for rel in todo], todo, on_result=record)
        done.update(zip(todo, results, strict=True))
    return [done[rel] for rel in targets]


def _timed(fn: Callable[..., list[CheckResult]], *args: Any) -> tuple[float, list[CheckResult]]:
    started = time.perf_counter()
    results = fn(*args)
    return time.perf_counter() - started, results


def content_files(package: Package) -> list[PackageFile]:
    """The electronic files themselves: decoded EEP contents, or the files under the content
    folder (电子档案/, data/) that are not package metadata."""
    if package.content_root is not None:
        return package.files
    meta = set(package.metadata_files)
    return [
        f for f in package.files if f.path.startswith(package.content_prefix) and f.path not in meta
    ]


def _working(work: Path, root: Path, computed: dict[str, dict[str, str]]) -> dict[str, str]:
    """work-relative path -> SM3 of the files hashed under `root` (inside `work`)."""
    try:
        base = root.resolve().relative_to(work.resolve()).as_posix()
    except ValueError:  # a root outside the work folder is not the working copy
        return {}
    prefix = "" if base == "." else f"{base}/"
    return {f"{prefix}{rel}": d["sm3"] for rel, d in computed.items() if "sm3" in d}


def _store_digests(files: list[PackageFile], computed: dict[str, dict[str, str]]) -> None:
    for f in files:
        digests = computed.get(f.path, {})
        f.sm3, f.sha256 = digests.get("sm3", ""), digests.get("sha256", "")
