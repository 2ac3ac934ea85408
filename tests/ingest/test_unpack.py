"""Safe unpacking: every hostile input is built here at test time and must give the right failed
check, never a crash, a hang or a file outside the work directory."""

from __future__ import annotations

import io
import os
import socket
import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest

from lantai.ingest.unpack import Limits, UnpackResult, UnreadableSource, unpack


def _zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def _failed(result: UnpackResult, obj: str) -> list[dict[str, object]]:
    return [r.as_dict() for r in result.results if r.object == obj and r.status == "fail"]


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_clean_zip_unpacks_and_passes(tmp_path: Path) -> None:
    src = _zip(
        tmp_path / "pkg.zip",
        [
            ("说明文件.TXT", "说明".encode()),
            ("电子档案/2024/a.pdf", b"%PDF-1.4\n"),
            ("空.txt", b""),
        ],
    )
    before = src.read_bytes()
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"说明文件.TXT", "电子档案/2024/a.pdf", "空.txt"}
    assert result.entries == 3
    assert result.bytes == len("说明".encode()) + 9
    assert (result.root / "空.txt").stat().st_size == 0  # empty files are kept
    assert [r.status for r in result.results] == ["pass"]
    assert src.read_bytes() == before  # the original is never modified


def test_zip_detected_by_magic_not_suffix(tmp_path: Path) -> None:
    src = _zip(tmp_path / "upload.bin", [("a.txt", b"x")])
    assert _files(unpack(src, tmp_path / "w").root) == {"a.txt"}


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [
        ("../evil", ".."),
        ("a/../../evil", ".."),
        ("/etc/x", "绝对路径"),
        ("C:/Windows/x", "盘符"),
        ("..\\evil", "反斜杠"),
        ("bad\x01name", "控制字符"),
        ("nul\x00.txt", "控制字符"),
    ],
)
def test_hostile_names_refused(tmp_path: Path, name: str, reason_part: str) -> None:
    src = tmp_path / "pkg.zip"
    raw = name.encode("utf-8")
    placeholder = b"q" * len(raw)
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("ok.txt", b"fine")
        zf.writestr(placeholder.decode(), b"evil")
    blob = src.read_bytes()
    assert blob.count(placeholder) == 2  # local header and central directory
    src.write_bytes(blob.replace(placeholder, raw))  # names zipfile itself would not write
    result = unpack(src, tmp_path / "work")
    failed = _failed(result, name)
    assert len(failed) == 1, result.results
    assert failed[0]["property"] == "security" and failed[0]["content_code"] == "4-2"
    assert reason_part in failed[0]["evidence"]["reason"]  # type: ignore[index]
    assert _files(result.root) == {"ok.txt"}
    assert not (tmp_path / "evil").exists() and not Path("/etc/x").exists()


def test_symlink_entry_in_zip_refused(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    src = _zip(tmp_path / "pkg.zip", [(info, b"/etc/passwd"), ("a.txt", b"a")])
    result = unpack(src, tmp_path / "work")
    failed = _failed(result, "link")
    assert failed and "符号链接" in str(failed[0]["evidence"])
    assert not os.path.lexists(result.root / "link")
    assert _files(result.root) == {"a.txt"}


def test_fifo_entry_in_zip_is_named_in_words_with_a_package_result(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("pipe")
    info.create_system = 3
    info.external_attr = (stat.S_IFIFO | 0o644) << 16  # mode 0o10644
    src = _zip(tmp_path / "pkg.zip", [(info, b""), ("a.txt", b"a")])
    result = unpack(src, tmp_path / "work")
    [pipe] = _failed(result, "pipe")
    evidence = pipe["evidence"]
    assert evidence["found"] == "命名管道 FIFO" and "命名管道" in evidence["reason"], evidence  # type: ignore[index]
    summary = [r for r in result.results if r.check == "safe_unpack" and r.object == "package"]
    assert [r.status for r in summary] == ["fail"]
    assert summary[0].evidence["failed"] == 1 and summary[0].evidence["checked"] == 2


def test_symlink_and_fifo_in_folder_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_bytes(b"a")
    outside = tmp_path / "secret.txt"
    outside.write_bytes(b"secret")
    os.symlink(outside, src / "sub" / "link.txt")
    os.symlink("/etc", src / "etc")
    os.mkfifo(src / "pipe")
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"sub/a.txt"}
    assert "符号链接" in str(_failed(result, "sub/link.txt")[0]["evidence"])
    assert _failed(result, "etc")
    assert "命名管道" in str(_failed(result, "pipe")[0]["evidence"])
    assert (src / "sub" / "link.txt").is_symlink()  # the original is untouched


def test_unix_socket_in_folder_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"a")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(src / "sock"))
        assert stat.S_ISSOCK(os.lstat(src / "sock").st_mode)
        result = unpack(src, tmp_path / "work")
    finally:
        server.close()
    assert _files(result.root) == {"a.txt"}
    failed = _failed(result, "sock")
    assert failed and failed[0]["content_code"] == "4-2"
    assert "套接字" in str(failed[0]["evidence"])


