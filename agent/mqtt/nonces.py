"""Nonces of signed commands already executed, on disk so that a restart does not reopen the replay window.

When the file refuses a write (disk full, locked by another process, read-only) the nonce is kept in memory
instead: the replay check stays exact while this process runs, and the command is not refused for a storage
fault the sender cannot see. Memory entries go when they fall out of the window, like those on disk."""
from __future__ import annotations

import sqlite3
import threading

from agent.storage import Db, StorageUnavailable


class NonceStore:
    def __init__(self, db: Db):
        self.db = db   # table `nonces` is created with the outbox schema (same file)
        self._memory: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, nonce: str, ts: float, now: float, window_s: float) -> bool:
        """Record `nonce` (of a command stamped `ts`); False if it was already there.
        Entries stamped before now - window can go: a command that old is refused as expired anyway."""
        with self._lock:
            self._memory = {n: t for n, t in self._memory.items() if t >= now - window_s}
            if nonce in self._memory:
                return False
            try:
                with self.db.transaction() as conn:
                    conn.execute("DELETE FROM nonces WHERE ts < ?", (now - window_s,))
                    try:
                        conn.execute("INSERT INTO nonces (nonce, ts) VALUES (?, ?)", (nonce, ts))
                    except sqlite3.IntegrityError:
                        return False
            except (StorageUnavailable, sqlite3.Error):
                try:
                    if self.db.query("SELECT 1 FROM nonces WHERE nonce = ?", (nonce,)):
                        return False
                except (StorageUnavailable, sqlite3.Error):
                    pass
                self._memory[nonce] = ts
        return True
