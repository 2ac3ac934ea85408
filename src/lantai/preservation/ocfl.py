"""OCFL 1.1 objects on a storage `Location` (https://ocfl.io/1.1/spec/), written and read without
any OCFL library.

One OCFL object per archival package. The storage root uses the community extension
0003-hash-and-id-n-tuple-storage-layout (sha256 of the object id, three tuples of three characters,
then the percent-encoded id as the object directory); roots written before decision 0020 use 0004
(the full digest as the object directory) and stay readable. Inventories use sha512 for content
addressing and carry sha256 in their fixity block. SM3 (GB/T 32905) is in neither the OCFL digest
table nor extension 0001, so it lives in a content file of every version, ``lantai/fixity-sm3.json``
(content path -> SM3), covered by the inventory's own digests; the inventory stays strictly valid
(docs/decisions/0011-ocfl-package-layout.md, 0020-preservation-without-silent-damage.md).

Commit protocol (works on S3, which has no rename): a new version's content and its version
inventory (+ sidecar) are written first, the object's root ``inventory.json`` then its sidecar last.
Writing the root inventory is the commit point: anything under a version directory beyond the root
inventory's ``head`` is an interrupted write, which `cleanup_incomplete` removes. One writer per object
at a time is the caller's job (the catalogue holds the lock).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol

from .storage import Location, ObjectMissing

__all__ = [
    "CHUNK",
    "ContentFile",
    "ContentMismatch",
    "Digests",
    "Inventory",
    "InventoryError",
    "OCFLError",
    "ObjectDamaged",
    "ObjectNotFound",
    "cleanup_incomplete",
    "content_files",
    "hash_bytes",
    "hash_file",
    "hash_stream",
    "head_number",
    "head_version",
    "incomplete_object_roots",
    "init_root",
    "logical_state",
    "object_ids",
    "object_path",
    "object_root",
    "sha512_hex",
    "sidecar_digest",
    "version_number_of",
    "root_files",
    "root_layout",
    "open_file",
    "read_inventory",
    "read_logical",
    "root_inventory_keys",
    "sm3_content_path",
    "sm3_map",
    "write_version",
]

SPEC_VERSION = "1.1"
ROOT_DECLARATION = "0=ocfl_1.1"
OBJECT_DECLARATION = "0=ocfl_object_1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
DIGEST_ALGORITHM = "sha512"
FIXITY_ALGORITHMS = ("sha256",)  # registered OCFL names only: the inventory stays strictly valid
SM3_FILE = "lantai/fixity-sm3.json"  # logical path of each version's SM3 list
CONTENT_DIRECTORY = "content"  # the OCFL default, so inventories leave out contentDirectory
INVENTORY = "inventory.json"
SIDECAR = f"inventory.json.{DIGEST_ALGORITHM}"
CHUNK = 1 << 20

LAYOUT_EXTENSION = "0003-hash-and-id-n-tuple-storage-layout"
LAYOUT_CONFIG: dict[str, Any] = {
    "extensionName": LAYOUT_EXTENSION,
    "digestAlgorithm": "sha256",
    "tupleSize": 3,
    "numberOfTuples": 3,
}
LAYOUT_DESCRIPTION = (
    "OCFL object roots are three 3-character tuples of the sha256 digest of the object id followed "
    "by the percent-encoded object id (community extension 0003-hash-and-id-n-tuple-storage-layout)"
)
# Storage roots written before decision 0020: read, audited and extended, never created any more.
LEGACY_LAYOUT = "0004-hashed-n-tuple-storage-layout"
LEGACY_LAYOUT_CONFIG: dict[str, Any] = {
    "extensionName": LEGACY_LAYOUT,
    "digestAlgorithm": "sha256",
    "tupleSize": 3,
    "numberOfTuples": 3,
    "shortObjectRoot": False,
}
SM3_EXTENSION = "lantai-sm3-digest-algorithm"
LEGACY_SM3_CONFIG: dict[str, Any] = {
    "extensionName": SM3_EXTENSION,
    "digestAlgorithms": {
        "sm3": {
            "description": "SM3 cryptographic hash (GB/T 32905-2016, ISO/IEC 10118-3:2018), "
            "256 bits, lowercase hexadecimal, as used in OCFL fixity blocks of this storage root",
            "digestLength": 64,
        }
    },
}
SM3_DOCUMENT = f"""# {SM3_EXTENSION}

