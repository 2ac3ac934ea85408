"""Lantai as it runs on several machines (issue 13, point 8): PostgreSQL, huey on Redis, an S3
location on s3rver, two web machines (`lantai serve --no-worker`) and two worker machines
(`lantai worker`), all real processes.

Each "machine" is a process in a mount namespace of its own (`unshare --mount`, or with
`--user --map-root-user` when not root): every one sees a data directory at the same path
(MOUNT_POINT), as the operator guide asks, but each its own private directory there, with only
the paths the guide says must be shared (SHARED) bind-mounted from one shared folder. A file that
one machine writes and another reads outside SHARED is not there for the other, as on real
machines: the tests then fail.

Services: PostgreSQL on 127.0.0.1:5432 (database DATABASE, dropped and created here), Redis on
127.0.0.1:6379 (the queue on database 13, the state store on 14, both flushed at start and end),
s3rver (tests/preservation/conftest.py). Without them the tests are skipped locally and fail
under CI=true. These names are fixed: a second run while one is going fails at once
(claim_run, a PostgreSQL advisory lock held for the whole run) instead of flushing the first's.

Each worker machine imports a one-line test signature (the demo's EICAR one) with `lantai clamav
import-signatures`, as the operator guide asks of every worker machine, so transfer checks pass
and can be accepted.

Test-only knobs the processes get: LANTAI_JOBS_HEARTBEAT_SECONDS=1 (a killed worker's jobs are
taken over after 4 s instead of a minute), LANTAI_SEARCH_CATCH_UP_MINUTES=1 (a periodic job due
every minute) and LANTAI_TEST_JOB_HOLD (lantai.job_leases: a transfer check waits as its
"formats" stage starts, its package unpacked, read and hashed, while HOLD_FILE exists, so that a
test can kill its worker mid-job).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.preservation.conftest import S3Server, free_port, s3rver  # noqa: F401 (fixture)

DATABASE = "lantai_test_scaleout"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
HUEY_URL = "redis://127.0.0.1:6379/13"
STATE_URL = "redis://127.0.0.1:6379/14"
# What every machine must see (docs/operator-guide.md, "The worker and scale-out").
SHARED = ("ingest", "uploads", "files", "preservation", "delivery", "inbox")
# What a machine may keep for itself (caches, its own clamd, static files, scratch space).
LOCAL = {"static", "clamav", "search", "scratch", "exports",
         "metrics", "lantai.lock"}  # a server's Prometheus files and run lock: its own  # fmt: skip
PASSWORD = "Scale-out-2026!"
USERNAME = "archivist"
RUN_LOCK = 0x1A47A1_13  # pg_try_advisory_lock key: one run at a time (DATABASE, Redis 13/14)
LANTAI = [sys.executable, "-m", "lantai.cli"]
WAIT_SECONDS = 60.0


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(message: str) -> None:
    if _in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def wait_for(check: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@dataclass
class Machine:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    s3: S3Server
    bucket: str
    machines: dict[str, Machine] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # fonds, category, user
    token: str = ""

    # --- machines ------------------------------------------------------------------------------
    def private_dir(self, name: str) -> Path:
        return self.root / "machines" / name

    def argv(self, name: str, *command: str) -> list[str]:
        """`command` on machine `name`: its own data directory at MOUNT_POINT, SHARED from the
        shared folder."""
        own = self.private_dir(name)
        for sub in SHARED:
            (own / sub).mkdir(parents=True, exist_ok=True)
        script = (
            'own=$1; data=$2; shared=$3; shift 3; mount --bind "$own" "$data" || exit 97; '
            f"for d in {' '.join(SHARED)}; do "
            'mount --bind "$shared/$d" "$data/$d" || exit 97; done; exec "$@"'
        )
        unshare = ["unshare", "--mount"]
        if os.geteuid() != 0:
            unshare = ["unshare", "--user", "--map-root-user", "--mount"]
        return [*unshare, "sh", "-c", script, "sh", str(own), self.env["LANTAI_DATA_DIR"],
                str(self.root / "shared"), *command]  # fmt: skip

    def run(self, name: str, *command: str) -> str:
        done = subprocess.run(self.argv(name, *command), env=self.env, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, f"{name}: {command}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, *command: str, port: int | None = None) -> Machine:
        log = self.root / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        with log.open("ab") as out:
            process = subprocess.Popen(self.argv(name, *command), env=self.env, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)  # fmt: skip
        machine = self.machines[name] = Machine(name, process, log, port)
        return machine

    def stop_all(self) -> None:
        for machine in self.machines.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(machine.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for machine in self.machines.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                machine.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(machine.process.pid, signal.SIGKILL)  # gunicorn's children too
            machine.process.wait()

    # --- what the workers did ----------------------------------------------------------------
    def log_marks(self) -> dict[str, int]:
        return {name: m.log.stat().st_size for name, m in self.machines.items()}

    def executed(self, task: str, since: dict[str, int]) -> dict[str, int]:
        """How many times each worker started a job of `task` (huey's "Executing" log line)
        since `since` (log_marks)."""
        # the workers log JSON lines (LANTAI_LOG_FORMAT=json), huey's through Lantai's handler once
        pattern = re.compile(rf"Executing \S+\.{re.escape(task)}: ")
        out = {}
        for name, machine in self.machines.items():
            if name.startswith("worker"):
                with machine.log.open("rb") as f:
                    f.seek(since.get(name, 0))
                    text = f.read().decode("utf-8", "replace")
                lines = (json.loads(line) for line in text.splitlines() if line.startswith("{"))
                out[name] = sum(
                    1
                    for line in lines
                    if line.get("logger", "").startswith("huey")
                    and pattern.match(line.get("message", ""))
                )
        return out

    def leases(self) -> dict[str, dict[str, Any]]:
        """The jobs some worker is running now (lantai.job_leases), from huey's Redis storage."""
        import redis

        from lantai.job_leases import LEASE_PREFIX

        raw = redis.Redis.from_url(HUEY_URL).hgetall("huey.results.lantai")
        return {
            key.decode().removeprefix(LEASE_PREFIX): pickle.loads(value)
            for key, value in raw.items()
            if key.decode().startswith(LEASE_PREFIX)
        }

    def enqueue(self, message: bytes) -> None:
        """Put a serialized job on the queue as `huey.enqueue` does (PriorityRedisHuey's sorted
        set: the message behind a time prefix, scored by minus its priority)."""
        from huey.storage import PriorityRedisStorage

        PriorityRedisStorage("lantai", url=HUEY_URL).enqueue(message)

    def s3_keys(self) -> list[str]:
        listed = self.s3.client().list_objects_v2(Bucket=self.bucket)  # type: ignore[attr-defined]
        return [o["Key"] for o in listed.get("Contents", [])]

    def settle(self) -> None:
        """The quiet period before runs are counted: every live worker has renewed its liveness
        key twice since now, so a full lease scan (job_leases, after each renewal) has run in
        between, and nothing is queued or running: a duplicate queued after a job reported done
        has been run by then and shows in the logs."""
        import redis

        start = time.time()
        live = [
            m.process.pid for n, m in self.machines.items() if n.startswith("worker") and m.alive()
        ]
        beats: dict[int, set[float]] = {pid: set() for pid in live}
        store = redis.Redis.from_url(STATE_URL)

        def renewed_twice() -> bool:
            for key in store.scan_iter("*lantai-jobs-worker-alive:*"):
                pid = int(key.decode().split(":")[-2])  # …:host:pid:random (job_leases.WORKER_ID)
                raw = store.get(key)
                at = pickle.loads(raw) if pid in beats and raw is not None else 0.0
                if at > start:
                    beats[pid].add(at)
            return all(len(at) >= 2 for at in beats.values())

        wait_for(renewed_twice, "two heartbeats and lease scans of every worker", seconds=15)
        wait_for(lambda: self.queued() == 0 and not self.leases(), "the queue to be idle")

    def periodic_claims(self, task: str) -> int:
        """The minutes for which some worker claimed periodic job `task` (job_leases.periodic_once)."""
        import redis

        store = redis.Redis.from_url(STATE_URL)
        return len(list(store.scan_iter(f"*lantai-periodic:*{task}:*")))

    def queued(self) -> int:
        import redis

        return int(redis.Redis.from_url(HUEY_URL).zcard("huey.redis.lantai"))  # PriorityRedisHuey

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(f"{PG_SERVER}/{DATABASE}", autocommit=True) as conn:
            return list(conn.execute(query, params).fetchall())


class AnotherRun(Exception):
    """Another scale-out test run holds DATABASE and the Redis databases."""


def claim_run() -> Any:
    """Take the run lock (a PostgreSQL session advisory lock, released when this process's
    connection ends, also when it is killed): the connection to keep open for the run."""
    import psycopg

    conn = psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True,
                           application_name=f"lantai-test-scaleout pid {os.getpid()}")  # fmt: skip
    if conn.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK,)).fetchone()[0]:
        return conn
    holders = [name for (name,) in conn.execute(
        "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE %s "
        "AND pid <> pg_backend_pid()", ("lantai-test-scaleout%",),
    )]  # fmt: skip
    conn.close()
    raise AnotherRun(
        f"another scale-out test run ({', '.join(holders) or 'unknown'}) is using database "
        f"{DATABASE} and Redis databases 13/14 on 127.0.0.1; run again once it has ended"
    )


