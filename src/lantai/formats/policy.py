"""The accepted-formats policy: which formats a transfer may carry and a store should keep.

The default is ``standards/data/accepted-formats.yaml``; an archive may keep its own file of the
same shape (LANTAI_ACCEPTED_FORMATS). A file whose PRONOM id is outside the policy is a DA/T 70
3-2 warning that names the id; formats PRONOM has no signature for (OFD) match by extension.
Plain Python: the caller passes the path of an archive's own file.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lantai.formats.identify import Identification
from lantai.standards._data import load_data
from lantai.standards.dat70 import CheckResult

__all__ = ["FormatPolicy", "PolicyError", "load_policy"]

DEFAULT_FILE = "accepted-formats.yaml"
CHECK = "format_identification"


class PolicyError(ValueError):
    """An archive's policy file that cannot be used; the message is for the operator (Chinese)."""


@dataclass(frozen=True)
class FormatPolicy:
    name: str
    revision: int
    source: str  # "accepted-formats.yaml" (bundled) or the archive's file
    puids: dict[str, str] = field(default_factory=dict)  # PRONOM id -> format name
    extensions: dict[str, str] = field(default_factory=dict)  # ".ofd" -> format name

    @property
    def label(self) -> str:
        return f"{self.name}（第 {self.revision} 版，{self.source}）"

    @property
    def fingerprint(self) -> str:
        """Changes whenever the policy's content does (keys a memo of per-file results)."""
        body = json.dumps([self.puids, self.extensions], sort_keys=True).encode()
        return hashlib.sha256(body).hexdigest()[:16]

    def accepts(self, rel: str, ident: Identification | None) -> str | None:
        """The policy's name of the format of `rel`, or None when it is outside the policy."""
        puid = ident.puid if ident is not None else None
        if puid and puid in self.puids:
            return self.puids[puid]
        return self.extensions.get(Path(rel).suffix.lower())

    def judge(self, rel: str, ident: Identification | None) -> CheckResult | None:
        """None for a file within the policy or not identified at all (the validator reports
        that); a 3-2 warning naming the PRONOM id for an identified format outside it."""
        if ident is None or not ident.puid or self.accepts(rel, ident) is not None:
            return None
        return CheckResult.from_spec(CHECK, "warn", object=rel, evidence={
            "puid": ident.puid, "format": ident.format_name, "mime": ident.mime,
            "policy": self.label,
            "reason": f"格式“{ident.format_name or ident.puid}”（PRONOM {ident.puid}）不在接收格式策略中",
        }, tool=ident.agent()[0], tool_version=ident.agent()[1])  # fmt: skip


def _parse(data: Any, source: str) -> FormatPolicy:
    if not isinstance(data, dict) or not isinstance(data.get("formats"), list):
        raise PolicyError(f"接收格式策略文件“{source}”须含 formats 列表")
    puids: dict[str, str] = {}
    extensions: dict[str, str] = {}
    for n, row in enumerate(data["formats"], 1):
        if not isinstance(row, dict) or not str(row.get("name", "")).strip():
            raise PolicyError(f"接收格式策略文件“{source}”第 {n} 个格式缺少 name")
        name = str(row["name"]).strip()
        for puid in row.get("puids") or []:
            puids[str(puid).strip()] = name
        for ext in row.get("extensions") or []:
            ext = str(ext).strip().lower()
            extensions[ext if ext.startswith(".") else f".{ext}"] = name
        if not row.get("puids") and not row.get("extensions"):
            raise PolicyError(f"接收格式策略文件“{source}”中“{name}”既无 puids 也无 extensions")
    try:
        revision = int(data.get("revision", 1))
    except (TypeError, ValueError):
        raise PolicyError(f"接收格式策略文件“{source}”的 revision 须为整数") from None
    return FormatPolicy(
        name=str(data.get("name") or source), revision=revision, source=source,
        puids=puids, extensions=extensions,
    )  # fmt: skip


@functools.cache
def _load(path: str, _mtime_ns: int) -> FormatPolicy:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise PolicyError(f"无法读取接收格式策略文件“{path}”：{e}") from e
    return _parse(data, path)


def load_policy(path: str | Path | None = None) -> FormatPolicy:
    """The archive's policy at `path`, or the bundled default when `path` is empty."""
    if not path:
        return _bundled()
    try:
        mtime = Path(path).stat().st_mtime_ns
    except OSError as e:
        raise PolicyError(f"接收格式策略文件“{path}”不存在或无法读取：{e}") from e
    return _load(str(path), mtime)


@functools.cache
def _bundled() -> FormatPolicy:
    return _parse(load_data(DEFAULT_FILE), DEFAULT_FILE)
