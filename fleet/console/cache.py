"""The fleet as the table needs it, kept in memory and brought up to date from the database at each request: only
the devices that changed since the last look are read again (their state, status or latest events), so a page of
a 10,000-device fleet does not parse every device's state (BENCHMARKS.md, "Fleet web console").

Several `fleet serve` instances each keep their own copy of the one database: a change stored by any instance is
seen by all. A change is found by its `received` time (the storing instance's clock, written before its commit):
each look goes back LOOK_BACK_S before the previous one, so a batch committed late, or a clock a little behind,
is not missed; reading a device twice is harmless.
"""
from __future__ import annotations

import threading
from typing import Callable

from fleet.console.table import Entry, entry
from fleet.db import FleetDb

TABLE_PARTS = ("modem", "failover", "cellular", "drills")
LOOK_BACK_S = 5.0
RELOAD_ALL_ABOVE = 2000
SLICE = 500     # more changed devices than this: one full read is cheaper than one query each

CHANGED = ("SELECT device_id FROM device_state WHERE received > ? UNION "
           "SELECT device_id FROM devices WHERE online_since > ? OR first_seen > ? UNION "
           "SELECT device_id FROM latest_events WHERE received > ?")


def changed_since(db: FleetDb, mark: float) -> list[str]:
    return [r[0] for r in db.query(CHANGED, (mark,) * 4)]


class FleetCache:
    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self._entries: dict[str, Entry] = {}
        self._mark: float | None = None
        self._lock = threading.Lock()    # one refresh at a time; readers take a snapshot of the list

    def entries(self, db: FleetDb) -> list[Entry]:
        with self._lock:
            now = self.clock()
            if self._mark is None:
                fresh = _read_all(db)
            else:
                changed = changed_since(db, self._mark - LOOK_BACK_S)
                if len(changed) > RELOAD_ALL_ABOVE:
                    fresh = _read_all(db)
                else:
                    fresh = dict(self._entries)
                    fresh.update(_read(db, changed))
            self._entries, self._mark = fresh, now
            return list(fresh.values())


def _read_all(db: FleetDb) -> dict[str, Entry]:
    return _read(db, [r[0] for r in db.query("SELECT device_id FROM devices ORDER BY device_id")])


def _read(db: FleetDb, ids: list[str]) -> dict[str, Entry]:
    """These devices, SLICE at a time: the whole fleet's parsed state never sits in memory at once (10,000
    devices in one read peaked at 54 MiB of Python objects), and a thousand changed devices are two queries of
    each kind, not a thousand."""
    fresh: dict[str, Entry] = {}
    for first in range(0, len(ids), SLICE):
        for d in db.devices(parts=TABLE_PARTS, latest=True, ids=ids[first:first + SLICE]):
            fresh[d["device_id"]] = entry(d)
    return fresh
