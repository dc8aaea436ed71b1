"""SQLite files on the router's flash: WAL, synchronous=FULL, one connection shared under a lock.

Why these settings: with WAL + synchronous=FULL a commit returns only after the log is fsync'd, so "committed" means
"survives kill -9 and a power cut"; readers never block the writer. One connection and a lock rather than one per
thread: our transactions are a few rows, and a single owner keeps ordering obvious.

Storage faults are normal on a router's flash, and they are not all the same:
- A file that really fails SQLite's integrity check (flash corruption after a power cut) is renamed aside and a new
  one started: a router nobody visits must keep reporting; the rename keeps the evidence and `reset_reason` says
  what happened. Only then: a full disk, an I/O error, a read-only or missing directory, a file held locked by
  another process say nothing about the data in the file, and setting it aside would lose it.
- Any other fault makes the file *unavailable*: `problem` says why in one line, the owner keeps what it must write
  in memory, and a writer thread (started on the first fault) retries with backoff until the disk takes it.
- A file deleted or replaced under the agent (an operator's `rm`) is noticed before the next write (its inode
  changed) and restored from the handle still open on the old one, so nothing written so far is lost with it.
- Nobody waits on SQLite's busy handler (busy timeout 0): a file locked by another process fails at once, so the
  core thread, which also decides failovers, is never held up by storage. `write()` is the non-blocking way in.
"""
from __future__ import annotations

import collections
import logging
import os
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

log = logging.getLogger(__name__)

CORRUPTION = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})
RETRY_ON_SAME_CONNECTION = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL"})
OPEN_BUSY_TIMEOUT_S = 1.0      # at start only, before the core runs: a brief lock by a backup tool is waited out
LOCK_WAIT_S = 0.1              # the core waits at most this for our own lock (held for one short transaction)
RETRY_MIN_S, RETRY_MAX_S = 0.5, 10.0
# Small files: a router's storage may be a few hundred KiB. SQLite's defaults (4 KiB pages, a WAL checkpointed at
# 4 MB) make three empty files ~180 KiB with their WAL; 1 KiB pages, a checkpoint every 32 pages and a WAL cut back to
# nothing after each checkpoint keep them ~120 KiB, most of it the three 32 KiB shared-memory files WAL needs.
PAGE_SIZE = 1024
WAL_CHECKPOINT_PAGES = 32
WAL_SIZE_LIMIT = 0


class StorageUnavailable(Exception):
    """The file cannot be used now; the message says why."""


class _FailedIntegrityCheck(sqlite3.DatabaseError):
    sqlite_errorname = "SQLITE_CORRUPT"


def describe(e: BaseException) -> str:
    """One line for a storage error: what SQLite or the OS said, without a traceback."""
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}" + (f": {e.filename}" if e.filename else "")
    return str(e) or type(e).__name__


def free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