def _claim_or_fail() -> Any:
    try:
        return claim_run()
    except AnotherRun as e:
        message = str(e)
    pytest.fail(message, pytrace=False)


def _recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(
            f"CREATE DATABASE {DATABASE} ENCODING 'UTF8' TEMPLATE template0 "
            "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'"
        )


def _drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def _flush_redis() -> None:
    import redis

    for url in (HUEY_URL, STATE_URL):
        redis.Redis.from_url(url).flushdb()


def _check_services() -> None:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception as e:
        _unavailable(f"the scale-out tests need PostgreSQL on 127.0.0.1:5432: {e}")
    try:
        import redis

        redis.Redis.from_url(HUEY_URL, socket_connect_timeout=3).ping()
    except Exception as e:
        _unavailable(f"the scale-out tests need Redis on 127.0.0.1:6379: {e}")
    if shutil.which("unshare") is None:
        _unavailable("the scale-out tests need unshare (util-linux)")


SETUP = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "lantai.settings"
django.setup()
from lantai.core.setup import initialise
initialise()
from lantai.catalog import services as catalog
from lantai.core import accounts
from lantai.core.api_auth import issue_token
from lantai.preservation import locations
user = accounts.create_user(sys.argv[1], role="cataloguer", password=sys.argv[2], scope_all=True)
fonds = catalog.create_fonds("Z109", "岭南省人民政府办公厅")
category = catalog.create_category(fonds, "WS")
locations.sync_from_settings()
print(json.dumps({"fonds": fonds.pk, "category": category.pk, "user": user.pk,
                  "token": issue_token(user, "scaleout")}))
