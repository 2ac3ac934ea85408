"""The message log's hash chain (platform/log.py): each kind of tampering is found with the right
problem, an anchored head catches a removed tail or a rebuilt chain, and two writers at once keep
one gapless chain (on SQLite and on PostgreSQL: run this file on both)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
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
def test_a_deleted_first_entry_is_missing() -> None:
    _fill()
    LogEntry.objects.filter(seq=1).delete()
    assert _problems() == {(1, "missing"), (2, "broken_link")}


@pytest.mark.django_db
def test_a_deleted_last_entry_is_found_only_behind_an_anchor() -> None:
    _fill()
    _anchor(5)
    LogEntry.objects.filter(seq=5).delete()
    assert log.verify().ok  # nothing in the chain itself shows a cut tail
    assert log.verify(["B02"]).ok  # another node's anchors are not ours
    assert _problems(["A01"]) == {(5, "missing")}


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


WRITERS = r"""
import sys, threading
import django
django.setup()
from django.db import connection
from lantai.platform import log
from lantai.platform.models import Anchor, LogEntry
with connection.schema_editor() as editor:
    editor.create_model(LogEntry)
    editor.create_model(Anchor)
threads, per_thread = int(sys.argv[1]), int(sys.argv[2])
errors, start = [], threading.Barrier(threads)
def write(t):
    try:
        start.wait()
        for i in range(per_thread):
            log.append("out", f"T{t}", "ping", f"{t:02d}{i:030x}", "{}")
    except BaseException as exc:
        errors.append(repr(exc))
    finally:
        connection.close()
workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
seqs = list(LogEntry.objects.order_by("seq").values_list("seq", flat=True))
print(errors, seqs == list(range(1, threads * per_thread + 1)), log.verify().ok)
"""


def _concurrent_appends(threads: int, per_thread: int) -> None:
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


@pytest.mark.django_db(transaction=True)
def test_two_writers_at_once_keep_one_gapless_chain(tmp_path: Path) -> None:
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        _concurrent_appends(2, 25)
        return
    # The SQLite test database is in memory, where writers meet shared-cache table locks the
    # service never sees: the service's own file database (WAL, IMMEDIATE) in a child process.
    env = {k: v for k, v in os.environ.items() if k != "LANTAI_DATABASE_URL"}
    env.update(LANTAI_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="lantai.settings",
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))  # fmt: skip
    done = subprocess.run([sys.executable, "-c", WRITERS, "3", "30"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["[]", "True", "True"], done.stdout


# ------------------------------------------------------------------- the hub's time-stamps


def _anchor_message(seq: int, hash_: str) -> dict[str, Any]:
    return {"from": "B02", "body": {"seq": seq, "hash": hash_}}


@pytest.mark.django_db
def test_the_hub_stamps_a_nodes_head_and_its_own() -> None:
    from lantai.core import signing
    from lantai.platform import anchors, peers

    _fill(2)
    answer = anchors.hub_anchor(_anchor_message(7, "a" * 64))
    hub_key = peers.own_key().public_key_hex
    stamp = pm.check_statement(answer["stamp"], {hub_key}, signing.verify)
    own = pm.check_statement(answer["hub_stamp"], {hub_key}, signing.verify)
    assert (stamp["node"], stamp["seq"], stamp["hash"]) == ("B02", 7, "a" * 64)
    assert (own["node"], own["seq"], own["hash"]) == ("hub", 2, log.head()["hash"])
    assert Anchor.objects.filter(node="B02", seq=7, entry_hash="a" * 64).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("seq", "hash_"), [(7, "b" * 64), (3, "c" * 64)])
def test_the_hub_refuses_a_head_that_contradicts_its_stamps(seq: int, hash_: str) -> None:
    from lantai.core.models import AuditEntry
    from lantai.platform import anchors, transport

    anchors.hub_anchor(_anchor_message(7, "a" * 64))
    with pytest.raises(transport.Refused) as caught:
        anchors.hub_anchor(_anchor_message(seq, hash_))
    assert (caught.value.code, caught.value.status) == ("anchor_conflict", 409)
    assert AuditEntry.objects.filter(action="platform_anchor_conflict", target_id="B02").exists()
    assert list(Anchor.objects.filter(node="B02").values_list("seq", "entry_hash")) == [
        (7, "a" * 64)
    ]
    anchors.hub_anchor(_anchor_message(7, "a" * 64))  # the same head again, and a longer one: fine
    anchors.hub_anchor(_anchor_message(9, "d" * 64))


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{"seq": "x", "hash": "a"}, {"seq": None}, {"seq": [1]}])
def test_a_malformed_head_is_400(body: dict[str, Any]) -> None:
    from lantai.platform import anchors, transport

    with pytest.raises(transport.Refused) as caught:
        anchors.hub_anchor({"from": "B02", "body": body})
    assert caught.value.status == 400
