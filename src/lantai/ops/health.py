"""/healthz (liveness) and /readyz (readiness for the load balancer).

/healthz answers 200 {"status": "ok"} as long as the process answers: no database, no files.

/readyz runs every check below and answers 503 when a *required* one fails, else 200. Each
check reports name, ok, required, state (ok | degraded | fail) and evidence (what was examined:
latency, counts, names), and an error when it failed. The overall status is "fail" (503), or
"degraded" (200: this process can serve, but something an operator must see is wrong, e.g. no
job worker runs), or "ok". Nothing secret is shown: location names, not their paths or keys (a
location's error names its type and reason with its path, URL and bucket left out; the full text
goes to the log); errors with any password in a URL masked. The database probe gives up after
the PostgreSQL connect_timeout (settings.DATABASES, LANTAI_DATABASE_CONNECT_TIMEOUT) and runs its
query under a statement_timeout as long, local to the probe's transaction.

| check    | required | examines                                                               |
|----------|----------|------------------------------------------------------------------------|
| database | yes      | a query on the migrations table (latency, migrations applied)          |
| jobs     | yes      | the queue store answers (pending jobs)                                 |
| worker   | no       | a worker heartbeat within READYZ_WORKER_SECONDS (degraded when none)   |
| storage  | yes      | every required location reachable with its own identity marker, local  |
|          |          | ones writable (a probe file written and removed) and their free space  |
| clamd    | no       | clamd answers PING; our own clamd starts on demand when a scan needs   |
|          |          | it, so "not running" is reported, not failed; no signatures: degraded  |
| search   | yes      | the index opens and counts its documents (latency)                     |
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse

if TYPE_CHECKING:
    from lantai.preservation.models import StorageLocation

__all__ = ["Check", "healthz", "readiness", "readyz"]

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    required: bool
    ok: bool = True
    state: str = "ok"  # ok | degraded | fail
    evidence: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def failed(self, error: str) -> Check:
        self.ok, self.error = False, error
        self.state = "fail" if self.required else "degraded"
        return self


_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def _safe(error: BaseException) -> str:
    """The error's first line, without a password of a URL or DSN it may quote."""
    text = (str(error).strip().splitlines() or [""])[0][:300]
    text = _PASSWORD_IN_URL.sub(r"\1***@", text)
    text = re.sub(r"(password=)\S+", r"\1***", text, flags=re.IGNORECASE)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _probe_seconds() -> int:
    """The probe's limit: the database's connect_timeout (5 s when none is set)."""
    options = settings.DATABASES["default"].get("OPTIONS", {})
    try:
        return max(1, int(options.get("connect_timeout", 5)))
    except (TypeError, ValueError):
        return 5


def _migrations_applied() -> int:
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:  # SQLite: no transaction (IMMEDIATE would lock)
            cursor.execute("SELECT COUNT(*) FROM django_migrations")
            row = cursor.fetchone()
        return int(row[0]) if row else 0
    nested = connection.in_atomic_block  # then the transaction is the caller's
    with transaction.atomic(), connection.cursor() as cursor:
        # a server that is stuck (locks, load) fails the probe in time instead of holding it;
        # is_local: the limit ends with this transaction, no other query has it
        limit = f"{_probe_seconds() * 1000}ms"
        cursor.execute(
            "SELECT current_setting('statement_timeout'), "
            "set_config('statement_timeout', %s, true)",
            [limit],
        )
        before = cursor.fetchone()
        cursor.execute("SELECT COUNT(*) FROM django_migrations")
        row = cursor.fetchone()
        if nested and before:  # leave the caller's transaction its own limit
            cursor.execute("SELECT set_config('statement_timeout', %s, true)", [before[0]])
    return int(row[0]) if row else 0


def check_database() -> Check:
    from django.db import connection

    check = Check("database", required=True)
    started = time.perf_counter()
    try:
        migrations = _migrations_applied()
        check.evidence = {"vendor": connection.vendor, "migrations": migrations}
    except Exception as e:
        check.evidence = {"vendor": connection.vendor}
        check.failed(f"数据库无法查询 database query failed: {_safe(e)}")
        # a broken connection must not stay in this process's pool
        from django.db import close_old_connections

        close_old_connections()
    check.evidence["latency_ms"] = _ms(started)
    return check


def check_jobs() -> Check:
    from lantai.jobs import huey

    check = Check("jobs", required=True)
    started = time.perf_counter()
    try:
        if huey.immediate:
            check.evidence = {"immediate": True}
        else:
            check.evidence = {"pending": huey.pending_count(), "store": type(huey).__name__}
    except Exception as e:
        check.failed(f"任务队列无法访问 job queue unreachable: {_safe(e)}")
    check.evidence["latency_ms"] = _ms(started)
    return check


