"""What Lantai can honestly say about how a registered transfer came in (DA/T 70 4-3) and whether
the files it is about to accept are still the ones it checked.

- 4-3 移交过程安全性: the transfer was registered through the receiving service, which put the
  original into quarantine and wrote a receipt entry (who, when, the original's SM3) in the
  tamper-evident audit log; the check compares that entry with the version's record and confirms
  the quarantined original is in place. The original's bytes are re-hashed when accepting.
- Accepting re-verifies, in one streamed pass, the quarantined original against its recorded SM3
  and every working file against the SM3 the check computed (``working-sm3.json``, whose own SM3
  is kept in the database).
"""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from lantai.core.models import AuditEntry
from lantai.core.sm3 import sm3_hex, sm3_stream
from lantai.ingest.models import TransferVersion
from lantai.standards.dat70 import CheckResult

__all__ = ["MANIFEST", "original_sm3", "transfer_process", "verify", "write_working_manifest"]

MANIFEST = "working-sm3.json"
CHANNEL = "登记接收（原始包存入隔离区，接收记录写入防篡改审计日志）"


def original_sm3(path: Path) -> str:
    """The SM3 of a quarantined original: of the file, or of a folder's sorted (path, SM3) lines."""
    if not path.is_dir():
        with path.open("rb") as f:
            return sm3_stream(f)
    lines = []
    for p in sorted(path.rglob("*")):
        if p.is_file() and not p.is_symlink():
            with p.open("rb") as f:
                lines.append(f"{p.relative_to(path).as_posix()}\t{sm3_stream(f)}")
    return sm3_hex("\n".join(lines).encode())


def transfer_process(version: TransferVersion) -> CheckResult:
    """4-3 for a registered transfer: the receipt in the audit log against the version's record."""
    entry = (
        AuditEntry.objects.filter(
            action="transfer_receive", target_type="transfer", target_id=str(version.transfer_id)
        )
        .filter(detail__version=version.number)
        .order_by("seq")
        .first()
    )
    original = Path(settings.DATA_DIR, version.original)
    if entry is None:
        return CheckResult.from_spec("transfer_process", "fail", evidence={
            "reason": f"审计日志中没有第 {version.number} 版的接收记录，移交过程无法确认",
        })  # fmt: skip
    evidence = {
        "checked": 1,
        "compared": "审计日志接收记录的原始包 SM3 vs 本版登记的 SM3；隔离区原始包在位",
        "channel": CHANNEL,
        "received_by": entry.actor,
        "received_at": entry.at.isoformat(),
        "audit_seq": entry.seq,
        "original_sm3": version.original_sm3,
    }
    if entry.detail.get("sm3") != version.original_sm3:
        return CheckResult.from_spec("transfer_process", "fail", evidence={
            **evidence, "expected": entry.detail.get("sm3"), "found": version.original_sm3,
            "reason": "本版登记的原始包 SM3 与审计日志接收记录不一致",
        })  # fmt: skip
    if not original.exists():
        return CheckResult.from_spec("transfer_process", "fail", evidence={
            **evidence, "reason": f"隔离区中没有原始包“{version.original}”",
        })  # fmt: skip
    same = _same_original(version)
    if same:
        listed = "、".join(f"移交 {pk}（{status}）" for pk, status in same)
        return CheckResult.from_spec("transfer_process", "warn", evidence={
            **evidence, "same_original": [pk for pk, _ in same],
            "reason": f"同一原始包（SM3 相同）已作为{listed}登记：可能是重复移交，接收前请核实",
        })  # fmt: skip
    return CheckResult.from_spec("transfer_process", "pass", evidence=evidence)


def _same_original(version: TransferVersion) -> list[tuple[int, str]]:
    """Other transfers registered with a byte-identical original (transfer id, status shown)."""
    if not version.original_sm3:
        return []
    others = (
        TransferVersion.objects.filter(original_sm3=version.original_sm3)
        .exclude(transfer_id=version.transfer_id)
        .select_related("transfer")
        .order_by("transfer_id")
    )
    seen: dict[int, str] = {}
    for v in others[:20]:
        seen.setdefault(v.transfer_id, str(v.transfer.get_status_display()))
    return list(seen.items())


def write_working_manifest(work: Path, working: dict[str, str]) -> str:
    """Write the working files' SM3 next to them; returns the manifest's own SM3 (kept in the DB)."""
    data = json.dumps(dict(sorted(working.items())), ensure_ascii=False).encode()
    (work / MANIFEST).write_bytes(data)
    return sm3_hex(data)


def verify(version: TransferVersion, work: Path) -> list[str]:
    """Everything that differs from what was checked, in Chinese; empty when all is as checked.
    One streamed pass over the quarantined original and every working file."""
    problems: list[str] = []
    original = Path(settings.DATA_DIR, version.original)
    try:
        found = original_sm3(original)
    except OSError as e:
        problems.append(f"隔离区原始包“{version.original}”无法读取：{e}")
    else:
        if found != version.original_sm3:
            problems.append(
                f"隔离区原始包“{version.original}”的 SM3 与接收时登记的不一致"
                f"（登记 {version.original_sm3}，现为 {found}）"
            )
    manifest = work / MANIFEST
    try:
        data = manifest.read_bytes()
    except OSError:
        return [*problems, "检测时计算的工作副本摘要清单不存在，请重新检测后再接收"]
    if not version.working_sm3 or sm3_hex(data) != version.working_sm3:
        return [*problems, "工作副本摘要清单与检测记录不一致（清单被改动），请重新检测后再接收"]
    for rel, expected in json.loads(data).items():
        try:
            with (work / rel).open("rb") as f:
                actual = sm3_stream(f)
        except OSError as e:
            problems.append(f"工作副本“{rel}”无法读取：{e.strerror or e}")
            continue
        if actual != expected:
            problems.append(f"工作副本“{rel}”在检测后被改动（SM3 与检测时计算的不一致）")
    return problems