SM3 digests in this OCFL storage root (Lantai 兰台 digital archives system).

SM3 (GB/T 32905-2016, ISO/IEC 10118-3:2018; 256-bit digest written as 64 lowercase hexadecimal
characters) is required for Chinese archival fixity but is neither in the OCFL 1.1 digest table nor
in community extension 0001-digest-algorithms. To keep every inventory strictly valid, inventories
carry only `sha512` (content addressing) and `sha256` (fixity); the SM3 digests of an object are in
its own content: every version holds the logical file `{SM3_FILE}`, a JSON object

    {{"algorithm": "sm3", "standard": "GB/T 32905-2016", "object": <id>, "version": "vN",
     "files": {{<content path>: <SM3>, ...}}}}

listing the SM3 of every content path of the object up to that version except the file itself,
which the inventory covers by sha512 and sha256. Objects written before 2026-12 also carry `sm3`
values in their inventories' fixity blocks.

SM3 test vector: the digest of the three bytes "abc" is
66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0.
"""

_VERSION = re.compile(r"^v([1-9][0-9]*)$")
_OBJECT_INVENTORY = re.compile(r"^([0-9a-f]{3}/){3}[^/]+/inventory\.json$")
_ENCAPSULATION_SAFE = re.compile(r"[A-Za-z0-9_-]")

Inventory = dict[str, Any]
Source = Path | bytes


class OCFLError(Exception):
    """A request this module cannot carry out (bad logical path, unknown version, bad root)."""


class InventoryError(OCFLError):
    """The root inventory cannot be trusted: missing, unreadable, or not matching its sidecar."""


class ObjectNotFound(InventoryError, ObjectMissing):
    """No committed object (no root inventory) for the id."""


class ObjectDamaged(OCFLError):
    """The object's stored state contradicts itself in a way that needs a person (and a replica)."""


# --- digests -------------------------------------------------------------------------------------


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _CryptographySM3:
    """SM3 through `cryptography` where the interpreter's OpenSSL lacks it (e.g. FIPS builds)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes

        self._h = hashes.Hash(hashes.SM3())

    def update(self, data: bytes, /) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.finalize().hex()


def _sm3() -> _Hasher:
    try:
        return hashlib.new("sm3")
    except ValueError:  # pragma: no cover - depends on the OpenSSL build
        return _CryptographySM3()


@dataclass(frozen=True)
class Digests:
    sha512: str
    sha256: str
    sm3: str
    size: int

    def get(self, algorithm: str) -> str:
        return str(getattr(self, algorithm))


def hash_stream(stream: BinaryIO) -> Digests:
    """sha512, sha256 and SM3 of a stream in one pass of 1 MiB reads."""
    hashers = {"sha512": hashlib.sha512(), "sha256": hashlib.sha256(), "sm3": _sm3()}
    size = 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        for h in hashers.values():
            h.update(chunk)
    return Digests(
        sha512=hashers["sha512"].hexdigest(),
        sha256=hashers["sha256"].hexdigest(),
        sm3=hashers["sm3"].hexdigest(),
        size=size,
    )


def hash_file(path: Path) -> Digests:
    with open(path, "rb") as fh:
        return hash_stream(fh)


def hash_bytes(data: bytes) -> Digests:
    return hash_stream(io.BytesIO(data))


# --- storage root and layout ---------------------------------------------------------------------


def object_root(object_id: str, layout: str = LAYOUT_EXTENSION) -> str:
    """The object's directory under the storage root: extension 0003 (sha256, 3 x 3 tuples, then
    the id with every character outside A-Z a-z 0-9 - _ percent-encoded as UTF-8 bytes, cut at 100
    characters plus "-<digest>"), or, for roots written before decision 0020, 0004 (the digest)."""
    if not object_id:
        raise OCFLError("OCFL 对象标识不能为空")
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
    tuples = [digest[i * 3 : i * 3 + 3] for i in range(3)]
    if layout == LEGACY_LAYOUT:
        return "/".join([*tuples, digest])
    if layout != LAYOUT_EXTENSION:
        raise OCFLError(f"不支持的存储布局：{layout}")
    encoded = "".join(
        c if _ENCAPSULATION_SAFE.fullmatch(c) else "".join(f"%{b:02x}" for b in c.encode("utf-8"))
        for c in object_id
    )
    if len(encoded) > 100:
        encoded = f"{encoded[:100]}-{digest}"
    return "/".join([*tuples, encoded])


_layouts: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def root_layout(location: Location) -> str:
    """The storage layout extension of the location's root (read once per Location object)."""
    try:
        return _layouts[location]
    except (KeyError, TypeError):
        pass
    layout = LAYOUT_EXTENSION
    try:
        name = json.loads(location.read_bytes("ocfl_layout.json")).get("extension")
        if name in (LAYOUT_EXTENSION, LEGACY_LAYOUT):
            layout = name
    except (ObjectMissing, ValueError, AttributeError):
        if location.size(f"extensions/{LEGACY_LAYOUT}/config.json") is not None:
            layout = LEGACY_LAYOUT
    with contextlib.suppress(TypeError):  # a backend that cannot be weakly referenced
        _layouts[location] = layout
    return layout


