"""Checks of the package as a whole against what it declares (DA/T 70 1-3, 1-4, 2-1, 2-3, 2-4, 3-3, 4-2)."""

from __future__ import annotations

from collections.abc import Callable

from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer.package import Package, PackageFile

Make = Callable[..., CheckResult]
KEYS = (
    "register_item_count", "register_byte_count", "storage_location", "package_completeness",
    "content_completeness", "content_attributes", "non_transfer_files",
)  # fmt: skip


def check_package(package: Package, content: list[PackageFile], make: Make) -> list[CheckResult]:
    """`content`: the package's electronic files (see pipeline.content_files)."""
    results: list[CheckResult] = []
    add = results.append
    held = {f.path for f in content}

    # 2-1 数据总量: counts and bytes against the register
    reg = package.register
    if reg.item_count is not None:
        found = len(package.items) if package.items else len(content)
        add(make("register_item_count", "pass" if found == reg.item_count else "fail", object=reg.source or "package",
                 evidence={"expected": reg.item_count, "found": found}))  # fmt: skip
    if reg.byte_count is not None:
        found_bytes = sum(f.size for f in content)
        ok = abs(found_bytes - reg.byte_count) <= reg.byte_count_tolerance
        add(make("register_byte_count", "pass" if ok else "fail", object=reg.source or "package",
                 evidence={"expected": reg.byte_count, "found": found_bytes, "tolerance": reg.byte_count_tolerance}))  # fmt: skip
    if reg.item_count is None and reg.byte_count is None:
        add(
            make(
                "register_item_count",
                "fail",
                evidence={"reason": "包中没有登记移交件数和数据量（移交登记表）"},
            )
        )

    # 1-4 / 2-4: every metadata entry has its file, every content file its entry
    referenced: set[str] = set()
    for item in package.items:
        for path in item.files:
            referenced.add(path)
            if path not in held:
                add(make("storage_location", "fail", object=path, evidence={
                    "reason": f"{item.source} 登记的电子文件“{path}”在包中不存在",
                }))  # fmt: skip
    if package.items:
        for f in content:
            if f.path not in referenced:
                add(make("package_completeness", "fail", object=f.path, evidence={
                    "reason": "包中有此文件，但目录元数据中没有对应条目",
                }))  # fmt: skip

    # 2-3 内容完整性: empty files
    for f in content:
        if f.size == 0:
            add(
                make(
                    "content_completeness",
                    "fail",
                    object=f.path,
                    evidence={"reason": "文件为空（0 字节）"},
                )
            )

    # 1-3: attributes the metadata declares (EEP 计算机文件大小) against the file itself
    sizes = {f.path: f.size for f in content}
    for path, attrs in package.declared_attributes.items():
        declared = attrs.get("计算机文件大小", "").strip()
        if declared.isdigit() and path in sizes and int(declared) != sizes[path]:
            add(
                make(
                    "content_attributes",
                    "fail",
                    object=path,
                    evidence={"expected": int(declared), "found": sizes[path]},
                )
            )

    # 4-2: files outside the transfer layout
    meta = set(package.metadata_files)
    if package.content_root is None:
        for f in package.files:
            if not f.path.startswith(package.content_prefix) and f.path not in meta:
                add(make("non_transfer_files", "warn", object=f.path, evidence={
                    "reason": f"文件不在 {package.content_prefix or '内容'} 目录下，也不是包的说明、目录或登记文件",
                }))  # fmt: skip

    # 3-3: the software and hardware environment, if the description declares it
    if "环境" in package.description:
        add(make("environment", "pass", evidence={"reason": "说明文件中载明了软硬件环境"}))
    else:
        add(make("environment", "na", evidence={"reason": "说明文件未载明软硬件环境，无法核对"}))
    return results
