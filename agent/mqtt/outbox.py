"""The outbox: every event and telemetry message on its way to the broker, on disk until the broker's PUBACK.

- `add()` commits the row (WAL + fsync) before it returns when the disk takes it at once: that is what "accepted"
  means, and kill -9 after it cannot lose the message. When the disk does not (full, locked by another process,
  read-only, an I/O error), the message is accepted *in memory*: it is sent from there like any other row, and the
  storage writer thread puts it on disk as soon as the disk takes it. The core thread never waits for the disk.
- Rows leave only through `remove()`, which the MQTT link calls on PUBACK. A message that was sent but not
  acknowledged when the link or the process died is sent again: consumers drop repeats by `seq`.
- Bounded: past `max_messages` the oldest telemetry goes first; events are never evicted (the bound is then
  exceeded and a warning says so, rather than losing SLA evidence). Memory is bounded too (`memory_max`): past it
  the oldest telemetry goes, and only when none is left the oldest event (the newest are the ones that matter on
  a box whose disk is gone); every drop is counted and `take_drops()` hands the counts to the reporter to event.
- `seq` (on every message, outbox or not) comes from here and never goes backwards, across restarts and across a
  reset of a corrupt file: it is reserved in blocks, and the reservation is written both in the file and in a tiny
  side file next to it (`mqtt.db.seq`) that a reset does not touch. A message outside the outbox (state, replies)
  costs a disk write only once per block, and that write is also never waited for.
  A run whose disk took no write at all (full, read-only) cannot leave its reservation behind, so a start also
  begins no lower than the wall clock in milliseconds: the next run still starts above every seq that run sent
  (unless it sent more than 1000 messages a second on average, or the clock at the next start is behind).
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from agent.config import write_atomically
from agent.storage import Db, StorageUnavailable

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY,
    kind    TEXT NOT NULL,        -- 'event' | 'telemetry'
    topic   TEXT NOT NULL,
    qos     INTEGER NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_kind ON outbox (kind, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, ts REAL NOT NULL);
"""

SEQ_BLOCK = 64
EVICTABLE = "telemetry"
FLUSH_BATCH = 500


@dataclass(frozen=True)
class Pending:
    seq: int
    kind: str
    topic: str
    qos: int
    payload: bytes


def seq_file(db: Db) -> Path:
    return db.path.with_name(db.path.name + ".seq")


