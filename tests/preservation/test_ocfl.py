"""OCFL objects on a LocalLocation: versions, dedupe, verification, interrupted writes, and an
independent check with ocfl-py's validator and with plain json + hashlib."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from lantai.preservation import ocfl, ocfl_check
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


def test_object_root_matches_the_0003_extension_examples() -> None:
    assert ocfl.object_root("object-01") == "3c0/ff4/240/object-01"
    assert ocfl.object_root("..hor/rib:le-$id") == "487/326/d8c/%2e%2ehor%2frib%3ale-%24id"
    long_id = "abcdefghij" * 11  # over 100 characters: cut, then "-" and the digest
    digest = hashlib.sha256(long_id.encode()).hexdigest()
    assert ocfl.object_root(long_id).endswith(f"/{long_id[:100]}-{digest}")
    # the same paths as ocfl-py's own implementation of 0003
    from ocfl.layout_0003_hash_and_id_n_tuple import Layout_0003_Hash_And_Id_N_Tuple

    for oid in ("object-01", "urn:lantai:package:4f0c1a2e", "档案/1", long_id):
        assert ocfl.object_root(oid) == Layout_0003_Hash_And_Id_N_Tuple().identifier_to_path(oid)


def test_roots_written_before_0020_keep_the_0004_layout() -> None:
    assert ocfl.object_root("object-01", ocfl.LEGACY_LAYOUT) == (
        "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4"
    )


def test_storage_root_declares_itself(location: LocalLocation) -> None:
    assert location.read_bytes("0=ocfl_1.1") == b"ocfl_1.1\n"
    layout = json.loads(location.read_bytes("ocfl_layout.json"))
    assert layout["extension"] == "0003-hash-and-id-n-tuple-storage-layout"
    config = json.loads(
        location.read_bytes("extensions/0003-hash-and-id-n-tuple-storage-layout/config.json")
    )
    assert config == {
        "extensionName": "0003-hash-and-id-n-tuple-storage-layout",
        "digestAlgorithm": "sha256",
        "tupleSize": 3,
        "numberOfTuples": 3,
    }
    assert [k for k in location.list("extensions")] == [
        "extensions/0003-hash-and-id-n-tuple-storage-layout/config.json"
    ]
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
    assert len(stored) == 5  # five logical files, two with the same bytes, and the SM3 list
    assert f"v1/content/{PDF}" in stored
    state = ocfl.logical_state(inv)
    assert set(state) == set(files) | {ocfl.SM3_FILE}
    assert state["content/副本/附件.txt"] == state["content/文书/2020/附件.txt"]
    with ocfl.open_file(location, OBJECT_ID, PDF) as fh:
        assert fh.read() == Path(files[PDF]).read_bytes()  # type: ignore[arg-type]
    assert list(ocfl.object_ids(location)) == [OBJECT_ID]
    assert ocfl_check.verify_object(location, OBJECT_ID) == []


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
        "v2/content/lantai/fixity-sm3.json",
        "v2/content/metadata/A1-WS·2020-Y-0001.xml",
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
    assert ocfl_check.verify_object(location, OBJECT_ID) == []


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
    sm3 = ocfl.sm3_map(location, OBJECT_ID, inv)
    entry = next(c for c in ocfl.content_files(inv, sm3) if c.content_path == f"v1/content/{PDF}")
    expected = ocfl.hash_file(files[PDF])  # type: ignore[arg-type]
    assert entry.digests() == {
        "sha512": expected.sha512,
        "sha256": expected.sha256,
        "sm3": expected.sm3,
    }
    assert ocfl_check.verify_content_file(location, OBJECT_ID, entry) == []


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
    problems = ocfl_check.verify_object(location, OBJECT_ID)
    assert {(p.kind, p.algorithm) for p in problems} == {
        ("digest_mismatch", "sha512"),
        ("digest_mismatch", "sha256"),
        ("digest_mismatch", "sm3"),
    }
    assert all(p.path == f"v1/content/{PDF}" for p in problems)
    sm3 = next(p for p in problems if p.algorithm == "sm3")
    listed = ocfl.logical_state(inv, sm3=ocfl.sm3_map(location, OBJECT_ID, inv))[PDF].sm3
    assert sm3.expected == listed and sm3.found != sm3.expected
    assert PDF in sm3.message


def test_verify_finds_a_deleted_content_file(location: LocalLocation, tmp_path: Path) -> None:
    inv = write(location, package(tmp_path))
    (location.root / content_key(inv, "premis/premis.xml")).unlink()
    assert [(p.kind, p.path) for p in ocfl_check.verify_object(location, OBJECT_ID)] == [
        ("missing", "v1/content/premis/premis.xml")
    ]


def test_verify_finds_a_tampered_inventory(location: LocalLocation, tmp_path: Path) -> None:
    write(location, package(tmp_path))
    key = f"{ocfl.object_root(OBJECT_ID)}/inventory.json"
    inv = json.loads(location.read_bytes(key))
    inv["versions"]["v1"]["user"]["name"] = "李四"
    location.put_bytes(key, json.dumps(inv, ensure_ascii=False, indent=2).encode())
    problems = ocfl_check.verify_object(location, OBJECT_ID)
    assert [(p.kind, p.path) for p in problems] == [("sidecar_mismatch", "inventory.json.sha512")]
    with pytest.raises(ocfl.InventoryError):
        ocfl.read_inventory(location, OBJECT_ID)
    with pytest.raises(ocfl.InventoryError):  # no new version on top of a tampered inventory
        write(location, {"a": b"1"})


def test_verify_finds_an_extra_file(location: LocalLocation, tmp_path: Path) -> None:
    write(location, package(tmp_path))
    location.put_bytes(f"{ocfl.object_root(OBJECT_ID)}/v1/content/塞进来的.exe", b"MZ")
    assert [(p.kind, p.path) for p in ocfl_check.verify_object(location, OBJECT_ID)] == [
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
            assert {p.kind for p in ocfl_check.verify_object(location, OBJECT_ID)} == {
                "incomplete_version"
            }
        ocfl.cleanup_incomplete(location, OBJECT_ID)
        assert not any(k.startswith("v2/") for k in keys_under(location))
        assert ocfl_check.verify_object(location, OBJECT_ID) == []


def test_crash_between_root_inventory_and_its_sidecar_is_finished_on_restart(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    v2_files = dict(files, **{"metadata/新.xml": b"<new/>"})
    crashing = CrashingLocation(location.root, 5)  # 2 content, v2 inventory + sidecar, root inv
    with pytest.raises(Crash):
        ocfl.write_version(crashing, OBJECT_ID, v2_files, message="m", user_name="u", user_address=None, created=WHEN)  # fmt: skip
    assert ocfl.read_inventory(location, OBJECT_ID, verify=False)["head"] == "v2"  # committed
    assert [p.kind for p in ocfl_check.verify_object(location, OBJECT_ID)] == ["sidecar_mismatch"]
    assert ocfl.cleanup_incomplete(location, OBJECT_ID) == []
    assert ocfl_check.verify_object(location, OBJECT_ID) == []


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
    assert ocfl_check.verify_object(location, OBJECT_ID) == []


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


def test_ocfl_py_validates_the_storage_root_and_objects_strictly(
    location: LocalLocation, tmp_path: Path
) -> None:
    """ocfl-py 2.1 as installed: no lax_digests, no layout shim, no patched digests, and no
    warnings either (ocfl-py has no strict flag; we count any warning as a failure)."""
    pytest.importorskip("ocfl")
    from ocfl.storage_root import StorageRoot
    from ocfl.validator import Validator

    files = package(tmp_path)
    write(location, files)
    write(location, dict(files, **{"metadata/A1-WS·2020-Y-0001.xml": b"<v2/>"}))
    second = "urn:lantai:package:second"
    ocfl.write_version(location, second, {"a.txt": b"a"}, message="m", user_name="u", user_address="urn:lantai:user:u", created=WHEN)  # fmt: skip
    (location.root / "lantai-location.json").write_text("{}")  # other root files are allowed

    root = StorageRoot(root=str(location.root))
    assert root.validate(validate_objects=True, check_digests=True, log_warnings=True), root.log
    assert root.num_objects == 2 and root.good_objects == 2
    assert root.log.codes == {}, root.log
    for object_id in (OBJECT_ID, second):
        validator = Validator(log_warnings=True, check_digests=True)
        path = str(location.root / ocfl.object_root(object_id))
        assert validator.validate_object(path), validator.status_str()
        assert validator.log.codes == {}, validator.status_str()
    # ocfl-py finds the objects where the layout says they are
    from ocfl.object import Object

    assert Object(path=str(location.root / ocfl.object_root(OBJECT_ID))).id_from_inventory() == (
        OBJECT_ID
    )


def test_sm3_of_every_content_file_is_in_the_versions_sm3_list(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    inv = write(location, dict(files, **{"metadata/新.xml": b"<new/>"}))
    assert set(inv["fixity"]) == {"sha256"}  # registered names only
    listing = json.loads(ocfl.read_logical(location, OBJECT_ID, ocfl.SM3_FILE))
    assert listing["algorithm"] == "sm3" and listing["version"] == "v2"
    root = location.root / ocfl.object_root(OBJECT_ID)
    own = ocfl.logical_state(inv)[ocfl.SM3_FILE].content_path
    every = {cp for cps in inv["manifest"].values() for cp in cps}
    assert set(listing["files"]) == every - {own}  # v1's list included, itself not
    assert (
        ocfl.sm3_map(location, OBJECT_ID, inv)[own]
        == hashlib.new("sm3", ocfl.read_logical(location, OBJECT_ID, ocfl.SM3_FILE)).hexdigest()
    )
    for cp, digest in listing["files"].items():
        assert hashlib.new("sm3", (root / cp).read_bytes()).hexdigest() == digest
    # a flipped bit shows in SM3 as well (the audit's algorithm), through the list
    target = root / ocfl.logical_state(inv)[PDF].content_path
    data = bytearray(target.read_bytes())
    data[100] ^= 1
    target.write_bytes(bytes(data))
    found = {(p.kind, p.algorithm) for p in ocfl_check.verify_object(location, OBJECT_ID)}
    assert ("digest_mismatch", "sm3") in found
    # and a damaged SM3 list is reported on its own
    (root / own).write_bytes(b"{}")
    assert "sm3_list" in {p.kind for p in ocfl_check.verify_object(location, OBJECT_ID)}


def test_write_refuses_files_whose_sm3_differs_from_what_was_expected(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    good = ocfl.hash_bytes("附件正文\n".encode()).sm3
    with pytest.raises(ocfl.ContentMismatch) as e:
        ocfl.write_version(
            location, OBJECT_ID, files, message="m", user_name="u", user_address=None,
            created=WHEN, expected_sm3={"content/文书/2020/附件.txt": good, PDF: "0" * 64},
        )  # fmt: skip
    assert [m[0] for m in e.value.mismatches] == [PDF]
    assert list(location.list(ocfl.object_root(OBJECT_ID))) == []  # nothing written


def test_the_audit_checks_every_version_inventory_against_the_root_one(
    location: LocalLocation, tmp_path: Path
) -> None:
    files = package(tmp_path)
    write(location, files)
    inv = write(location, dict(files, **{"metadata/新.xml": b"<new/>"}))
    root = location.root / ocfl.object_root(OBJECT_ID)
    v1 = json.loads((root / "v1/inventory.json").read_text())
    v1["versions"]["v1"]["message"] = "改写的历史"  # consistent sidecar, different history
    data = json.dumps(v1).encode()
    (root / "v1/inventory.json").write_bytes(data)
    (root / "v1/inventory.json.sha512").write_text(
        f"{hashlib.sha512(data).hexdigest()}  inventory.json\n"
    )
    problems = ocfl_check.verify_metadata(location, OBJECT_ID, inv)
    assert [(p.kind, p.path) for p in problems] == [("inventory_invalid", "v1/inventory.json")]


def test_storage_root_files_are_checked_byte_for_byte(location: LocalLocation) -> None:
    assert ocfl_check.check_root(location) == []
    (location.root / "ocfl_layout.json").write_text("{}")
    (location.root / "lantai-sm3-digest-algorithm.md").unlink()
    problems = ocfl_check.check_root(location)
    assert sorted((p.kind, p.path) for p in problems) == [
        ("digest_mismatch", "ocfl_layout.json"),
        ("missing", "lantai-sm3-digest-algorithm.md"),
    ]
    ocfl_check.repair_root(location, [p.path for p in problems])
    assert ocfl_check.check_root(location) == []


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
        for logical in logical_paths:
            recovered[logical] = data
    expected = {k: v if isinstance(v, bytes) else v.read_bytes() for k, v in files.items()}
    sm3_list = json.loads(recovered.pop("lantai/fixity-sm3.json"))["files"]
    assert recovered == expected
    for digest, logical_paths in head["state"].items():
        content_path = inventory["manifest"][digest][0]
        if "lantai/fixity-sm3.json" not in logical_paths:
            data = (obj / content_path).read_bytes()
            assert sm3_list[content_path] == hashlib.new("sm3", data).hexdigest()
    assert "关于印发《档案工作规定》的通知.pdf" in raw.decode("utf-8")  # readable, not \u-escaped


def test_objects_written_before_0020_keep_their_sm3_and_move_it_on_the_next_version(
    location: LocalLocation, tmp_path: Path
) -> None:
    """An object whose inventory carries `sm3` in its fixity block (and no SM3 list) is verified
    with those values, and its next version moves them into lantai/fixity-sm3.json."""
    files = package(tmp_path)
    inv = write(location, files)
    root = location.root / ocfl.object_root(OBJECT_ID)
    own = ocfl.logical_state(inv)[ocfl.SM3_FILE]  # turn the object into one from before 0020
    (root / own.content_path).unlink()
    del inv["manifest"][own.sha512]
    del inv["versions"]["v1"]["state"][own.sha512]
    inv["fixity"]["sha256"].pop(own.sha256)
    inv["fixity"]["sm3"] = {}
    for cp in [c for cps in inv["manifest"].values() for c in cps]:
        sm3 = hashlib.new("sm3", (root / cp).read_bytes()).hexdigest()
        inv["fixity"]["sm3"].setdefault(sm3, []).append(cp)
    data = json.dumps(inv, ensure_ascii=False).encode()
    for d in (root, root / "v1"):
        (d / "inventory.json").write_bytes(data)
        (d / "inventory.json.sha512").write_text(
            f"{hashlib.sha512(data).hexdigest()}  inventory.json\n"
        )
    assert ocfl_check.verify_object(location, OBJECT_ID) == []
    stored_pdf = root / f"v1/content/{PDF}"
    original = stored_pdf.read_bytes()
    stored_pdf.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert ("digest_mismatch", "sm3") in {
        (p.kind, p.algorithm) for p in ocfl_check.verify_object(location, OBJECT_ID)
    }
    stored_pdf.write_bytes(original)

    v2 = write(location, dict(files, **{"metadata/新.xml": b"<new/>"}))
    assert set(v2["fixity"]) == {"sha256"}
    listing = json.loads(ocfl.read_logical(location, OBJECT_ID, ocfl.SM3_FILE))["files"]
    assert listing[f"v1/content/{PDF}"] == hashlib.new("sm3", original).hexdigest()
    assert ocfl_check.verify_object(location, OBJECT_ID) == []
