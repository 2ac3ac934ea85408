"""DA/T 46 description files carried in a bag's payload: XML files whose root is a ``文件实体``
(DA/T 46 elements, as inside a DA/T 48 EEP) or holds ``文件实体`` children (Lantai's own
``档案元数据`` record files among them). Each 文件实体 becomes one catalogue item; its files are
the ``计算机文件名`` it names (or, in Lantai's record files, the components' ``name``), looked up
beside the XML first and then by a unique name anywhere in the payload."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from ._common import Inventory, leaves, load_xml, local, text_of
from .package import ItemMetadata, Package

__all__ = ["read_item_xmls"]

ENTITY = "文件实体"
_ROOT_RE = re.compile(r"<(?:[\w.\-]+:)?(?:文件实体|档案元数据)[\s>/]")
_MAX_SNIFF = 2000  # XML files of the payload looked at, at most


def _is_description(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    for codec in ("utf-8", "gb18030"):
        text = head.decode(codec, errors="ignore")
        m = re.search(r"<(?![?!])", text)
        if m is not None and _ROOT_RE.match(text, m.start()):
            return True
    return False


def read_item_xmls(pkg: Package, inv: Inventory, base: str) -> int:
    """Read the description files under ``base`` (e.g. "data/") into ``pkg.items``; how many
    files were read."""
    from .eep import assemble_code

    candidates = [
        f.path for f in inv.files if f.path.startswith(base) and f.path.lower().endswith(".xml")
    ][:_MAX_SNIFF]
    found = [rel for rel in candidates if _is_description(pkg.root / rel)]
    by_name: dict[str, list[str]] = {}
    for f in inv.files:
        if f.path.startswith(base):
            by_name.setdefault(PurePosixPath(f.path).name, []).append(f.path)
    for rel in found:
        loaded = load_xml(pkg.root / rel, rel)
        pkg.results.extend(loaded.results)
        pkg.notes.extend(loaded.notes)
        pkg.metadata_files.append(rel)
        root = loaded.root
        if root is None:
            continue
        entities = [root] if local(root) == ENTITY else [c for c in root if local(c) == ENTITY]
        folder = str(PurePosixPath(rel).parent)
        for n, entity in enumerate(entities, 1):
            source = f"{rel} 第{n}个<{ENTITY}>"
            fields = _fields(entity)
            code_el = next((el for el in entity if local(el) == "档号"), None)
            if code_el is not None and code_el.get("值"):
                fields["档号"] = code_el.get("值", "")
            elif code_el is not None and len(code_el):
                code, how = assemble_code(fields)
                if code:
                    fields["档号"] = code
                    pkg.notes.append(f"{source} 的档号由各组成部分拼成：{code}（{how}）")
            names = _file_names(entity, root)
            files = [_resolve(name, folder, inv, by_name) for name in names]
            pkg.items.append(ItemMetadata(fields=fields, files=files, source=source))
    return len(found)


def _fields(entity: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    for leaf in leaves(entity, ("文件数据",)):
        name, value = local(leaf), text_of(leaf)
        if name and name not in fields:
            fields[name] = value
    return fields


def _file_names(entity: Any, root: Any) -> list[str]:
    names = [text_of(el) for el in entity.iter() if local(el) == "计算机文件名"]
    if not names and root is not entity:  # Lantai's record file: the components' names
        names = [
            text_of(el)
            for el in root.iter()
            if local(el) == "字段" and el.get("名") == "name" and text_of(el)
        ]
    return list(dict.fromkeys(n for n in names if n))


def _resolve(name: str, folder: str, inv: Inventory, by_name: dict[str, list[str]]) -> str:
    beside = str(PurePosixPath(folder) / name.replace("\\", "/"))
    if beside in inv.paths:
        return beside
    matches = by_name.get(PurePosixPath(name.replace("\\", "/")).name, [])
    return matches[0] if len(matches) == 1 else beside