def _bomb(path: Path, size: int) -> None:
    """size bytes of zeros, written in 1 MiB pieces so the test stays fast and small."""
    zeros = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("small.txt", b"hello")
        with zf.open("zeros.bin", "w", force_zip64=True) as out:
            for _ in range(size >> 20):
                out.write(zeros)


def test_zip_bomb_ratio_stops_entry(tmp_path: Path) -> None:
    src = tmp_path / "bomb.zip"
    _bomb(src, 200 << 20)
    assert src.stat().st_size < 1 << 20
    result = unpack(src, tmp_path / "work", Limits(max_ratio=100, ratio_floor=1 << 20))
    failed = _failed(result, "zeros.bin")
    assert failed and "压缩比" in str(failed[0]["evidence"])
    assert failed[0]["evidence"]["limit"] == "100:1"  # type: ignore[index]
    assert _files(result.root) == {"small.txt"}  # the partial file is deleted


def test_zip_bomb_total_bytes_stops_unpack(tmp_path: Path) -> None:
    src = tmp_path / "bomb.zip"
    _bomb(src, 200 << 20)
    limits = Limits(max_total_bytes=20 << 20, max_ratio=10**9)
    result = unpack(src, tmp_path / "work", limits)
    failed = _failed(result, "zeros.bin")
    assert failed and "总字节数" in str(failed[0]["evidence"])
    assert failed[0]["evidence"]["limit"] == 20 << 20  # type: ignore[index]
    assert _files(result.root) == {"small.txt"}
    assert sum(p.stat().st_size for p in result.root.rglob("*") if p.is_file()) <= 20 << 20


def test_too_many_entries(tmp_path: Path) -> None:
    src = _zip(tmp_path / "many.zip", [(f"f{i}.txt", b"") for i in range(50)])
    result = unpack(src, tmp_path / "work", Limits(max_entries=10))
    failed = [r for r in result.results if r.status == "fail"]
    assert failed and "条目数" in failed[0].evidence["reason"]
    assert failed[0].evidence["limit"] == 10
    assert result.entries == 0  # refused from the central directory, before extracting anything


def _nested(levels: int) -> bytes:
    data = b"innermost"
    name = "deep.txt"
    for i in range(levels):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{i}.zip"
    return data


def test_archive_inside_the_package_is_a_file_like_any_other(tmp_path: Path) -> None:
    """Only the package container is unpacked: a zip inside it (say, a declared electronic
    record) stays the file it was, byte for byte, however deep its own nesting goes."""
    inner = _nested(3)
    src = _zip(tmp_path / "pkg.zip", [("电子档案/a/inner.zip", inner), ("b.txt", b"b")])
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"b.txt", "电子档案/a/inner.zip"}
    assert (result.root / "电子档案/a/inner.zip").read_bytes() == inner
    assert result.expanded == []
    assert [r.status for r in result.results] == ["pass"]


