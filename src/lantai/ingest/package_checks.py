"""Checks of the package as a whole against what it declares (DA/T 70 1-3, 1-4, 2-1, 2-3, 2-4, 3-3, 4-2).

Each check reports its objects' problems one by one and, at package level, what it examined
(:func:`lantai.ingest.summaries.summarize`): a pass names the count, nothing to examine is ``na``.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lantai.standards._data import load_data
from lantai.standards.dat70 import CheckResult
from lantai.standards.transfer.package import Package, PackageFile

Make = Callable[..., CheckResult]
KEYS = (
    "register_item_count", "register_byte_count", "storage_location", "package_completeness",
    "content_completeness", "content_attributes", "non_transfer_files", "environment",
)  # fmt: skip
ENVIRONMENT_FILE = "environment-fields.yaml"


def check_package(package: Package, content: list[PackageFile], make: Make) -> list[CheckResult]:
    """`content`: the package's electronic files (see pipeline.content_files). Per-object results
    only, plus 2-1 and 3-3, which are about the package; the pipeline adds the summaries."""
    results: list[CheckResult] = []
    add = results.append
    held = {f.path for f in content}

    # 2-1 数据总量: counts and bytes against the register
    reg = package.register
    where = reg.source or "package"
    if reg.item_count is not None:
        found = len(package.items) if package.items else len(content)
        counted = "目录条目" if package.items else "内容文件"
        ok = found == reg.item_count
        evidence = {"expected": reg.item_count, "found": found, "checked": found,
                    "compared": f"登记的移交件数 vs 实际件数（{counted}）"}  # fmt: skip
        if not ok:
            evidence["reason"] = f"登记 {reg.item_count} 件，实际 {found} 件（{counted}）"
        add(make("register_item_count", "pass" if ok else "fail", object=where, evidence=evidence))
    if reg.byte_count is not None:
        found_bytes = sum(f.size for f in content)
        ok = abs(found_bytes - reg.byte_count) <= reg.byte_count_tolerance
        evidence = {"expected": reg.byte_count, "found": found_bytes,
                    "tolerance": reg.byte_count_tolerance, "checked": len(content),
                    "compared": "登记的移交数据量 vs 实际字节数"}  # fmt: skip
        if not ok:
            slack = reg.byte_count_tolerance
            evidence["reason"] = f"登记 {reg.byte_count} 字节，实际 {found_bytes} 字节" + (
                f"（允许误差 {slack} 字节）" if slack else ""
            )
        add(make("register_byte_count", "pass" if ok else "fail", object=where, evidence=evidence))
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
    for path, declared in declared_sizes(package).items():
        if path in sizes and declared != sizes[path]:
            add(
                make(
                    "content_attributes",
                    "fail",
                    object=path,
                    evidence={"expected": declared, "found": sizes[path]},
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

    add(environment(package, make))
    return results


def declared_sizes(package: Package) -> dict[str, int]:
    """The file sizes the metadata declares (EEP 计算机文件大小), by path: what 1-3 compares."""
    out = {}
    for path, attrs in package.declared_attributes.items():
        declared = attrs.get("计算机文件大小", "").strip()
        if declared.isdigit():
            out[path] = int(declared)
    return out


def environment(package: Package, make: Make) -> CheckResult:
    """3-3: the environment fields the package declares (data/environment-fields.yaml) — lines
    "字段：值" of 说明文件 and the 电子属性 elements of the metadata — not a word in the text."""
    names = load_data(ENVIRONMENT_FILE)
    wanted = tuple(names["description_fields"])
    found: dict[str, str] = {}
    empty: list[str] = []
    line = re.compile(r"^\s*(" + "|".join(map(re.escape, wanted)) + r")\s*[:：]\s*(.*?)\s*$")
    for text in package.description.splitlines():
        m = line.match(text)
        if m and m[2]:
            found.setdefault(m[1], m[2][:200])
        elif m:
            empty.append(m[1])
    elements = tuple(names["metadata_elements"])
    sources = [*package.declared_attributes.values(), *(i.fields for i in package.items)]
    for attrs in sources:
        for name in elements:
            value = str(attrs.get(name, "")).strip()
            if value:
                found.setdefault(name, value[:200])
    fields = "、".join((*wanted, *elements))
    if found:
        return make("environment", "pass", evidence={
            "checked": len(found), "compared": f"声明的环境字段（{fields}）", "fields": found,
        })  # fmt: skip
    if empty:
        return make("environment", "warn", evidence={
            "reason": f"说明文件中的环境字段为空：{'、'.join(empty)}", "fields": empty,
        })  # fmt: skip
    return make("environment", "na", evidence={
        "reason": f"说明文件和元数据都未载明软硬件环境字段（{fields}），无法核对",
    })  # fmt: skip
