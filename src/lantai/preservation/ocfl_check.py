"""Checking stored OCFL objects and storage roots (decision 0011, 0020): every file an object
or a storage root holds against what its inventory or definition says, without changing anything
(`repair_root` excepted: root files are rewritten from their definition). Writing and reading
objects is :mod:`lantai.preservation.ocfl`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .ocfl import (
    INVENTORY,
    OBJECT_DECLARATION,
    ROOT_DECLARATION,
    SIDECAR,
    SPEC_VERSION,
    ContentFile,
    Inventory,
    InventoryError,
    OCFLError,
    content_files,
    hash_stream,
    head_number,
    object_path,
    read_inventory,
    root_files,
    root_layout,
    sha512_hex,
    sidecar_digest,
    sm3_content_path,
    sm3_map,
    version_number_of,
)
from .storage import Location, ObjectMissing

__all__ = [
    "Problem",
    "check_root",
    "check_version_inventory",
    "expected_keys",
    "repair_root",
    "verify_content_file",
    "verify_metadata",
    "verify_object",
]


def check_root(location: Location) -> list[Problem]:
    """The storage root's own files against what they must hold, byte for byte."""
    problems = []
    for key, data in root_files(root_layout(location)).items():
        try:
            found = location.read_bytes(key)
        except ObjectMissing:
            problems.append(Problem("missing", key, expected=sha512_hex(data)))
            continue
        if found != data:
            problems.append(
                Problem("digest_mismatch", key, sha512_hex(data), sha512_hex(found), "sha512")
            )
    return problems


def repair_root(location: Location, keys: list[str]) -> None:
    """Rewrite storage-root files from their definition (they are the same on every replica)."""
    files = root_files(root_layout(location))
    for key in sorted(keys, key=lambda k: k == ROOT_DECLARATION):  # the declaration last
        location.put_bytes(key, files[key])


@dataclass(frozen=True)
class Problem:
    """One finding of `verify_object`."""

    kind: str  # missing | digest_mismatch | sidecar_mismatch | extra_file | incomplete_version
    #            | inventory_invalid | declaration | sm3_list
    path: str  # relative to the object root
    expected: str = ""
    found: str = ""
    algorithm: str = ""

    @property
    def message(self) -> str:
        what = {
            "missing": "文件缺失",
            "digest_mismatch": f"{self.algorithm} 摘要不符",
            "sidecar_mismatch": "清单摘要文件与清单不符",
            "extra_file": "清单中没有的文件",
            "incomplete_version": "未提交的版本（中断的写入）",
            "inventory_invalid": "清单无效",
            "declaration": "对象声明文件缺失或内容不符",
            "sm3_list": "SM3 摘要列表损坏或缺失",
        }[self.kind]
        detail = f"：应为 {self.expected}，实为 {self.found}" if self.expected or self.found else ""
        return f"{self.path} {what}{detail}"


def verify_content_file(location: Location, object_id: str, content: ContentFile) -> list[Problem]:
    """Re-hash one stored file and compare every digest the inventory holds for it."""
    key = f"{object_path(location, object_id)}/{content.content_path}"
    try:
        with location.open(key) as fh:
            found = hash_stream(fh)
    except ObjectMissing:
        return [Problem("missing", content.content_path, expected=content.sha512)]
    problems = []
    for algorithm, expected in content.digests().items():
        if found.get(algorithm) != expected.lower():
            problems.append(
                Problem(
                    "digest_mismatch",
                    content.content_path,
                    expected=expected,
                    found=found.get(algorithm),
                    algorithm=algorithm,
                )
            )
    if content.size is not None and content.size != found.size:
        problems.append(
            Problem(
                "digest_mismatch", content.content_path, str(content.size), str(found.size), "size"
            )
        )
    return problems


def _check_inventory_file(location: Location, root: str, directory: str) -> list[Problem]:
    prefix = f"{directory}/" if directory else ""
    path = f"{prefix}{INVENTORY}"
    try:
        data = location.read_bytes(f"{root}/{path}")
    except ObjectMissing:
        return [Problem("missing", path)]
    recorded = sidecar_digest(location, f"{root}/{prefix}{SIDECAR}")
    actual = hashlib.sha512(data).hexdigest()
    if recorded != actual:
        return [Problem("sidecar_mismatch", f"{prefix}{SIDECAR}", recorded or "", actual, "sha512")]
    return []