""".replace("import django, os, sys", "import django, json, os, sys")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, s3rver: S3Server) -> Iterator[Cluster]:  # noqa: F811
    _check_services()
    root = tmp_path_factory.mktemp("scaleout")
    for sub in SHARED:
        (root / "shared" / sub).mkdir(parents=True)
    mount_point = root / "lantai-data"
    mount_point.mkdir()
    bucket = f"scaleout-{os.getpid()}"
    s3rver.location(bucket).ensure_bucket()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    env.update(
        LANTAI_DATA_DIR=str(mount_point),
        LANTAI_DATABASE_URL=f"{PG_SERVER}/{DATABASE}",
        LANTAI_HUEY_URL=HUEY_URL,
        LANTAI_REDIS_URL=STATE_URL,
        LANTAI_SEARCH_BACKEND="postgresql",
        LANTAI_SECRET_KEY="scale-out-test-secret",  # the same on every machine (or share the file)
        LANTAI_STORAGE_LOCATIONS=json.dumps(
            [{"name": "s3", "s3_url": s3rver.endpoint, "bucket": bucket, "required": True}]
        ),
        LANTAI_S3_ACCESS_KEY=s3rver.access_key,
        LANTAI_S3_SECRET_KEY=s3rver.secret_key,
        LANTAI_IMPORT_JOB_THRESHOLD="1",  # every web/API import is queued
        LANTAI_PUBLIC_SEARCH_RATE="10000/min",
        LANTAI_WORKERS="2",
        LANTAI_LOG_FORMAT="json",  # Cluster.executed reads the workers' JSON log lines
        LANTAI_JOBS_HEARTBEAT_SECONDS="1",
        LANTAI_SEARCH_CATCH_UP_MINUTES="1",
        # a clamd started by a CLI command (the signature import) stops after 1 s idle, not 10 min
        LANTAI_CLAMD_IDLE_SECONDS="1",
        LANTAI_TEST_JOB_HOLD=f"check_version/formats:{root / 'hold'}",
    )
    lock = _claim_or_fail()
    _recreate_database()
    _flush_redis()
    c = Cluster(root, env, s3rver, bucket)
    try:
        made = json.loads(c.run("admin", sys.executable, "-c", SETUP, USERNAME, PASSWORD))
        c.token = made.pop("token")
        c.ids = made
        for name in ("web1", "web2"):
            port = free_port()
            c.start(name, *LANTAI, "serve", "--no-worker", "--bind", f"127.0.0.1:{port}",
                    "--workers", "1", port=port)  # fmt: skip
        signatures = _signature_folder(root)
        for name in ("worker1", "worker2"):  # each worker machine has its own clamav/
            c.run(name, *LANTAI, "clamav", "import-signatures", str(signatures))
            c.start(name, *LANTAI, "worker")
        for name in ("web1", "web2"):
            wait_for(lambda m=c.machines[name]: _answers(m), f"{name} to answer")
        wait_for(lambda: len(_alive_workers()) == 2, "both workers' heartbeats")
        yield c
    finally:
        c.stop_all()
        _flush_redis()
        _drop_database()
        lock.close()


def _signature_folder(root: Path) -> Path:
    """A folder with the demo's one-line EICAR signature (lantai.demo.living)."""
    from lantai.demo.living import DEMO_SIGNATURE

    folder = root / "signatures"
    folder.mkdir()
    (folder / "lantai-test.ndb").write_text(DEMO_SIGNATURE, encoding="ascii")
    return folder


def _answers(machine: Machine) -> bool:
    import requests

    assert machine.alive(), f"{machine.name} exited:\n{machine.log_text()[-3000:]}"
    try:
        return requests.get(f"{machine.url}/login/", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _alive_workers() -> list[bytes]:
    import redis

    return list(redis.Redis.from_url(STATE_URL).scan_iter("*lantai-jobs-worker-alive:*"))