def _root(location: Location, object_id: str) -> str:
    return object_root(object_id, root_layout(location))


def object_path(location: Location, object_id: str) -> str:
    """The object's directory on this location (its root's layout)."""
    return _root(location, object_id)


def _json_bytes(data: Mapping[str, Any]) -> bytes:
    # ensure_ascii=False: Chinese paths stay readable in a text editor; OCFL inventories are UTF-8.
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def root_files(layout: str = LAYOUT_EXTENSION) -> dict[str, bytes]:
    """Every file of a storage root with this layout, byte for byte (the identity marker aside)."""
    if layout == LEGACY_LAYOUT:
        description = (
            "OCFL object roots are three 3-character tuples of the sha256 digest of the "
            "object id followed by the full digest (community extension 0004-hashed-n-tuple-storage-layout)"
        )
        return {
            ROOT_DECLARATION: f"ocfl_{SPEC_VERSION}\n".encode(),
            "ocfl_layout.json": _json_bytes(
                {"extension": LEGACY_LAYOUT, "description": description}
            ),
            f"extensions/{LEGACY_LAYOUT}/config.json": _json_bytes(LEGACY_LAYOUT_CONFIG),
            f"extensions/{SM3_EXTENSION}/config.json": _json_bytes(LEGACY_SM3_CONFIG),
        }
    return {
        ROOT_DECLARATION: f"ocfl_{SPEC_VERSION}\n".encode(),
        "ocfl_layout.json": _json_bytes(
            {"extension": LAYOUT_EXTENSION, "description": LAYOUT_DESCRIPTION}
        ),
        f"extensions/{LAYOUT_EXTENSION}/config.json": _json_bytes(LAYOUT_CONFIG),
        f"{SM3_EXTENSION}.md": SM3_DOCUMENT.encode("utf-8"),
    }


def init_root(location: Location, layout: str = LAYOUT_EXTENSION) -> None:
    """Declare an OCFL 1.1 storage root on an empty location; on an existing root, check that it
    uses a layout this module reads and add any missing description file. Declaration last: a
    half-initialised root is not yet a root. Only for a location being added: an existing
    location whose root has gone (an empty mount point) is offline, never initialised again
    (decision 0020)."""
    if location.size(ROOT_DECLARATION) is not None:
        if location.read_bytes(ROOT_DECLARATION) != f"ocfl_{SPEC_VERSION}\n".encode():
            raise OCFLError(f"存储位置 {location.name} 不是 OCFL {SPEC_VERSION} 存储根")
        declared = json.loads(location.read_bytes("ocfl_layout.json")).get("extension")
        if declared not in (LAYOUT_EXTENSION, LEGACY_LAYOUT):
            raise OCFLError(f"存储位置 {location.name} 使用了其他存储布局：{declared}")
        files = root_files(str(declared))
    else:  # a new root; `layout` LEGACY_LAYOUT only to match the other roots of an older site
        files = root_files(layout)
    for key, data in files.items():
        if key != ROOT_DECLARATION and location.size(key) is None:
            location.put_bytes(key, data)
    if location.size(ROOT_DECLARATION) is None:
        location.put_bytes(ROOT_DECLARATION, files[ROOT_DECLARATION])


# --- writing -------------------------------------------------------------------------------------


