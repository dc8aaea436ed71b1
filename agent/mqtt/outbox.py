"""The outbox: every event and telemetry message on its way to the broker, on disk until the broker's PUBACK.

- `add()` returns only after the row is committed (WAL + fsync): that is what "accepted" means. kill -9 after it
  cannot lose the message; kill -9 before it means the caller never heard "accepted".
- Rows leave only through `remove()`, which the MQTT link calls on PUBACK. A message that was sent but not
  acknowledged when the link or the process died is sent again: consumers drop repeats by `seq`.
- Bounded: past `max_messages` the oldest telemetry goes first; events are never evicted (the bound is then
  exceeded and a warning says so, rather than losing SLA evidence).
- `seq` (on every message, outbox or not) comes from here: monotonic across restarts. It is reserved in blocks
  so that a message outside the outbox (state, replies) costs a disk write only once per block.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable

from agent.storage import Db

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


@dataclass(frozen=True)
class Pending:
    seq: int
    kind: str
    topic: str
    qos: int
    payload: bytes


class Outbox:
    def __init__(self, db: Db, max_messages: int = 10000):
        self.db = db
        self.max_messages = max_messages
        self.evicted = 0
        self._over_bound_warned = False
        with db.lock:
            (reserved,) = db.conn.execute("SELECT COALESCE(MAX(value), 1) FROM meta WHERE key='seq_reserved'"
                                          ).fetchone()
            (top,) = db.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
            (self._count,) = db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
        self._next = max(reserved, top + 1)
        self._reserved = self._next   # nothing reserved yet by this process

    # ---- seq ---------------------------------------------------------------------------------------------
    def _take_seq(self, conn) -> int:
        """Inside a transaction: the next seq, reserving a new block first when the current one is used up."""
        if self._next >= self._reserved:
            self._reserved = self._next + SEQ_BLOCK
            conn.execute("INSERT INTO meta (key, value) VALUES ('seq_reserved', ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (self._reserved,))
        seq = self._next
        self._next += 1
        return seq

    def next_seq(self) -> int:
        """A seq for a message that does not go through the outbox (state, replies)."""
        with self.db.transaction() as conn:
            return self._take_seq(conn)

    # ---- messages ----------------------------------------------------------------------------------------
    def add(self, kind: str, topic: str, qos: int, build: Callable[[int], bytes]) -> int:
        """Store one message; `build(seq)` makes its payload. Durable when this returns. Returns the seq."""
        with self.db.transaction() as conn:
            seq = self._take_seq(conn)
            conn.execute("INSERT INTO outbox (seq, kind, topic, qos, payload) VALUES (?, ?, ?, ?, ?)",
                         (seq, kind, topic, qos, build(seq)))
            self._count += 1
            if self._count > self.max_messages:
                self._evict(conn, self._count - self.max_messages)
        return seq

    def _evict(self, conn, excess: int) -> None:
        cur = conn.execute("DELETE FROM outbox WHERE seq IN "
                           "(SELECT seq FROM outbox WHERE kind = ? ORDER BY seq LIMIT ?)", (EVICTABLE, excess))
        self._count -= cur.rowcount
        self.evicted += cur.rowcount
        if self._count > self.max_messages:
            if not self._over_bound_warned:
                log.warning("outbox holds %d messages, over its bound of %d, all events: keeping them",
                            self._count, self.max_messages)
                self._over_bound_warned = True
        else:
            self._over_bound_warned = False

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Pending]:
        rows = self.db.query("SELECT seq, kind, topic, qos, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                             (after_seq, limit))
        return [Pending(seq, kind, topic, qos, bytes(payload)) for seq, kind, topic, qos, payload in rows]

    def remove(self, seqs: Iterable[int]) -> None:
        seqs = list(seqs)
        if not seqs:
            return
        with self.db.transaction() as conn:
            cur = conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self._count -= cur.rowcount

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._count
        return self.db.query("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,))[0][0]
