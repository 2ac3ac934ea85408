"""The package-level result of each check of the 移交与接收 stage: what it examined.

Every stage ends with one result per check it owns, about the package as a whole: ``pass`` with
the count of objects examined and what was compared, ``na`` with the reason when there was nothing
to examine, ``warn``/``fail`` with the number of objects that did not pass (their own results say
why). Nothing is reported as passed because a stage was silent (decision 0017).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lantai.standards.dat70 import PACKAGE, CheckResult
from lantai.standards.transfer.package import Package, PackageFile

__all__ = [
    "CheckPolicy",
    "summarize",
    "undeclared",
    "fixity",
    "reading",
    "formats",
    "encryption",
    "virus",
    "package",
]

SIGNATURE_CHECK = "signature"


@dataclass(frozen=True)
class CheckPolicy:
    """The archive's choices the check applies (settings.TRANSFER_NO_FIXITY, ACCEPTED_FORMATS)."""

    no_fixity: str = "fail"  # status of a package without fixity information: fail | warn
    formats: Any = None  # lantai.formats.policy.FormatPolicy, None: not checked
    formats_error: str = ""  # why the archive's policy file could not be used (3-2 then fails)

    @classmethod
    def from_settings(cls) -> CheckPolicy:
        """The settings' policy; the defaults where no Django settings are configured (a bare
        `check_transfer` in a script or benchmark)."""
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from lantai.formats.policy import PolicyError, load_policy

        try:
            no_fixity, own = settings.TRANSFER_NO_FIXITY, settings.ACCEPTED_FORMATS
        except (ImproperlyConfigured, AttributeError):
            no_fixity, own = "fail", ""
        try:
            return cls(no_fixity=no_fixity, formats=load_policy(own))
        except PolicyError as e:
            return cls(no_fixity=no_fixity, formats=None, formats_error=str(e))


def _statuses(key: str, checks: Iterable[CheckResult]) -> Counter[str]:
    """How the results of `key` came out; `checks` holds the tools' results, no summary of `key`."""
    return Counter(c.status for c in checks if c.check == key)


def summarize(
    key: str,
    checks: Iterable[CheckResult],
    *,
    checked: int,
    compared: str,
    none_reason: str,
    object: str = PACKAGE,
    reason: str = "",
    **extra: Any,
) -> CheckResult:
    """The package-level result of check `key` from its per-object results in `checks`;
    `reason`: what went wrong, in place of the count of objects that did not pass."""
    n = _statuses(key, checks)
    if n["fail"] or n["warn"]:
        status = "fail" if n["fail"] else "warn"
        return CheckResult.from_spec(key, status, object=object, evidence={
            "checked": checked, "compared": compared, "failed": n["fail"], "warned": n["warn"],
            "reason": reason or f"{n['fail'] + n['warn']} 个对象未通过（见逐项结果）", **extra,
        })  # fmt: skip
    if checked < 1:
        return CheckResult.from_spec(
            key, "na", object=object, evidence={"reason": none_reason, **extra}
        )
    return CheckResult.from_spec(
        key, "pass", object=object, evidence={"checked": checked, "compared": compared, **extra}
    )


# what 3-1 compares, by package kind: a bag's metadata is its tag files (text, not XML)
READABLE = {
    "cn-layout": "元数据文件能否解析（目录、登记表的 XML 格式良好、编码一致）",
    "eep": "元数据能否解析（EEP 的 XML 格式良好、编码一致，编码的内容能否解码）",
    "bagit": "标签文件能否解析（bagit.txt、bag-info.txt、清单文件的格式与 UTF-8 编码；"
    "包内 XML 描述文件格式良好）",
}


def reading(package: Package) -> list[CheckResult]:
    """1-5 structure and 3-1 metadata readability, from what the reader examined."""
    rule = {"cn-layout": "《电子档案移交与接收办法》目录结构", "eep": "DA/T 48-2009 EEP 结构",
            "bagit": "BagIt (RFC 8493) 结构"}.get(package.kind, package.kind)  # fmt: skip
    return [
        summarize("package_structure", package.results, checked=len(package.package_files),
                  compared=f"信息包组织结构 vs {rule}", none_reason="信息包中没有文件",
                  layout=package.kind),
        summarize("metadata_readable", package.results, checked=len(package.metadata_files),
                  compared=READABLE.get(package.kind, READABLE["cn-layout"]),
                  none_reason="包中没有元数据文件（目录、登记表）"),
    ]  # fmt: skip


