"""Fixity: SM3 and SHA-256 of every file, declared digests compared, missing files reported."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from lantai.ingest import fixity
from lantai.ingest.fixity import compare, extra_for, hash_files
from lantai.standards.transfer.package import DeclaredDigest

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
SM3_EMPTY = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
# GB/T 32905 example 2: "abcd" repeated 16 times
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    (tmp_path / "电子档案").mkdir()
    (tmp_path / "电子档案" / "abc.txt").write_bytes(b"abc")
    (tmp_path / "电子档案" / "abcd16.txt").write_bytes(b"abcd" * 16)
    (tmp_path / "empty.txt").write_bytes(b"")
    return tmp_path


def test_known_vectors(root: Path) -> None:
    out = hash_files(root, ["电子档案/abc.txt", "电子档案/abcd16.txt", "empty.txt"], processes=1)
    assert out["电子档案/abc.txt"] == {"sm3": SM3_ABC, "sha256": SHA256_ABC}
    assert out["电子档案/abcd16.txt"]["sm3"] == SM3_ABCD16
    assert out["empty.txt"]["sm3"] == SM3_EMPTY


def test_cryptography_fallback_gives_the_same_sm3(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fixity, "_SM3_NATIVE", False)
    assert isinstance(fixity._new("sm3"), fixity._CryptographySM3)
    assert hash_files(root, ["电子档案/abc.txt"], processes=1)["电子档案/abc.txt"]["sm3"] == SM3_ABC


def test_large_file_streamed_over_many_chunks(tmp_path: Path) -> None:
    data = os.urandom(fixity._WHOLE_MAX + 12345)
    (tmp_path / "big.bin").write_bytes(data)
    out = hash_files(tmp_path, ["big.bin"], extra={"big.bin": {"md5"}}, processes=1)["big.bin"]
    assert out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out["md5"] == hashlib.md5(data).hexdigest()
    assert out["sm3"] == hashlib.new("sm3", data).hexdigest()


def test_small_files_in_sm3_lanes_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole files hashed in SIMD lanes, several batches in one task (flushed mid-task), the
    block boundaries of SM3 padding among the sizes, one file the task cannot open."""
    monkeypatch.setattr(fixity, "_BATCH_BYTES", 4096)
    monkeypatch.setattr(fixity, "_LANES", True)  # as on a CPU with AVX-512
    sizes = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 70_000, *range(200, 260)]
    paths = []
    for i, size in enumerate(sizes):
        (tmp_path / f"f{i}").write_bytes(os.urandom(size))
        paths.append(f"f{i}")
    out = hash_files(tmp_path, [*paths, "missing"], extra={"f3": {"md5"}}, processes=1)
    for rel in paths:
        data = (tmp_path / rel).read_bytes()
        assert out[rel]["sm3"] == hashlib.new("sm3", data).hexdigest(), rel
        assert out[rel]["sha256"] == hashlib.sha256(data).hexdigest(), rel
        assert list(out[rel])[:2] == ["sm3", "sha256"]
    assert out["f3"]["md5"] == hashlib.md5((tmp_path / "f3").read_bytes()).hexdigest()
    assert out["missing"] == {"error": "文件不存在"}


def test_without_fast_lanes_every_file_streams_through_openssl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fixity, "_LANES", False)
    monkeypatch.setattr(fixity, "sm3_many", None)  # must not be called
    (tmp_path / "a").write_bytes(b"abc")
    assert hash_files(tmp_path, ["a"], processes=1)["a"] == {"sm3": SM3_ABC, "sha256": SHA256_ABC}


