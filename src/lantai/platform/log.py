"""The message log: every message this installation sent or received, in an append-only hash
chain (standards/platform_messages.py), and its verification.

``verify`` recomputes every link: an entry whose fields were altered no longer matches its
hash, a removed entry leaves a gap in the sequence, an inserted one breaks the link of the entry
after it, and a chain rebuilt from the altered point on no longer matches the heads the hub has
time-stamped (``Anchor``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from lantai.standards import platform_messages as pm

from .models import Anchor, LogEntry

BATCH = 5000
LOCK_KEY = 0x1A47A1_17  # PostgreSQL advisory lock of the message log (held to the commit)


def _fields(e: LogEntry) -> dict[str, Any]:
    return {"seq": e.seq, "direction": e.direction, "peer": e.peer, "kind": e.kind,
            "message_id": e.message_id, "digest": e.digest,
            "logged_at": e.logged_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}  # fmt: skip


_COLUMNS = ("seq", "direction", "peer", "kind", "message_id", "envelope", "receipt", "digest",
            "prev_hash", "entry_hash", "logged_at")  # fmt: skip


def append(
    direction: str, peer: str, kind: str, message_id: str, envelope: str, receipt: str = ""
) -> LogEntry:
    """Log one message at the end of the chain (inside the caller's transaction, if any). Plain
    SQL: this runs for every message sent or received."""
    table = LogEntry._meta.db_table
    insert = f"INSERT INTO {table} ({', '.join(_COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"  # fmt: skip
    digest = pm.sm3_hex(envelope.encode() + b"\n" + receipt.encode())
    for _attempt in range(20):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if connection.vendor == "postgresql":  # writers queue here, not retry: one chain
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
                cursor.execute(f"SELECT seq, entry_hash FROM {table} ORDER BY seq DESC LIMIT 1")
                last = cursor.fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, pm.GENESIS)
                entry = LogEntry(
                    seq=seq, direction=direction, peer=peer, kind=kind, message_id=message_id,
                    envelope=envelope, receipt=receipt, digest=digest, prev_hash=prev,
                    logged_at=timezone.now(),
                )  # fmt: skip
                entry.entry_hash = pm.entry_hash(prev, _fields(entry))
                values = [getattr(entry, c) for c in _COLUMNS]
                values[-1] = connection.ops.adapt_datetimefield_value(entry.logged_at)
                cursor.execute(insert, values)
                return entry
        except IntegrityError:
            if LogEntry.objects.filter(direction=direction, peer=peer, message_id=message_id).exists():  # fmt: skip
                raise
            continue  # another writer took this sequence number: take the next
    raise RuntimeError("message log: could not append after 20 attempts")


def head() -> dict[str, Any]:
    last = LogEntry.objects.order_by("-seq").values("seq", "entry_hash").first()
    return {"seq": last["seq"], "hash": last["entry_hash"]} if last else {"seq": 0, "hash": pm.GENESIS}  # fmt: skip


@dataclass
class Verification:
    entries: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    head: dict[str, Any] = field(default_factory=dict)
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head,
                "anchors_checked": self.anchors_checked, "problems": self.problems[:100],
                "problem_count": len(self.problems)}  # fmt: skip


def verify(codes: list[str] | None = None, stamped: dict[int, str] | None = None) -> Verification:
    """Walk the whole chain; ``codes`` are the codes this installation speaks as (the heads the
    hub stamped for them, as kept here, are checked), ``stamped`` the heads the hub itself holds
    for this node (anchors.hub_stamps): a log rewritten together with its local anchors, or cut
    short after a stamped head, still fails against those."""
    result = Verification()
    prev, expected = pm.GENESIS, 1
    hashes_at: dict[int, str] = {}
    anchors: dict[int, str] = {}
    pairs = [(a.seq, a.entry_hash) for a in Anchor.objects.filter(node__in=codes or [])]
    for seq, entry_hash in [*pairs, *(stamped or {}).items()]:
        if anchors.get(seq, entry_hash) != entry_hash:
            result.problems.append({"seq": seq, "problem": "anchor_mismatch", "detail": "two stamps for one position differ"})  # fmt: skip
        anchors[seq] = entry_hash
    last_seq = 0
    while True:
        batch = list(LogEntry.objects.filter(seq__gt=last_seq).order_by("seq")[:BATCH])
        if not batch:
            break
        for e in batch:
            result.entries += 1
            if e.seq != expected:
                result.problems.append({"seq": expected, "problem": "missing", "detail": f"next entry is {e.seq}"})  # fmt: skip
            if e.prev_hash != prev:
                result.problems.append({"seq": e.seq, "problem": "broken_link", "detail": "prev_hash does not match the entry before"})  # fmt: skip
            if e.digest != pm.sm3_hex(e.envelope.encode() + b"\n" + e.receipt.encode()):
                result.problems.append({"seq": e.seq, "problem": "altered", "detail": "the message differs from its digest"})  # fmt: skip
            if e.entry_hash != pm.entry_hash(e.prev_hash, _fields(e)):
                result.problems.append({"seq": e.seq, "problem": "altered", "detail": "the entry differs from its hash"})  # fmt: skip
            if e.seq in anchors:
                hashes_at[e.seq] = e.entry_hash
            prev, expected, last_seq = e.entry_hash, e.seq + 1, e.seq
    for seq, anchored in sorted(anchors.items()):
        result.anchors_checked += 1
        if seq not in hashes_at:
            result.problems.append({"seq": seq, "problem": "missing", "detail": "the hub time-stamped a head at this position; the log no longer reaches it"})  # fmt: skip
        elif hashes_at[seq] != anchored:
            result.problems.append({"seq": seq, "problem": "anchor_mismatch", "detail": "the chain no longer has the head the hub time-stamped"})  # fmt: skip
    result.head = {"seq": last_seq, "hash": prev}
    return result


def now_iso(at: datetime | None = None) -> str:
    return (at or timezone.now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
