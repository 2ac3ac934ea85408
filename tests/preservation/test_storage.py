"""Storage locations: one contract for every backend (a local directory, S3Location on moto_server,
S3Location on s3rver, the servers real and over HTTP), then what is particular to each, then real
faults (server errors, stalls, refused connections) injected by a proxy in front of moto_server."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lantai.preservation import storage
from lantai.preservation.s3 import MiB, S3Location
from lantai.preservation.storage import (
    InvalidKey,
    LocalLocation,
    Location,
    LocationUnavailable,
    ObjectMissing,
)
from tests.preservation.conftest import S3Server
from tests.preservation.faults import FaultProxy

BACKENDS = ["local", "moto", "s3rver"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """A fresh, empty location of each kind."""
    if request.param == "local":
        root = tmp_path / "root"
        root.mkdir()
        return LocalLocation("local", root)
    loc: Location = request.getfixturevalue(f"{request.param}_location")
    return loc


def _data(n: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def _sha256(loc: Location, key: str) -> str:
    h = hashlib.sha256()
    with loc.open(key) as fh:
        while chunk := fh.read(MiB):
            h.update(chunk)
    return h.hexdigest()


class _FailingSource(io.FileIO):
    """A source file whose reads fail once `fail_after` bytes were read (a disk error mid-copy)."""

    def __init__(self, path: Path, fail_after: int) -> None:
        super().__init__(path, "rb")
        self.fail_after = fail_after
        self.done = 0

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.done >= self.fail_after:
            raise RuntimeError("源文件读错误（模拟）")
        data = super().read(size) or b""
        self.done += len(data)
        return data


def _no_leftovers(loc: Location) -> None:
    """Nothing but visible objects is left behind: no temporary files, no open uploads."""
    if isinstance(loc, LocalLocation):
        names = [f for _d, _s, files in os.walk(loc.root) for f in files]
        assert not [f for f in names if f.startswith(storage.TMP_PREFIX)], names
    elif isinstance(loc, S3Location) and loc.name.startswith("moto"):
        assert loc.incomplete_uploads() == []


# --- the contract ------------------------------------------------------------------------------


def test_bytes_round_trip(location: Location) -> None:
    location.put_bytes("a/b.txt", b"hello")
    assert location.read_bytes("a/b.txt") == b"hello"
    assert location.size("a/b.txt") == 5
    with location.open("a/b.txt") as fh:
        assert fh.read(2) == b"he"
        assert fh.read() == b"llo"
    location.put_bytes("empty", b"")
    assert location.read_bytes("empty") == b""
    assert location.size("empty") == 0


def test_large_file_round_trip_goes_up_in_parts(location: Location, tmp_path: Path) -> None:
    data = _data(19 * MiB + 123)  # above the 16 MiB threshold: two parts on S3
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    location.put_file("电子档案/2024/大文件.tif", src)
    assert location.size("电子档案/2024/大文件.tif") == len(data)
    assert _sha256(location, "电子档案/2024/大文件.tif") == hashlib.sha256(data).hexdigest()
    assert list(location.list()) == ["电子档案/2024/大文件.tif"]
    _no_leftovers(location)


def test_chinese_keys(location: Location) -> None:
    keys = {
        "电子档案/2024/文书/0001.pdf": b"%PDF-1.7 one",
        "电子档案/2024/文书/0002 副本.pdf": b"%PDF-1.7 two",
        "电子档案/2023/照片/合影（一）.jpg": b"\xff\xd8\xff photo",
    }
    for key, data in keys.items():
        location.put_bytes(key, data)
    assert list(location.list("电子档案")) == sorted(keys)
    assert list(location.list("电子档案/2024/文书")) == [
        "电子档案/2024/文书/0001.pdf",
        "电子档案/2024/文书/0002 副本.pdf",
    ]
    for key, data in keys.items():
        assert location.read_bytes(key) == data
        assert location.size(key) == len(data)


def test_overwrite_replaces_the_whole_object(location: Location, tmp_path: Path) -> None:
    location.put_bytes("inventory.json", b'{"head": "v1"}' * 100)
    location.put_bytes("inventory.json", b'{"head": "v2"}')
    assert location.read_bytes("inventory.json") == b'{"head": "v2"}'
    big = tmp_path / "big"
    big.write_bytes(_data(17 * MiB))
    location.put_file("inventory.json", big)
    assert location.size("inventory.json") == 17 * MiB
    location.put_bytes("inventory.json", b"small again")
    assert location.read_bytes("inventory.json") == b"small again"
    assert list(location.list()) == ["inventory.json"]
    _no_leftovers(location)


@pytest.mark.parametrize("size", [64 * 1024, 20 * MiB], ids=["single", "multipart"])
def test_interrupted_write_leaves_previous_object_and_no_partial_one(
    location: Location, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    location.put_bytes("obj", b"old")
    src = tmp_path / "src"
    src.write_bytes(_data(size))
    fail_after = size // 2 if size < MiB else 17 * MiB  # on S3: after the first part went up
    monkeypatch.setattr(storage, "_open_source", lambda p: _FailingSource(p, fail_after))
    with pytest.raises(RuntimeError, match="源文件读错误"):
        location.put_file("obj", src)
    with pytest.raises(RuntimeError, match="源文件读错误"):
        location.put_file("new/obj", src)
    assert location.read_bytes("obj") == b"old"
    assert location.size("new/obj") is None
    assert list(location.list()) == ["obj"]
    _no_leftovers(location)


def test_missing_objects(location: Location) -> None:
    location.put_bytes("dir/x", b"x")
    for key in ("nope", "dir/nope", "dir"):
        assert location.size(key) is None
        with pytest.raises(ObjectMissing):
            location.open(key)
        with pytest.raises(FileNotFoundError):  # ObjectMissing is a FileNotFoundError
            location.read_bytes(key)


def test_put_file_of_a_missing_source_is_the_callers_error(
    location: Location, tmp_path: Path
) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        location.put_file("x", tmp_path / "no-such-file")
    assert not isinstance(caught.value, ObjectMissing | LocationUnavailable)
    assert location.size("x") is None


def test_list_is_recursive_sorted_and_prefix_is_a_directory(location: Location) -> None:
    keys = ["b", "a/z", "a/b/2", "a/b/10", "a/b/c/1", "a/bc", "a.txt", "中/文", "A", "a-b"]
    for key in keys:
        location.put_bytes(key, key.encode())
    assert list(location.list()) == sorted(keys)
    assert list(location.list("")) == sorted(keys)
    assert list(location.list("a/b")) == ["a/b/10", "a/b/2", "a/b/c/1"]  # not "a/bc"
    assert list(location.list("a/b/")) == ["a/b/10", "a/b/2", "a/b/c/1"]
    assert list(location.list("a")) == ["a/b/10", "a/b/2", "a/b/c/1", "a/bc", "a/z"]
    assert list(location.list("nothing-here")) == []
    assert list(location.list("b")) == []  # an object, not a directory


def test_list_pages_through_many_keys(location: Location) -> None:
    keys = [f"many/{i:05d}" for i in range(30)]
    if isinstance(location, S3Location):
        location.list_page_size = 7  # five ListObjectsV2 pages, continuation tokens and all
    for key in keys:
        location.put_bytes(key, b"")
    assert list(location.list("many")) == keys


def test_delete_is_idempotent(location: Location) -> None:
    location.put_bytes("x/y", b"1")
    location.delete("x/y")
    assert location.size("x/y") is None
    location.delete("x/y")
    location.delete("never/was/here")
    assert list(location.list()) == []


@pytest.mark.parametrize(
    "key", ["../x", "/abs", "a//b", "", "a/../b", "./a", "a/", "a\\b", "a/./b", "x/..", "a\0b"]
)
def test_invalid_keys_are_rejected(location: Location, key: str, tmp_path: Path) -> None:
    src = tmp_path / "f"
    src.write_bytes(b"1")
    for call in (
        lambda: location.put_bytes(key, b"1"),
        lambda: location.put_file(key, src),
        lambda: location.read_bytes(key),
        lambda: location.open(key),
        lambda: location.size(key),
        lambda: location.delete(key),
    ):
        with pytest.raises(InvalidKey):
            call()
    if key.rstrip("/") not in ("", "a"):  # "" lists everything, "a/" is the directory "a"
        with pytest.raises(InvalidKey):
            location.list(key)
    assert list(location.list()) == []


def test_capacity(location: Location) -> None:
    for key, n in (("a", 10), ("b/c", 20), ("中/文", 1000)):
        location.put_bytes(key, b"x" * n)
    cap = location.capacity()
    if isinstance(location, LocalLocation):  # the disk's free space; used bytes are not walked
        assert cap.used_bytes is None
        assert cap.free_bytes and cap.total_bytes and cap.free_bytes <= cap.total_bytes
    else:  # a bucket has no free space to tell; what it holds is listed
        assert cap.used_bytes == 1030
        assert cap.free_bytes is None and cap.total_bytes is None


def test_local_delete_prunes_empty_directories(tmp_path: Path) -> None:
    location = LocalLocation("disk", tmp_path)
    location.put_bytes("obj/v2/content/a.txt", b"a")
    location.put_bytes("obj/v1/b.txt", b"b")
    location.delete("obj/v2/content/a.txt")
    assert not (tmp_path / "obj" / "v2").exists() and (tmp_path / "obj" / "v1" / "b.txt").exists()


# --- the local directory -----------------------------------------------------------------------


def test_local_unmounted_root_is_unavailable(tmp_path: Path) -> None:
    loc = LocalLocation("offline", tmp_path / "mnt" / "archive")
    for call in (
        lambda: loc.put_bytes("a", b"1"),
        lambda: loc.read_bytes("a"),
        lambda: loc.open("a"),
        lambda: loc.size("a"),
        lambda: list(loc.list()),
        lambda: loc.delete("a"),
        lambda: loc.capacity(),
    ):
        with pytest.raises(LocationUnavailable, match="mnt/archive"):
            call()
    assert not (tmp_path / "mnt").exists()  # nothing was written in place of the mount


def test_local_marker_tells_an_empty_mount_point_from_the_location(tmp_path: Path) -> None:
    root = tmp_path / "mnt"
    root.mkdir()  # the mount point, with nothing mounted on it
    loc = LocalLocation("nas", root, require_marker=True)
    with pytest.raises(LocationUnavailable, match=LocalLocation.MARKER):
        loc.put_bytes("a", b"1")
    assert list(root.iterdir()) == []
    loc.initialize()
    loc.put_bytes("a", b"1")
    assert list(loc.list()) == ["a"]  # the marker is not an object


def test_local_reader_of_the_old_object_is_not_disturbed_by_an_overwrite(tmp_path: Path) -> None:
    loc = LocalLocation("local", tmp_path)
    loc.put_bytes("k", b"old" * 1000)
    with loc.open("k") as before:
        loc.put_bytes("k", b"new")
        assert before.read() == b"old" * 1000
    assert loc.read_bytes("k") == b"new"


def test_local_filesystem_errors_are_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loc = LocalLocation("nas", tmp_path)
    loc.put_bytes("a/b", b"old")

    def failing_replace(src: object, dst: object) -> None:  # the disk answers EIO
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(storage.os, "replace", failing_replace)
    with pytest.raises(LocationUnavailable, match="nas") as caught:
        loc.put_bytes("a/b", b"new")
    assert caught.value.errno == errno.EIO
    monkeypatch.undo()
    assert loc.read_bytes("a/b") == b"old"
    assert list(loc.list()) == ["a/b"]
    _no_leftovers(loc)


# --- S3: what the servers show ---------------------------------------------------------------


def test_moto_multipart_upload_carries_sha256_checksums(
    moto_location: S3Location, moto_server: S3Server, tmp_path: Path
) -> None:
    data = _data(17 * MiB)
    src = tmp_path / "big"
    src.write_bytes(data)
    moto_location.put_file("电子档案/big.bin", src)
    client: Any = moto_server.client()
    head = client.head_object(
        Bucket=moto_location.bucket, Key="电子档案/big.bin", ChecksumMode="ENABLED"
    )
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert head["ContentLength"] == len(data)
    assert head.get("ChecksumSHA256")
    assert moto_location.checksums is True


def test_s3rver_works_without_checksums_verified_by_size(
    s3rver_location: S3Location, s3rver: S3Server
) -> None:
    s3rver_location.put_bytes("k", b"data")
    client: Any = s3rver.client()
    head = client.head_object(Bucket=s3rver_location.bucket, Key="k", ChecksumMode="ENABLED")
    assert "ChecksumSHA256" not in head  # s3rver keeps none; writes are verified by size
    assert s3rver_location.read_bytes("k") == b"data"


def test_s3_prefix_keeps_to_its_part_of_the_bucket(moto_server: S3Server) -> None:
    whole = moto_server.new_bucket()
    inner = moto_server.location(whole.bucket, prefix="/lantai/aip/")
    whole.put_bytes("other/x", b"12345")
    inner.put_bytes("0=ocfl_1.1", b"ocfl_1.1\n")
    assert list(whole.list()) == ["lantai/aip/0=ocfl_1.1", "other/x"]
    assert list(inner.list()) == ["0=ocfl_1.1"]
    assert inner.capacity().used_bytes == 9
    assert inner.read_bytes("0=ocfl_1.1") == b"ocfl_1.1\n"
    inner.delete("0=ocfl_1.1")
    assert list(whole.list()) == ["other/x"]


@pytest.mark.parametrize("server", ["moto_server", "s3rver"])
def test_s3_missing_bucket_is_an_unavailable_location(
    server: str, request: pytest.FixtureRequest
) -> None:
    s3: S3Server = request.getfixturevalue(server)
    loc = s3.location("no-such-bucket-lantai")
    for call in (
        lambda: loc.size("x"),  # a 404 here must not read as "object missing"
        lambda: loc.read_bytes("x"),
        lambda: loc.put_bytes("x", b"1"),
        lambda: list(loc.list()),
        lambda: loc.capacity(),
    ):
        with pytest.raises(LocationUnavailable, match="no-such-bucket-lantai"):
            call()
    assert loc.ensure_bucket() is True
    assert loc.ensure_bucket() is False
    assert loc.size("x") is None


def test_s3_wrong_credentials_are_unavailable(s3rver: S3Server) -> None:
    good = s3rver.new_bucket()
    bad = S3Location("s3rver", s3rver.endpoint, good.bucket, "NOT-A-KEY", "S3RVER")
    with pytest.raises(LocationUnavailable, match="拒绝访问") as caught:
        bad.put_bytes("x", b"1")
    assert caught.value.errno == errno.EACCES
    assert good.size("x") is None


def test_s3_location_from_environment(moto_server: S3Server) -> None:
    bucket = moto_server.new_bucket().bucket
    env = {
        "LANTAI_S3_ENDPOINT": moto_server.endpoint,
        "LANTAI_S3_BUCKET": bucket,
        "LANTAI_S3_ACCESS_KEY": moto_server.access_key,
        "LANTAI_S3_SECRET_KEY": moto_server.secret_key,
        "LANTAI_S3_PREFIX": "aip",
        "LANTAI_S3_READ_TIMEOUT": "7.5",
    }
    loc = S3Location.from_env("备份", env)
    assert (loc.read_timeout, loc.prefix) == (7.5, "aip")
    loc.put_bytes("a", b"1")
    assert loc.read_bytes("a") == b"1"
    with pytest.raises(ValueError, match="LANTAI_S3_SECRET_KEY"):
        S3Location.from_env("备份", {k: v for k, v in env.items() if "SECRET" not in k})


# --- S3: real faults through a proxy in front of moto_server -------------------------------------

SMALL_PARTS: dict[str, Any] = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB}


def test_failed_part_aborts_the_upload_and_a_retry_after_healing_succeeds(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location], moto_server: S3Server
) -> None:
    loc = make_bucket(fault_proxy.url, max_attempts=2, **SMALL_PARTS)
    direct = moto_server.location(loc.bucket)  # the same bucket, not through the proxy
    data = _data(12 * MiB)  # three parts
    rule = fault_proxy.fail(method="PUT", contains=("partNumber=2",), status=500)
    with pytest.raises(LocationUnavailable) as caught:
        loc.put_bytes("aip/obj.bin", data)
    message = str(caught.value)
    assert fault_proxy.url in message and direct.bucket in message and "500" in message
    assert rule.hits == 2  # tried, retried once, gave up
    assert any(m == "DELETE" and "uploadId=" in t for m, t, _s in fault_proxy.log), fault_proxy.log
    assert direct.size("aip/obj.bin") is None
    assert list(direct.list()) == []
    assert direct.incomplete_uploads() == []

    fault_proxy.heal()
    loc.put_bytes("aip/obj.bin", data)
    assert direct.read_bytes("aip/obj.bin") == data
    assert direct.incomplete_uploads() == []


def test_a_transient_server_error_is_retried(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url, max_attempts=3, **SMALL_PARTS)
    rule = fault_proxy.fail(
        method="PUT", contains=("partNumber=2",), status=503, code="SlowDown", times=1
    )
    rule_get = fault_proxy.fail(method="GET", status=500, times=1)
    data = _data(11 * MiB)
    loc.put_bytes("x", data)
    assert loc.read_bytes("x") == data
    assert (rule.hits, rule_get.hits) == (1, 1)


def test_throttling_that_does_not_stop_is_unavailable(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url, max_attempts=2)
    loc.put_bytes("x", b"1")
    fault_proxy.fail(method="GET", status=503, code="SlowDown")
    with pytest.raises(LocationUnavailable, match="SlowDown"):
        loc.read_bytes("x")


def test_a_stalled_endpoint_times_out_within_the_configured_limits(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url, connect_timeout=1, read_timeout=1, max_attempts=2)
    loc.put_bytes("x", b"1")
    fault_proxy.fail(method="GET", stall=60)
    started = time.monotonic()
    with pytest.raises(LocationUnavailable, match="超时") as caught:
        loc.read_bytes("x")
    # Two attempts of one second each plus backoff, far below the 60 s the proxy would hold on.
    assert time.monotonic() - started < 20
    assert caught.value.errno == errno.ETIMEDOUT
    assert "读取 1 秒" in str(caught.value)


def test_a_part_that_stalls_aborts_the_upload(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location], moto_server: S3Server
) -> None:
    loc = make_bucket(fault_proxy.url, read_timeout=1, max_attempts=2, **SMALL_PARTS)
    direct = moto_server.location(loc.bucket)
    fault_proxy.fail(method="PUT", contains=("partNumber=2",), stall=60)
    with pytest.raises(LocationUnavailable, match="超时"):
        loc.put_bytes("obj", _data(11 * MiB))
    fault_proxy.heal()
    assert direct.size("obj") is None
    assert direct.incomplete_uploads() == []


def test_a_refused_connection_is_unavailable(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url, connect_timeout=1, max_attempts=2)
    loc.put_bytes("x", b"1")
    fault_proxy.stop()
    for call in (lambda: loc.size("x"), lambda: loc.put_bytes("y", b"2"), lambda: list(loc.list())):
        with pytest.raises(LocationUnavailable, match="无法连接") as caught:
            call()
        assert caught.value.errno == errno.ECONNREFUSED
        assert fault_proxy.url in str(caught.value)


def test_a_server_that_refuses_checksums_is_written_without_them(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url, **SMALL_PARTS)
    for header in ("x-amz-checksum-sha256", "x-amz-checksum-algorithm"):
        fault_proxy.fail(header=header, status=501, code="NotImplemented")
    small, big = b"small", _data(6 * MiB)
    loc.put_bytes("small", small)
    assert loc.checksums is False  # degraded, and verified by size from now on
    loc.put_bytes("big", big)
    assert (loc.read_bytes("small"), loc.read_bytes("big")) == (small, big)
    assert loc.incomplete_uploads() == []


def test_a_write_cut_short_on_the_way_is_detected_and_removed(
    fault_proxy: FaultProxy, make_bucket: Callable[..., S3Location]
) -> None:
    loc = make_bucket(fault_proxy.url)
    fault_proxy.fail(method="PUT", truncate=True, times=1)
    with pytest.raises(LocationUnavailable, match="写入校验失败"):
        loc.put_bytes("x", b"0123456789")
    assert loc.size("x") is None  # the damaged object is not left behind
    loc.put_bytes("x", b"0123456789")
    assert loc.read_bytes("x") == b"0123456789"