def test_extra_algorithms_only_where_declared(root: Path) -> None:
    out = hash_files(
        root,
        ["电子档案/abc.txt", "empty.txt"],
        extra={"电子档案/abc.txt": {"MD5", "SHA-1", "sha512"}},
        processes=1,
    )
    assert set(out["电子档案/abc.txt"]) == {"sm3", "sha256", "md5", "sha1", "sha512"}
    assert set(out["empty.txt"]) == {"sm3", "sha256"}
    assert out["电子档案/abc.txt"]["md5"] == "900150983cd24fb0d6963f7d28e17f72"
    assert out["电子档案/abc.txt"]["sha1"] == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_paths_outside_root_and_links_are_not_read(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    secret = tmp_path_factory.mktemp("outside") / "secret.txt"
    secret.write_bytes(b"secret")
    os.symlink(secret, root / "link.txt")
    os.symlink(secret.parent, root / "linked-dir")  # a directory link leaving the root
    out = hash_files(
        root,
        ["../outside/secret.txt", str(secret), "link.txt", "linked-dir/secret.txt", "nope.txt"],
        processes=1,
    )
    assert all(set(v) == {"error"} for v in out.values()), out
    assert out["nope.txt"]["error"] == "文件不存在"


def _declared(path: str, algorithm: str, value: str) -> DeclaredDigest:
    return DeclaredDigest(path=path, algorithm=algorithm, value=value, source="其他/移交登记表.XML")


def test_compare_pass_and_wrong_digest(root: Path) -> None:
    declared = [
        _declared("电子档案/abc.txt", "SM3", SM3_ABC.upper()),
        _declared("电子档案/abcd16.txt", "SHA256", SHA256_ABC),  # the digest of another file
    ]
    computed = hash_files(root, [d.path for d in declared], processes=1)
    ok, wrong = compare(declared, computed)
    assert ok.status == "pass" and ok.property == "authenticity" and ok.content_code == "1-1"
    assert wrong.status == "fail" and wrong.object == "电子档案/abcd16.txt"
    assert wrong.evidence["expected"] == SHA256_ABC
    assert wrong.evidence["found"] == hashlib.sha256(b"abcd" * 16).hexdigest()
    assert wrong.evidence["algorithm"] == "sha256"
    assert wrong.evidence["source"] == "其他/移交登记表.XML"


def test_md5_and_sha1_declared_digests_verified(root: Path) -> None:
    declared = [
        _declared("电子档案/abc.txt", "MD5", "900150983cd24fb0d6963f7d28e17f72"),
        _declared("电子档案/abc.txt", "SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        _declared("empty.txt", "md5", "900150983cd24fb0d6963f7d28e17f72"),  # wrong
    ]
    computed = hash_files(
        root, ["电子档案/abc.txt", "empty.txt"], extra=extra_for(declared), processes=1
    )
    statuses = [(r.object, r.evidence["algorithm"], r.status) for r in compare(declared, computed)]
    assert statuses == [
        ("电子档案/abc.txt", "md5", "pass"),
        ("电子档案/abc.txt", "sha1", "pass"),
        ("empty.txt", "md5", "fail"),
    ]


def test_missing_declared_file_fails_integrity(root: Path) -> None:
    declared = [
        _declared("电子档案/gone.pdf", "sm3", SM3_ABC),
        _declared("电子档案/gone.pdf", "sha256", SHA256_ABC),
    ]
    results = compare(declared, hash_files(root, ["电子档案/gone.pdf"], processes=1))
    assert len(results) == 1
    (missing,) = results
    assert missing.status == "fail" and missing.property == "integrity"
    assert missing.content_code == "2-3" and missing.object == "电子档案/gone.pdf"
    # a file never hashed at all counts as missing too
    assert compare(declared[:1], {})[0].content_code == "2-3"


def test_malformed_declared_values_fail(root: Path) -> None:
    declared = [
        _declared("电子档案/abc.txt", "sm3", "not-hex"),
        _declared("电子档案/abc.txt", "crc32", "352441c2"),
    ]
    results = compare(declared, hash_files(root, ["电子档案/abc.txt"], processes=1))
    assert [r.status for r in results] == ["fail", "fail"]
    assert "十六进制" in results[0].evidence["reason"]
    assert "不支持" in results[1].evidence["reason"]


def test_process_pool_matches_single_process(tmp_path: Path) -> None:
    paths = []
    for i in range(600):
        rel = f"d{i % 7}/f{i}.bin"
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        (tmp_path / rel).write_bytes(os.urandom(i * 37 % 5000) + bytes([i % 256]))
        paths.append(rel)
    big = "big.bin"
    (tmp_path / big).write_bytes(os.urandom(2 * fixity.CHUNK + 1))
    paths.append(big)
    extra = {paths[3]: {"md5"}, big: {"sha1"}}
    one = hash_files(tmp_path, paths, extra=extra, processes=1)
    two = hash_files(tmp_path, paths, extra=extra, processes=2)
    assert len(fixity._tasks(str(tmp_path), [(p, ("sm3",)) for p in paths])) > 2  # really pooled
    assert two == one
    assert list(two) == paths
    assert two[paths[3]]["md5"] == hashlib.md5((tmp_path / paths[3]).read_bytes()).hexdigest()


def test_tasks_largest_first_and_shrinking_to_the_end(tmp_path: Path) -> None:
    """Largest files first; the tasks shrink towards the end so the workers finish together;
    sizes from the caller's inventory replace the stat, and a wrong size changes no digest."""
    sizes = {f"f{i}.bin": (i % 50) * 20_000 for i in range(2000)}
    sizes["huge.bin"] = 100 << 20
    jobs = [(rel, ("sm3",)) for rel in sizes]
    tasks = fixity._tasks(str(tmp_path), jobs, 2, sizes)  # no file exists: sizes alone order
    assert tasks[0] == [("huge.bin", ("sm3",))]  # one larger file makes a task alone
    order = [sizes[rel] for task in tasks for rel, _ in task]
    assert order == sorted(order, reverse=True)
    assert sorted(rel for task in tasks for rel, _ in task) == sorted(sizes)
    work = [sum(sizes[rel] + fixity._FILE_COST for rel, _ in task) for task in tasks]
    assert max(work[-4:]) <= 2 * fixity._TASK_MIN_BYTES  # the last tasks are small
    assert max(work[1:]) > 8 * fixity._TASK_MIN_BYTES  # the first ones are not

    (tmp_path / "a.bin").write_bytes(b"abc")
    (tmp_path / "b.bin").write_bytes(b"abcd" * 16)
    wrong = {"a.bin": 10**9, "b.bin": 0}
    got = hash_files(tmp_path, ["a.bin", "b.bin"], processes=2, sizes=wrong)
    assert got == {
        "a.bin": {"sm3": SM3_ABC, "sha256": SHA256_ABC},
        "b.bin": {"sm3": SM3_ABCD16, "sha256": hashlib.sha256(b"abcd" * 16).hexdigest()},
    }


def test_algorithms_may_be_a_one_shot_iterable(root: Path) -> None:
    out = hash_files(root, ["电子档案/abc.txt", "empty.txt"], algorithms=iter(["SM3"]))
    assert out == {"电子档案/abc.txt": {"sm3": SM3_ABC}, "empty.txt": {"sm3": SM3_EMPTY}}