def undeclared(
    package: Package, content: list[PackageFile], policy: CheckPolicy
) -> list[CheckResult]:
    """1-1 of each content file the package declares no digest of, where it declares digests for
    others (a register listing some files only): fail, or warn under the archive's policy. An EEP's
    signatures cover the whole package; a package without any digest is judged as a whole."""
    if package.kind == "eep" or not package.declared:
        return []
    declared = {d.path for d in package.declared}
    where = {"bagit": "BagIt 清单（manifest）"}.get(
        package.kind, package.register.source or "移交登记表"
    )
    return [
        CheckResult.from_spec(
            "fixity",
            policy.no_fixity,
            object=f.path,
            evidence={
                "reason": f"{where}声明了其他文件的数字摘要，未声明此文件的，其固化信息无法核对",
                "expected": "声明的数字摘要",
                "found": "未声明",
                "source": where,
                "policy": f"LANTAI_TRANSFER_NO_FIXITY={policy.no_fixity}",
            },
        )
        for f in content
        if f.path not in declared
    ]


def fixity(
    package: Package,
    digests: list[CheckResult],
    policy: CheckPolicy,
    undeclared: list[CheckResult] | None = None,
) -> CheckResult:
    """1-1 固化信息有效性: declared digests compared, and for an EEP its signatures verified. A
    package that declares no digest (an EEP: no valid signature) has nothing fixed to rely on:
    fail, or warn where the archive's policy says so (then accepting needs a written reason);
    so does each content file of `undeclared` (see :func:`undeclared`)."""
    signatures = [c for c in package.results if c.content_code == "1-1"]
    # the reader reports an EEP without a signature block as a signature result with
    # `signatures: 0` (or na): the archive's policy decides its status, as for missing digests
    absent = [c for c in signatures if c.status == "na" or c.evidence.get("signatures") == 0]
    for c in absent:
        c.status = policy.no_fixity
        c.evidence["policy"] = f"LANTAI_TRANSFER_NO_FIXITY={policy.no_fixity}"
    signatures = [c for c in signatures if c not in absent]
    compared = [c for c in digests if c.check == "fixity" and c.object != PACKAGE]
    undeclared = undeclared or []
    everything = [*signatures, *compared, *undeclared]
    bad = [c for c in everything if c.status in ("fail", "warn")]
    algorithms = sorted({str(c.evidence.get("algorithm")) for c in compared} - {"None"})
    sources = sorted({str(c.evidence.get("source")) for c in compared} - {"None"})
    evidence: dict[str, Any] = {
        "checked": len(everything),
        "compared": "声明的数字摘要 vs 实际计算值" + ("；电子签名 vs 签名内容" if signatures else ""),
        "digests": len(compared), "signatures": len(signatures), "undeclared": len(undeclared),
        "algorithms": algorithms, "sources": sources,
    }  # fmt: skip
    if bad:
        status = "fail" if any(c.status == "fail" for c in bad) else "warn"
        reason = f"{len(bad)} 项固化信息未通过（见逐项结果）"
        if undeclared:
            reason += f"，其中 {len(undeclared)} 个内容文件未声明数字摘要"
        return CheckResult.from_spec("fixity", status, evidence={**evidence, "reason": reason})
    missing = ""
    if package.kind == "eep" and not any(c.status == "pass" for c in signatures):
        missing = "EEP 中没有电子签名块（电子签名），固化信息无法核对"
    elif not compared and package.kind != "eep":
        missing = {
            "bagit": "BagIt 包的清单中没有任何数字摘要，固化信息无法核对",
        }.get(package.kind, "移交登记表（或目录元数据）未声明数字摘要，固化信息无法核对")
    if missing:
        return CheckResult.from_spec("fixity", policy.no_fixity, evidence={
            **evidence, "reason": missing, "policy": f"LANTAI_TRANSFER_NO_FIXITY={policy.no_fixity}",
        })  # fmt: skip
    return CheckResult.from_spec("fixity", "pass", evidence=evidence)


