"""BagIt bags (RFC 8493 v1.0 and draft v0.97) read with the ``bagit`` library, plus Lantai's own
checks where the library is too lenient (it accepts whitespace around the colon of bagit.txt,
``v1.0/invalid/bagit-with-invalid-whitespace`` of the LoC conformance suite).

Manifest lines become ``DeclaredDigest`` (algorithm from the manifest's name), bag-info.txt
becomes ``Register.fields``, Payload-Oxum the byte and file counts. When the payload carries the
Chinese layout (``data/文件目录.XML`` …) its catalogue and register are read as well.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import bagit

from ..dat70 import CheckResult
from . import cn_layout, item_xml
from ._common import find_child, link_results, normalize_algorithm, walk
from .package import DeclaredDigest, Package

__all__ = ["is_bag", "read"]

_BAGIT_LINE = re.compile(r"^(BagIt-Version|Tag-File-Character-Encoding): (\S(?:.*\S)?)$")
_VERSION = re.compile(r"^\d+\.\d+$")
# library warnings that repeat a failure already reported from the exception's details
_REPEATS = re.compile(
    r"exists in manifest but was not found|exists on filesystem but is not in the manifest"
    r"|validation failed: expected="
)


def is_bag(root: Path) -> bool:
    return (root / "bagit.txt").is_file()


def _fail(key: str, obj: str, reason: str, **evidence: Any) -> CheckResult:
    return CheckResult.from_spec(key, "fail", object=obj, evidence={"reason": reason, **evidence})


def _check_bagit_txt(root: Path) -> list[CheckResult]:
    """RFC 8493 §2.1.1: exactly two lines, ``BagIt-Version: M.N`` and
    ``Tag-File-Character-Encoding: ENCODING``, one space after the colon, nothing else."""
    try:
        data = (root / "bagit.txt").read_bytes()
    except OSError as exc:
        return [_fail("package_structure", "bagit.txt", f"无法读取 bagit.txt：{exc}")]
    if data.startswith(b"\xef\xbb\xbf"):
        return [_fail("package_structure", "bagit.txt", "bagit.txt 以 BOM 开头（RFC 8493 不允许）")]
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return [_fail("package_structure", "bagit.txt", "bagit.txt 不是 UTF-8 文本")]
    lines = [ln for ln in lines if ln != ""]
    out = []
    seen = {}
    for n, line in enumerate(lines, 1):
        m = _BAGIT_LINE.match(line)
        if m is None:
            out.append(
                _fail(
                    "package_structure",
                    "bagit.txt",
                    f"bagit.txt 第 {n} 行格式不符（应为“名称: 值”，冒号前无空白、冒号后一个空格）",
                    found=line,
                    line=n,
                )
            )
        else:
            seen[m.group(1)] = m.group(2)
    if not out:
        if [ln.split(":", 1)[0] for ln in lines] != [
            "BagIt-Version",
            "Tag-File-Character-Encoding",
        ]:
            out.append(
                _fail(
                    "package_structure",
                    "bagit.txt",
                    "bagit.txt 应恰好包含 BagIt-Version 与 Tag-File-Character-Encoding"
                    " 两行（按此顺序）",
                    found=lines,
                )
            )
        elif not _VERSION.match(seen["BagIt-Version"]):
            out.append(
                _fail(
                    "package_structure", "bagit.txt", f"BagIt-Version“{seen['BagIt-Version']}”无效"
                )
            )
    return out


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.messages.append(record.getMessage())
        except Exception:  # noqa: BLE001 - a broken log record must not break reading
            self.messages.append(str(record.msg))


def _detail_result(detail: Any) -> CheckResult:
    path = str(getattr(detail, "path", "package"))
    if isinstance(detail, bagit.ChecksumMismatch):
        return _fail(
            "fixity",
            path,
            "数字摘要与清单（manifest）不符",
            algorithm=detail.algorithm,
            expected=detail.expected,
            found=detail.found,
        )
    if isinstance(detail, bagit.FileMissing):
        return _fail("content_completeness", path, "清单列出的文件在包中不存在")
    if isinstance(detail, bagit.UnexpectedFile):
        return _fail("package_completeness", path, "文件不在任何清单中（多余文件）")
    return _fail("package_structure", path, str(detail))


def read(root: Path, *, verify_payload: bool = True) -> Package:
    """Read and validate the bag in ``root``.

    With ``verify_payload`` (the default) every manifest digest is recomputed by the library, so
    the reader alone is a complete validator; the ingest pipeline passes False because its fixity
    stage hashes every file once and compares with ``Package.declared``.
    """
    pkg = Package(kind="bagit", root=root, content_prefix="data/")
    inv = walk(root)
    pkg.files = pkg.package_files = inv.files
    # RFC 8493 §2.2: every file outside the payload directory is a tag file (bagit.txt,
    # bag-info.txt, manifests, tag manifests, fetch.txt and any other tag file): package
    # metadata, never a "non-transfer file"
    pkg.metadata_files = [f.path for f in inv.files if not f.path.startswith("data/")]
    pkg.results.extend(link_results(inv.links))
    pkg.results.extend(_check_bagit_txt(root))
    logger = logging.getLogger("bagit")
    collect = _Collect()
    logger.addHandler(collect)
    previous_propagate = logger.propagate
    logger.propagate = False
    try:
        try:
            bag = bagit.Bag(str(root))
        except bagit.BagError as exc:
            pkg.results.append(
                _fail("package_structure", "package", f"BagIt 包无法读取：{_message(pkg, exc)}")
            )
            return pkg
        except (UnicodeError, LookupError, ValueError, OSError) as exc:
            pkg.results.append(
                _fail(
                    "package_structure", "package", f"BagIt 标签文件无法读取：{_message(pkg, exc)}"
                )
            )
            return pkg
        pkg.notes.append(
            f"按 BagIt {'.'.join(map(str, bag.version_info))} 读取（bagit {bagit.VERSION}）"
        )
        _validate(pkg, bag, verify_payload)
        if not verify_payload:
            pkg.notes.append("BagIt 清单中的摘要未由 bagit 库复算，由固化信息检测比对")
        _declared(pkg, bag)
        _register(pkg, bag)
    finally:
        logger.removeHandler(collect)
        logger.propagate = previous_propagate
    for message in dict.fromkeys(collect.messages):
        if _REPEATS.search(message):
            continue
        message = message.replace(str(root) + os.sep, "").replace(str(root), "").removeprefix(": ")
        pkg.report("package_structure", "warn", "package", {"reason": message, "tool": "bagit"})
    payload = root / "data"
    register = pkg.register
    if payload.is_dir() and (find_child(payload, *cn_layout.CATALOG_NAMES) is not None):
        pkg.notes.append("BagIt 载荷中含有中国移交目录结构，按其读取条目与登记表")
        cn_layout.read_into(pkg, inv, base="data/", require_register=False)
        if pkg.register is not register and pkg.register.source:
            pkg.register.fields = {
                **{f"bag-info:{k}": v for k, v in register.fields.items()},
                **pkg.register.fields,
            }
    elif payload.is_dir() and (described := item_xml.read_item_xmls(pkg, inv, "data/")):
        pkg.notes.append(
            f"BagIt 载荷中含 {described} 个 DA/T 46 描述文件（<文件实体>），按其读取条目"
        )
    else:
        pkg.notes.append(
            "BagIt 载荷中没有文件目录.XML 或 DA/T 46 描述文件，无著录条目："
            "接收时每个载荷文件生成一条“待著录”条目"
        )
    if pkg.register is register:  # the bag's own declaration is the register
        _register_counts(pkg)
    return pkg


def _register_counts(pkg: Package) -> None:
    """The register's counts from Payload-Oxum or, without it, from the payload manifest
    (RFC 8493 makes Payload-Oxum optional), reduced to what 2-1 compares: the content files,
    i.e. the payload less the package metadata carried in it."""
    sizes = {f.path: f.size for f in pkg.files}
    meta = [p for p in pkg.metadata_files if p.startswith("data/")]
    meta_bytes = sum(sizes.get(p, 0) for p in meta)
    oxum = re.fullmatch(
        r"(\d+)\.(\d+)", pkg.register.fields.get("Payload-Oxum", "").split(";")[0].strip()
    )
    if oxum:
        declared_bytes, declared_files = int(oxum.group(1)), int(oxum.group(2))
        pkg.notes.append("Payload-Oxum 的文件数作为登记数量、字节数作为登记数据量")
    else:
        listed = sorted({d.path for d in pkg.declared if d.path.startswith("data/")})
        if not listed:
            return
        declared_files = len(listed)
        declared_bytes = sum(sizes.get(p, 0) for p in listed)
        sources = sorted({d.source for d in pkg.declared if d.path.startswith("data/")})
        pkg.register.source = "、".join(sources)
        pkg.notes.append(
            "bag-info.txt 未声明 Payload-Oxum（RFC 8493 允许）：登记数量取自载荷清单"
            f"（{pkg.register.source}）所列文件数，登记数据量为这些文件的字节数"
        )
    pkg.register.byte_count = declared_bytes - meta_bytes
    pkg.register.item_count = None if pkg.items else declared_files - len(meta)


def _message(pkg: Package, exc: BaseException) -> str:
    text = str(getattr(exc, "message", "") or exc)
    text = text.replace(str(pkg.root) + os.sep, "").replace(str(pkg.root), "")
    return text.removeprefix(": ")


def _validate(pkg: Package, bag: Any, verify_payload: bool) -> None:
    """bagit's validation step by step (its ``validate`` stops at the first failing step, so a
    Payload-Oxum mismatch would hide the file that is missing or corrupt)."""
    steps: list[tuple[str, Any]] = [
        ("package_structure", bag._validate_structure),
        ("package_structure", bag._validate_bagittxt),
        ("package_structure", bag.validate_fetch),
        ("register_byte_count", bag._validate_oxum),
        ("package_completeness", bag._validate_completeness),
    ]
    if verify_payload:
        steps.append(("fixity", lambda: bag._validate_entries(1)))
    for n, (key, step) in enumerate(steps):
        try:
            step()
        except bagit.BagValidationError as exc:
            details = list(getattr(exc, "details", None) or [])
            if details:
                pkg.results.extend(_detail_result(d) for d in details)
            else:
                pkg.results.append(_fail(key, "package", f"BagIt 校验失败：{_message(pkg, exc)}"))
            if n == 0:
                return
        except bagit.BagError as exc:
            pkg.results.append(_fail(key, "package", f"BagIt 校验失败：{_message(pkg, exc)}"))
            if n == 0:
                return
        except (UnicodeError, ValueError, OSError) as exc:
            pkg.results.append(_fail(key, "package", f"BagIt 校验出错：{_message(pkg, exc)}"))
            if n == 0:
                return


def _declared(pkg: Package, bag: Any) -> None:
    sources: dict[str, str] = {}
    for name in os.listdir(pkg.root):
        m = re.fullmatch(r"(tag)?manifest-(\w+)\.txt", name)
        if m:
            sources.setdefault(("tag:" if m.group(1) else "") + m.group(2), name)
    for path, hashes in sorted(bag.entries.items()):
        rel = path.replace(os.sep, "/")
        tag = not rel.startswith("data/")
        for alg_name, value in hashes.items():
            alg = normalize_algorithm(alg_name) or alg_name.lower()
            source = sources.get(
                ("tag:" if tag else "") + alg_name, f"{'tag' if tag else ''}manifest-{alg_name}.txt"
            )
            pkg.declared.append(
                DeclaredDigest(path=rel, algorithm=alg, value=value.lower(), source=source)
            )


def _register(pkg: Package, bag: Any) -> None:
    fields: dict[str, str] = {}
    for key, value in bag.info.items():
        fields[str(key)] = "; ".join(value) if isinstance(value, list) else str(value)
    pkg.register.fields = fields
    pkg.register.source = "bag-info.txt"
    oxum = fields.get("Payload-Oxum", "").split(";")[0].strip()
    if oxum and not re.fullmatch(r"\d+\.\d+", oxum):
        pkg.results.append(
            _fail("register_byte_count", "bag-info.txt", f"Payload-Oxum“{oxum}”格式不正确")
        )
