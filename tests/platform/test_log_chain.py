"""The message log's hash chain (platform/log.py): each kind of tampering is found with the right
problem, an anchored head catches a removed tail or a rebuilt chain, and two writers at once keep
one gapless chain (on SQLite and on PostgreSQL: run this file on both)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from lantai.platform import log
from lantai.platform.models import Anchor, LogEntry
from lantai.standards import platform_messages as pm


def _fill(n: int = 5) -> list[LogEntry]:
    return [log.append("in" if i % 2 else "out", "B02", "ping", f"{i:032x}", f'{{"n":{i}}}', "r" * i) for i in range(1, n + 1)]  # fmt: skip


def _problems(codes: list[str] | None = None) -> set[tuple[int, str]]:
    return {(p["seq"], p["problem"]) for p in log.verify(codes).problems}


def _anchor(seq: int, node: str = "A01") -> None:
    e = LogEntry.objects.get(seq=seq)
    Anchor.objects.create(node=node, seq=seq, entry_hash=e.entry_hash, stamped_at=timezone.now(), stamp="{}")  # fmt: skip


@pytest.mark.django_db
def test_appended_entries_chain_and_verify() -> None:
    entries = _fill()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == pm.GENESIS
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
    result = log.verify()
    assert result.ok and result.entries == 5
    assert result.head == {"seq": 5, "hash": entries[-1].entry_hash} == log.head()


@pytest.mark.django_db
def test_an_empty_log_verifies() -> None:
    assert log.verify().ok and log.head() == {"seq": 0, "hash": pm.GENESIS}


@pytest.mark.django_db
def test_the_same_message_is_logged_once() -> None:
    from django.db import IntegrityError

    log.append("in", "B02", "ping", "a" * 32, "{}")
    with pytest.raises(IntegrityError):
        log.append("in", "B02", "ping", "a" * 32, "{}")
    assert LogEntry.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"envelope": '{"n":99}'}, "altered"),
        ({"receipt": "forged"}, "altered"),
        ({"kind": "request"}, "altered"),
        ({"peer": "C03"}, "altered"),
        ({"direction": "out"}, "altered"),
        ({"message_id": "f" * 32}, "altered"),
    ],
)
def test_an_altered_entry_is_found(change: dict[str, Any], problem: str) -> None:
    _fill()
    LogEntry.objects.filter(seq=3).update(**change)
    assert (3, problem) in _problems()
    assert {seq for seq, _p in _problems()} == {3}


@pytest.mark.django_db
def test_an_altered_entry_with_its_digest_recomputed_is_still_found() -> None:
    _fill()
    envelope = '{"n":99}'
    LogEntry.objects.filter(seq=3).update(envelope=envelope, digest=pm.sm3_hex(envelope.encode() + b"\n" + b"rrr"))  # fmt: skip
    assert _problems() == {(3, "altered")}


@pytest.mark.django_db
def test_a_deleted_middle_entry_is_missing_and_breaks_the_link() -> None:
    _fill()
    LogEntry.objects.filter(seq=3).delete()
    assert _problems() == {(3, "missing"), (4, "broken_link")}


@pytest.mark.django_db
def test_a_deleted_last_entry_is_found_only_behind_an_anchor() -> None:
    _fill()
    _anchor(5)
    LogEntry.objects.filter(seq=5).delete()
    assert log.verify().ok  # nothing in the chain itself shows a cut tail
    assert log.verify(["B02"]).ok  # another node's anchors are not ours
    assert _problems(["A01"]) == {(5, "anchor_mismatch")}


@pytest.mark.django_db
def test_an_inserted_entry_breaks_the_chain() -> None:
    _fill()
    # make room at 3 (shift 3..5 up by one, from the top), then put a forged entry there
    for seq in (5, 4, 3):
        LogEntry.objects.filter(seq=seq).update(seq=seq + 1)
    prev = LogEntry.objects.get(seq=2)
    forged = LogEntry(seq=3, direction="in", peer="B02", kind="ping", message_id="e" * 32,
                      envelope="{}", receipt="", digest=pm.sm3_hex(b"{}\n"), prev_hash=prev.entry_hash,
                      logged_at=timezone.now())  # fmt: skip
    forged.entry_hash = pm.entry_hash(forged.prev_hash, log._fields(forged))
    forged.save()
    problems = _problems()
    assert (4, "broken_link") in problems  # the entry after the forged one no longer links
    assert {(4, "altered"), (5, "altered"), (6, "altered")} <= problems  # their seq changed


@pytest.mark.django_db
def test_swapped_sequence_numbers_are_found() -> None:
    _fill()
    LogEntry.objects.filter(seq=2).update(seq=-2)
    LogEntry.objects.filter(seq=3).update(seq=2)
    LogEntry.objects.filter(seq=-2).update(seq=3)
    problems = _problems()
    assert {(2, "altered"), (3, "altered")} <= problems
    assert {(2, "broken_link"), (3, "broken_link"), (4, "broken_link")} <= problems


@pytest.mark.django_db
def test_a_rebuilt_chain_is_found_by_the_anchor() -> None:
    """Rewriting entry 2 and recomputing every hash after it gives a chain that verifies by
    itself; only the head the hub stamped shows it."""
    _fill()
    _anchor(4)
    prev = LogEntry.objects.get(seq=1).entry_hash
    for e in LogEntry.objects.filter(seq__gte=2).order_by("seq"):
        if e.seq == 2:
            e.envelope = '{"n":"rewritten"}'
            e.digest = pm.sm3_hex(e.envelope.encode() + b"\n" + e.receipt.encode())
        e.prev_hash = prev
        e.entry_hash = pm.entry_hash(prev, log._fields(e))
        e.save()
        prev = e.entry_hash
    assert log.verify().ok
    assert _problems(["A01"]) == {(4, "anchor_mismatch")}


@pytest.mark.django_db
def test_two_different_stamps_for_one_position_are_found() -> None:
    _fill()
    _anchor(3)
    Anchor.objects.create(node="hub", seq=3, entry_hash="0" * 64, stamped_at=timezone.now(), stamp="{}")  # fmt: skip
    assert (3, "anchor_mismatch") in _problems(["A01", "hub"])


@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_keep_one_gapless_chain() -> None:
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the SQLite test database is in memory with shared-cache table locks; the "
                    "service's file database serialises writers (IMMEDIATE): PostgreSQL run")  # fmt: skip
    per_thread, threads = 25, 2
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def write(t: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                log.append("out", f"T{t}", "ping", f"{t:02d}{i:030x}", f'{{"t":{t},"i":{i}}}')
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, errors
    seqs = list(LogEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, per_thread * threads + 1))
    result = log.verify()
    assert result.ok, result.problems[:5]