class Outbox:
    def __init__(self, db: Db, max_messages: int = 10000, memory_max: int | None = None,
                 wall: Callable[[], float] = time.time):
        self.db = db
        self.max_messages = max_messages
        self.memory_max = memory_max if memory_max is not None else max_messages
        self.evicted = 0
        self.dropped = {"event": 0, "telemetry": 0}     # lost from memory: the disk never took them
        self._reported = dict(self.dropped)
        self._over_bound_warned = False
        self._mem = threading.Lock()                    # guards the three below; taken after db.lock, never before
        self._unsaved: dict[int, Pending] = {}          # accepted, not on disk yet, in seq order
        self._unremoved: set[int] = set()               # acknowledged, but the DELETE has not reached the disk
        self._count = 0                                 # rows on disk (acknowledged or not)
        self._batch = FLUSH_BATCH                       # halved after a failed flush: a nearly full disk takes a few
        self._flushing = False                          # a flush began and has not committed
        self._next = self._reserved = max(self._high_water(), int(wall() * 1000))
        db.add_flusher(self._flush)
        db.on_open(self._opened)
        if db.conn is not None:
            self._opened()

    # ---- seq ---------------------------------------------------------------------------------------------
    def _high_water(self) -> int:
        """The first seq never handed out: the highest of what the file, the side file and (after a reset) the
        file set aside remember."""
        candidates = [1]
        for path in (self.db.path, getattr(self.db, "aside", None)):
            if path is None or (path != self.db.path and not Path(path).exists()):
                continue
            try:
                if path == self.db.path:
                    rows = self.db.query("SELECT (SELECT COALESCE(MAX(value), 1) FROM meta WHERE key='seq_reserved'),"
                                         " (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox)")
                else:
                    conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)
                    try:
                        rows = conn.execute("SELECT (SELECT COALESCE(MAX(value), 1) FROM meta "
                                            "WHERE key='seq_reserved'), (SELECT COALESCE(MAX(seq), 0) + 1 "
                                            "FROM outbox)").fetchall()
                    finally:
                        conn.close()
                candidates += [int(v) for v in rows[0]]
            except (StorageUnavailable, sqlite3.Error, OSError, ValueError, TypeError):
                pass   # a corrupt or missing file: the side file is there for this
        try:
            candidates.append(int(seq_file(self.db).read_text().strip()))
        except (OSError, ValueError):
            pass
        return max(candidates)

    def _opened(self) -> None:
        """The file is open (at start, or later when the disk came back): learn what it holds."""
        with self.db.lock:
            try:
                (self._count,) = self.db.query("SELECT COUNT(*) FROM outbox")[0]
                top = self._high_water()
            except (StorageUnavailable, sqlite3.Error):
                return
        with self._mem:
            if top > self._next:
                self._next = self._reserved = top

    def _take_seq(self) -> int:
        with self._mem:
            seq = self._next
            self._next += 1
            if self._next <= self._reserved:
                return seq
            self._reserved = self._next + SEQ_BLOCK
            reserved = self._reserved
        self._reserve(reserved)
        return seq

    def _reserve(self, reserved: int) -> None:
        """Write the reservation where it survives both a restart and a reset; never waits for the disk."""
        try:
            write_atomically(seq_file(self.db), f"{reserved}\n")
        except OSError:
            pass   # the database write below is the other copy; the Db logs the fault once
        if not self.db.try_write(lambda conn: self._write_reservation(conn, reserved)):
            self.db.wake()   # the flusher writes the latest reservation with the rows it puts on disk

    @staticmethod
    def _write_reservation(conn: sqlite3.Connection, reserved: int) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = MAX(value, excluded.value)", (reserved,))

    def next_seq(self) -> int:
        """A seq for a message that does not go through the outbox (state, replies)."""
        return self._take_seq()

    # ---- messages ----------------------------------------------------------------------------------------
    def add(self, kind: str, topic: str, qos: int, build: Callable[[int], bytes]) -> int:
        """Accept one message; `build(seq)` makes its payload. Durable when this returns if the disk took it,
        else held in memory until it does. Never waits for the disk. Returns the seq."""
        seq = self._take_seq()
        row = Pending(seq, kind, topic, qos, build(seq))
        if not self._unsaved and self.db.try_write(lambda conn: self._insert(conn, [row])):
            return seq
        with self._mem:
            self._unsaved[seq] = row
            self._bound_memory()
        self.db.wake()
        return seq

    def _insert(self, conn: sqlite3.Connection, rows: list[Pending]) -> None:
        cur = conn.executemany("INSERT OR IGNORE INTO outbox (seq, kind, topic, qos, payload) VALUES (?, ?, ?, ?, ?)",
                               [(r.seq, r.kind, r.topic, r.qos, r.payload) for r in rows])
        added = cur.rowcount
        if self._count + added > self.max_messages:
            self._evict(conn, self._count + added - self.max_messages, added)
        else:
            self.db.after_commit(lambda: self._counted(added))

    def _counted(self, delta: int) -> None:
        self._count += delta

    def _bound_memory(self) -> None:
        """Under _mem: past memory_max, drop the oldest telemetry; the oldest event only when none is left."""
        excess = len(self._unsaved) - self.memory_max
        if excess <= 0:
            return
        victims = [s for s, r in self._unsaved.items() if r.kind == EVICTABLE][:excess]
        if len(victims) < excess:
            victims += [s for s, r in self._unsaved.items() if r.kind != EVICTABLE][:excess - len(victims)]
        for s in victims:
            row = self._unsaved.pop(s)
            kind = "telemetry" if row.kind == EVICTABLE else "event"
            if self.dropped[kind] == self._reported[kind]:
                log.error("outbox: the disk has not taken a message for a while and memory holds %d: dropping "
                          "the oldest %s (seq %d)", self.memory_max, kind, s)
            self.dropped[kind] += 1

    def take_drops(self) -> dict[str, int]:
        """Messages dropped from memory since the last call, by kind ({} if none): for the reporter's event."""
        new = {k: v - self._reported[k] for k, v in self.dropped.items() if v != self._reported[k]}
        self._reported = dict(self.dropped)
        return new

    def _flush(self, conn: sqlite3.Connection) -> None:
        """Writer thread, inside a transaction: put what waits in memory on disk. Memory lets go of a row only
        after the commit (INSERT OR IGNORE makes a repeat after a failed commit harmless)."""
        if self._flushing:   # the last one did not commit: try fewer rows, so that a nearly full disk still fills
            self._batch = max(1, self._batch // 2)
        self._flushing = True
        with self._mem:
            rows = list(self._unsaved.values())[:self._batch]
            gone = sorted(self._unremoved)
            reserved = self._reserved
        self._write_reservation(conn, reserved)
        if gone:
            cur = conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in gone])
            deleted = cur.rowcount
            self.db.after_commit(lambda: self._counted(-deleted))
        if rows:
            self._insert(conn, rows)

        def committed() -> None:
            self._flushing = False
            self._batch = min(FLUSH_BATCH, self._batch * 2)
            with self._mem:
                for r in rows:
                    self._unsaved.pop(r.seq, None)
                self._unremoved.difference_update(gone)
                more = bool(self._unsaved or self._unremoved)
            if more:
                self.db.wake()
        self.db.after_commit(committed)

    def _evict(self, conn, excess: int, added: int) -> None:
        cur = conn.execute("DELETE FROM outbox WHERE seq IN "
                           "(SELECT seq FROM outbox WHERE kind = ? ORDER BY seq LIMIT ?)", (EVICTABLE, excess))
        evicted = cur.rowcount

        def committed() -> None:
            self._count += added - evicted
            self.evicted += evicted
            if self._count > self.max_messages:
                if not self._over_bound_warned:
                    log.warning("outbox holds %d messages, over its bound of %d, all events: keeping them",
                                self._count, self.max_messages)
                    self._over_bound_warned = True
            else:
                self._over_bound_warned = False
        self.db.after_commit(committed)

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Pending]:
        """Unacknowledged messages after `after_seq`, in seq order: from disk and from memory."""
        with self._mem:
            gone = set(self._unremoved)
            memory = [r for s, r in self._unsaved.items() if s > after_seq][:limit]
        try:
            rows = self.db.query("SELECT seq, kind, topic, qos, payload FROM outbox WHERE seq > ? ORDER BY seq "
                                 "LIMIT ?", (after_seq, limit + len(gone)))
        except (StorageUnavailable, sqlite3.Error):
            rows = []   # the file is not readable now: what is in memory still goes out
        disk = [Pending(seq, kind, topic, qos, bytes(payload)) for seq, kind, topic, qos, payload in rows
                if seq not in gone]
        merged = {r.seq: r for r in disk}
        merged.update((r.seq, r) for r in memory)
        return [merged[s] for s in sorted(merged)][:limit]

    def remove(self, seqs: Iterable[int]) -> None:
        """Acknowledged: forget them (a DELETE the disk refuses now is retried by the writer)."""
        seqs = list(seqs)
        with self._mem:
            on_disk = [s for s in seqs if self._unsaved.pop(s, None) is None]
            if self._flushing:
                # A flush may be writing these very rows now: delete them after it (a no-op if it did not).
                self._unremoved.update(s for s in seqs if s not in on_disk)
        if not on_disk:
            return

        def delete(conn: sqlite3.Connection) -> None:
            cur = conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in on_disk])
            deleted = cur.rowcount
            self.db.after_commit(lambda: self._counted(-deleted))

        if not self.db.try_write(delete):
            with self._mem:
                self._unremoved.update(on_disk)
            self.db.wake()

    def count(self, kind: str | None = None) -> int:
        with self._mem:
            memory = [r for r in self._unsaved.values() if kind is None or r.kind == kind]
            gone = len(self._unremoved)
        if kind is None:
            return max(0, self._count - gone) + len(memory)
        try:
            on_disk = self.db.query("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,))[0][0]
        except (StorageUnavailable, sqlite3.Error):
            on_disk = 0
        return on_disk + len(memory)

    @property
    def in_memory(self) -> int:
        """Accepted messages the disk has not taken yet."""
        return len(self._unsaved)