def check_worker() -> Check:
    from lantai.jobs import huey, worker_status

    check = Check("worker", required=False)
    try:
        if huey.immediate:
            check.evidence = {"immediate": True}
            return check
        status = worker_status()
        limit = settings.READYZ_WORKER_SECONDS
        if status.last_seen is None:
            check.evidence = {"running": False, "heartbeat_age_s": None, "limit_s": limit}
            return check.failed("后台任务进程未运行 job worker not running (no heartbeat)")
        age = round(max(0.0, time.time() - status.last_seen), 1)
        check.evidence = {"running": age <= limit, "heartbeat_age_s": age, "limit_s": limit}
        if age > limit:
            check.failed(
                f"后台任务进程未运行 job worker not running: last heartbeat {age:.0f} s ago"
            )
    except Exception as e:
        check.failed(f"无法读取后台任务心跳 worker heartbeat unreadable: {_safe(e)}")
    return check


def _probe_writable(root: Path) -> None:
    """Write, sync and remove a small file at the root (a read-only or full disk raises)."""
    fd, name = tempfile.mkstemp(prefix=".lantai-readyz-", dir=root)
    try:
        os.write(fd, b"ok")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


# An absolute path that starts a word (after a space, a quote or a Chinese colon or bracket)
_ABSOLUTE_PATH = re.compile(r"(?:^|(?<=[\s\"'“‘(（：=]))/[^\s\"'”’)）,，;；]*")
_WITHHELD = "<…>"


def _without_location(error: BaseException, loc: StorageLocation) -> str:
    """The error's type and reason, without where the location is (its path, URL, bucket): /readyz
    answers anyone who can reach it. An OSError's own reason (strerror) never names a path."""
    if isinstance(error, OSError) and error.strerror and type(error).__module__ == "builtins":
        return f"{type(error).__name__}: {error.strerror}"
    text = _safe(error)
    for where in (loc.path, loc.s3_url, loc.bucket, loc.access_key):
        if where and len(where) > 2:
            text = text.replace(where, _WITHHELD)
    return _ABSOLUTE_PATH.sub(_WITHHELD, text)


def check_storage() -> Check:
    from lantai.preservation import locations
    from lantai.preservation.models import StorageLocation

    check = Check("storage", required=True)
    started = time.perf_counter()
    seen: list[dict[str, Any]] = []
    problems: list[str] = []
    try:
        for loc in StorageLocation.objects.filter(required=True).order_by("name"):
            entry: dict[str, Any] = {"name": loc.name, "kind": loc.kind}
            seen.append(entry)
            try:
                backend = locations.open_location(loc)  # identity marker: mounted, right disk
                entry["marker"] = True
                if loc.kind == "local":
                    root = Path(loc.path)
                    _probe_writable(root)
                    entry["writable"] = True
                    entry["free_bytes"] = backend.capacity().free_bytes
                else:
                    entry["writable"] = "not probed (object storage)"
            except Exception as e:
                entry["ok"] = False
                problems.append(f"{loc.name}: {_without_location(e, loc)}")
                log.warning("readyz: storage location %s unusable: %s", loc.name, e)
            else:
                entry["ok"] = True
    except Exception as e:
        problems.append(_safe(e))
    check.evidence = {
        "required_locations": len(seen),
        "locations": seen,
        "latency_ms": _ms(started),
    }
    if problems:
        check.failed(
            "必需存储位置不可用 required storage location unusable: " + "; ".join(problems)
        )
    return check


def check_clamd() -> Check:
    from lantai.ingest import virus

    check = Check("clamd", required=False)
    try:
        scanner = virus.Scanner(Path(settings.DATA_DIR))
        running = scanner.ping()
        signatures = scanner.signature_count()
        check.evidence = {"running": running, "signatures": signatures}
        if not running:
            check.evidence["started"] = "on demand (by the worker when a scan needs it)"
        if signatures == 0:
            check.failed("未加载病毒特征库，文件不会被扫描 no virus signatures: nothing is scanned")
    except Exception as e:
        check.failed(f"无法检查 clamd clamd not checked: {_safe(e)}")
    return check


def check_search() -> Check:
    from lantai.search import services as search

    check = Check("search", required=True)
    started = time.perf_counter()
    try:
        name, _options = search.backend_config()
        check.evidence = {"backend": name, "documents": search.backend().count()}
    except Exception as e:
        check.failed(f"检索索引无法打开 search index cannot be opened: {_safe(e)}")
    check.evidence["latency_ms"] = _ms(started)
    return check


CHECKS: tuple[Callable[[], Check], ...] = (
    check_database,
    check_jobs,
    check_worker,
    check_storage,
    check_clamd,
    check_search,
)


def readiness() -> tuple[str, list[Check]]:
    """("ok" | "degraded" | "fail", the checks)."""
    checks = []
    for run in CHECKS:
        try:
            checks.append(run())
        except Exception as e:  # a check that itself broke is a failed check, never a 500
            name = run.__name__.removeprefix("check_")
            checks.append(Check(name, required=True).failed(_safe(e)))
    if any(c.state == "fail" for c in checks):
        return "fail", checks
    return ("degraded" if any(not c.ok for c in checks) else "ok"), checks


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    return _no_store(JsonResponse({"status": "ok"}))


def readyz(request: HttpRequest) -> JsonResponse:
    status, checks = readiness()
    body = {
        "status": status,
        "failed": [c.name for c in checks if not c.ok],
        "checks": [asdict(c) for c in checks],
    }
    return _no_store(
        JsonResponse(
            body, status=503 if status == "fail" else 200, json_dumps_params={"ensure_ascii": False}
        )
    )
