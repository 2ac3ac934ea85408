"""A transfer check resumes after a crash: only the unfinished files are done again, and the report
is the one a fresh run gives (lantai.ingest.memo)."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lantai.demo.transfer import make_transfer
from lantai.formats import checks as format_checks
from lantai.ingest import fixity, services, tasks, unpack
from lantai.ingest.memo import Memo
from lantai.ingest.models import CheckRecord, Transfer
from lantai.ingest.pipeline import TransferCheck, check_transfer
from lantai.ingest.virus import Scanner

ITEMS = 8  # one content file each
CRASH_AT = 4  # the format validation of this file kills the check
OWNER = "sm3-of-the-original"


@pytest.fixture
def scanner(clamd_scanner: tuple[Scanner, Any]) -> Scanner:
    return clamd_scanner[0]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return make_transfer(tmp_path / "pkg", ITEMS, kinds=("pdf", "jpg", "xml"))


def comparable(report: TransferCheck) -> dict[str, Any]:
    """The report as stored and printed (JSON), without the timings."""
    out: dict[str, Any] = json.loads(json.dumps(report.as_json()))
    del out["summary"]["stage_seconds"]
    return out


def fresh(package: Path, tmp_path: Path, scanner: Scanner) -> dict[str, Any]:
    work = tmp_path / "fresh-work"
    shutil.rmtree(work, ignore_errors=True)
    return comparable(check_transfer(package, work, scanner=scanner, processes=1))


def memo_entries(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[1:]]


class Counted:
    """Wraps the stage functions the resumed check calls and records what they were given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, scanner: Scanner) -> None:
        self.validated: list[str] = []
        self.hashed: list[str] = []
        self.scanned: list[str] = []
        self.unpacked = 0
        validate, hash_files, unpack_ = format_checks.validate, fixity.hash_files, unpack.unpack
        scan = scanner.scan

        def counting_validate(path: Path, ident: Any = None, object_name: Any = None) -> Any:
            self.validated.append(object_name)
            return validate(path, ident, object_name)

        def counting_hash(root: Path, paths: list[str], **kw: Any) -> Any:
            self.hashed += paths
            return hash_files(root, paths, **kw)

        def counting_unpack(*a: Any, **kw: Any) -> Any:
            self.unpacked += 1
            return unpack_(*a, **kw)

        def counting_scan(paths: Any, objects: Any = None, on_result: Any = None) -> Any:
            self.scanned += list(objects)
            return scan(paths, objects, on_result=on_result)

        monkeypatch.setattr(format_checks, "validate", counting_validate)
        monkeypatch.setattr(fixity, "hash_files", counting_hash)
        monkeypatch.setattr(unpack, "unpack", counting_unpack)
        monkeypatch.setattr(scanner, "scan", counting_scan)


def run_with_memo(package: Path, work: Path, scanner: Scanner, owner: str = OWNER) -> TransferCheck:
    with Memo(work / "memo.jsonl", owner) as memo:
        return check_transfer(package, work, scanner=scanner, processes=1, memo=memo)


def crash_in_child(package: Path, work: Path, scanner: Scanner, processes: int = 1) -> int:
    """Run the check with a memo in a forked child that dies (os._exit, no cleanup, as a killed
    worker would) in the middle of the formats stage; returns the child's exit code."""

    def child() -> None:
        # Fault injection, in the child only: the CRASH_AT-th format validation kills the process.
        validate, calls = format_checks.validate, [0]

        def crashing(path: Path, ident: Any = None, object_name: Any = None) -> Any:
            calls[0] += 1
            if calls[0] == CRASH_AT:
                os._exit(137)
            return validate(path, ident, object_name)

        format_checks.validate = crashing  # type: ignore[assignment]
        with Memo(work / "memo.jsonl", OWNER) as memo:
            check_transfer(package, work, scanner=scanner, processes=processes, memo=memo)
        os._exit(0)

    proc = multiprocessing.get_context("fork").Process(target=child)
    proc.start()
    proc.join(300)
    assert proc.exitcode is not None
    return proc.exitcode


