"""Per-format validation of electronic files (DA/T 70 3-2 内容可用性, 3-4 加密/压缩).

:func:`validate` opens each file with a validator for its format: pikepdf/qpdf (PDF), Pillow
(raster images, TIFF), jpylyzer (JPEG 2000), lxml with a secure parser (XML), zip structure and
``OFD.xml`` (OFD), ffprobe (audio/video). Every outcome is a CheckResult naming the tool and its
version. Hostile input never raises: library errors become failed checks and subprocesses run
under a timeout. Identification (fido, libmagic) is in :mod:`lantai.formats.identify`.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any

from lantai.formats.identify import Identification, _pkg_version
from lantai.standards import safe_xml
from lantai.standards.dat70 import CheckResult

__all__ = ["validate", "validator_kind"]

# DA/T 70 catalogue checks (standards/data/dat70-2018.yaml) the outcomes are reported under
VALIDATION = "format_validation"  # 3-2 内容可用性: opens and validates
IDENTIFICATION = "format_identification"  # 3-2: identified and within the accepted formats
PACKAGE = "compression_encryption"  # 3-4 移交信息包可用性: 非公开压缩算法、加密
CHECK_OF_CODE = {"3-2": VALIDATION, "3-4": PACKAGE}
CONTENT_CODE, PACKAGE_CODE = "3-2", "3-4"

SUBPROCESS_TIMEOUT_S = 60.0
OFD_XML_MAX_BYTES = 16 * 1024 * 1024  # OFD.xml is a few KB; refuse to inflate a bomb
OFD_TESTZIP_MAX_BYTES = 512 * 1024 * 1024  # CRC-check every member only below this total size
TIFF_MAX_FRAMES = 10_000


PDF_MIMES = {"application/pdf", "application/x-pdf"}
JP2_MIMES = {"image/jp2", "image/x-jp2"}  # jpylyzer validates JP2 and raw codestreams only
J2C_MIMES = {"image/x-jp2-codestream", "image/j2c"}
JP2_PUIDS = {"x-fmt/392"}
XML_MIMES = {"text/xml", "application/xml"}
XML_PUIDS = {"fmt/101"}
AV_PUIDS = {"fmt/337"}  # Motion JPEG 2000: ffprobe reads it
TEXT_MIMES = {"text/plain", "text/csv"}


def validator_kind(path: Path, ident: Identification | None) -> str:
    """Which validator applies: pdf, jp2, j2c, image, xml, ofd, av, text, or "" (none)."""
    mime = ((ident.mime if ident else None) or "").lower()
    pmime = ((ident.pronom_mime if ident else None) or "").lower()
    puid = (ident.puid if ident else None) or ""
    ext = path.suffix.lower()
    if puid in AV_PUIDS:
        return "av"
    if mime in JP2_MIMES or puid in JP2_PUIDS:
        return "jp2"
    if mime in J2C_MIMES or (not puid and ext in {".j2c", ".j2k"}):
        return "j2c"
    if mime in PDF_MIMES or pmime == "application/pdf":
        return "pdf"
    if ext == ".ofd" or (mime in {"application/zip", "application/ofd"} and _zip_has_ofd(path)):
        return "ofd"
    if mime in {"image/jpx", "image/jpm"} or puid in {"fmt/151", "fmt/463"}:
        return ""  # JPX/JPM: identified, no validator here
    if mime.startswith("image/") or pmime.startswith("image/"):
        return "image"
    if mime in XML_MIMES or puid in XML_PUIDS or pmime in XML_MIMES:
        return "xml"
    if mime.startswith(("audio/", "video/")) or pmime.startswith(("audio/", "video/")):
        return "av"
    if mime in TEXT_MIMES:
        return "text"
    return ""


def _zip_has_ofd(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as zf:
            return "OFD.xml" in zf.namelist()
    except Exception:
        return False


def _result(
    status: str,
    obj: str,
    evidence: dict[str, Any],
    tool: str,
    tool_version: str,
    *,
    code: str = CONTENT_CODE,
    check: str | None = None,
) -> CheckResult:
    """The result of catalogue check `check` (default: the one of DA/T 70 content `code`)."""
    return CheckResult.from_spec(
        check or CHECK_OF_CODE[code], status, object=obj, evidence=evidence, tool=tool,
        tool_version=tool_version,
    )  # fmt: skip


def _err(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:2000]


def validate(
    path: Path, ident: Identification | None = None, object_name: str | None = None
) -> list[CheckResult]:
    """Check that the file opens as its format claims. Never raises on a bad file.

    ``object_name`` is how the file is named in the report (its path relative to the package root);
    it defaults to ``str(path)``.
    """
    obj = object_name if object_name is not None else str(path)
    fmt_ev: dict[str, Any] = {}
    if ident is not None:
        fmt_ev = {"puid": ident.puid, "format": ident.format_name, "mime": ident.mime,
                  "identified_by": " ".join(ident.agent()).strip()}  # fmt: skip
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [_result("fail", obj, {"reason": f"无法读取文件: {_err(exc)}"}, "lantai", "")]
    if size == 0:
        return [
            _result(
                "fail",
                obj,
                {"reason": "0 KB 文件视为无效", "expected": "非空文件", "found": "0 字节"},
                "lantai",
                "",
            )
        ]
    kind = validator_kind(path, ident)
    # zip containers (a .zip record, OFD, OOXML): encryption and compression from the central
    # directory, for 3-4; the other validators open the file themselves
    container = _zip_container(path, obj) if kind in ("", "ofd") and _is_zip(path) else []
    try:
        if kind == "pdf":
            results = _validate_pdf(path, obj)
        elif kind in ("jp2", "j2c"):
            results = _validate_jp2(path, obj, kind)
        elif kind == "image":
            results = _validate_image(path, obj, identified=bool(ident and ident.puid))
        elif kind == "xml":
            results = _validate_xml(path, obj)
        elif kind == "ofd":
            results = _validate_ofd(path, obj)
        elif kind == "av":
            results = _validate_av(path, obj)
        elif kind == "text":
            results = _validate_text(path, obj)
        elif ident is not None and ident.puid:
            results = [
                _result(
                    "na",
                    obj,
                    {"reason": "格式已识别，暂无该格式的验证工具，未做打开检查"},
                    *ident.agent(),
                )
            ]
        else:
            results = [
                _result(
                    "warn",
                    obj,
                    {
                        "reason": "未能识别文件格式",
                        "magic": ident.magic_description if ident else None,
                    },
                    *(ident.agent() if ident is not None else ("fido", _pkg_version("opf-fido"))),
                    check=IDENTIFICATION,
                )
            ]
    except Exception as exc:  # a validator bug or an exotic library error: a failed check
        results = [
            _result(
                "fail",
                obj,
                {"reason": f"验证工具出错: {_err(exc)}", "validator": kind},
                kind or "lantai",
                "",
            )
        ]
    results = [*container, *results]
    for r in results:
        for k, v in fmt_ev.items():
            r.evidence.setdefault(k, v)
    return results


# --- zip containers (3-4) ---------------------------------------------------------------------------

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
# the compression methods of the public zip specification every reader implements
PUBLIC_METHODS = {
    zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
    zipfile.ZIP_LZMA: "lzma", 9: "deflate64",  # APPNOTE 4.4.5; unpack reads it with inflate64
}  # fmt: skip
ENCRYPTED_FLAG = 0x1  # general purpose bit 0: the entry is encrypted (ZipCrypto or AES)
STRONG_ENCRYPTION_FLAG = 0x40  # bit 6: PKWARE strong encryption
AES_METHOD = 99  # WinZip AES: the real method is in the extra field


def _is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in ZIP_MAGICS
    except OSError:
        return False


def _zip_container(path: Path, obj: str) -> list[CheckResult]:
    """3-4 of a zip container, from its central directory only (no member is read): members
    flagged as encrypted, and members compressed with a method outside the public specification."""
    tv = f"zipfile (Python {'.'.join(map(str, sys.version_info[:3]))})"
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except Exception as exc:  # a broken zip: the format validation (or its absence) says so
        return [
            _result("fail", obj, {"reason": "zip 中央目录无法读取（文件损坏或截断），无法核对加密和压缩算法",
                                  "error": _err(exc)}, "zipfile", tv, code=PACKAGE_CODE)
        ]  # fmt: skip
    encrypted = [
        i.filename for i in infos
        if i.flag_bits & (ENCRYPTED_FLAG | STRONG_ENCRYPTION_FLAG) or i.compress_type == AES_METHOD
    ]  # fmt: skip
    private = sorted({
        str(i.compress_type) for i in infos
        if i.compress_type not in PUBLIC_METHODS and i.filename not in encrypted
    })  # fmt: skip
    ev: dict[str, Any] = {
        "members": len(infos),
        "compared": "zip 中央目录的加密标志与压缩算法 vs 公开、未加密",
    }
    if encrypted:
        ev.update(
            reason=f"压缩包已加密：{len(encrypted)} 个条目需要口令才能读取（"
            f"{'、'.join(encrypted[:5])}{'等' if len(encrypted) > 5 else ''}），内容无法检测和利用",
            encrypted=encrypted[:20],
        )
        return [_result("fail", obj, ev, "zipfile", tv, code=PACKAGE_CODE)]
    if private:
        ev.update(reason=f"压缩包使用非公开或不常用的压缩算法（方法号 {'、'.join(private)}）",
                  methods=private)  # fmt: skip
        return [_result("fail", obj, ev, "zipfile", tv, code=PACKAGE_CODE)]
    ev["found"] = "未加密，压缩算法公开"
    return [_result("pass", obj, ev, "zipfile", tv, code=PACKAGE_CODE)]


# --- PDF --------------------------------------------------------------------------------------------


def _pdf_version() -> str:
    import pikepdf

    return f"{pikepdf.__version__} (qpdf {pikepdf.__libqpdf_version__})"


def _validate_pdf(path: Path, obj: str) -> list[CheckResult]:
    import pikepdf

    tv = _pdf_version()
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError as exc:
        return [
            _result(
                "fail",
                obj,
                {"reason": "PDF 已加密（需要口令才能打开）", "error": _err(exc)},
                "pikepdf",
                tv,
                code=PACKAGE_CODE,
            ),
            _result(
                "fail",
                obj,
                {"reason": "PDF 已加密，无法打开浏览", "error": _err(exc)},
                "pikepdf",
                tv,
            ),
        ]
    except Exception as exc:
        return [
            _result(
                "fail", obj, {"reason": "PDF 文件损坏，无法打开", "error": _err(exc)}, "pikepdf", tv
            )
        ]
    with pdf:
        results: list[CheckResult] = []
        if pdf.is_encrypted:
            enc: dict[str, Any] = {"reason": "PDF 已加密（有权限口令）"}
            with contextlib.suppress(Exception):
                enc["encryption"] = {
                    "R": pdf.encryption.R,
                    "bits": pdf.encryption.bits,
                    "method": str(pdf.encryption.stream_method),
                }
            results.append(_result("fail", obj, enc, "pikepdf", tv, code=PACKAGE_CODE))
        else:
            results.append(
                _result("pass", obj, {"found": "未加密"}, "pikepdf", tv, code=PACKAGE_CODE)
            )
        problems: list[str] = []
        pages = -1
        try:
            pages = len(pdf.pages)
            problems = [str(p) for p in pdf.check_pdf_syntax()]
            problems += [str(w) for w in pdf.get_warnings() if str(w) not in problems]
        except Exception as exc:
            problems.append(_err(exc))
        # qpdf repairs a broken xref silently on open; check() reports what it had to repair
        ev: dict[str, Any] = {"pdf_version": pdf.pdf_version, "pages": pages}
        if problems:
            ev.update(reason="PDF 结构损坏", errors=problems[:20])
            results.append(_result("fail", obj, ev, "pikepdf", tv))
        elif pages < 1:
            ev.update(reason="PDF 没有页面")
            results.append(_result("fail", obj, ev, "pikepdf", tv))
        else:
            results.append(_result("pass", obj, ev, "pikepdf", tv))
        return results


# --- images -----------------------------------------------------------------------------------------


def _validate_image(path: Path, obj: str, identified: bool = True) -> list[CheckResult]:
    from PIL import Image, ImageFile, UnidentifiedImageError

    tv = _pkg_version("Pillow")
    ev: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. "Corrupt EXIF data": not our verdict
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                ev.update(format=im.format, size=list(im.size), mode=im.mode)
                im.verify()
            previous = ImageFile.LOAD_TRUNCATED_IMAGES
            ImageFile.LOAD_TRUNCATED_IMAGES = False
            try:
                with Image.open(path) as im:
                    frames = int(getattr(im, "n_frames", 1) or 1)
                    ev["frames"] = frames
                    for i in range(min(frames, TIFF_MAX_FRAMES)):
                        if i:
                            im.seek(i)
                        im.load()
                    comp = im.info.get("compression")
                    if comp:
                        ev["compression"] = str(comp)
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = previous
        except UnidentifiedImageError as exc:
            if identified:
                ev.update(reason="图像文件损坏，无法打开", error=_err(exc))
                return [_result("fail", obj, ev, "Pillow", tv)]
            # only libmagic guessed "image" and Pillow does not recognise it: an unknown format
            ev.update(reason="未能识别文件格式", error=_err(exc))
            return [_result("warn", obj, ev, "Pillow", tv)]
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            ev.update(reason="图像像素数超过解码上限，只检查了文件头", error=_err(exc))
            return [_result("warn", obj, ev, "Pillow", tv)]
        except Exception as exc:
            ev.update(reason="图像文件损坏或截断，无法完整解码", error=_err(exc))
            return [_result("fail", obj, ev, "Pillow", tv)]
    return [_result("pass", obj, ev, "Pillow", tv)]


def _validate_jp2(path: Path, obj: str, fmt: str) -> list[CheckResult]:
    from jpylyzer import jpylyzer

    tv = _pkg_version("jpylyzer")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root = jpylyzer.checkOneFile(str(path), fmt)
    except Exception as exc:
        return [
            _result(
                "fail", obj, {"reason": "JPEG 2000 无法解析", "error": _err(exc)}, "jpylyzer", tv
            )
        ]
    valid = (root.findtext("isValid") or "").strip()
    ev: dict[str, Any] = {"isValid": valid, "format": fmt}
    if valid == "True":
        return [_result("pass", obj, ev, "jpylyzer", tv)]
    failed = [
        e.tag for e in root.iter() if (e.text or "").strip() == "False" and e.tag != "isValid"
    ]
    ev.update(reason="JPEG 2000 结构不合规", failed_tests=failed[:30])
    return [_result("fail", obj, ev, "jpylyzer", tv)]


# --- XML / OFD --------------------------------------------------------------------------------------


def _lxml_version() -> str:
    from lxml import etree

    return ".".join(str(x) for x in etree.LXML_VERSION)


def _validate_xml(path: Path, obj: str) -> list[CheckResult]:
    from lxml import etree

    tv = _lxml_version()
    try:
        tree = etree.parse(str(path), safe_xml.parser())
    except etree.XMLSyntaxError as exc:
        ev: dict[str, Any] = {"reason": "XML 格式不正确（不是格式良好的 XML）", "error": _err(exc)}
        if exc.lineno:
            ev["line"] = exc.lineno
        declared = _declared_encoding(path)
        if declared:
            ev["declared_encoding"] = declared
            if "encoding" in ev["error"].lower():
                ev["reason"] = f"XML 内容与声明的编码 {declared} 不符"
        return [_result("fail", obj, ev, "lxml", tv)]
    except Exception as exc:
        return [_result("fail", obj, {"reason": "XML 无法解析", "error": _err(exc)}, "lxml", tv)]
    docinfo = tree.docinfo
    ev = {"encoding": docinfo.encoding, "root": etree.QName(tree.getroot()).localname}
    if docinfo.internalDTD is not None and any(True for _ in docinfo.internalDTD.iterentities()):
        ev.update(reason="XML 声明了实体（未展开）")
        return [_result("warn", obj, ev, "lxml", tv)]
    return [_result("pass", obj, ev, "lxml", tv)]


_XML_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _declared_encoding(path: Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    m = _XML_DECL_ENCODING.search(head)
    return m.group(1).decode("ascii") if m else None


def _validate_ofd(path: Path, obj: str) -> list[CheckResult]:
    from lxml import etree

    tv = f"zipfile + lxml {_lxml_version()}"
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            info = infos.get("OFD.xml")
            if info is None:
                return [
                    _result(
                        "fail",
                        obj,
                        {"reason": "OFD 包根目录缺少 OFD.xml", "expected": "OFD.xml"},
                        "ofd",
                        tv,
                    )
                ]
            if info.file_size > OFD_XML_MAX_BYTES:
                return [_result("fail", obj, {"reason": "OFD.xml 过大"}, "ofd", tv)]
            with zf.open(info) as fh:
                data = fh.read(OFD_XML_MAX_BYTES + 1)
            root = etree.fromstring(data, safe_xml.parser())
            doc_roots = [
                (e.text or "").strip()
                for e in root.iter()
                if isinstance(e.tag, str) and etree.QName(e).localname == "DocRoot"
            ]
            if not doc_roots:
                return [_result("fail", obj, {"reason": "OFD.xml 没有 DocRoot"}, "ofd", tv)]
            missing = [d for d in doc_roots if d.lstrip("/") not in infos]
            if missing:
                return [
                    _result(
                        "fail",
                        obj,
                        {"reason": "OFD.xml 指向的文档根不存在", "missing": missing},
                        "ofd",
                        tv,
                    )
                ]
            total = sum(i.file_size for i in infos.values())
            ev: dict[str, Any] = {"documents": len(doc_roots), "members": len(infos)}
            if total <= OFD_TESTZIP_MAX_BYTES:
                bad = zf.testzip()
                if bad is not None:
                    return [
                        _result(
                            "fail",
                            obj,
                            {"reason": "OFD 包内文件校验错误", "member": bad},
                            "ofd",
                            tv,
                        )
                    ]
                ev["crc_checked"] = True
            return [_result("pass", obj, ev, "ofd", tv)]
    except Exception as exc:
        return [_result("fail", obj, {"reason": "OFD 文件损坏", "error": _err(exc)}, "ofd", tv)]


def _validate_text(path: Path, obj: str) -> list[CheckResult]:
    raw = path.read_bytes()[: 4 * 1024 * 1024]
    for enc in ("utf-8", "gb18030"):
        try:
            raw.decode(enc)
        except UnicodeDecodeError as exc:
            # a multibyte sequence cut at the 4 MiB read limit is not an error
            if exc.start >= len(raw) - 4 and len(raw) == 4 * 1024 * 1024:
                return [_result("pass", obj, {"encoding": enc}, "lantai", "")]
            continue
        return [_result("pass", obj, {"encoding": enc}, "lantai", "")]
    return [_result("warn", obj, {"reason": "文本编码无法识别（非 UTF-8/GB18030）"}, "lantai", "")]


# --- audio / video ----------------------------------------------------------------------------------

_ffprobe_version: str | None = None


def _ffprobe_ver(exe: str) -> str:
    global _ffprobe_version
    if _ffprobe_version is None:
        try:
            out = subprocess.run(
                [exe, "-version"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
            first = out.splitlines()[0] if out else ""
            parts = first.split()
            _ffprobe_version = parts[2] if len(parts) > 2 else "unknown"
        except Exception:
            _ffprobe_version = "unknown"
    return _ffprobe_version


def _validate_av(path: Path, obj: str) -> list[CheckResult]:
    exe = shutil.which("ffprobe")
    if exe is None:
        return [
            _result(
                "na", obj, {"reason": "未安装 ffprobe（ffmpeg），未检查音视频文件"}, "ffprobe", ""
            )
        ]
    tv = _ffprobe_ver(exe)
    cmd = [
        exe,
        "-v",
        "error",
        "-show_entries",
        "format=format_name,duration:stream=codec_type,codec_name",
        "-of",
        "json",
        "--",
        str(path),
    ]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return [
            _result(
                "fail",
                obj,
                {"reason": f"ffprobe 超时（{SUBPROCESS_TIMEOUT_S:.0f} 秒）"},
                "ffprobe",
                tv,
            )
        ]
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        return [
            _result(
                "fail",
                obj,
                {"reason": "音视频文件无法解析", "error": stderr[:2000], "rc": proc.returncode},
                "ffprobe",
                tv,
            )
        ]
    try:
        info = json.loads(proc.stdout.decode("utf-8", "replace") or "{}")
    except ValueError:
        info = {}
    streams = [
        {"type": s.get("codec_type"), "codec": s.get("codec_name")} for s in info.get("streams", [])
    ]
    fmt = info.get("format", {})
    ev: dict[str, Any] = {
        "container": fmt.get("format_name"),
        "duration": fmt.get("duration"),
        "streams": streams,
    }
    if not streams:
        ev["reason"] = "未找到音视频流"
        return [_result("fail", obj, ev, "ffprobe", tv)]
    if stderr:
        ev.update(reason="ffprobe 报告错误", error=stderr[:2000])
        return [_result("warn", obj, ev, "ffprobe", tv)]
    return [_result("pass", obj, ev, "ffprobe", tv)]