def check_version_inventory(
    location: Location, root: str, inventory: Inventory, n: int
) -> list[Problem]:
    """vN/inventory.json against its sidecar and against the root inventory: same id and digest
    algorithm, head vN, versions v1..vN equal to the root's, manifest a part of the root's."""
    problems = _check_inventory_file(location, root, f"v{n}")
    if problems:
        return problems
    path = f"v{n}/{INVENTORY}"
    try:
        vinv = json.loads(location.read_bytes(f"{root}/{path}").decode("utf-8"))
        names = [f"v{i}" for i in range(1, n + 1)]
        reasons = []
        if vinv.get("id") != inventory.get("id") or vinv.get("head") != f"v{n}":
            reasons.append("对象标识或 head 与根清单不符")
        if vinv.get("digestAlgorithm") != inventory.get("digestAlgorithm"):
            reasons.append("摘要算法与根清单不符")
        if vinv.get("versions") != {v: inventory["versions"].get(v) for v in names}:
            reasons.append("版本记录与根清单不符")
        manifest = inventory["manifest"]
        if any(manifest.get(d) != cps for d, cps in vinv.get("manifest", {}).items()):
            reasons.append("内容清单不是根清单的一部分")
    except (ValueError, KeyError, AttributeError, TypeError) as e:
        reasons = [f"无法读取：{e}"]
    return [Problem("inventory_invalid", path, found="；".join(reasons))] if reasons else []


def verify_metadata(
    location: Location, object_id: str, inventory: Inventory, *, incomplete: bool = False
) -> list[Problem]:
    """Every file of the object that is not content, checked without re-hashing content: the
    object declaration, the root and every version inventory with their sidecars, the SM3 list,
    and files no inventory lists (files of uncommitted versions only with `incomplete`: they may
    belong to a write in progress)."""
    root = object_path(location, object_id)
    head = head_number(inventory)
    problems: list[Problem] = []
    if inventory.get("id") != object_id:
        problems.append(
            Problem("inventory_invalid", INVENTORY, object_id, str(inventory.get("id")))
        )
    declaration = f"ocfl_object_{SPEC_VERSION}\n".encode()
    try:
        if location.read_bytes(f"{root}/{OBJECT_DECLARATION}") != declaration:
            problems.append(Problem("declaration", OBJECT_DECLARATION))
    except ObjectMissing:
        problems.append(Problem("declaration", OBJECT_DECLARATION))
    root_problems = _check_inventory_file(location, root, "")
    problems += root_problems
    for n in range(1, head + 1):
        if root_problems:  # no trusted root inventory to compare with: sidecars only
            problems += _check_inventory_file(location, root, f"v{n}")
        else:
            problems += check_version_inventory(location, root, inventory, n)
    listed = expected_keys(inventory, head)
    for key in location.list(root):
        rel = key[len(root) + 1 :]
        if rel in listed:
            continue
        if version_number_of(key, root) > head:
            if incomplete:
                problems.append(Problem("incomplete_version", rel))
            continue
        problems.append(Problem("extra_file", rel))
    sm3_path = sm3_content_path(inventory)
    if sm3_path is not None:
        try:
            sm3_map(location, object_id, inventory)
        except InventoryError as e:
            problems.append(Problem("sm3_list", sm3_path, found=str(e)))
    return problems


def verify_object(location: Location, object_id: str) -> list[Problem]:
    """Everything wrong with the stored object; an empty list means it is intact. Re-hashes every
    content file (sha512 from the manifest, sha256 from fixity, SM3 from the SM3 list)."""
    try:
        inventory = read_inventory(location, object_id, verify=False)
        head_number(inventory)
    except (ValueError, KeyError, OCFLError) as e:
        return [Problem("inventory_invalid", INVENTORY, found=str(e))]
    problems = verify_metadata(location, object_id, inventory, incomplete=True)
    try:
        sm3 = sm3_map(location, object_id, inventory)
    except InventoryError:
        sm3 = {}  # reported above; sha512 and sha256 are still checked
    for content in content_files(inventory, sm3):
        problems += verify_content_file(location, object_id, content)
    return problems


def expected_keys(inventory: Inventory, head: int) -> set[str]:
    keys = {OBJECT_DECLARATION, INVENTORY, SIDECAR}
    for n in range(1, head + 1):
        keys |= {f"v{n}/{INVENTORY}", f"v{n}/{SIDECAR}"}
    keys |= {cp for content_paths in inventory["manifest"].values() for cp in content_paths}
    return keys
