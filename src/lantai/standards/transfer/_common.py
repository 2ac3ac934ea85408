"""Shared pieces of the transfer readers: a safe XML loader that honours (and checks) the XML
declaration, the inventory walk, path normalisation, digest algorithms and text decoding."""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree

from .. import safe_xml
from ..dat70 import CheckResult
from .package import PackageFile

# --- digest algorithms ------------------------------------------------------------------------
_ALGORITHMS = {
    "sm3": "sm3",
    "sha256": "sha256",
    "sha1": "sha1",
    "md5": "md5",
    "sha512": "sha512",
    "sha224": "sha224",
    "sha384": "sha384",
}
HEX_LENGTH = {
    "sm3": 64,
    "sha256": 64,
    "sha1": 40,
    "md5": 32,
    "sha512": 128,
    "sha224": 56,
    "sha384": 96,
}
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def normalize_algorithm(name: str) -> str | None:
    """Normalise an algorithm name ("SHA-256", " SM3 ") to sha256 / sm3; None when unknown."""
    key = re.sub(r"[\s_\-]", "", name).lower()
    return _ALGORITHMS.get(key)


def digest_problem(algorithm: str, value: str) -> str | None:
    """Why ``value`` cannot be a ``algorithm`` digest, or None."""
    if not _HEX.match(value):
        return "摘要值不是十六进制字符串"
    want = HEX_LENGTH.get(algorithm)
    if want is not None and len(value) != want:
        return f"{algorithm.upper()} 摘要应为 {want} 个十六进制字符，实际 {len(value)} 个"
    return None


# --- paths ------------------------------------------------------------------------------------
def normalize_rel(path: str) -> tuple[str | None, str | None]:
    """A path written in package metadata -> (package-relative POSIX path, None), or
    (None, reason) when it is unusable (absolute, escaping the package, empty)."""
    p = path.strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    if not p:
        return None, "路径为空"
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        return None, f"路径“{path}”是绝对路径"
    parts = [x for x in PurePosixPath(p).parts if x not in ("", ".")]
    if ".." in parts:
        return None, f"路径“{path}”指向信息包之外（含“..”）"
    return "/".join(parts), None


@dataclass
class Inventory:
    files: list[PackageFile] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symlinks and special files: never followed
    lower: dict[str, str] = field(default_factory=dict)  # casefolded path -> path
    paths: set[str] = field(default_factory=set)


def walk(root: Path) -> Inventory:
    """Every regular file under ``root`` (POSIX relative paths, sorted), without following links."""
    inv = Inventory()
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as it:
            for entry in it:
                rel = prefix + entry.name
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append((rel + "/", entry.path))
                elif stat.S_ISREG(st.st_mode):
                    inv.files.append(PackageFile(path=rel, size=st.st_size))
                else:
                    inv.links.append(rel)
    inv.files.sort(key=lambda f: f.path)
    inv.links.sort()
    for f in inv.files:
        inv.lower.setdefault(f.path.casefold(), f.path)
        inv.paths.add(f.path)
    return inv


def link_results(links: list[str]) -> list[CheckResult]:
    return [
        CheckResult.from_spec(
            "non_transfer_files",
            "fail",
            object=rel,
            evidence={"reason": "信息包内含符号链接或特殊文件，不属于移交文件，已忽略（不跟随）"},
        )
        for rel in links
    ]


def find_child(root: Path, *names: str, want_dir: bool = False) -> Path | None:
    """The entry of ``root`` whose name equals one of ``names`` ignoring case, or None."""
    wanted = {n.casefold() for n in names}
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return None
    for entry in entries:
        if entry.name.casefold() in wanted:
            if want_dir and entry.is_dir(follow_symlinks=False):
                return Path(entry.path)
            if not want_dir and entry.is_file(follow_symlinks=False):
                return Path(entry.path)
    return None