def _check_logical_paths(paths: list[str]) -> None:
    for p in paths:
        parts = p.split("/")
        if (
            not p
            or any(part in ("", ".", "..") for part in parts)
            or "\\" in p
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in p)
        ):
            raise OCFLError(f"非法的逻辑路径：{p!r}")
    # OCFL E095: a logical path must not also be a directory of another logical path.
    dirs = {str(parent) for p in paths for parent in PurePosixPath(p).parents}
    clash = sorted(dirs.intersection(paths))
    if clash:
        raise OCFLError(f"逻辑路径既是文件又是目录：{clash[0]}")


def _hash_source(source: Source) -> Digests:
    return hash_bytes(source) if isinstance(source, bytes) else hash_file(source)


def _put(location: Location, key: str, source: Source) -> None:
    if isinstance(source, bytes):
        location.put_bytes(key, source)
    else:
        location.put_file(key, source)


def _created(created: datetime) -> str:
    if created.tzinfo is None or created.utcoffset() is None:
        raise OCFLError("版本时间必须带时区（RFC 3339）")
    return created.isoformat(timespec="seconds")


def _empty_inventory(object_id: str) -> Inventory:
    return {
        "id": object_id,
        "type": INVENTORY_TYPE,
        "digestAlgorithm": DIGEST_ALGORITHM,
        "head": "v0",
        "manifest": {},
        "versions": {},
        "fixity": {a: {} for a in FIXITY_ALGORITHMS},
    }


class ContentMismatch(OCFLError):
    """Files handed to `write_version` do not hash to the digests the caller expected (a working
    copy that changed since it was catalogued). Nothing was written."""

    def __init__(self, mismatches: list[tuple[str, str, str]]) -> None:
        self.mismatches = mismatches  # (logical path, expected SM3, found SM3)
        first = mismatches[0]
        super().__init__(
            f"{len(mismatches)} 个文件与目录中的 SM3 摘要不符（如 {first[0]}：应为 {first[1]}，"
            f"实为 {first[2]}），拒绝写入新版本"
        )


def write_version(
    location: Location,
    object_id: str,
    files: Mapping[str, Source],
    *,
    message: str,
    user_name: str,
    user_address: str | None,
    created: datetime,
    expected_sm3: Mapping[str, str] | None = None,
) -> Inventory:
    """Write the complete new state `files` (logical path -> local file or bytes) as the next version
    of the object (v1 when it does not exist yet) and return the new inventory.

    Every file is hashed first; when `expected_sm3` (logical path -> SM3) names a file whose SM3
    differs, ContentMismatch is raised before anything is written. Content already in the object
    (same sha512) is referenced, not uploaded again. The version also gets `lantai/fixity-sm3.json`
    (SM3 of every content path). Leftovers of an interrupted earlier write are removed first."""
    if SM3_FILE in files:
        raise OCFLError(f"逻辑路径 {SM3_FILE} 由 OCFL 模块写入，不能由调用方提供")
    paths = sorted(files)
    _check_logical_paths([*paths, SM3_FILE])
    digests = {logical: _hash_source(files[logical]) for logical in paths}
    mismatches = [
        (logical, want.lower(), digests[logical].sm3)
        for logical, want in sorted((expected_sm3 or {}).items())
        if logical in digests and digests[logical].sm3 != want.lower()
    ]
    if mismatches:
        raise ContentMismatch(mismatches)
    root = _root(location, object_id)
    cleanup_incomplete(location, object_id)
    try:
        previous = read_inventory(location, object_id)
    except ObjectNotFound:
        previous = _empty_inventory(object_id)
    if previous["id"] != object_id:
        raise ObjectDamaged(f"{root}：清单中的对象标识 {previous['id']!r} 与 {object_id!r} 不符")
    sm3 = sm3_map(location, object_id, previous) if previous["head"] != "v0" else {}

    version = f"v{_version_number(previous['head']) + 1}"
    inventory: Inventory = json.loads(json.dumps(previous))  # deep copy; the old one stays
    inventory["head"] = version
    fixity = inventory.setdefault("fixity", {})
    fixity.pop("sm3", None)  # written before decision 0020: moved into lantai/fixity-sm3.json
    state: dict[str, list[str]] = {}

    def add(logical: str, source: Source, d: Digests) -> None:
        state.setdefault(d.sha512, []).append(logical)
        if d.sha512 in inventory["manifest"]:
            return  # deduplicated: already stored in this or an earlier version
        content_path = f"{version}/{CONTENT_DIRECTORY}/{logical}"
        _put(location, f"{root}/{content_path}", source)
        inventory["manifest"][d.sha512] = [content_path]
        for algorithm in FIXITY_ALGORITHMS:
            fixity.setdefault(algorithm, {}).setdefault(d.get(algorithm), []).append(content_path)
        if logical != SM3_FILE:
            sm3[content_path] = d.sm3

    for logical in paths:
        add(logical, files[logical], digests[logical])
    listing = _json_bytes(
        {
            "algorithm": "sm3",
            "standard": "GB/T 32905-2016",
            "object": object_id,
            "version": version,
            "files": dict(sorted(sm3.items())),
        }
    )
    add(SM3_FILE, listing, hash_bytes(listing))
    user = {"name": user_name} | ({"address": user_address} if user_address else {})
    inventory["versions"][version] = {
        "created": _created(created),
        "message": message,
        "user": user,
        "state": state,
    }
    _commit(location, root, version, inventory, first=previous["head"] == "v0")
    return inventory


