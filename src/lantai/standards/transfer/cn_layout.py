"""The Chinese transfer layout of 《电子档案移交与接收办法》 (档发〔2012〕7号, 附件2) and
DA/T 93-2022:

```
说明文件.TXT            free text (kept, not parsed strictly)
文件目录.XML            <文件目录><文件>…</文件>…  (or 案卷目录.XML for volume-based transfers)
电子档案/               the files, by 年度/门类/…
其他/移交登记表.XML     <移交登记表> 交接工作名称, 移交单位, 移交电子档案数量, 移交数据量, 摘要算法,
                        <数字摘要 文件="电子档案/…">hex</数字摘要>…
```
Names are matched ignoring case (.XML/.xml). XML is read in its declared encoding (UTF-8,
GB18030, GB2312/GBK). ``read`` never modifies the directory; what it had to assume is in
``Package.notes``, what is wrong is in ``Package.results``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..dat70 import CheckResult
from ._common import (
    Inventory,
    decode_text,
    digest_problem,
    find_child,
    leaves,
    link_results,
    load_xml,
    local,
    normalize_algorithm,
    normalize_rel,
    text_of,
    walk,
)
from .package import DeclaredDigest, ItemMetadata, Package, Register

__all__ = [
    "CATALOG_NAMES",
    "CONTENT_DIR",
    "DESCRIPTION_NAME",
    "OTHER_DIR",
    "REGISTER_NAME",
    "looks_like",
    "read",
    "read_into",
]

DESCRIPTION_NAME = "说明文件.TXT"
CATALOG_NAMES = ("文件目录.XML", "案卷目录.XML")
CONTENT_DIR = "电子档案"
OTHER_DIR = "其他"
REGISTER_NAME = "移交登记表.XML"
FILE_ELEMENT = "电子档案名称"  # repeated for an item with several files
REGISTER_ITEMS = "移交电子档案数量"
REGISTER_BYTES = "移交数据量"
REGISTER_ALGORITHM = "摘要算法"
REGISTER_DIGEST = "数字摘要"
DIGEST_PATH_ATTRS = ("文件", "路径", "file", "path")
_UNITS = {
    "B": 1,
    "K": 1024,
    "KB": 1024,
    "M": 1024**2,
    "MB": 1024**2,
    "G": 1024**3,
    "GB": 1024**3,
    "T": 1024**4,
    "TB": 1024**4,
}


def looks_like(root: Path) -> bool:
    """Whether ``root`` has the markers of the Chinese layout (a catalogue XML or 电子档案/)."""
    return (
        find_child(root, *CATALOG_NAMES) is not None
        or find_child(root, CONTENT_DIR, want_dir=True) is not None
    )


def read(root: Path) -> Package:
    """Read an unpacked Chinese-layout transfer in ``root``."""
    pkg = Package(kind="cn-layout", root=root, content_prefix=CONTENT_DIR + "/")
    inv = walk(root)
    pkg.files = pkg.package_files = inv.files
    pkg.results.extend(link_results(inv.links))
    read_into(pkg, inv, base="")
    return pkg


def _structure_fail(obj: str, reason: str) -> CheckResult:
    return CheckResult.from_spec(
        "package_structure", "fail", object=obj, evidence={"reason": reason}
    )


def read_into(pkg: Package, inv: Inventory, *, base: str, require_register: bool = True) -> None:
    """Read the layout found at ``pkg.root / base`` into ``pkg`` (``base`` is "" or e.g. "data/"
    for a layout carried inside a bag); every path recorded is relative to ``pkg.root``."""
    top = pkg.root / base if base else pkg.root
    # 说明文件.TXT
    desc = find_child(top, DESCRIPTION_NAME)
    if desc is None:
        pkg.results.append(_structure_fail(base + DESCRIPTION_NAME, "缺少说明文件.TXT"))
    else:
        text, enc = decode_text(desc.read_bytes())
        pkg.description = text
        pkg.metadata_files.append(base + desc.name)
        if enc != "UTF-8":
            pkg.notes.append(f"{base}{desc.name} 按 {enc} 解码")
        if desc.name != DESCRIPTION_NAME:
            pkg.notes.append(f"说明文件按文件名 {desc.name} 读取（大小写不同）")
    # 电子档案/
    content = find_child(top, CONTENT_DIR, want_dir=True)
    if content is None:
        pkg.results.append(_structure_fail(base + CONTENT_DIR + "/", "缺少“电子档案”目录"))
    else:
        pkg.content_prefix = base + content.name + "/"
    _read_catalog(pkg, inv, top, base)
    _read_register(pkg, top, base, require_register)


# --- catalogue --------------------------------------------------------------------------------
def _read_catalog(pkg: Package, inv: Inventory, top: Path, base: str) -> None:
    found = [p for p in (find_child(top, n) for n in CATALOG_NAMES) if p is not None]
    if not found:
        pkg.results.append(
            _structure_fail(base + CATALOG_NAMES[0], "缺少文件目录.XML（或案卷目录.XML）")
        )
        return
    catalog = found[0]
    rel = base + catalog.name
    for other in found[1:]:
        pkg.notes.append(
            f"同时存在 {other.name}，条目按 {catalog.name} 读取，{other.name} 只检查可读性"
        )
        extra = load_xml(other, base + other.name)
        pkg.results.extend(extra.results)
        pkg.notes.extend(extra.notes)
        pkg.metadata_files.append(base + other.name)
    pkg.notes.append(f"按 {catalog.name} 读取")
    pkg.metadata_files.append(rel)
    loaded = load_xml(catalog, rel)
    pkg.results.extend(loaded.results)
    pkg.notes.extend(loaded.notes)
    if loaded.root is None:
        return
    if loaded.encoding and loaded.encoding != "UTF-8":
        pkg.notes.append(f"{rel} 按 {loaded.encoding} 解码")
    root_name = local(loaded.root)
    if root_name not in ("文件目录", "案卷目录"):
        pkg.report(
            "package_structure",
            "warn",
            rel,
            {"reason": f"根元素为 <{root_name}>，应为 <文件目录> 或 <案卷目录>"},
        )
    entries = [el for el in loaded.root.iter() if local(el) == "文件"]
    label = "文件"
    if not entries:
        entries = [el for el in loaded.root.iter() if local(el) == "案卷"]
        label = "案卷"
        if entries:
            pkg.notes.append(f"{rel} 中没有 <文件> 条目，按 <案卷> 逐卷读取")
    elif any(local(p) == "案卷" for el in entries for p in el.iterancestors()):
        pkg.notes.append(f"{rel} 的 <文件> 条目嵌套在 <案卷> 内，逐件读取，案卷级著录项未并入")
    alternative_noted = False
    case_noted = False
    for n, el in enumerate(entries, 1):
        fields: dict[str, str] = {}
        files: list[str] = []
        for leaf in leaves(el, ("文件",) if label == "案卷" else ()):
            name, value = local(leaf), text_of(leaf)
            if name == FILE_ELEMENT:
                if not value:
                    continue
                path, why = normalize_rel(value)
                if path is None:
                    pkg.report(
                        "storage_location",
                        "fail",
                        rel,
                        {
                            "reason": f"第{n}个<{label}>的电子档案名称不可用：{why}",
                            "found": value,
                        },
                    )
                    continue
                target = base + path
                if target not in inv.paths:
                    alt = base + "电子档案/" + path
                    folded = inv.lower.get(target.casefold())
                    if alt in inv.paths:
                        target = alt
                        if not alternative_noted:
                            pkg.notes.append(
                                "电子档案名称未以“电子档案/”开头，按 电子档案/ 下的相对路径解析"
                            )
                            alternative_noted = True
                    elif folded is not None:
                        pkg.report(
                            "storage_location",
                            "warn",
                            folded,
                            {
                                "reason": "电子档案名称与实际文件名仅大小写不同",
                                "expected": value,
                                "found": folded,
                            },
                        )
                        if not case_noted:
                            pkg.notes.append("电子档案名称与文件名大小写不同时，按实际文件读取")
                            case_noted = True
                        target = folded
                files.append(target)
            elif name in fields:
                if value and value != fields[name]:
                    fields[name] = f"{fields[name]}；{value}" if fields[name] else value
            else:
                fields[name] = value
        pkg.items.append(ItemMetadata(fields=fields, files=files, source=f"{rel} 第{n}个<{label}>"))


# --- register ---------------------------------------------------------------------------------
def _parse_count(value: str) -> int | None:
    m = re.fullmatch(r"\s*(\d+)\s*(件|份|个|条)?\s*", value)
    return int(m.group(1)) if m else None


def parse_bytes(value: str) -> tuple[int, int, str] | None:
    """移交数据量 as written -> (bytes, tolerance, note) or None when unreadable."""
    v = value.strip().replace(",", "").replace("，", "")
    m = re.fullmatch(r"(\d+)\s*(B|字节|bytes?)?", v, re.IGNORECASE)
    if m:
        return int(m.group(1)), 0, ""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]B?|[KMGT]iB)?", v, re.IGNORECASE)
    if not m:
        return None
    try:
        number = Decimal(m.group(1))
    except InvalidOperation:
        return None
    unit_text = (m.group(2) or "GB").upper().replace("IB", "B")
    unit = _UNITS[unit_text]
    decimals = -number.as_tuple().exponent if number.as_tuple().exponent < 0 else 0  # type: ignore[operator]
    tolerance = int(Decimal(unit) / (2 * Decimal(10) ** int(decimals)))
    note = (
        f"移交数据量“{value}”按 1 {unit_text} = {unit} 字节换算，允许 ±{tolerance} 字节的舍入误差"
    )
    if m.group(2) is None:
        note = (
            f"移交数据量“{value}”未注明单位，按登记表的 GB 计（1 GB = {unit} 字节），"
            f"允许 ±{tolerance} 字节"
        )
    return int(number * unit), tolerance, note


def _read_register(pkg: Package, top: Path, base: str, required: bool) -> None:
    other = find_child(top, OTHER_DIR, want_dir=True)
    reg = find_child(other, REGISTER_NAME) if other is not None else None
    expected_rel = f"{base}{OTHER_DIR}/{REGISTER_NAME}"
    if reg is None:
        if required:
            pkg.results.append(
                _structure_fail(
                    expected_rel, "缺少《电子档案移交与接收登记表》（其他/移交登记表.XML）"
                )
            )
        return
    rel = f"{base}{reg.parent.name}/{reg.name}"
    pkg.metadata_files.append(rel)
    loaded = load_xml(reg, rel)
    pkg.results.extend(loaded.results)
    pkg.notes.extend(loaded.notes)
    if loaded.root is None:
        return
    register = Register(source=rel)
    pkg.register = register
    # (path as written, value, per-digest algorithm)
    digests: list[tuple[str, str, str | None]] = []
    for el in loaded.root.iter():
        name = local(el)
        if not name or el is loaded.root:
            continue
        if name == REGISTER_DIGEST:
            path = next((el.get(a) for a in DIGEST_PATH_ATTRS if el.get(a)), None)
            if path is None:
                pkg.report(
                    "fixity",
                    "fail",
                    rel,
                    {
                        "reason": "<数字摘要> 未注明文件（缺少“文件”属性）",
                        "found": text_of(el),
                    },
                )
                continue
            digests.append((path, text_of(el), el.get("算法") or el.get("algorithm")))
        elif len(el) == 0:
            register.fields[name] = text_of(el)
    count = register.fields.get(REGISTER_ITEMS)
    if count is None:
        pkg.report("register_item_count", "fail", rel, {"reason": f"登记表缺少“{REGISTER_ITEMS}”"})
    else:
        register.item_count = _parse_count(count)
        if register.item_count is None:
            pkg.report(
                "register_item_count", "fail", rel, {"reason": f"{REGISTER_ITEMS}“{count}”不是整数"}
            )
    size = register.fields.get(REGISTER_BYTES)
    if size is None:
        pkg.report("register_byte_count", "fail", rel, {"reason": f"登记表缺少“{REGISTER_BYTES}”"})
    else:
        parsed = parse_bytes(size)
        if parsed is None:
            pkg.report(
                "register_byte_count", "fail", rel, {"reason": f"{REGISTER_BYTES}“{size}”无法识别"}
            )
        else:
            register.byte_count, register.byte_count_tolerance, note = parsed
            if note:
                pkg.notes.append(note)
    algorithm_text = register.fields.get(REGISTER_ALGORITHM, "")
    default_alg = normalize_algorithm(algorithm_text) if algorithm_text else None
    if digests and not algorithm_text and not all(d[2] for d in digests):
        pkg.report(
            "fixity", "fail", rel, {"reason": f"登记表列出数字摘要但未注明“{REGISTER_ALGORITHM}”"}
        )
        return
    if algorithm_text and default_alg is None:
        pkg.report(
            "fixity",
            "fail",
            rel,
            {
                "reason": f"不支持的摘要算法“{algorithm_text}”（可用：SM3、SHA256、SHA1、MD5）",
                "found": algorithm_text,
            },
        )
        return
    for written, value, own in digests:
        alg = normalize_algorithm(own) if own else default_alg
        if alg is None:
            pkg.report(
                "fixity", "fail", rel, {"reason": f"不支持的摘要算法“{own}”", "found": written}
            )
            continue
        path, why = normalize_rel(written)
        if path is None:
            pkg.report(
                "fixity",
                "fail",
                rel,
                {"reason": f"数字摘要的文件路径不可用：{why}", "found": written},
            )
            continue
        problem = digest_problem(alg, value)
        if problem is not None:
            pkg.report(
                "fixity", "fail", base + path, {"reason": problem, "found": value, "source": rel}
            )
            continue
        pkg.declared.append(
            DeclaredDigest(path=base + path, algorithm=alg, value=value.lower(), source=rel)
        )