# --- text -------------------------------------------------------------------------------------
def decode_text(data: bytes) -> tuple[str, str]:
    """Free text (说明文件.TXT): UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030.
    Returns (text, encoding used)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace"), "GB18030"


# --- XML --------------------------------------------------------------------------------------
_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"'][^>]*\?>")
_DECL_ANY = re.compile(rb"^<\?xml[^>]*\?>")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_CODECS = {
    "utf8": "utf-8",
    "gb18030": "gb18030",
    "gb2312": "gb18030",  # GB18030 is a superset: decode with it, same characters
    "gbk": "gb18030",
    "cp936": "gb18030",
    "euccn": "gb18030",
    "utf16": "utf-16",
    "usascii": "ascii",
    "ascii": "ascii",
    "iso88591": "latin-1",
    "latin1": "latin-1",
}


def _position(data: bytes, offset: int) -> dict[str, int]:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    return {"byte_offset": offset, "line": line, "column": col}


@dataclass
class XmlLoad:
    root: Any = None  # lxml _Element, None when unreadable
    encoding: str = ""
    results: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _fail(rel: str, reason: str, **evidence: Any) -> CheckResult:
    return CheckResult.from_spec(
        "metadata_readable", "fail", object=rel, evidence={"reason": reason, **evidence}
    )


def load_xml(path: Path, rel: str, *, huge: bool = False) -> XmlLoad:
    """Parse one metadata XML file safely, honouring its declared encoding.

    Refuses DTD entity declarations outright (billion laughs), never resolves entities or
    fetches anything. A declaration that does not match the bytes, or XML that is not
    well-formed, gives a failed 3-1 (metadata_readable) result naming the file and position.
    ``huge`` lifts libxml2's 10 MB text-node limit (EEP files with embedded content); entity
    expansion stays refused.
    """
    out = XmlLoad()
    try:
        data = path.read_bytes()
    except OSError as exc:
        out.results.append(_fail(rel, f"无法读取文件：{exc.strerror or exc}"))
        return out
    head = data[:1024]
    bom_codec = None
    if head.startswith(codecs.BOM_UTF8):
        data = data[3:]
        head = data[:1024]
        bom_codec = "utf-8"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        bom_codec = "utf-16"
    declared: str | None = None
    if bom_codec == "utf-16":
        try:
            text16 = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            out.results.append(_fail(rel, f"UTF-16 解码失败：{exc.reason}", byte_offset=exc.start))
            return out
        data = text16.encode("utf-8")
        data = _DECL_ANY.sub(b'<?xml version="1.0" encoding="UTF-8"?>', data, count=1)
        head = data[:1024]
        declared = "UTF-16"
        codec = "utf-8"
    else:
        m = _DECL.match(head)
        if m:
            declared = m.group(1).decode("ascii")
            key = re.sub(r"[\s_\-]", "", declared).lower()
            codec_or_none = _CODECS.get(key)
            if codec_or_none is None:
                try:
                    codec_or_none = codecs.lookup(declared).name
                except LookupError:
                    out.results.append(_fail(rel, f"XML 声明的编码“{declared}”无法识别"))
                    return out
            codec = codec_or_none
            if key in ("gb2312", "gbk", "cp936", "euccn"):
                out.notes.append(f"{rel} 声明编码 {declared}，按其超集 GB18030 解码")
        else:
            codec = bom_codec or "utf-8"
    if _DOCTYPE.search(data) and _ENTITY_DECL.search(data):
        out.results.append(
            _fail(
                rel,
                "XML 含 DTD 实体声明（<!ENTITY>），出于安全原因拒绝解析（防止实体扩展攻击）",
                **_position(data, _ENTITY_DECL.search(data).start()),  # type: ignore[union-attr]
            )
        )
        return out
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        if declared is None and codec == "utf-8":
            # no declaration and not UTF-8: real units write GB18030 without saying so
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                out.results.append(
                    _fail(
                        rel,
                        "XML 未声明编码，内容既不是有效的 UTF-8 也不是 GB18030",
                        **_position(data, exc.start),
                    )
                )
                return out
            codec = "gb18030"
            out.notes.append(f"{rel} 未声明编码且不是 UTF-8，按 GB18030 解码")
            out.results.append(
                CheckResult.from_spec(
                    "metadata_readable",
                    "warn",
                    object=rel,
                    evidence={"reason": "XML 未声明编码（默认应为 UTF-8），内容按 GB18030 读取"},
                )
            )
        else:
            out.results.append(
                _fail(
                    rel,
                    f"XML 声明的编码为 {declared or 'UTF-8'}，但文件内容不是有效的该编码字节"
                    f"（第 {_position(data, exc.start)['line']} 行，字节偏移 {exc.start}）",
                    declared_encoding=declared or "UTF-8",
                    **_position(data, exc.start),
                )
            )
            return out
    out.encoding = {"utf-8": "UTF-8", "gb18030": "GB18030"}.get(codec, declared or codec)
    if codec != "utf-8":
        utf8 = text.encode("utf-8")
        utf8 = _DECL_ANY.sub(b'<?xml version="1.0" encoding="UTF-8"?>', utf8, count=1)
    else:
        utf8 = data
    del text
    parser = safe_xml.parser(huge_tree=huge, remove_comments=True, remove_pis=True)
    try:
        out.root = etree.fromstring(utf8, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        out.results.append(
            _fail(
                rel,
                f"XML 格式不正确（第 {line} 行）：{exc.msg}",
                line=line,
                column=exc.position[1] if exc.position else 0,
            )
        )
        out.root = None
    return out


def local(el: Any) -> str:
    """The element's name without namespace ('' for comments and the like)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def text_of(el: Any) -> str:
    return "".join(el.itertext()).strip()


def leaves(el: Any, skip: tuple[str, ...] = ()) -> list[Any]:
    """The leaf elements below ``el``, not descending into elements named in ``skip``."""
    out: list[Any] = []
    for child in el:
        name = local(child)
        if not name or name in skip:
            continue
        if len(child):
            out.extend(leaves(child, skip))
        else:
            out.append(child)
    return out
