"""The tamper-evident audit log.

Each entry's hash is SM3 over its own canonical content plus the previous entry's hash, so altering,
inserting or deleting any entry breaks the chain from that point on. `AuditHead` anchors the tail.
Appends take a row lock on the head (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from lantai.core.models import AuditEntry, AuditHead
from lantai.core.sm3 import sm3_hex

GENESIS = "0" * 64
_actor: contextvars.ContextVar[str] = contextvars.ContextVar("audit_actor", default="system")
# (path, method, client address) of the web request being served, for refusals found below the views
_request: contextvars.ContextVar[tuple[str, str, str] | None] = contextvars.ContextVar(
    "audit_request", default=None
)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute every audit entry written inside the block to `actor`."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> str:
    return _actor.get()


@contextmanager
def serving(path: str, method: str, ip: str) -> Iterator[None]:
    """Inside the block (one web request), `denied_here` names the request's path, method and
    client address."""
    token = _request.set((path, method, ip))
    try:
        yield
    finally:
        _request.reset(token)


def _digest(
    seq: int, at: str, actor: str, action: str, ttype: str, tid: str, detail: Any, prev: str
) -> str:
    body = json.dumps(
        [seq, at, actor, action, ttype, tid, detail, prev],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return sm3_hex(body.encode("utf-8"))


def record(
    action: str,
    target_type: str = "",
    target_id: object = "",
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEntry:
    """Append one entry. Runs inside the caller's transaction when there is one."""
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = AuditHead.objects.create(pk=1, seq=0, hash=GENESIS)
        seq = head.seq + 1
        at = timezone.now()
        who = actor or current_actor()
        tid = str(target_id)
        digest = _digest(seq, at.isoformat(), who, action, target_type, tid, detail, head.hash)
        entry = AuditEntry.objects.create(
            seq=seq,
            at=at,
            actor=who,
            action=action,
            target_type=target_type,
            target_id=tid,
            detail=detail,
            prev_hash=head.hash,
            hash=digest,
        )
        AuditHead.objects.filter(pk=1).update(seq=seq, hash=digest)
    return entry


PAGE_SIZE = 50


def is_system_actor(actor: str) -> bool:
    """True for work the system started by itself (periodic jobs), not a person or the console."""
    return actor == "system" or actor.startswith("system:")


def denied(path: str, method: str, reason: str, ip: str = "", actor: str | None = None) -> None:
    """Log a refused (403) attempt: who, which address, what they asked for and why it was refused."""
    record(
        "access_denied",
        "url",
        "",
        {"path": path[:500], "method": method, "reason": reason, "ip": ip},
        actor=actor,
    )


def denied_here(reason: str, actor: str, target_type: str, target_id: object) -> None:
    """Log a refused attempt found where the request is not at hand (the catalogue's lookups, the
    console): it names the object refused and, while serving a web request, the request's path,
    method and address as `denied` does."""
    where = _request.get()
    if where is None:
        detail = {"reason": reason, "via": "console"}
        record("access_denied", target_type, target_id, detail, actor=actor)
        return
    path, method, ip = where
    detail = {"path": path[:500], "method": method, "reason": reason, "ip": ip}
    record("access_denied", target_type, target_id, detail, actor=actor)


@dataclass(frozen=True)
class Filters:
    """What the audit log view and its CSV export narrow the log to (empty: everything)."""

    action: str = ""
    actor: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    def queryset(self) -> QuerySet[AuditEntry]:
        qs = AuditEntry.objects.all()
        if self.action:
            qs = qs.filter(action=self.action)
        if self.actor:
            qs = qs.filter(actor=self.actor)
        if self.target_type:
            qs = qs.filter(target_type=self.target_type)
            if self.target_id:
                qs = qs.filter(target_id=self.target_id)
        if self.since is not None:
            qs = qs.filter(at__gte=self.since)
        if self.until is not None:
            qs = qs.filter(at__lt=self.until)
        return qs


def page(
    filters: Filters = Filters(), *, before: int | None = None, size: int = PAGE_SIZE
) -> tuple[list[AuditEntry], int | None]:
    """One page of entries, newest first, keyset-paginated on seq: `before` is the seq of the last
    row of the previous page. Returns the rows and the `before` of the next page (None at the end).
    """
    qs = filters.queryset()
    if before is not None:
        qs = qs.filter(seq__lt=before)
    rows = list(qs.order_by("-seq")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return rows, (rows[-1].seq if more else None)


def entries(filters: Filters, batch: int = 2000) -> Iterator[AuditEntry]:
    """Every entry that `filters` selects, oldest first, streamed (for the CSV export)."""
    return filters.queryset().order_by("seq").iterator(batch)


def actions() -> list[str]:
    """Every action name that occurs in the log, sorted (for the filter list)."""
    return list(AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct())


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""
    head_hash: str = ""  # the hash of the last entry: copy it off the machine to anchor the chain


def verify(batch: int = 5000) -> VerifyResult:
    """Walk the chain in order and report the first entry that does not hold."""
    prev, expected_seq, checked = GENESIS, 1, 0
    last_seq = 0
    qs = AuditEntry.objects.order_by("seq").values_list(
        "seq", "at", "actor", "action", "target_type", "target_id", "detail", "prev_hash", "hash"
    )
    for seq, at, actor, action, ttype, tid, detail, prev_hash, digest in qs.iterator(batch):
        if seq != expected_seq:
            return VerifyResult(
                False, checked, expected_seq, f"第 {expected_seq} 条缺失（下一条为第 {seq} 条）"
            )
        if prev_hash != prev:
            return VerifyResult(False, checked, seq, f"第 {seq} 条的前一条哈希与链不符")
        if _digest(seq, at.isoformat(), actor, action, ttype, tid, detail, prev_hash) != digest:
            return VerifyResult(False, checked, seq, f"第 {seq} 条内容已被修改（SM3 不符）")
        prev, expected_seq, last_seq, checked = digest, seq + 1, seq, checked + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is None and checked:
        return VerifyResult(False, checked, last_seq, "链头记录缺失：日志末尾可能被截断")
    if head is not None and (head.seq != last_seq or head.hash != prev):
        return VerifyResult(
            False,
            checked,
            last_seq + 1,
            f"日志末尾缺失：链头记录为第 {head.seq} 条，实际只到第 {last_seq} 条",
        )
    return VerifyResult(True, checked, head_hash=prev if checked else "")