def sm3_map(location: Location, object_id: str, inventory: Inventory) -> dict[str, str]:
    """Content path -> SM3 for every content file of the object: the values in the head version's
    lantai/fixity-sm3.json (checked against its sha512 in the manifest), the SM3 of that list itself,
    and, for objects written before decision 0020, the inventory's `sm3` fixity values.

    InventoryError when the SM3 list is missing or does not match the manifest."""
    out = {
        cp: digest
        for digest, content_paths in inventory.get("fixity", {}).get("sm3", {}).items()
        for cp in content_paths
    }
    version = _version_block(inventory, None)
    listed = [d for d, logicals in version["state"].items() if SM3_FILE in logicals]
    if not listed:
        if not out:
            raise InventoryError(f"OCFL 对象 {object_id} 的 {inventory['head']} 没有 {SM3_FILE}")
        return out
    content_path = inventory["manifest"][listed[0]][0]
    key = f"{_root(location, object_id)}/{content_path}"
    try:
        data = location.read_bytes(key)
    except ObjectMissing as e:
        raise InventoryError(f"{content_path}（SM3 摘要列表）缺失") from e
    if sha512_hex(data) != listed[0]:
        raise InventoryError(f"{content_path}（SM3 摘要列表）与清单中的 sha512 不符")
    try:
        listing = json.loads(data.decode("utf-8"))
        out.update({str(k): str(v).lower() for k, v in listing["files"].items()})
    except (ValueError, KeyError, AttributeError) as e:
        raise InventoryError(f"{content_path}（SM3 摘要列表）无法读取：{e}") from e
    out[content_path] = hash_bytes(data).sm3  # the list itself: its sha512 was checked above
    return out


def sm3_content_path(inventory: Inventory) -> str | None:
    """The content path of the head version's SM3 list, None for objects without one."""
    version = _version_block(inventory, None)
    for digest, logicals in version["state"].items():
        if SM3_FILE in logicals:
            return str(inventory["manifest"][digest][0])
    return None


def _commit(location: Location, root: str, version: str, inventory: Inventory, first: bool) -> None:
    data = _json_bytes(inventory)
    sidecar = f"{hashlib.sha512(data).hexdigest()}  {INVENTORY}\n".encode()
    location.put_bytes(f"{root}/{version}/{INVENTORY}", data)
    location.put_bytes(f"{root}/{version}/{SIDECAR}", sidecar)
    if first:
        location.put_bytes(f"{root}/{OBJECT_DECLARATION}", f"ocfl_object_{SPEC_VERSION}\n".encode())
    location.put_bytes(f"{root}/{INVENTORY}", data)  # the commit point
    location.put_bytes(f"{root}/{SIDECAR}", sidecar)


def _version_number(name: str) -> int:
    if name == "v0":
        return 0
    m = _VERSION.match(name)
    if not m:
        raise OCFLError(f"非法的版本名：{name!r}")
    return int(m.group(1))


# --- reading -------------------------------------------------------------------------------------


def _version_name(version: str | int) -> str:
    return f"v{version}" if isinstance(version, int) else version


def root_inventory_keys(object_id: str, location: Location | None = None) -> list[str]:
    """The keys of the root inventory and its sidecar, in the order they must be written (last,
    when copying an object to another location); with `location`, in that root's layout."""
    root = object_root(object_id) if location is None else _root(location, object_id)
    return [f"{root}/{INVENTORY}", f"{root}/{SIDECAR}"]


