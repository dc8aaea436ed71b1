"""Nonces of signed commands already executed, on disk so that a restart does not reopen the replay window."""
from __future__ import annotations

import sqlite3

from agent.storage import Db


class NonceStore:
    def __init__(self, db: Db):
        self.db = db   # table `nonces` is created with the outbox schema (same file)

    def remember(self, nonce: str, ts: float, now: float, window_s: float) -> bool:
        """Record `nonce` (of a command stamped `ts`); False if it was already there.
        Entries stamped before now - window can go: a command that old is refused as expired anyway."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM nonces WHERE ts < ?", (now - window_s,))
            try:
                conn.execute("INSERT INTO nonces (nonce, ts) VALUES (?, ?)", (nonce, ts))
            except sqlite3.IntegrityError:
                return False
        return True