def formats(results: list[CheckResult], files: int, policy: CheckPolicy) -> list[CheckResult]:
    """3-2: identification against the accepted formats, and validation, over `files` files."""
    unvalidated = sum(1 for c in results if c.check == "format_validation" and c.status == "na")
    label = policy.formats.label if policy.formats is not None else "未配置"
    unusable: list[CheckResult] = []
    if policy.formats_error:
        reason = f"接收格式策略无法使用，格式未与策略核对：{policy.formats_error}"
        unusable.append(
            CheckResult.from_spec("format_identification", "fail", evidence={"reason": reason})
        )
    results = [*results, *unusable]
    return [
        *unusable,
        summarize("format_identification", results, checked=files,
                  compared=f"PRONOM 识别结果 vs 接收格式策略 {label}",
                  none_reason="包中没有非空的内容文件"),
        summarize("format_validation", results, checked=files - unvalidated,
                  compared="用格式验证工具打开并校验内容文件",
                  none_reason=f"{files} 个内容文件的格式均无验证工具，未做打开检查" if files
                  else "包中没有非空的内容文件", not_validated=unvalidated),
    ]  # fmt: skip


def encryption(checks: list[CheckResult], files: int) -> CheckResult:
    """3-4 非公开压缩、加密 over the `files` content files: what the format stage could examine
    (PDF encryption dictionaries, zip central directories) and the unpack's findings (encrypted
    or unsupported entries, file name encodings of the package container)."""
    key = "compression_encryption"
    examined = {c.object for c in checks if c.check == key and c.object != PACKAGE}
    return summarize(key, checks, checked=len(examined),
                     compared="PDF 加密字典、zip 容器（zip、OFD、OOXML 等）中央目录的加密标志与压缩算法"
                     "（其他格式无加密检测工具）",
                     none_reason=f"{files} 个内容文件中没有 PDF 或 zip 容器，无加密标志可核对"
                     if files else "包中没有非空的内容文件")  # fmt: skip


def virus(results: list[CheckResult], files: int) -> CheckResult:
    """4-1 over `files` files: infected and not scanned (an error, a limit) counted apart."""
    versions = sorted({c.tool_version for c in results if c.tool_version})
    bad = [c for c in results if c.status != "pass"]
    infected = sum(1 for c in bad if "发现病毒" in str(c.evidence.get("reason", "")))
    parts = [f"{infected} 个文件发现病毒"] if infected else []
    if len(bad) > infected:
        parts.append(f"{len(bad) - infected} 个文件未扫描或未完整扫描")
    out = summarize("virus_scan", results, checked=files,
                    compared="ClamAV 以已加载的病毒库扫描每个文件",
                    none_reason="包中没有文件", reason="；".join(parts) + "（见逐项结果）",
                    signatures=versions)  # fmt: skip
    out.tool, out.tool_version = "ClamAV", versions[0] if versions else ""
    return out


def package(
    package: Package, content: list[PackageFile], checks: list[CheckResult]
) -> list[CheckResult]:
    """1-3, 1-4, 2-3, 2-4, 4-2 at package level, from every result so far (fixity and unpack
    report missing and damaged files under 2-3 too)."""
    from lantai.ingest.package_checks import declared_sizes

    sizes = declared_sizes(package)
    references = sum(len(i.files) for i in package.items)
    return [
        summarize("content_attributes", checks, checked=len(sizes),
                  compared="元数据记录的计算机文件大小 vs 实际文件",
                  none_reason="元数据未记录文件大小等电子属性，无从比对"),
        summarize("storage_location", checks, checked=references,
                  compared="目录元数据记录的存储位置 vs 包中实际文件",
                  none_reason="包中没有目录元数据，无存储位置可核对"),
        summarize("content_completeness", checks, checked=len(content),
                  compared="内容文件存在、可读且非空", none_reason="包中没有内容文件"),
        summarize("package_completeness", checks, checked=len(content) if package.items else 0,
                  compared="内容文件 vs 目录元数据条目",
                  none_reason="包中没有目录元数据，无法逐一对应"),
        summarize("non_transfer_files", checks, checked=len(package.package_files),
                  compared="载体内文件 vs 移交信息包的组成（内容目录、说明、目录、登记文件）",
                  none_reason="信息包中没有文件"),
    ]  # fmt: skip
