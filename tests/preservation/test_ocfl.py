"""OCFL objects on a LocalLocation: versions, dedupe, verification, interrupted writes, and an
independent check with ocfl-py's validator and with plain json + hashlib."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lantai.preservation import ocfl
from lantai.preservation.storage import LocalLocation

OBJECT_ID = "urn:lantai:package:4f0c1a2e-0000-4000-8000-000000000001"
WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
PDF = "content/文书/2020/关于印发《档案工作规定》的通知.pdf"


@pytest.fixture
def location(tmp_path: Path) -> LocalLocation:
    loc = LocalLocation("test", tmp_path / "root")
    loc.root.mkdir()
    ocfl.init_root(loc)
    return loc


def write(loc: Any, files: dict[str, Path | bytes], message: str = "接收") -> dict[str, Any]:
    return ocfl.write_version(
        loc, OBJECT_ID, files, message=message, user_name="张三", user_address="mailto:zs@example.cn",
        created=WHEN,
    )  # fmt: skip


def package(tmp_path: Path) -> dict[str, Path | bytes]:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 9000)  # > 2 MiB: several hash chunks
    return {
        PDF: big,
        "content/文书/2020/附件.txt": "附件正文\n".encode(),
        "content/副本/附件.txt": "附件正文\n".encode(),  # same bytes: stored once
        "metadata/A1-WS·2020-Y-0001.xml": "<档案元数据/>".encode(),
        "premis/premis.xml": b"<premis/>",
    }


def keys_under(loc: LocalLocation, object_id: str = OBJECT_ID) -> list[str]:
    root = ocfl.object_root(object_id)
    return [k[len(root) + 1 :] for k in loc.list(root)]


# --- layout --------------------------------------------------------------------------------------


def test_object_root_matches_the_0004_extension_examples() -> None:
    assert ocfl.object_root("object-01") == (
        "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"
    )
    assert ocfl.object_root("..hor/rib:le-$id") == (
        "487/326/d8c/487326d8c2a3c0b885e23da1469b4d6671fd4e76978924b4443e9e3c316cda6d"
    )


def test_storage_root_declares_itself(location: LocalLocation) -> None:
    assert location.read_bytes("0=ocfl_1.1") == b"ocfl_1.1\n"
    layout = json.loads(location.read_bytes("ocfl_layout.json"))
    assert layout["extension"] == "0004-hashed-n-tuple-storage-layout"
    config = json.loads(
        location.read_bytes("extensions/0004-hashed-n-tuple-storage-layout/config.json")
    )
    assert config == {
        "extensionName": "0004-hashed-n-tuple-storage-layout",
        "digestAlgorithm": "sha256",
        "tupleSize": 3,
        "numberOfTuples": 3,
        "shortObjectRoot": False,
    }
    assert b"sm3" in location.read_bytes("lantai-sm3-digest-algorithm.md")
    ocfl.init_root(location)  # idempotent


def test_sm3_is_the_gbt_32905_hash() -> None:
    assert ocfl.hash_bytes(b"abc").sm3 == (
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


# --- versions ------------------------------------------------------------------------------------


def test_first_version_stores_each_distinct_content_once(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    inv = write(location, files)
    assert inv["head"] == "v1" and inv["digestAlgorithm"] == "sha512"
    stored = [k for k in keys_under(location) if k.startswith("v1/content/")]
    assert len(stored) == 4  # five logical files, two with the same bytes
    assert f"v1/content/{PDF}" in stored
    state = ocfl.logical_state(inv)
    assert set(state) == set(files)
    assert state["content/副本/附件.txt"] == state["content/文书/2020/附件.txt"]
    with ocfl.open_file(location, OBJECT_ID, PDF) as fh:
        assert fh.read() == Path(files[PDF]).read_bytes()  # type: ignore[arg-type]
    assert list(ocfl.object_ids(location)) == [OBJECT_ID]
    assert ocfl.verify_object(location, OBJECT_ID) == []


def test_metadata_change_writes_v2_with_only_the_changed_file(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    before = {k: location.read_bytes(f"{ocfl.object_root(OBJECT_ID)}/{k}") for k in keys_under(location) if k.startswith("v1/")}  # fmt: skip
    changed = dict(files, **{"metadata/A1-WS·2020-Y-0001.xml": "<档案元数据 改/>".encode()})
    inv = write(location, changed, message="著录修改")

    assert inv["head"] == "v2"
    assert [k for k in keys_under(location) if k.startswith("v2/content/")] == [
        "v2/content/metadata/A1-WS·2020-Y-0001.xml"
    ]
    after = {k: location.read_bytes(f"{ocfl.object_root(OBJECT_ID)}/{k}") for k in before}
    assert after == before  # nothing of v1 was rewritten
    with ocfl.open_file(location, OBJECT_ID, "metadata/A1-WS·2020-Y-0001.xml", "v1") as fh:
        assert fh.read() == "<档案元数据/>".encode()
    assert ocfl.read_logical(location, OBJECT_ID, "metadata/A1-WS·2020-Y-0001.xml", 1) == (
        "<档案元数据/>".encode()
    )
    with ocfl.open_file(location, OBJECT_ID, "metadata/A1-WS·2020-Y-0001.xml") as fh:
        assert fh.read() == "<档案元数据 改/>".encode()
    assert inv["versions"]["v2"]["message"] == "著录修改"
    assert ocfl.head_version(location, OBJECT_ID) == "v2" and ocfl.head_number(inv) == 2
    assert ocfl.read_inventory(location, OBJECT_ID, "v1")["head"] == "v1"
    assert ocfl.verify_object(location, OBJECT_ID) == []


def test_a_file_left_out_is_gone_from_the_new_version_but_kept_in_the_old(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    del files["content/副本/附件.txt"]
    inv = write(location, files)
    assert "content/副本/附件.txt" not in ocfl.logical_state(inv)
    assert "content/副本/附件.txt" in ocfl.logical_state(inv, "v1")


def test_content_files_give_every_digest_for_an_auditor(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    inv = write(location, files)
    entry = next(c for c in ocfl.content_files(inv) if c.content_path == f"v1/content/{PDF}")
    expected = ocfl.hash_file(files[PDF])  # type: ignore[arg-type]
    assert entry.digests() == {
        "sha512": expected.sha512,
        "sha256": expected.sha256,
        "sm3": expected.sm3,
    }
    assert ocfl.verify_content_file(location, OBJECT_ID, entry) == []


@pytest.mark.parametrize("bad", ["", "/abs", "a//b", "a/../b", "a/./b", "a\\b", "a/\x01b"])
def test_bad_logical_paths_are_refused(location: LocalLocation, bad: str) -> None:
    with pytest.raises(ocfl.OCFLError):
        write(location, {bad: b"x"})
    assert keys_under(location) == []


def test_a_path_that_is_also_a_directory_is_refused(location: LocalLocation) -> None:
    with pytest.raises(ocfl.OCFLError, match="既是文件又是目录"):
        write(location, {"content/a": b"1", "content/a/b": b"2"})


def test_created_needs_a_timezone(location: LocalLocation) -> None:
    with pytest.raises(ocfl.OCFLError):
        ocfl.write_version(
            location, OBJECT_ID, {"a": b"1"}, message="m", user_name="u", user_address=None,
            created=datetime(2025, 1, 1),
        )  # fmt: skip


# --- verification --------------------------------------------------------------------------------


def content_key(inv: dict[str, Any], logical: str) -> str:
    return f"{ocfl.object_root(OBJECT_ID)}/{ocfl.logical_state(inv)[logical].content_path}"


def test_verify_finds_a_flipped_bit_with_every_algorithm(
    location: LocalLocation, tmp_path: Path
) -> None:
    inv = write(location, package(tmp_path))
    path = location.root / content_key(inv, PDF)
    data = bytearray(path.read_bytes())
    data[1_500_000] ^= 0x01
    path.write_bytes(bytes(data))
    problems = ocfl.verify_object(location, OBJECT_ID)
    assert {(p.kind, p.algorithm) for p in problems} == {
        ("digest_mismatch", "sha512"),
        ("digest_mismatch", "sha256"),
        ("digest_mismatch", "sm3"),
    }
    assert all(p.path == f"v1/content/{PDF}" for p in problems)
    sm3 = next(p for p in problems if p.algorithm == "sm3")
    assert sm3.expected == ocfl.logical_state(inv)[PDF].sm3 and sm3.found != sm3.expected
    assert PDF in sm3.message


def test_verify_finds_a_deleted_content_file(location: LocalLocation, tmp_path: Path) -> None:
    inv = write(location, package(tmp_path))
    (location.root / content_key(inv, "premis/premis.xml")).unlink()
    assert [(p.kind, p.path) for p in ocfl.verify_object(location, OBJECT_ID)] == [
        ("missing", "v1/content/premis/premis.xml")
    ]


def test_verify_finds_a_tampered_inventory(location: LocalLocation, tmp_path: Path) -> None:
    write(location, package(tmp_path))
    key = f"{ocfl.object_root(OBJECT_ID)}/inventory.json"
    inv = json.loads(location.read_bytes(key))
    inv["versions"]["v1"]["user"]["name"] = "李四"
    location.put_bytes(key, json.dumps(inv, ensure_ascii=False, indent=2).encode())
    problems = ocfl.verify_object(location, OBJECT_ID)
    assert [(p.kind, p.path) for p in problems] == [("sidecar_mismatch", "inventory.json.sha512")]
    with pytest.raises(ocfl.InventoryError):
        ocfl.read_inventory(location, OBJECT_ID)
    with pytest.raises(ocfl.InventoryError):  # no new version on top of a tampered inventory
        write(location, {"a": b"1"})


def test_verify_finds_an_extra_file(location: LocalLocation, tmp_path: Path) -> None:
    write(location, package(tmp_path))
    location.put_bytes(f"{ocfl.object_root(OBJECT_ID)}/v1/content/塞进来的.exe", b"MZ")
    assert [(p.kind, p.path) for p in ocfl.verify_object(location, OBJECT_ID)] == [
        ("extra_file", "v1/content/塞进来的.exe")
    ]


# --- interrupted writes --------------------------------------------------------------------------


class Crash(Exception):
    pass


class CrashingLocation(LocalLocation):
    """Fault injection for the tests: a LocalLocation whose writes fail after `allowed` puts, as if
    the process were killed there (each put is atomic, so a put either happened or did not)."""

    def __init__(self, root: Path, allowed: int) -> None:
        super().__init__("crashing", root)
        self.allowed = allowed

    def _tick(self) -> None:
        if self.allowed <= 0:
            raise Crash
        self.allowed -= 1

    def put_file(self, key: str, source: Path) -> None:
        self._tick()
        super().put_file(key, source)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._tick()
        super().put_bytes(key, data)


def puts_needed(tmp_path: Path, files: dict[str, Path | bytes], versions: int) -> int:
    counter = CrashingLocation(tmp_path / f"count-{versions}", 10**6)
    counter.root.mkdir()
    for _ in range(versions):
        ocfl.write_version(counter, OBJECT_ID, files, message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip
    return 10**6 - counter.allowed


def test_crash_during_v2_leaves_v1_visible_and_cleanup_removes_the_rest(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    v2_files = dict(files, **{"metadata/新.xml": b"<new/>", "content/新.bin": b"\x00" * 10})
    # every crash point of the v2 write before its commit point (the root inventory)
    v2_puts = puts_needed(tmp_path, v2_files, 2) - puts_needed(tmp_path, v2_files, 1)
    for allowed in range(0, v2_puts - 1):
        crashing = CrashingLocation(location.root, allowed)
        with pytest.raises(Crash):
            ocfl.write_version(crashing, OBJECT_ID, v2_files, message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip
        assert ocfl.head_version(location, OBJECT_ID) == "v1"
        with ocfl.open_file(location, OBJECT_ID, "metadata/A1-WS·2020-Y-0001.xml") as fh:
            assert fh.read() == "<档案元数据/>".encode()
        if allowed:
            assert {p.kind for p in ocfl.verify_object(location, OBJECT_ID)} == {
                "incomplete_version"
            }
        ocfl.cleanup_incomplete(location, OBJECT_ID)
        assert not any(k.startswith("v2/") for k in keys_under(location))
        assert ocfl.verify_object(location, OBJECT_ID) == []


def test_crash_between_root_inventory_and_its_sidecar_is_finished_on_restart(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    v2_files = dict(files, **{"metadata/新.xml": b"<new/>"})
    crashing = CrashingLocation(location.root, 4)  # new content, v2 inventory + sidecar, root inv
    with pytest.raises(Crash):
        ocfl.write_version(crashing, OBJECT_ID, v2_files, message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip
    assert ocfl.read_inventory(location, OBJECT_ID, verify=False)["head"] == "v2"  # committed
    assert [p.kind for p in ocfl.verify_object(location, OBJECT_ID)] == ["sidecar_mismatch"]
    assert ocfl.cleanup_incomplete(location, OBJECT_ID) == []
    assert ocfl.verify_object(location, OBJECT_ID) == []


def test_crash_during_the_first_version_leaves_no_object(
    location: LocalLocation, tmp_path: Path
) -> None:
    crashing = CrashingLocation(location.root, 3)
    with pytest.raises(Crash):
        ocfl.write_version(crashing, OBJECT_ID, package(tmp_path), message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip
    assert list(ocfl.object_ids(location)) == []
    with pytest.raises(ocfl.ObjectNotFound):
        ocfl.read_inventory(location, OBJECT_ID)
    assert ocfl.incomplete_object_roots(location) == [ocfl.object_root(OBJECT_ID)]
    assert len(ocfl.cleanup_incomplete(location, OBJECT_ID)) == 3
    assert keys_under(location) == []
    assert ocfl.incomplete_object_roots(location) == []
    write(location, package(tmp_path))  # and the retried write succeeds
    assert ocfl.verify_object(location, OBJECT_ID) == []


def test_cleanup_refuses_to_delete_an_object_that_lost_its_root_inventory(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    write(location, dict(files, **{"metadata/新.xml": b"<new/>"}))
    location.delete(f"{ocfl.object_root(OBJECT_ID)}/inventory.json")
    with pytest.raises(ocfl.ObjectDamaged):
        ocfl.cleanup_incomplete(location, OBJECT_ID)
    assert any(k.startswith("v1/content/") for k in keys_under(location))


# --- independent readers -------------------------------------------------------------------------


def test_ocfl_py_validates_the_storage_root_and_objects(
    location: LocalLocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ocfl_py = pytest.importorskip("ocfl")
    import ocfl.validator as ocfl_py_validator
    from ocfl.digest import file_digest
    from ocfl.layout import Layout
    from ocfl.layout_registry import add_layout
    from ocfl.storage_root import StorageRoot
    from ocfl.validator import Validator

    class Hashed0004(Layout):  # type: ignore[misc]
        """ocfl-py 2.1 does not ship extension 0004; for validation it only needs the name."""

        def __init__(self) -> None:
            super().__init__()
            self.NAME = "0004-hashed-n-tuple-storage-layout"

        def read_layout_params(self, root_fs: Any = None, params_required: bool = False) -> None:
            pass

    add_layout("0004-hashed-n-tuple-storage-layout", Hashed0004)

    def file_digest_with_sm3(filename: str, digest_type: str = "sha512", fs: Any = None) -> str:
        """ocfl-py re-hashes every fixity algorithm it meets; teach it SM3 (hashlib, OpenSSL)."""
        if digest_type != "sm3":
            return str(file_digest(filename, digest_type, fs=fs))
        with fs.open(filename, "rb") as fh:
            return hashlib.new("sm3", fh.read()).hexdigest()

    monkeypatch.setattr(ocfl_py_validator, "file_digest", file_digest_with_sm3)
    files = package(tmp_path)
    write(location, files)
    write(location, dict(files, **{"metadata/A1-WS·2020-Y-0001.xml": b"<v2/>"}))
    ocfl.write_version(location, "urn:lantai:package:second", {"a.txt": b"a"}, message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip

    # lax_digests: ocfl-py knows no "sm3" and would report E056b for the fixity key; OCFL 1.1
    # allows it through an extension's table, which the storage root documents
    # (lantai-sm3-digest-algorithm). ocfl-py then checks sha512 and sha256 of every file itself.
    root = StorageRoot(root=str(location.root), lax_digests=True)
    assert root.validate(log_warnings=True), root.log
    assert root.num_objects == 2 and root.good_objects == 2
    # Warnings accepted: W901 (storage root extension directories ocfl-py does not know:
    # 0004-hashed-n-tuple-storage-layout and our local sm3 extension).
    assert set(root.log.codes) <= {"W901"}, root.log.codes
    # No warnings for a full object; W008 (user without address, a SHOULD) where none was given.
    for object_id, warnings in ((OBJECT_ID, set()), ("urn:lantai:package:second", {"W008"})):
        validator = Validator(lax_digests=True, log_warnings=True)
        assert validator.validate_object(str(location.root / ocfl.object_root(object_id))), (
            validator.status_str()
        )
        assert set(validator.log.codes) == warnings, validator.status_str()
    assert ocfl_py is not None


def test_an_object_is_readable_with_json_and_hashlib_alone(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    # From here on no Lantai code: the OCFL spec and the standard library.
    root = location.root / hashlib.sha256(OBJECT_ID.encode()).hexdigest()[:3]
    obj = next(p for p in location.root.glob("*/*/*/*") if (p / "0=ocfl_object_1.1").exists())
    assert obj.relative_to(location.root).parts[0] == root.name
    raw = (obj / "inventory.json").read_bytes()
    sidecar = (obj / "inventory.json.sha512").read_text().split()
    assert sidecar == [hashlib.sha512(raw).hexdigest(), "inventory.json"]
    inventory = json.loads(raw)
    head = inventory["versions"][inventory["head"]]
    recovered: dict[str, bytes] = {}
    for digest, logical_paths in head["state"].items():
        content_path = inventory["manifest"][digest][0]
        data = (obj / content_path).read_bytes()
        assert hashlib.sha512(data).hexdigest() == digest
        assert content_path in inventory["fixity"]["sha256"][hashlib.sha256(data).hexdigest()]
        assert content_path in inventory["fixity"]["sm3"][hashlib.new("sm3", data).hexdigest()]
        for logical in logical_paths:
            recovered[logical] = data
    expected = {k: v if isinstance(v, bytes) else v.read_bytes() for k, v in files.items()}
    assert recovered == expected
    assert "关于印发《档案工作规定》的通知.pdf" in raw.decode("utf-8")  # readable, not \u-escaped