def read_inventory(
    location: Location, object_id: str, version: str | int | None = None, *, verify: bool = True
) -> Inventory:
    """The object's root inventory (the committed head), or the inventory stored in a version's
    directory, checked against its sidecar unless `verify` is False.

    ObjectNotFound when the object (or version) is not committed; InventoryError when the file is
    unreadable or does not match its sidecar (restore it from a replica)."""
    root = _root(location, object_id)
    directory = root if version is None else f"{root}/{_version_name(version)}"
    try:
        data = location.read_bytes(f"{directory}/{INVENTORY}")
    except ObjectMissing as e:
        raise ObjectNotFound(f"OCFL 对象不存在：{object_id}（{directory}/{INVENTORY}）") from e
    if verify and sidecar_digest(location, f"{directory}/{SIDECAR}") != sha512_hex(data):
        raise InventoryError(f"{directory}/{INVENTORY} 与其摘要文件 {SIDECAR} 不符")
    try:
        inventory: Inventory = json.loads(data.decode("utf-8"))
    except ValueError as e:
        raise InventoryError(f"{directory}/{INVENTORY} 不是合法的 JSON：{e}") from e
    if version is not None:
        head = _head_number(location, object_id, verify=verify)
        if _version_number(_version_name(version)) > head:
            raise ObjectNotFound(f"OCFL 对象 {object_id} 没有已提交的版本 {version}")
    return inventory


