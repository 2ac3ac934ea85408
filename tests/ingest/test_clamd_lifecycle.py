"""The clamd that Lantai starts for itself does not outlive its purpose (issue 13, point 9).

Real processes throughout: `lantai` commands run as subprocesses on a data directory of their own,
the real clamd with the test signatures (tests/clamd.py), the watchdog as its own process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lantai.ingest.clamd_watchdog import is_our_clamd

pytestmark = pytest.mark.clamd

LANTAI = [sys.executable, "-m", "lantai.cli"]


@pytest.fixture
def data(tmp_path: Path) -> Iterator[Path]:
    """A fresh, initialised data directory; whatever clamd it got is stopped afterwards."""
    path = tmp_path / "lantai-data"
    path.mkdir()
    subprocess.run([*LANTAI, "init"], env=_env(path), check=True, capture_output=True)
    yield path
    _kill_clamds_of(path)


def _env(data: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANTAI_DATABASE_URL", "LANTAI_HUEY_URL", "LANTAI_JOBS_IMMEDIATE")
    }
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="test-secret", **extra)
    return env


def lantai(data: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LANTAI, *args], env=_env(data, **extra), capture_output=True, text=True, timeout=300
    )


def status(data: Path) -> dict:
    done = lantai(data, "clamav", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def clamd_pids(data: Path) -> list[int]:
    """Every live clamd running with this data directory's configuration."""
    conf = data.resolve() / "clamav" / "clamd.conf"
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and is_our_clamd(int(p.name), conf)
    ]


def _kill_clamds_of(data: Path) -> None:
    for pid in clamd_pids(data):
        os.kill(pid, signal.SIGKILL)