class Db:
    def __init__(self, path: str | os.PathLike, schema: str):
        self.path = Path(path)
        self.schema = schema
        self.lock = threading.RLock()
        self.conn: sqlite3.Connection | None = None
        self.reset_reason: str | None = None
        self.problem: str | None = None          # why the file is not usable now; None when it is
        self.faults = 0                          # storage errors seen (open, write), for tests and telemetry
        self._queue: collections.deque[Callable[[sqlite3.Connection], None]] = collections.deque()
        self._flushers: list[Callable[[sqlite3.Connection], None]] = []
        self._on_open: list[Callable[[], None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._watchers: list[Callable[[], None]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._identity: tuple[int, int] | None = None   # (device, inode) of the file we have open
        self.reopen()

    # ---- opening -----------------------------------------------------------------------------------------
    def reopen(self) -> bool:
        """Open the file if it is not open; True when it is. Never raises for a storage fault."""
        if self.conn is not None:
            return True
        try:
            if self.path.parent.exists() and not self.path.parent.is_dir():
                raise NotADirectoryError(20, "Not a directory", str(self.path.parent))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                conn = self._connect()
            except sqlite3.DatabaseError as e:
                if getattr(e, "sqlite_errorname", "") not in CORRUPTION or not self._fails_integrity_check():
                    raise
                self._set_aside(e)
                conn = self._connect()
        except (sqlite3.Error, OSError) as e:
            self._unavailable(describe(e))
            return False
        with self.lock:
            self.conn = conn
            self._identity = self._stat()
        if self.problem is not None:
            log.warning("storage: %s is usable again (was: %s)", self.path, self.problem)
        self._set_problem(None)
        for hook in self._on_open:
            hook()
        return True

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=OPEN_BUSY_TIMEOUT_S)
        try:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")   # takes effect only for a new, empty file
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            conn.executescript(self.schema)
            (check,) = conn.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise _FailedIntegrityCheck(f"quick_check: {check}")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA busy_timeout=0")
        except BaseException:
            conn.close()
            raise
        return conn

    def _fails_integrity_check(self) -> bool:
        """A second opinion before anything is moved: read-only, the full check. An error that is not corruption
        (the file vanished, I/O error) means we cannot tell, and a file we cannot judge is left alone."""
        try:
            conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True, timeout=OPEN_BUSY_TIMEOUT_S)
            try:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as e:
            return getattr(e, "sqlite_errorname", "") in CORRUPTION
        return rows != [("ok",)]

    def _set_aside(self, e: BaseException) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(f"{self.path}{suffix}")
            if src.exists():
                os.replace(src, f"{aside}{suffix}")    # OSError (read-only) → unavailable, nothing moved claimed
        log.error("storage: %s fails its integrity check (%s); moved aside to %s, starting empty",
                  self.path, describe(e), aside)
        self.reset_reason = (f"{self.path.name} was unreadable: it fails its integrity check ({describe(e)}); "
                             f"kept as {aside.name}")
        self.aside = aside

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def vanished(self) -> bool:
        """The file we have open is no longer at its path (deleted, or replaced, under the agent): whatever is
        written to it now would be gone at the next start. A stat, cheap enough before every write."""
        return self.conn is not None and self._identity is not None and self._stat() != self._identity

    def _restore_vanished(self) -> None:
        """Copy what the open handle still holds (the deleted inode, its WAL included) into a new file at the
        path, then use that file. Under the lock."""
        old = self.conn
        log.error("storage: %s was deleted or replaced under the agent; restoring it from the open handle", self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):   # leftovers of the old file must not be applied to the new one
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
        copy = sqlite3.connect(self.path, isolation_level=None)
        try:
            old.backup(copy)
        finally:
            copy.close()
        old.close()
        self.conn = None
        self._identity = None

    def _unavailable(self, problem: str) -> None:
        self.faults += 1
        if problem != self.problem:
            free = free_bytes(self.path.parent)
            log.warning("storage: cannot use %s (%s%s); keeping its writes in memory and retrying",
                        self.path, problem, "" if free is None else f", {free} bytes free")
        self._set_problem(problem)
        self._start_writer()

    # ---- writing -----------------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the lock; the commit is durable when this block exits.
        Raises StorageUnavailable when the file is not open, sqlite3.Error when the write fails."""
        with self.lock:
            conn = self.conn
            if conn is None:
                raise StorageUnavailable(self.problem or "not open")
            conn.execute("BEGIN IMMEDIATE")
            self._after_commit = []
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                self._after_commit = []
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            done, self._after_commit = self._after_commit, []
        for fn in done:
            fn()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Inside a transaction: run `fn` once it committed (not at all if it rolled back). What a writer keeps in
        memory changes only then: a failed COMMIT (disk full) must leave memory as if nothing had been tried."""
        self._after_commit.append(fn)

    def write(self, fn: Callable[[sqlite3.Connection], None]) -> bool:
        """Run `fn(conn)` in a transaction now if that is possible without waiting, else queue it (in order) for
        the writer thread. True: durable now. Never raises for a storage fault; never waits on another process."""
        if not self._queue and self.try_write(fn):
            return True
        self._queue.append(fn)
        self._start_writer()
        return False

    def try_write(self, fn: Callable[[sqlite3.Connection], None]) -> bool:
        """One attempt, without waiting: False (and `problem` set) if the lock, the file or the disk said no."""
        if not self.lock.acquire(timeout=LOCK_WAIT_S):
            return False
        try:
            if self.vanished():
                self._set_problem("the file was deleted under the agent")
                self._start_writer()
                return False
            with self.transaction() as conn:
                fn(conn)
            return True
        except StorageUnavailable:
            return False
        except sqlite3.Error as e:
            self.failed(e)
            return False
        finally:
            self.lock.release()

    def failed(self, e: BaseException) -> None:
        """A write failed: remember why (one log line per new reason) and let the writer retry. A lock or a full
        disk passes on the same connection; anything else (read-only, I/O error) may be stuck in it — SQLite keeps
        a file it opened read-only read-only — so the retry opens the file afresh."""
        self.faults += 1
        if getattr(e, "sqlite_errorname", "") not in RETRY_ON_SAME_CONNECTION:
            with self.lock:
                if self.conn is not None:
                    try:
                        self.conn.close()
                    except sqlite3.Error:
                        pass
                    self.conn = None
        problem = describe(e)
        if problem != self.problem:
            log.warning("storage: writing %s failed (%s); keeping the writes in memory and retrying",
                        self.path, problem)
        self._set_problem(problem)
        self._start_writer()

    def _set_problem(self, problem: str | None) -> None:
        changed = problem != self.problem
        self.problem = problem
        if changed:
            for watcher in self._watchers:
                watcher()

    def watch(self, watcher: Callable[[], None]) -> None:
        """`watcher()` is called (on whichever thread saw it) when `problem` changes; it must not block."""
        self._watchers.append(watcher)

    def add_flusher(self, flush: Callable[[sqlite3.Connection], None]) -> None:
        """`flush(conn)` writes what its owner holds in memory; the writer calls it inside a transaction."""
        self._flushers.append(flush)

    def on_open(self, hook: Callable[[], None]) -> None:
        """Called (on the writer thread) when a file that could not be opened has been opened."""
        self._on_open.append(hook)

    def wake(self) -> None:
        self._start_writer()

    @property
    def queued(self) -> int:
        return len(self._queue)

    def flush(self) -> bool:
        """Write everything waiting in memory, one attempt. True when nothing is left waiting."""
        if self._closed:
            return not self._queue
        if self.vanished():
            with self.lock:
                try:
                    self._restore_vanished()
                except (sqlite3.Error, OSError) as e:
                    self.failed(e)
                    return False
        if self.conn is None and not self.reopen():
            return False
        try:
            with self.lock, self.transaction() as conn:
                while self._queue:
                    self._queue[0](conn)
                    self._queue.popleft()   # only after it ran: a failure leaves it first in line
                for flush in self._flushers:
                    flush(conn)
        except StorageUnavailable:
            return False
        except sqlite3.Error as e:
            self.failed(e)
            return False
        if self.problem is not None:
            log.warning("storage: %s takes writes again (was: %s)", self.path, self.problem)
            self._set_problem(None)
        return True

    def _start_writer(self) -> None:
        self._wake.set()
        if self._thread is None or not self._thread.is_alive():
            if self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name=f"storage:{self.path.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while not self._stop.is_set():
            self._wake.clear()
            try:
                done = self.flush()
            except Exception:   # a bug in a flusher must not end the retries: the data waits in memory
                log.exception("storage: flushing %s failed", self.path)
                done = False
            if done:
                delay = RETRY_MIN_S
                self._wake.wait()
            else:
                self._wake.wait(delay)
                delay = min(RETRY_MAX_S, delay * 2)

    # ---- reading -----------------------------------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Raises StorageUnavailable when the file is not open."""
        with self.lock:
            if self.conn is None:
                raise StorageUnavailable(self.problem or "not open")
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Stop the writer after one last attempt to write what waits in memory."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5.0)
        if (self._queue or self._flushers) and not self._closed:
            self.flush()
        with self.lock:
            self._closed = True
            if self.conn is not None:
                self.conn.close()
                self.conn = None


@dataclass(frozen=True)
class StorageChanged:
    """Posted to the core when a file became unusable or usable again."""
    db: Db


def announce(core, db: Db, store: str) -> None:
    """Tell the operator about this file's faults as events, from the core thread: a reset at start
    (`storage_reset`), and every change between usable and not (`storage_unavailable` with what is short and
    the bytes free, `storage_recovered`). The Db posts the change; the core only reads `db.problem` (memory)."""
    if db.reset_reason:
        reason = db.reset_reason
        core.call_later(0, lambda now: core.emit("storage_reset", store=store, detail=reason))
    said: list[str | None] = [None]

    def check(item: StorageChanged | None, now: float) -> None:
        if item is not None and item.db is not db:
            return
        problem = db.problem
        if problem == said[0]:
            return
        if problem is not None:
            core.emit("storage_unavailable", store=store, file=str(db.path), problem=problem,
                      free_bytes=free_bytes(db.path.parent), in_memory=True)
        else:
            core.emit("storage_recovered", store=store, file=str(db.path), was=said[0])
        said[0] = problem

    core.subscribe(StorageChanged, check)
    db.watch(lambda: core.post(StorageChanged(db)))
    if db.problem is not None:
        core.call_later(0, lambda now: check(None, now))