@pytest.mark.clamd
@pytest.mark.parametrize("processes", [1, 2])
def test_a_check_killed_mid_way_resumes_with_only_the_remaining_files(
    package: Path,
    tmp_path: Path,
    scanner: Scanner,
    monkeypatch: pytest.MonkeyPatch,
    processes: int,
) -> None:
    work = tmp_path / "work"
    assert crash_in_child(package, work, scanner, processes) == 137
    before = memo_entries(work / "memo.jsonl")
    stages = [e["stage"].split("@")[0] for e in before]
    assert stages.count("unpack") == 1 and stages.count("formats") == CRASH_AT - 1
    virus_done = stages.count("virus")  # the scan runs beside the formats stage

    counted = Counted(monkeypatch, scanner)
    resumed = run_with_memo(package, work, scanner)
    content = [
        c.object for c in resumed.checks if c.content_code == "3-2" and c.object != "package"
    ]
    assert len(content) == ITEMS
    assert counted.unpacked == 0  # the unpacked tree is reused
    assert counted.hashed == []  # fixity finished before the crash
    assert counted.validated == content[CRASH_AT - 1 :]  # only the files not yet validated
    targets = stages.count("fixity")  # every package file is scanned
    assert len(counted.scanned) == targets - virus_done
    assert comparable(resumed) == fresh(package, tmp_path, scanner)


