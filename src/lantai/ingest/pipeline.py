"""The 移交与接收 check of one transfer package, stage by stage (DA/T 70-2018).

unpack → read → fixity → formats → virus → metadata → package. Each stage adds CheckResults; a
stage whose tool fails yields a failed check with the error, never a crash. The stages work on
plain files, so `lantai transfer check` runs this without registering anything.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from lantai.ingest import (
    fixity,
    format_checks,
    formats,
    metadata_checks,
    package_checks,
    unpack,
    virus,
)
from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer.detect import read_package
from lantai.standards.transfer.package import Package, PackageFile

STAGE = "移交与接收"
# Checks reported as passed (once, for the package) when their stage found nothing wrong.
PASS_IF_SILENT = {
    "fixity": ("fixity",),
    "formats": ("format_identification", "format_validation"),
    "virus": ("virus_scan",),
    "package": package_checks.KEYS,
}
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

    @property
    def result(self) -> str:
        return "fail" if any(c.status == "fail" for c in self.checks) else "pass"

    def summary(self) -> dict[str, Any]:
        by_property: dict[str, Counter[str]] = {}
        for c in self.checks:
            by_property.setdefault(c.property, Counter())[c.status] += 1
        return {
            "package_kind": self.kind,
            "files": self.files,
            "bytes": self.bytes,
            "items": self.items,
            "register": self.register,
            "by_property": {p: dict(counts) for p, counts in by_property.items()},
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
) -> TransferCheck:
    """Check the package at `source` (folder, .zip, EEP or bag), unpacking it into `work`.
    `scanner` None means no virus scanner is available: reported as "not scanned", a failure.
    Raises unpack.UnreadableSource when the input as a whole cannot be read."""
    out = TransferCheck()
    reported: set[str] = set()

    def make(
        key: str, status: str, object: str = "package", evidence: dict[str, Any] | None = None
    ) -> CheckResult:
        return CheckResult.from_spec(key, status, object=object, evidence=evidence or {})

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        if progress:
            progress(name)
        first, started = len(out.checks), time.perf_counter()
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
        # The tools build their own results; any result of the same DA/T 70 content counts.
        seen = {(c.property, c.content_code) for c in out.checks[first:]}
        for key in PASS_IF_SILENT.get(name, ()):
            passed = make(key, "pass")
            if (passed.property, passed.content_code) not in seen and key not in reported:
                out.checks.append(passed)
        reported.update(PASS_IF_SILENT.get(name, ()))

    with stage("unpack"):
        unpacked = unpack.unpack(source, work / "content")
        out.checks += unpacked.results

    package: Package | None = None
    with stage("read"):
        package = read_package(unpacked.root, work / "extracted", verify_bag_payload=False)
        out.checks += package.results
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
        computed = fixity.hash_files(
            package.root, [f.path for f in package.package_files],
            extra=fixity.extra_for(package.declared), processes=processes,
        )  # fmt: skip
        out.checks += fixity.compare(package.declared, computed)
        _store_digests(package.package_files, computed)
        if package.content_root is not None:
            _store_digests(
                package.files,
                fixity.hash_files(
                    package.content_root, [f.path for f in package.files], processes=processes
                ),
            )

    # The virus scan (clamd, its own processes) runs in a thread while the formats stage keeps
    # worker processes busy: the two are the slow stages and use different programs.
    content = content_files(package)
    targets = {f.path: package.root / f.path for f in package.package_files}
    if decoded:
        targets.update({f.path: package.path_of(f.path) for f in package.files})
    with ThreadPoolExecutor(max_workers=1) as background:
        scan = (
            background.submit(_timed, scanner.scan, list(targets.values()), list(targets))
            if scanner
            else None
        )
        with stage("formats"):
            paths = {f.path: package.path_of(f.path) for f in content if f.size}
            identified = formats.identify(paths.values(), processes=processes)
            for rel, path in paths.items():
                out.checks += format_checks.validate(path, identified.get(path), object_name=rel)
        scan_seconds = None
        with stage("virus"):
            if scan is None:
                out.checks.append(
                    make("virus_scan", "fail", evidence={"reason": "未配置病毒扫描引擎，未扫描"})
                )
            else:
                scan_seconds, results = scan.result()
                out.checks += results
        if scan_seconds is not None:
            out.stages["virus"] = scan_seconds  # its own duration, not the wait after formats

    with stage("metadata"):
        out.checks += metadata_checks.check_items(package.items, make, today=today)

    with stage("package"):
        out.checks += package_checks.check_package(package, content, make)
    return out


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


def _store_digests(files: list[PackageFile], computed: dict[str, dict[str, str]]) -> None:
    for f in files:
        digests = computed.get(f.path, {})
        f.sm3, f.sha256 = digests.get("sm3", ""), digests.get("sha256", "")
