"""`lantai serve` runs the job worker beside the web server and stops it when it stops
(issue 13, point 1). Real processes: serve on a free loopback port with a data directory of its
own; the worker is found among serve's processes and through its heartbeat."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lantai.ingest.clamd_watchdog import pid_alive

LANTAI = [sys.executable, "-m", "lantai.cli"]


def _env(data: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LANTAI_DATABASE_URL", "LANTAI_HUEY_URL", "LANTAI_JOBS_IMMEDIATE")
    }
    env.update(LANTAI_DATA_DIR=str(data), LANTAI_SECRET_KEY="test-secret")
    return env


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "lantai-data"
    path.mkdir()
    subprocess.run([*LANTAI, "init"], env=_env(path), check=True, capture_output=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def descendants(pid: int) -> dict[int, str]:
    """Live processes below `pid`: pid → command line."""
    parents: dict[int, int] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found and pid_alive(child):
                try:
                    cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                found[child] = cmd.decode("utf-8", "replace")
                todo.append(child)
    return found


def django(data: Path, code: str) -> str:
    """Run `code` in a process of its own on this data directory; its printed output."""
    script = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'lantai.settings'; "
        f"django.setup()\n{code}"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=_env(data), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def worker_seen(data: Path) -> bool:
    return (
        django(data, "from lantai.jobs import jobs_worker_seen; print(jobs_worker_seen())")
        == "True"
    )


def queue_a_check(data: Path) -> int:
    """Register a transfer and queue its check, as the upload page does; the version's id."""
    from lantai.demo.transfer import make_transfer

    source = make_transfer(data.parent / "pkg", 2, kinds=("xml",))
    code = (
        "from pathlib import Path\nfrom lantai.catalog import services as catalog\n"
        "from lantai.ingest import services, tasks\n"
        "fonds = catalog.create_fonds('Z109', '岭南省人民政府办公厅')\n"
        f"t = services.receive(Path({str(source)!r}), fonds=fonds)\n"
        "v = t.versions.get(); tasks.check_version(v.pk); print(v.pk)"
    )
    return int(django(data, code))


def checked(data: Path, version: int) -> bool:
    code = (
        "from lantai.ingest.models import TransferVersion\n"
        f"print(TransferVersion.objects.get(pk={version}).checked_at is not None)"
    )
    return django(data, code) == "True"


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as r:
            return r.status == 200
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


@pytest.fixture
def serve(data: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], int]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        proc = subprocess.Popen(
            [*LANTAI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", *args],
            env=_env(data),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        assert wait_until(lambda: answers(port) or proc.poll() is not None, 90)
        assert proc.poll() is None, "serve exited"
        return proc, port

    yield start
    for proc in started:  # never leave a server behind, whatever the test did
        for pid in descendants(proc.pid):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def workers_of(proc: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, cmd in descendants(proc.pid).items() if "lantai.cli worker" in cmd]


def test_serve_runs_the_worker_and_stops_it_when_it_stops(data: Path, serve: Callable) -> None:
    proc, port = serve()
    assert wait_until(lambda: len(workers_of(proc)) == 1), descendants(proc.pid)
    assert wait_until(lambda: worker_seen(data)), "the worker wrote no heartbeat"
    below = descendants(proc.pid)
    assert any("gunicorn" in cmd for cmd in below.values())
    # a transfer queued for its check is checked without any other command
    version = queue_a_check(data)
    assert wait_until(lambda: checked(data, version), 120), "the queued check never ran"

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=90) == 0
    assert wait_until(lambda: not any(pid_alive(pid) for pid in below)), "a process outlived serve"
    assert not answers(port)
    assert not worker_seen(data)  # a stopped worker takes its heartbeat with it


def test_serve_killed_outright_leaves_no_orphan(data: Path, serve: Callable) -> None:
    proc, _ = serve()
    assert wait_until(lambda: len(workers_of(proc)) == 1)
    below = descendants(proc.pid)
    proc.kill()
    proc.wait()
    assert wait_until(lambda: not any(pid_alive(pid) for pid in below)), "orphans after SIGKILL"


def test_a_worker_that_dies_is_started_again_and_the_web_stays_up(
    data: Path, serve: Callable
) -> None:
    proc, port = serve()
    assert wait_until(lambda: len(workers_of(proc)) == 1)
    [first] = workers_of(proc)
    os.kill(first, signal.SIGKILL)
    assert wait_until(lambda: workers_of(proc) not in ([], [first]), 60), "no new worker"
    assert answers(port) and proc.poll() is None


def test_immediate_jobs_need_no_worker(data: Path, tmp_path: Path) -> None:
    port = free_port()
    env = {**_env(data), "LANTAI_JOBS_IMMEDIATE": "1"}
    proc = subprocess.Popen(
        [*LANTAI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: answers(port), 90)
        time.sleep(2)  # a worker would have failed at once: huey refuses immediate mode
        assert workers_of(proc) == [] and answers(port)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    assert "LANTAI_JOBS_IMMEDIATE" in out.decode()


def test_no_worker_serves_the_web_alone(data: Path, serve: Callable) -> None:
    proc, _ = serve("--no-worker")
    time.sleep(3)  # time enough for a worker to have been started, were one started
    assert workers_of(proc) == [] and not worker_seen(data)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=90)


@pytest.mark.parametrize("command", [["serve", "--bind", "127.0.0.1:0"], ["worker"]])
def test_an_uninitialised_data_directory_is_refused_before_starting(
    tmp_path: Path, command: list[str]
) -> None:
    empty = tmp_path / "empty-data"
    empty.mkdir()
    done = subprocess.run(
        [*LANTAI, *command], env=_env(empty), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "lantai init" in done.stderr and "Traceback" not in done.stderr