@pytest.mark.clamd
def test_a_memo_of_another_original_is_discarded(
    package: Path, tmp_path: Path, scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    run_with_memo(package, work, scanner, owner="sm3-of-another-original")
    counted = Counted(monkeypatch, scanner)
    report = run_with_memo(package, work, scanner)
    assert counted.unpacked == 1  # unpacked again
    assert len(counted.validated) == ITEMS and len(counted.hashed) > ITEMS
    assert comparable(report) == fresh(package, tmp_path, scanner)
    header = json.loads((work / "memo.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert header["original"] == OWNER


def test_a_memo_of_another_original_holds_nothing(tmp_path: Path) -> None:
    path, file = tmp_path / "memo.jsonl", tmp_path / "a.txt"
    file.write_text("a", encoding="utf-8")
    with Memo(path, "one") as memo:
        memo.put("fixity", "a.txt", file, {"sm3": "x"})
        memo.finish("unpack", {"root": "content"})
    with Memo(path, "one") as memo:
        assert memo.get("fixity", "a.txt", file) == {"sm3": "x"}
    with Memo(path, "two") as memo:
        assert memo.get("fixity", "a.txt", file) is None and memo.finished("unpack") is None
    with Memo(path, "one") as memo:  # the other original's memo replaced it
        assert memo.get("fixity", "a.txt", file) is None


def test_a_torn_last_line_is_ignored_and_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "memo.jsonl"
    files = []
    for name in "abc":
        files.append(tmp_path / name)
        files[-1].write_text(name, encoding="utf-8")
    with Memo(path, OWNER) as memo:
        memo.put("fixity", "a", files[0], {"sm3": "1"})
        memo.put("fixity", "b", files[1], {"sm3": "2"})
    with path.open("ab") as f:  # a kill in the middle of a write
        f.write(b'{"stage": "fixity", "path": "c", "size": 1, "mti')
    with Memo(path, OWNER) as memo:
        assert memo.get("fixity", "a", files[0]) == {"sm3": "1"}
        assert memo.get("fixity", "b", files[1]) == {"sm3": "2"}
        assert memo.get("fixity", "c", files[2]) is None
        memo.put("fixity", "c", files[2], {"sm3": "3"})
    with Memo(path, OWNER) as memo:  # the new line was not glued to the torn one
        assert [memo.get("fixity", n, f) for n, f in zip("abc", files, strict=True)] == [
            {"sm3": "1"},
            {"sm3": "2"},
            {"sm3": "3"},
        ]
    path.write_bytes(b'{"memo": 1, "orig')  # even the header torn: start over
    with Memo(path, OWNER) as memo:
        assert memo.get("fixity", "a", files[0]) is None
    assert path.read_text(encoding="utf-8").count("\n") == 1


def test_a_changed_file_is_done_again(tmp_path: Path) -> None:
    path, file = tmp_path / "memo.jsonl", tmp_path / "a.txt"
    file.write_text("abc", encoding="utf-8")
    with Memo(path, OWNER) as memo:
        memo.put("fixity", "a.txt", file, {"sm3": "x"})
        assert memo.get("fixity", "a.txt", file) == {"sm3": "x"}
        st = file.stat()
        os.utime(file, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # touched
        assert memo.get("fixity", "a.txt", file) is None
        memo.put("fixity", "a.txt", file, {"sm3": "y"})
        file.write_text("abcd", encoding="utf-8")  # another size
        os.utime(file, ns=(st.st_atime_ns, file.stat().st_mtime_ns))
        assert memo.get("fixity", "a.txt", file) is None


@pytest.mark.clamd
def test_a_touched_file_is_checked_again_in_a_resumed_check(
    package: Path, tmp_path: Path, scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    run_with_memo(package, work, scanner)
    touched = sorted((work / "content" / "电子档案").rglob("*.pdf"))[0]
    rel = touched.relative_to(work / "content").as_posix()
    st = touched.stat()
    os.utime(touched, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    counted = Counted(monkeypatch, scanner)
    report = run_with_memo(package, work, scanner)
    assert (counted.validated, counted.hashed, counted.scanned) == ([rel], [rel], [rel])
    assert comparable(report) == fresh(package, tmp_path, scanner)


RECORD_FIELDS = "property content_code item_code title status object evidence tool tool_version"


def stored(version: Any) -> list[tuple[Any, ...]]:
    records = CheckRecord.objects.filter(version=version).order_by("pk")
    return list(records.values_list(*RECORD_FIELDS.split()))


class Killed(BaseException):
    """Stops the check as a kill would: no stage catches it (they catch Exception)."""


@pytest.mark.clamd
@pytest.mark.django_db
def test_run_check_resumes_an_interrupted_check_and_stores_what_a_fresh_one_does(
    tmp_path: Path, scanner: Scanner, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = services.receive(
        make_transfer(tmp_path / "pkg", ITEMS, kinds=("pdf", "jpg", "xml")), "岭南省人民政府办公厅"
    )
    version = t.versions.get()
    validate, calls = format_checks.validate, [0]

    def interrupted(path: Path, ident: Any = None, object_name: Any = None) -> Any:
        calls[0] += 1
        if calls[0] == CRASH_AT:
            raise Killed
        return validate(path, ident, object_name)

    monkeypatch.setattr(format_checks, "validate", interrupted)
    with pytest.raises(Killed):
        services.run_check(version, scanner=scanner)
    assert Transfer.objects.get(pk=t.pk).status == "checking"
    monkeypatch.undo()

    counted = Counted(monkeypatch, scanner)
    resumed = services.run_check(version, scanner=scanner, resume=True)
    assert len(counted.validated) == ITEMS - (CRASH_AT - 1) and counted.unpacked == 0
    resumed_records = stored(version)
    assert len(resumed_records) == len(resumed.checks)

    again = services.run_check(version, scanner=scanner)  # a re-check starts clean
    assert counted.unpacked == 1 and len(counted.validated) == 2 * ITEMS - (CRASH_AT - 1)
    assert stored(version) == resumed_records
    assert comparable(again) == comparable(resumed)


@pytest.mark.django_db
def test_a_requeued_check_resumes(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    t = services.receive(make_transfer(tmp_path / "pkg", 1, kinds=("xml",)), "岭南省人民政府办公厅")
    old = timezone.now() - timedelta(seconds=tasks.STALE_SECONDS + 60)
    Transfer.objects.filter(pk=t.pk).update(status="checking", updated_at=old)
    calls: list[dict[str, Any]] = []
    real: Callable[..., Any] = services.run_check

    def spy(version: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(version, **kw)

    monkeypatch.setattr(services, "run_check", spy)
    assert tasks.requeue_stale(time.time()) == [t.versions.get().pk]
    assert [c.get("resume") for c in calls] == [True]