def test_compressed_archive_inside_is_not_expanded_into_a_bomb(tmp_path: Path) -> None:
    inner = tmp_path / "inner.zip"
    _bomb(inner, 64 << 20)
    src = _zip(tmp_path / "pkg.zip", [("x/inner.zip", inner.read_bytes())])
    result = unpack(src, tmp_path / "work", Limits(max_ratio=10**9, max_total_bytes=32 << 20))
    assert _files(result.root) == {"x/inner.zip"}
    assert (result.root / "x/inner.zip").stat().st_size == inner.stat().st_size
    assert [r.status for r in result.results] == ["pass"]


def test_duplicate_and_case_colliding_names(tmp_path: Path) -> None:
    src = tmp_path / "pkg.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("doc/A.txt", b"first")
        with pytest.warns(UserWarning):
            zf.writestr("doc/A.txt", b"second")
        zf.writestr("doc/a.TXT", b"third")
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"doc/A.txt"}
    assert (result.root / "doc/A.txt").read_bytes() == b"first"
    dup = _failed(result, "doc/A.txt")
    case = _failed(result, "doc/a.TXT")
    assert dup and "同名" in str(dup[0]["evidence"]) and dup[0]["property"] == "integrity"
    assert case and "大小写" in str(case[0]["evidence"])
    assert case[0]["evidence"]["found"] == "doc/A.txt"  # type: ignore[index]


def test_case_colliding_names_in_folder(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Report.pdf").write_bytes(b"1")
    (src / "report.PDF").write_bytes(b"2")
    result = unpack(src, tmp_path / "work")
    assert len(_files(result.root)) == 1
    assert len([r for r in result.results if r.status == "fail"]) == 1


def _raw_name_zip(path: Path, raw: bytes, data: bytes = b"x") -> None:
    """A zip whose single entry is named by raw bytes with the UTF-8 flag clear."""
    placeholder = b"n" * len(raw)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(placeholder.decode(), data)
    blob = path.read_bytes()
    assert blob.count(placeholder) == 2
    path.write_bytes(blob.replace(placeholder, raw))


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("电子档案/2024/关于年度工作的通知.pdf", "gbk"),
        ("通知.pdf", "gbk"),  # CD A8 D6 AA is valid UTF-8 too (two Greek/Hebrew characters)
        ("电子档案/通知.pdf", "utf-8"),  # UTF-8 without the flag, as some Linux tools write
    ],
)
def test_chinese_name_without_utf8_flag_decoded(tmp_path: Path, name: str, encoding: str) -> None:
    src = tmp_path / "gbk.zip"
    _raw_name_zip(src, name.encode(encoding))
    with zipfile.ZipFile(src) as zf:
        assert not zf.infolist()[0].flag_bits & 0x800
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {name}
    assert [r.status for r in result.results] == ["pass"]


def test_undecodable_name_kept_as_cp437_with_warning(tmp_path: Path) -> None:
    raw = b"\x80\xff\xfe.txt"  # neither UTF-8 nor GB18030
    src = tmp_path / "odd.zip"
    _raw_name_zip(src, raw)
    result = unpack(src, tmp_path / "work")
    shown = raw.decode("cp437")
    assert _files(result.root) == {shown}
    warn = [r for r in result.results if r.status == "warn"]
    assert warn and warn[0].object == shown and "CP437" in warn[0].evidence["reason"]


def test_encrypted_entry_fails_usability(tmp_path: Path) -> None:
    src = tmp_path / "enc.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("secret.txt", b"\x00" * 12 + b"ciphertext")
        zf.writestr("open.txt", b"open")
    blob = bytearray(src.read_bytes())
    # set bit 0 (encrypted, as a ZipCrypto writer does) of the first entry's general purpose flags
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        blob[blob.find(sig) + off] |= 0x1
    src.write_bytes(bytes(blob))
    with zipfile.ZipFile(src) as zf:
        assert zf.getinfo("secret.txt").flag_bits & 0x1
    result = unpack(src, tmp_path / "work")
    failed = _failed(result, "secret.txt")
    assert failed and failed[0]["property"] == "usability" and failed[0]["content_code"] == "3-4"
    assert "加密" in str(failed[0]["evidence"])
    assert _files(result.root) == {"open.txt"}


