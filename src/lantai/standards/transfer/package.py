"""A transfer package as the checks see it, whatever its layout (Chinese layout, EEP, BagIt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dat70 import CheckResult


@dataclass
class PackageFile:
    path: str  # POSIX path relative to the package root, as written in the package
    size: int
    sm3: str = ""
    sha256: str = ""


@dataclass
class DeclaredDigest:
    path: str  # relative to the package root
    algorithm: str  # sm3 | sha256 | sha1 | md5 | sha512
    value: str  # lower-case hex
    source: str  # where it was declared, e.g. "其他/移交登记表.XML", "manifest-sha256.txt"


@dataclass
class ItemMetadata:
    """One catalogue entry (件 or 卷内文件) of the package, with its files."""

    fields: dict[str, str]  # DA/T 46 element name in Chinese (档号, 题名, …) -> value
    files: list[str]  # package-relative paths of its electronic files
    source: str  # where it was read, e.g. "文件目录.XML 第3个<文件>"


@dataclass
class Register:
    """The 移交登记表 (or its equivalent): what the unit declares it transfers."""

    item_count: int | None = None
    byte_count: int | None = None
    fields: dict[str, str] = field(default_factory=dict)  # every other element, as written
    # the register may state 移交数据量 in GB with 3 decimals: the 2-1 check allows this much slack
    byte_count_tolerance: int = 0
    source: str = ""  # the file it was read from, e.g. "其他/移交登记表.XML", "bag-info.txt"


@dataclass
class Package:
    kind: str  # "cn-layout" | "eep" | "bagit"
    root: Path  # the unpacked package (never the original, which stays in quarantine)
    content_prefix: str = ""  # files under this prefix are content, e.g. "电子档案/" or "data/"
    files: list[PackageFile] = field(default_factory=list)
    items: list[ItemMetadata] = field(default_factory=list)
    declared: list[DeclaredDigest] = field(default_factory=list)
    register: Register = field(default_factory=Register)
    # assumptions the reader made, shown in the report
    notes: list[str] = field(default_factory=list)
    results: list[CheckResult] = field(default_factory=list)  # problems found while reading
    # where the files of `files` live when not under `root` (EEP: the directory the embedded
    # 编码数据 were decoded into); None means `root`
    content_root: Path | None = None
    # every regular file under `root` as received. For the Chinese layout and BagIt this is the
    # same list as `files`; for EEP, `files` are the decoded contents (under `content_root`) and
    # these are the EEP XML files themselves. DeclaredDigest paths always refer to these.
    package_files: list[PackageFile] = field(default_factory=list)
    description: str = ""  # 说明文件.TXT as text (kept, shown, not parsed strictly)
    # the metadata files read (relative to root)
    metadata_files: list[str] = field(default_factory=list)
    # attributes the metadata declares per content file, for the 1-3 check: path ->
    # {"计算机文件名": …, "计算机文件大小": …, "格式信息": …}
    declared_attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def path_of(self, rel: str) -> Path:
        """The file on disk of a `files` / `items[].files` path."""
        return (self.content_root or self.root) / rel

    def report(self, key: str, status: str, object: str, evidence: dict[str, Any]) -> None:
        """Record the outcome of the DA/T 70 check `key` found while reading."""
        self.results.append(CheckResult.from_spec(key, status, object=object, evidence=evidence))

    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]