def sha512_hex(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def _head_number(location: Location, object_id: str, *, verify: bool = True) -> int:
    return head_number(read_inventory(location, object_id, verify=verify))


def head_number(inventory: Inventory) -> int:
    """The head version as a number (2 for "v2")."""
    return _version_number(str(inventory["head"]))


def head_version(location: Location, object_id: str) -> str:
    """E.g. "v2"."""
    return str(read_inventory(location, object_id)["head"])


def _version_block(inventory: Inventory, version: str | int | None) -> dict[str, Any]:
    name = inventory["head"] if version is None else _version_name(version)
    try:
        block: dict[str, Any] = inventory["versions"][name]
    except KeyError:
        raise OCFLError(f"OCFL 对象 {inventory['id']} 没有版本 {name}") from None
    return block


@dataclass(frozen=True)
class ContentFile:
    """One stored file of an object: where it is and what it must hash to."""

    content_path: str  # relative to the object root, e.g. "v1/content/metadata/X.xml"
    sha512: str
    sha256: str | None
    sm3: str | None
    size: int | None = None  # not recorded in OCFL inventories; filled in where it was measured

    def digests(self) -> dict[str, str]:
        out = {"sha512": self.sha512, "sha256": self.sha256, "sm3": self.sm3}
        return {k: v for k, v in out.items() if v is not None}


def _fixity_by_path(inventory: Inventory) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for algorithm, block in inventory.get("fixity", {}).items():
        for digest, content_paths in block.items():
            for cp in content_paths:
                out.setdefault(cp, {})[algorithm] = digest
    return out


def content_files(inventory: Inventory, sm3: Mapping[str, str] | None = None) -> list[ContentFile]:
    """Every content file the inventory lists, sorted by content path; what an auditor checks.
    SM3 values come from `sm3` (see `sm3_map`) or, in objects written before decision 0020, from
    the inventory's fixity block."""
    fixity = _fixity_by_path(inventory)
    sm3 = sm3 or {}
    out = []
    for digest, content_paths in inventory["manifest"].items():
        for cp in content_paths:
            f = fixity.get(cp, {})
            out.append(ContentFile(cp, digest, f.get("sha256"), sm3.get(cp) or f.get("sm3")))
    return sorted(out, key=lambda c: c.content_path)


def logical_state(
    inventory: Inventory,
    version: str | int | None = None,
    sm3: Mapping[str, str] | None = None,
) -> dict[str, ContentFile]:
    """Logical path -> its stored file, for the head or a given version."""
    by_digest: dict[str, ContentFile] = {}
    for c in content_files(inventory, sm3):
        by_digest.setdefault(c.sha512, c)
    state = _version_block(inventory, version)["state"]
    return {
        logical: by_digest[digest] for digest, logicals in state.items() for logical in logicals
    }


def open_file(
    location: Location, object_id: str, logical_path: str, version: str | int | None = None
) -> BinaryIO:
    """A stream of a logical file of the head version (or of `version`)."""
    inventory = read_inventory(location, object_id)
    state = logical_state(inventory, version)
    if logical_path not in state:
        raise ObjectNotFound(
            f"OCFL 对象 {object_id} 的 {version or inventory['head']} 中没有文件 {logical_path}"
        )
    return location.open(f"{_root(location, object_id)}/{state[logical_path].content_path}")


def read_logical(
    location: Location, object_id: str, logical_path: str, version: str | int | None = None
) -> bytes:
    """The whole content of a logical file (small files: metadata, PREMIS, package.json)."""
    with open_file(location, object_id, logical_path, version) as fh:
        return fh.read()


def object_ids(location: Location) -> Iterator[str]:
    """The id of every committed object in the storage root (one listing of the location)."""
    for key in location.list():
        if _OBJECT_INVENTORY.match(key):
            yield str(json.loads(location.read_bytes(key).decode("utf-8"))["id"])


def incomplete_object_roots(location: Location) -> list[str]:
    """Object directories that hold files but no root inventory: interrupted first versions (or
    objects whose root inventory was lost, which `cleanup_incomplete` refuses to delete)."""
    roots: set[str] = set()
    committed: set[str] = set()
    for key in location.list():
        parts = key.split("/")
        if len(parts) > 4 and all(re.fullmatch(r"[0-9a-f]{3}", p) for p in parts[:3]):
            root = "/".join(parts[:4])
            roots.add(root)
            if parts[4:] == [INVENTORY]:
                committed.add(root)
    return sorted(roots - committed)


# --- clean-up of interrupted writes --------------------------------------------------------------


def _uncommitted_versions(keys: list[str], root: str, head: int) -> list[str]:
    out = []
    for key in keys:
        first = key[len(root) + 1 :].split("/", 1)[0]
        m = _VERSION.match(first)
        if m and int(m.group(1)) > head:
            out.append(key)
    return out


def cleanup_incomplete(location: Location, object_id: str) -> list[str]:
    """Remove what an interrupted `write_version` left behind and return the deleted keys.

    With a root inventory: delete every file under version directories beyond its head, and finish
    a commit whose root sidecar was not yet rewritten. Without one: delete the half-written first
    version, unless a second version exists (then the root inventory was lost, not never written:
    ObjectDamaged, restore from a replica)."""
    root = _root(location, object_id)
    keys = list(location.list(root))
    try:
        head = _head_number(location, object_id, verify=False)
    except ObjectNotFound:
        if any(version_number_of(k, root) >= 2 for k in keys):
            raise ObjectDamaged(
                f"OCFL 对象 {object_id}（{root}）缺少根清单但已有多个版本：请从副本恢复"
            ) from None
        head = 0
    stale = keys if head == 0 else _uncommitted_versions(keys, root, head)
    for key in stale:
        location.delete(key)
    if head:
        _finish_sidecar(location, root, head)
    return stale


def version_number_of(key: str, root: str) -> int:
    m = _VERSION.match(key[len(root) + 1 :].split("/", 1)[0])
    return int(m.group(1)) if m else 0


def _finish_sidecar(location: Location, root: str, head: int) -> None:
    """The crash window between the root inventory and its sidecar: rewrite the root sidecar when
    the root inventory is byte-identical to the head version's own (verified) inventory."""
    data = location.read_bytes(f"{root}/{INVENTORY}")
    expected = sha512_hex(data)
    if sidecar_digest(location, f"{root}/{SIDECAR}") == expected:
        return
    version_dir = f"{root}/v{head}"
    if (
        location.size(f"{version_dir}/{INVENTORY}") is not None
        and location.read_bytes(f"{version_dir}/{INVENTORY}") == data
        and sidecar_digest(location, f"{version_dir}/{SIDECAR}") == expected
    ):
        location.put_bytes(f"{root}/{SIDECAR}", location.read_bytes(f"{version_dir}/{SIDECAR}"))


def sidecar_digest(location: Location, key: str) -> str | None:
    try:
        text = location.read_bytes(key).decode("utf-8", "replace")
    except ObjectMissing:
        return None
    parts = text.split()
    return parts[0].lower() if len(parts) == 2 and parts[1] == INVENTORY else None
