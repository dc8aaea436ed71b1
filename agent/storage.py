"""SQLite files on the router's flash: WAL, synchronous=FULL, one connection shared under a lock.

Why these settings: with WAL + synchronous=FULL a commit returns only after the log is fsync'd, so "committed" means
"survives kill -9 and a power cut"; readers never block the writer. One connection and a lock rather than one per
thread: our transactions are a few rows, and a single owner keeps ordering obvious.

A file that SQLite cannot read (flash corruption after a power cut) is renamed aside and a new one started: a router
nobody visits must keep reporting; the rename keeps the evidence and `reset_reason` says what happened.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)


class Db:
    def __init__(self, path: str | os.PathLike, schema: str):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.reset_reason: str | None = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._open(schema)
        except sqlite3.DatabaseError as e:
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error("%s: unreadable (%s); moved aside to %s, starting empty", self.path, e, aside)
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{self.path}{suffix}")
                if src.exists():
                    os.replace(src, f"{aside}{suffix}")
            self.reset_reason = f"{self.path.name} was unreadable ({e}); kept as {aside.name}"
            self.conn = self._open(schema)

    def _open(self, schema: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.executescript(schema)
            conn.execute("PRAGMA quick_check").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; the commit is durable when this block exits."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()
