"""A Django cache backend that never evicts: entries in a SQLite file of their own.

The embedded default (no Redis) keeps here what users rely on between requests and across
processes: sessions, job progress, rate-limit buckets and sign-in failure counts. Django's file
and database caches delete a random third (or the oldest third) of their entries once they hold
MAX_ENTRIES; this store removes an entry only when its own timeout has passed. It lives in its own
SQLite file (WAL mode) so that every web and worker process of the machine shares it, and so that
a long import holding the catalogue database's write lock never blocks a page view.

`add` and `incr` are atomic across processes (one IMMEDIATE transaction each).
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

PURGE_EVERY_WRITES = 500  # expired rows are deleted by every 500th write of a process

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries "
    "(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS entries_expires ON entries (expires)",
)


class SQLiteCache(BaseCache):
    """LOCATION: the SQLite file (created with its directory on first use)."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.path = Path(location)
        self._local = threading.local()
        self._writes = 0

    # --- connection: one per thread and process ----------------------------------------------
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            for statement in SCHEMA:
                conn.execute(statement)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        db = self._db()
        rows = db.execute(sql, args).rowcount
        self._writes += 1
        if self._writes % PURGE_EVERY_WRITES == 0:
            db.execute(
                "DELETE FROM entries WHERE expires IS NOT NULL AND expires <= ?", (time.time(),)
            )
        return rows

    def _live(self, db: sqlite3.Connection, key: str) -> tuple[bytes] | None:
        row: tuple[bytes] | None = db.execute(
            "SELECT value FROM entries WHERE key = ? AND (expires IS NULL OR expires > ?)",
            (key, time.time()),
        ).fetchone()
        return row

    # --- the cache API -----------------------------------------------------------------------
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        row = self._live(self._db(), self.make_and_validate_key(key, version=version))
        return default if row is None else pickle.loads(row[0])

    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        key = self.make_and_validate_key(key, version=version)
        expires = self.get_backend_timeout(timeout)
        self._write(
            "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
            (key, pickle.dumps(value, pickle.HIGHEST_PROTOCOL), expires),
        )

    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        key = self.make_and_validate_key(key, version=version)
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._live(db, key) is not None:
                return False
            self._write(
                "INSERT OR REPLACE INTO entries (key, value, expires) VALUES (?, ?, ?)",
                (
                    key,
                    pickle.dumps(value, pickle.HIGHEST_PROTOCOL),
                    self.get_backend_timeout(timeout),
                ),
            )
            return True
        finally:
            db.execute("COMMIT")

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            row = self._live(db, key)
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            value = pickle.loads(row[0]) + delta
            self._write(
                "UPDATE entries SET value = ? WHERE key = ?",
                (pickle.dumps(value, pickle.HIGHEST_PROTOCOL), key),
            )
            return int(value)
        finally:
            db.execute("COMMIT")

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(
            self._write(
                "UPDATE entries SET expires = ? WHERE key = ? AND (expires IS NULL OR expires > ?)",
                (self.get_backend_timeout(timeout), key, time.time()),
            )
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(self._write("DELETE FROM entries WHERE key = ?", (key,)))

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._live(self._db(), self.make_and_validate_key(key, version=version)) is not None

    def clear(self) -> None:
        self._write("DELETE FROM entries", ())

    def close(self, **kwargs: Any) -> None:
        """Kept open between requests: opening a SQLite file costs more than a query."""