def test_unsupported_compression_method_fails(tmp_path: Path) -> None:
    src = tmp_path / "d64.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.bin", b"data")
    blob = bytearray(src.read_bytes())
    # set compression method 98 (PPMd) in the local header and the central directory
    # (Deflate64, method 9, is read since 0.20: tests/ingest/test_unpack_deflate64.py)
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = blob.find(sig)
        blob[at + off : at + off + 2] = struct.pack("<H", 98)
    src.write_bytes(bytes(blob))
    result = unpack(src, tmp_path / "work")
    failed = _failed(result, "a.bin")
    assert failed and "不支持的压缩算法" in str(failed[0]["evidence"])
    assert failed[0]["evidence"]["found"] == "PPMd"  # type: ignore[index]
    assert "deflate64" in failed[0]["evidence"]["limit"]  # type: ignore[index]


def test_corrupt_entry_data_is_a_failed_check(tmp_path: Path) -> None:
    src = tmp_path / "crc.zip"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"hello world")
    src.write_bytes(src.read_bytes().replace(b"hello world", b"HELLO world"))
    result = unpack(src, tmp_path / "work")
    failed = _failed(result, "a.txt")
    assert failed and failed[0]["property"] == "integrity"
    assert _files(result.root) == set()


def test_file_and_folder_with_the_same_name(tmp_path: Path) -> None:
    src = _zip(tmp_path / "pkg.zip", [("a", b"file"), ("a/b.txt", b"child")])
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"a"}
    assert _failed(result, "a/b.txt")


def test_truncated_zip_is_unreadable(tmp_path: Path) -> None:
    src = _zip(tmp_path / "pkg.zip", [("a.txt", b"a" * 1000), ("b.txt", b"b" * 1000)])
    cut = tmp_path / "cut.zip"
    cut.write_bytes(src.read_bytes()[:-30])
    with pytest.raises(UnreadableSource, match="zip"):
        unpack(cut, tmp_path / "work")


def test_not_a_zip_or_folder_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "fake.zip"
    src.write_bytes(b"<?xml version='1.0'?><x/>")
    with pytest.raises(UnreadableSource, match="既不是文件夹也不是 zip"):
        unpack(src, tmp_path / "work")


def test_folder_with_zip_inside_and_gbk_name(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _zip(src / "附件.zip", [("内/a.txt", b"a")])
    with open(os.path.join(os.fsencode(src), "通知".encode("gbk") + b".txt"), "wb") as fh:
        fh.write(b"gbk-named")
    before = (src / "附件.zip").read_bytes()
    result = unpack(src, tmp_path / "work")
    assert _files(result.root) == {"附件.zip", "通知.txt"}
    assert (result.root / "通知.txt").read_bytes() == b"gbk-named"
    assert (result.root / "附件.zip").read_bytes() == before  # kept as it is, not expanded
    assert result.expanded == []
    assert (src / "附件.zip").read_bytes() == before  # the quarantined original is intact
    assert [r.status for r in result.results] == ["pass"]


def test_zip_entry_times_kept(tmp_path: Path) -> None:
    info = zipfile.ZipInfo("a.txt", date_time=(2019, 6, 30, 12, 0, 0))
    src = _zip(tmp_path / "pkg.zip", [(info, b"a")])
    result = unpack(src, tmp_path / "work")
    assert time.localtime((result.root / "a.txt").stat().st_mtime)[:6] == (2019, 6, 30, 12, 0, 0)


def test_fifo_source_is_unreadable(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.zip")
    with pytest.raises(UnreadableSource):
        unpack(tmp_path / "pipe.zip", tmp_path / "work")
