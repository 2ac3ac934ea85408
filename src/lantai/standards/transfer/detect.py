"""Choose the reader for an unpacked transfer: BagIt (bagit.txt), DA/T 48 EEP (XML files whose
root is 电子文件封装包) or the Chinese transfer layout (文件目录.XML / 案卷目录.XML / 电子档案/).

A package that was zipped with its folder (one top-level directory and nothing else) is read
from inside that directory, and the note says so."""

from __future__ import annotations

import os
from pathlib import Path

from ..dat70 import CheckResult
from . import bagit_reader, cn_layout, eep
from ._common import walk
from .package import Package

__all__ = ["detect_kind", "read_package"]

_MAX_SNIFF = 200  # XML files sniffed for an EEP root before giving up


def _single_dir(root: Path) -> Path | None:
    try:
        entries = [e for e in os.scandir(root) if not e.name.startswith(".")]
    except OSError:
        return None
    if len(entries) == 1 and entries[0].is_dir(follow_symlinks=False):
        return Path(entries[0].path)
    return None


def _has_eep(root: Path) -> bool:
    sniffed = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in sorted(files):
            if name.lower().endswith(".xml"):
                if eep.is_eep(Path(dirpath) / name):
                    return True
                sniffed += 1
                if sniffed >= _MAX_SNIFF:
                    return False
    return False


def detect_kind(root: Path) -> str | None:
    """The layout of the directory ``root`` itself: bagit, eep, cn-layout, or None."""
    if bagit_reader.is_bag(root):
        return "bagit"
    if cn_layout.looks_like(root):
        content = next(
            (p for p in root.iterdir() if p.name.casefold() == cn_layout.CONTENT_DIR.casefold()),
            None,
        )
        catalog = any(
            p.name.casefold() in {n.casefold() for n in cn_layout.CATALOG_NAMES}
            for p in root.iterdir()
        )
        # EEP files carried in 电子档案/ without a catalogue: an EEP transfer in the layout
        if not catalog and content is not None and _has_eep(content):
            return "eep"
        return "cn-layout"
    if _has_eep(root):
        return "eep"
    return None


def read_package(root: Path, extract_to: Path, *, verify_bag_payload: bool = True) -> Package:
    """Read the unpacked transfer in ``root`` with the reader its layout calls for.

    ``extract_to`` receives decoded EEP contents (nothing is written there for other layouts).
    ``verify_bag_payload`` is passed to the BagIt reader (False when the pipeline's fixity stage
    does the hashing). An unrecognised layout gives a Package of kind "unknown" with a failed
    1-5 (package_structure) result and its inventory."""
    root = Path(root)
    kind = detect_kind(root)
    wrapped: Path | None = None
    if kind is None:
        inner = _single_dir(root)
        if inner is not None:
            kind = detect_kind(inner)
            if kind is not None:
                wrapped = inner
    base = wrapped or root
    if kind == "bagit":
        pkg = bagit_reader.read(base, verify_payload=verify_bag_payload)
    elif kind == "eep":
        pkg = eep.read(base, extract_to)
    elif kind == "cn-layout":
        pkg = cn_layout.read(base)
    else:
        pkg = Package(kind="unknown", root=root)
        inv = walk(root)
        pkg.files = pkg.package_files = inv.files
        pkg.results.append(
            CheckResult.from_spec(
                "package_structure",
                "fail",
                object="package",
                evidence={
                    "reason": "无法识别信息包结构：既不是《电子档案移交与接收办法》规定的目录结构"
                    "（说明文件.TXT、文件目录.XML、电子档案/、其他/），也不是 DA/T 48 封装包（EEP）"
                    "或 BagIt 包",
                    "found": sorted(p.name for p in root.iterdir())[:20],
                },
            )
        )
        return pkg
    if wrapped is not None:
        pkg.notes.insert(0, f"信息包内容位于顶层目录“{wrapped.name}”中，按该目录读取")
    return pkg