def wait_until(check: Callable[[], bool], seconds: float = 90.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def test_a_cli_started_clamd_stops_after_its_idle_period(data: Path, signature_dir: Path) -> None:
    done = lantai(
        data, "clamav", "import-signatures", str(signature_dir), LANTAI_CLAMD_IDLE_SECONDS="15"
    )
    assert done.returncode == 0, done.stderr
    shown = status(data)
    assert shown["running"] and shown["started_by"] == "cli"
    assert shown["pid"] in clamd_pids(data) and shown["signatures"] >= 2
    assert shown["idle_since"] and shown["idle_limit_seconds"] == 15
    assert shown["socket"].endswith(".sock")
    # the next command within the idle period uses the same clamd: one per data directory
    source = data.parent / "pkg"
    source.mkdir()
    (source / "说明.txt").write_text("测试", encoding="utf-8")
    lantai(data, "transfer", "check", str(source), "--json", LANTAI_CLAMD_IDLE_SECONDS="15")
    assert clamd_pids(data) == [shown["pid"]]

    assert wait_until(lambda: not clamd_pids(data)), "clamd still running after its idle period"
    after = status(data)
    assert not after["running"] and after["pid"] is None
    text = lantai(data, "clamav", "status").stdout
    assert "未运行" in text


def test_a_clamd_whose_data_directory_is_gone_stops(data: Path, signature_dir: Path) -> None:
    assert lantai(data, "clamav", "import-signatures", str(signature_dir)).returncode == 0
    [pid] = clamd_pids(data)
    shutil.rmtree(data)
    assert wait_until(lambda: not is_our_clamd(pid, data / "clamav" / "clamd.conf"))


def test_the_worker_owns_its_clamd_and_stops_it_when_it_stops(
    data: Path, signature_dir: Path
) -> None:
    """A transfer check run by `lantai worker` starts clamd as the worker's; SIGTERM to the
    worker stops both. The same when the worker is killed outright (its watchdog stops clamd)."""
    assert lantai(data, "clamav", "import-signatures", str(signature_dir)).returncode == 0
    assert lantai(data, "fonds", "add", "Z109", "--name", "岭南省人民政府办公厅").returncode == 0
    for pid in clamd_pids(data):  # start from no clamd: the worker's check starts its own
        os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not clamd_pids(data))

    for stop in (signal.SIGTERM, signal.SIGKILL):
        _queue_a_check(data)
        worker = subprocess.Popen([*LANTAI, "worker"], env=_env(data))
        try:
            assert wait_until(lambda: status(data).get("started_by") == "worker", 120)
            shown = status(data)
            assert shown["owner_pid"] == worker.pid and shown["pid"] in clamd_pids(data)
            worker.send_signal(stop)
            worker.wait(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        assert wait_until(lambda: not clamd_pids(data)), f"clamd outlived the worker ({stop!r})"
        assert not status(data)["running"]


def test_the_worker_adopts_a_clamd_a_cli_command_started(data: Path, signature_dir: Path) -> None:
    """A clamd left running by a CLI command (`lantai demo`, an import) becomes the worker's when
    the worker starts: no longer stopped for idleness while the worker runs, stopped with it."""
    idle = 15  # long enough for the worker to start, short enough to pass while it runs
    done = lantai(
        data, "clamav", "import-signatures", str(signature_dir), LANTAI_CLAMD_IDLE_SECONDS=f"{idle}"
    )
    assert done.returncode == 0, done.stderr
    [pid] = clamd_pids(data)
    assert status(data)["started_by"] == "cli"

    worker = subprocess.Popen([*LANTAI, "worker"], env=_env(data))
    try:
        assert wait_until(lambda: status(data).get("started_by") == "worker", 60)
        # past the idle limit since clamd's last use, and a watchdog poll (2 s)
        used = (data / "clamav" / "last-used").stat().st_mtime
        time.sleep(max(0.0, used + idle + 4 - time.time()))
        shown = status(data)
        assert shown["running"] and shown["pid"] == pid and shown["owner_pid"] == worker.pid
        assert clamd_pids(data) == [pid]
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert wait_until(lambda: not clamd_pids(data)), "the adopted clamd outlived the worker"


def _queue_a_check(data: Path) -> None:
    from lantai.demo.transfer import make_transfer

    source = make_transfer(data.parent / f"pkg-{time.monotonic_ns()}", 2, kinds=("xml",))
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'lantai.settings'; "
        "django.setup(); from pathlib import Path; "
        "from lantai.ingest import services, tasks; "
        f"t = services.receive(Path({str(source)!r}), fonds=services.find_unit('Z109')); "
        "tasks.check_version(t.versions.get().pk)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=_env(data), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_a_refused_signature_import_is_one_json_error(data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "no-signatures"
    empty.mkdir()
    done = lantai(data, "clamav", "import-signatures", str(empty))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    answer = json.loads(done.stdout)
    assert answer["ok"] is False and "未导入病毒特征库" in answer["error"]
    assert not clamd_pids(data)


def test_the_next_command_reaps_a_clamd_whose_watchdog_and_data_dir_are_gone(
    data: Path, signature_dir: Path, tmp_path: Path
) -> None:
    assert lantai(data, "clamav", "import-signatures", str(signature_dir)).returncode == 0
    [pid] = clamd_pids(data)
    base = str(data.resolve() / "clamav")
    for p in Path("/proc").iterdir():  # its watchdog dies first, then the directory goes
        if p.name.isdigit():
            try:
                args = (p / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"lantai.ingest.clamd_watchdog" in args and os.fsencode(base) in args:
                os.kill(int(p.name), signal.SIGKILL)
    shutil.rmtree(data)
    time.sleep(6)  # longer than a watchdog's poll: were one alive, it would have acted by now
    assert is_our_clamd(pid, data / "clamav" / "clamd.conf")

    other = tmp_path / "other-data"
    other.mkdir()
    assert lantai(other, "clamav", "status", "--json").returncode == 0
    assert wait_until(lambda: not is_our_clamd(pid, data / "clamav" / "clamd.conf"), 30)


def test_a_clamd_started_again_at_once_is_watched_by_the_watchdog_already_running(
    tmp_path: Path,
) -> None:
    """A worker stops its clamd and, seconds later, a new one starts while the first clamd's
    watchdog is still running: the new clamd's starter sees a watchdog and starts none, so that
    watchdog must go on to watch the new clamd (before, it left: killed outright, the worker then
    left its clamd behind). Stand-in processes play clamd (a process whose arguments name the
    configuration file, as clamd's do) and its worker: the race is one of timing, which a real
    clamd's start (seconds) makes too slow to pin down in a test."""
    from lantai.ingest import clamd_watchdog as life

    base = tmp_path / "clamav"
    base.mkdir()
    conf = base / life.CONF_FILE
    conf.write_text("# stand-in\n")
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
    procs = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen([*sleeper, *args])
        procs.append(p)
        return p

    def owned_by(clamd: subprocess.Popen[bytes], worker: subprocess.Popen[bytes]) -> None:
        life.write_owner(base, life.Owner(clamd.pid, "worker", worker.pid, time.time(), 2))
        if not life.watchdog_running(base):  # as the starter does (Scanner._ensure_watchdog)
            procs.append(
                subprocess.Popen([sys.executable, "-m", "lantai.ingest.clamd_watchdog", str(base)])
            )

    try:
        first_worker, first = start(), start(str(conf))
        owned_by(first, first_worker)
        assert wait_until(lambda: life.watchdog_running(base), 10)
        first.terminate()  # the worker stops its clamd on exit...
        first.wait()
        life.remove_owner(base)
        worker, second = start(), start(str(conf))  # ...and the next one starts at once
        owned_by(second, worker)
        worker.kill()  # killed outright: only the watchdog can stop its clamd now
        worker.wait()
        assert wait_until(lambda: second.poll() is not None, 20), "the new clamd was left behind"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
