"""Deflate64 (zip compression method 9) entries are read, with every limit other entries have.

Python's zipfile cannot write Deflate64, and 7-Zip is not a dependency: the zips are assembled
here by hand (local headers, data, central directory, end record) around streams that
inflate64.Deflater compresses. The content has long runs, which Deflate64 codes with its own
lengths (code 285 with 16 extra bits): the test checks that zlib cannot read the stream back, so
the entries are real Deflate64.
"""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path

import inflate64

from lantai.formats.checks import validate
from lantai.ingest.unpack import Limits, unpack

_rng = random.Random(20)
_WORDS = ["".join(_rng.choice("档案移交接收保存abcdefgh") for _ in range(_rng.randint(2, 8)))
          for _ in range(2000)]  # fmt: skip
TEXT = " ".join(_rng.choice(_WORDS) for _ in range(8000)).encode()
LONG_REPEAT = TEXT + bytes(100_000) + TEXT[:5000] * 3  # text, a long run, repeats


def deflate64(data: bytes) -> bytes:
    d = inflate64.Deflater()
    return d.deflate(data) + d.flush()


def build_zip(
    path: Path,
    entries: list[tuple[str, bytes]],
    *,
    crc: dict[str, int] | None = None,
    size: dict[str, int] | None = None,
    stream: dict[str, bytes] | None = None,
    local_name: dict[str, str] | None = None,
) -> Path:
    """A zip whose entries are all Deflate64; the keyword maps override, per entry, the central
    directory's CRC or size, the compressed stream, or the local header's name."""
    body, central = bytearray(), bytearray()
    for name, data in entries:
        raw = name.encode()
        comp = (stream or {}).get(name, deflate64(data))
        c = (crc or {}).get(name, zlib.crc32(data))
        n = (size or {}).get(name, len(data))
        local = (local_name or {}).get(name, name).encode()
        offset = len(body)
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 21, 0x800, 9, 0, 0x5821, c, len(comp), n,
                            len(local), 0) + local + comp  # fmt: skip
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 21, 21, 0x800, 9, 0, 0x5821, c,
                               len(comp), n, len(raw), 0, 0, 0, 0, 0o100644 << 16, offset) + raw  # fmt: skip
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                      len(body), 0)  # fmt: skip
    path.write_bytes(bytes(body + central + end))
    return path


def failed(result, obj: str) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return [r.as_dict() for r in result.results if r.object == obj and r.status == "fail"]


def test_the_sample_stream_is_real_deflate64() -> None:
    comp = deflate64(LONG_REPEAT)
    assert len(comp) < len(LONG_REPEAT) // 2
    inflater = inflate64.Inflater()
    assert inflater.inflate(comp) == LONG_REPEAT and inflater.eof
    try:
        as_deflate: bytes | None = zlib.decompress(comp, -15)
    except zlib.error:
        as_deflate = None
    assert as_deflate != LONG_REPEAT  # plain Deflate reads it wrongly or not at all


def test_deflate64_entries_are_unpacked(tmp_path: Path) -> None:
    entries = [("电子档案/2024/长文件.bin", LONG_REPEAT), ("说明.txt", "说明文件".encode() * 100)]
    src = build_zip(tmp_path / "d64.zip", entries)
    assert {i.compress_type for i in zipfile.ZipFile(src).infolist()} == {9}
    result = unpack(src, tmp_path / "work")
    assert [r.status for r in result.results] == ["pass"], [r.as_dict() for r in result.results]
    for name, data in entries:
        assert (result.root / name).read_bytes() == data
    assert result.entries == 2 and result.bytes == sum(len(d) for _, d in entries)


def test_bad_crc_is_refused_naming_the_entry(tmp_path: Path) -> None:
    name = "电子档案/a.bin"
    src = build_zip(tmp_path / "crc.zip", [(name, LONG_REPEAT), ("ok.txt", b"fine" * 10)],
                    crc={name: zlib.crc32(LONG_REPEAT) ^ 1})  # fmt: skip
    result = unpack(src, tmp_path / "work")
    [bad] = failed(result, name)
    reason = bad["evidence"]["reason"]
    assert bad["content_code"] == "2-3" and "CRC-32" in reason and name in reason
    assert not (result.root / name).exists()  # nothing half-checked is left behind
    assert (result.root / "ok.txt").read_bytes() == b"fine" * 10


def test_truncated_stream_is_refused(tmp_path: Path) -> None:
    comp = deflate64(LONG_REPEAT)
    src = build_zip(tmp_path / "cut.zip", [("a.bin", LONG_REPEAT)], stream={"a.bin": comp[:-40]})
    result = unpack(src, tmp_path / "work")
    [bad] = failed(result, "a.bin")
    assert "数据流不完整" in bad["evidence"]["reason"] and "a.bin" in bad["evidence"]["reason"]
    assert not (result.root / "a.bin").exists()


def test_size_differing_from_the_central_directory_is_refused(tmp_path: Path) -> None:
    src = build_zip(tmp_path / "size.zip", [("a.bin", LONG_REPEAT)],
                    size={"a.bin": len(LONG_REPEAT) + 1})  # fmt: skip
    [bad] = failed(unpack(src, tmp_path / "work"), "a.bin")
    assert f"解出 {len(LONG_REPEAT)} 字节" in bad["evidence"]["reason"]


def test_garbage_and_a_lying_local_header_are_refused(tmp_path: Path) -> None:
    src = build_zip(tmp_path / "g.zip", [("a.bin", b"x" * 100), ("b.bin", b"y" * 100)],
                    stream={"a.bin": b"\xff" * 64}, local_name={"b.bin": "c.bin"})  # fmt: skip
    result = unpack(src, tmp_path / "work")
    assert "条目数据损坏" in failed(result, "a.bin")[0]["evidence"]["reason"]
    assert "文件名与中央目录不符" in failed(result, "b.bin")[0]["evidence"]["reason"]
    assert not list(result.root.rglob("*.bin"))


def test_deflate64_bomb_is_stopped_by_the_ratio_limit(tmp_path: Path) -> None:
    zeros = bytes(32 * 1024 * 1024)
    src = build_zip(tmp_path / "bomb.zip", [("bomb.bin", zeros)])
    assert src.stat().st_size < 20_000
    result = unpack(src, tmp_path / "work", Limits(max_ratio=100, ratio_floor=1 << 20))
    [bad] = failed(result, "bomb.bin")
    assert bad["property"] == "security" and "压缩比" in bad["evidence"]["aspect"]
    assert not (result.root / "bomb.bin").exists()


def test_a_zip_record_with_deflate64_members_passes_3_4(tmp_path: Path) -> None:
    """A .zip kept as a record: Deflate64 is in the public zip specification (APPNOTE 4.4.5)."""
    src = build_zip(tmp_path / "record.zip", [("a.txt", b"text " * 50)])
    [package] = [r for r in validate(src, None, "record.zip") if r.content_code == "3-4"]
    assert package.status == "pass", package.as_dict()
