"""Deflate64 zip entries (compression method 9), which Python's zipfile refuses: read with
inflate64 a little at a time and checked against the central directory like zipfile's own
(ingest.unpack opens every other method through zipfile)."""

from __future__ import annotations

import os
import struct
import zipfile
import zlib

DEFLATE64 = 9  # "Enhanced Deflating" (APPNOTE 4.4.5): Windows Explorer writes it for large files
DEFLATE64_FEED = 1024  # compressed bytes per inflate call: inflate64 has no output cap, and 1 KiB
# of a bomb inflates to ~26 MiB at most, so the size and ratio limits act between calls


class Deflate64Entry:
    """Streams one Deflate64 entry: reads exactly the central directory's compressed size after
    the local header, inflates it a little at a time (inflate64.Inflater), and at the end refuses
    a stream that is cut short or whose CRC-32 or size differ from the central directory's."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, obj: str) -> None:
        import inflate64

        if not zf.filename:
            raise zipfile.BadZipFile(
                "Deflate64 条目须从文件读取 a Deflate64 entry needs a zip file"
            )
        self.info, self.obj = info, obj
        self.fh = open(zf.filename, "rb")  # noqa: SIM115 - closed in close()
        try:
            self.fh.seek(info.header_offset)
            head = self.fh.read(30)
            if len(head) != 30 or head[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile(self._bad("本地文件头缺失", "local file header missing"))
            method, name_len, extra_len = struct.unpack("<8xH16xHH", head)
            if method != DEFLATE64:
                raise zipfile.BadZipFile(
                    self._bad(f"本地文件头的压缩算法 {method} 与中央目录不符",
                              f"local header method {method} differs from the central directory")
                )  # fmt: skip
            encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
            if self.fh.read(name_len) != info.orig_filename.encode(encoding, "replace"):
                raise zipfile.BadZipFile(  # zipfile refuses the same for the other methods
                    self._bad("本地文件头的文件名与中央目录不符",
                              "local header name differs from the central directory")
                )  # fmt: skip
            self.fh.seek(extra_len, os.SEEK_CUR)
        except BaseException:
            self.fh.close()
            raise
        self.inflater = inflate64.Inflater()
        self.left = info.compress_size
        self.crc = 0
        self.size = 0
        self.done = False

    def _bad(self, zh: str, en: str) -> str:
        return f"Deflate64 条目“{self.obj}”{zh} entry {self.obj!r}: {en}"

    def read(self, _n: int = -1) -> bytes:
        while not self.done:
            data = self.fh.read(min(DEFLATE64_FEED, self.left)) if self.left else b""
            if self.left and not data:
                raise zipfile.BadZipFile(
                    self._bad(f"数据被截断（还差 {self.left} 字节）",
                              f"compressed data truncated ({self.left} bytes missing)")
                )  # fmt: skip
            self.left -= len(data)
            out = self.inflater.inflate(data) if data else b""
            if out:
                self.crc = zlib.crc32(out, self.crc)
                self.size += len(out)
            if not self.left:
                self._finish()
            if out:
                return bytes(out)
        return b""

    def _finish(self) -> None:
        self.done = True
        info = self.info
        if not self.inflater.eof:
            raise zipfile.BadZipFile(
                self._bad("数据流不完整（未到结束标记）", "stream ends before its end marker")
            )
        if self.size != info.file_size:
            raise zipfile.BadZipFile(
                self._bad(f"解出 {self.size} 字节，中央目录记为 {info.file_size} 字节",
                          f"inflated {self.size} bytes, central directory says {info.file_size}")
            )  # fmt: skip
        if self.crc != info.CRC:
            raise zipfile.BadZipFile(
                self._bad(f"CRC-32 校验失败（中央目录 {info.CRC:08x}，实际 {self.crc:08x}）",
                          f"CRC-32 mismatch ({info.CRC:08x} expected, {self.crc:08x} found)")
            )  # fmt: skip

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> Deflate64Entry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
