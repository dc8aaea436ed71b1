"""The ledger file (records.py says what it holds). The outage ledger: every primary-link outage with start, end, duration, cause and the uplink that carried the
traffic meanwhile — the evidence for an SLA claim against the fiber provider — plus the failover drills.

Fed by domain events (it is a core sink):
- `failover` opens an outage. data: reason (the cause), optionally outage_start (wall-clock ts at which the primary
  was first seen failing; default the event's ts), outage_start_source, to (the uplink now carrying traffic,
  default "backup"), drill (true for a drill's switch-over).
- `failback` closes it and emits `outage_closed` with its duration: `outage_s` when the event carries it (the
  primary's first failure until it was healthy again, the hold-down before the failback not included).
- `drill_result` is recorded as a drill. Drills (and a failover marked drill / with reason "drill") never count as
  downtime.

Every timestamp keeps its time source (ntp / modem / unsynced): a ledger entry stamped by an unsynced clock is
weaker evidence and the report says so. Durations come from the monotonic clock when the outage opened in this run
(an NTP step during an outage does not change them), from the wall clock otherwise.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from agent.config import Config
from agent.core import Core, Event
from agent.ledger.records import DOWN, Drill, Incident, Period
from agent.mqtt.codec import to_plain
from agent.storage import Db, StorageUnavailable, announce

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outages (
    id           INTEGER PRIMARY KEY,
    start        REAL NOT NULL,
    start_source TEXT NOT NULL,
    end          REAL,
    end_source   TEXT,
    duration_s   REAL,
    duration_basis TEXT,          -- monotonic | wall
    cause        TEXT NOT NULL,
    uplink       TEXT NOT NULL,
    drill        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outages_start ON outages (start);
CREATE TABLE IF NOT EXISTS drills (
    id          INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    time_source TEXT NOT NULL,
    ok          INTEGER,
    data        TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Outage:
    id: int | None            # None: not on disk yet (the storage writer puts it there when the disk takes it)
    start: float
    start_source: str
    end: float | None
    end_source: str | None
    duration_s: float | None
    duration_basis: str | None
    cause: str
    uplink: str
    drill: bool


class Ledger:
    """Writes go through `Db.write`: on disk at once when the disk takes them, else queued in order for the storage
    writer; the open outage is kept in memory, so the core thread never waits for (or fails on) the disk."""

    def __init__(self, db: Db, core: Core | None = None):
        self.db = db
        self.core = core
        self._current = self._read_current()
        self._current_mono: float | None = None   # core monotonic time at which the open outage opened (this run)

    def _read_current(self) -> Outage | None:
        try:
            rows = self.db.query(f"SELECT {_COLS} FROM outages WHERE end IS NULL ORDER BY id DESC LIMIT 1")
        except (StorageUnavailable, sqlite3.Error):
            return None   # the Db has said why; an outage open before this start cannot be closed from here
        return Outage(*self._row(rows[0])) if rows else None

    # ---- events (core thread) ----------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if event.kind == "failover":
            self.opened(event, self.core.now() if self.core else None)
        elif event.kind == "failback":
            closed = self.closed(event, self.core.now() if self.core else None)
            if closed is not None and not closed.drill and self.core is not None:
                core = self.core
                # After the failback event has reached every sink, so that the broker sees them in that order.
                core.call_later(0, lambda now: core.emit(
                    "outage_closed", duration_s=round(closed.duration_s or 0.0, 3), cause=closed.cause,
                    start=closed.start, start_source=closed.start_source, end=closed.end,
                    end_source=closed.end_source, uplink=closed.uplink, duration_basis=closed.duration_basis))
        elif event.kind == "drill_result":
            self.drill(event)

    def opened(self, event: Event, mono: float | None) -> Outage | None:
        data = event.data
        if self._current is not None:
            log.info("failover while an outage is open (%s): same outage", data.get("reason"))
            return None
        # The failover controller says `started_at` (first failed probe, wall clock); `outage_start` is accepted too.
        start = data.get("outage_start", data.get("started_at"))
        if isinstance(start, bool) or not isinstance(start, (int, float)) or start > event.ts:
            start = event.ts
        start_source = str(data.get("outage_start_source") or event.time_source)
        cause = str(data.get("reason") or "unknown")
        # Planned switches — a drill, or an operator's force_backup ("manual") — are recorded but are not
        # the operator's downtime: the fiber was fine.
        drill = bool(data.get("drill")) or cause in ("drill", "manual")
        uplink = str(data.get("to") or data.get("uplink") or "backup")
        outage = Outage(None, float(start), start_source, None, None, None, None, cause, uplink, drill)
        ids: list[int] = []

        def insert(conn: sqlite3.Connection) -> None:
            cur = conn.execute("INSERT INTO outages (start, start_source, cause, uplink, drill) VALUES (?,?,?,?,?)",
                               (outage.start, start_source, cause, uplink, int(drill)))
            ids.append(cur.lastrowid)

        if self.db.write(insert) and ids:
            outage = dataclasses.replace(outage, id=ids[0])
        self._current = outage
        self._current_mono = None if mono is None else mono - (event.ts - float(start))
        return outage

    def closed(self, event: Event, mono: float | None) -> Outage | None:
        current = self._current
        if current is None:
            log.warning("failback without an open outage: nothing to close")
            return None
        opened_mono, self._current_mono = self._current_mono, None
        outage_s = event.data.get("outage_s")
        end = event.ts
        if isinstance(outage_s, (int, float)) and not isinstance(outage_s, bool) and outage_s >= 0:
            # The primary was healthy again `outage_s` after it failed; the failback came a hold-down later.
            # The SLA outage ends when the primary recovered, not when we chose to trust it again.
            duration, basis = float(outage_s), "monotonic"
            end = min(event.ts, current.start + duration)
        elif opened_mono is not None and mono is not None:
            duration, basis = max(0.0, mono - opened_mono), "monotonic"
        else:
            duration, basis = max(0.0, event.ts - current.start), "wall"
        # The open row is the newest without an end; its id may not be known yet (written later, in order).
        values = (end, event.time_source, duration, basis)
        self.db.write(lambda conn: conn.execute(
            "UPDATE outages SET end=?, end_source=?, duration_s=?, duration_basis=? WHERE id = "
            "(SELECT id FROM outages WHERE end IS NULL ORDER BY id DESC LIMIT 1)", values))
        self._current = None
        return dataclasses.replace(current, end=end, end_source=event.time_source, duration_s=duration,
                                   duration_basis=basis)

    def drill(self, event: Event) -> None:
        ok = event.data.get("ok")
        values = (event.ts, event.time_source, None if ok is None else int(bool(ok)),
                  json.dumps(to_plain(event.data), sort_keys=True))
        self.db.write(lambda conn: conn.execute("INSERT INTO drills (ts, time_source, ok, data) VALUES (?,?,?,?)",
                                                values))

    # ---- queries -----------------------------------------------------------------------------------------
    def get(self, oid: int) -> Outage:
        return Outage(*self._row(self.db.query(f"SELECT {_COLS} FROM outages WHERE id=?", (oid,))[0]))

    def current(self) -> Outage | None:
        return self._current

    @staticmethod
    def _row(row: tuple) -> tuple:
        return row[:9] + (bool(row[9]),)


_COLS = "id, start, start_source, end, end_source, duration_s, duration_basis, cause, uplink, drill"


def read_period(path: Path | str, since: float, until: float) -> Period:
    """The ledger file's records overlapping [since, until), for a report: read only, from any process (the
    agent may be running and writing it). Raises StorageUnavailable / sqlite3.Error when it cannot be read."""
    uri = f"file:{Path(path)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=5.0)
    try:
        rows = conn.execute(f"SELECT {_COLS} FROM outages WHERE start < ? AND (end IS NULL OR end > ?) "
                            "ORDER BY start", (until, since)).fetchall()
        incidents = tuple(Incident(id=r[0], link="primary", kind=DOWN, start=r[1], start_source=r[2], end=r[3],
                                   end_source=r[4], duration_s=r[5], duration_basis=r[6], cause=r[7],
                                   planned=bool(r[9]), carried_by=r[8]) for r in rows)
        drills = []
        for did, ts, src, ok, data in conn.execute(
                "SELECT id, ts, time_source, ok, data FROM drills WHERE ts >= ? AND ts < ? ORDER BY ts",
                (since, until)):
            d = json.loads(data)
            drills.append(Drill(id=did, ts=ts, time_source=src, kind=str(d.get("kind", "full")),
                                ok=None if ok is None else bool(ok), recovery_s=d.get("recovery_s"),
                                services=tuple(d.get("services") or ()), data=d))
    finally:
        conn.close()
    return Period(since=since, until=until, incidents=incidents, drills=tuple(drills))


def attach(core: Core, config: Config) -> Ledger:
    ledger = Ledger(Db(Path(config.storage.dir) / "ledger.db", SCHEMA), core)
    core.add_sink(ledger.on_event)
    core.register_command("report", _report_command(core, config))
    announce(core, ledger.db, "ledger")
    return ledger


def _report_command(core: Core, config: Config):
    """The `report` command is agent/report's; it reads the file through read_period, handed in (the report imports
    the ledger, not the other way round). Imported on the first report: start-up imports as little as it can."""
    handler = []

    def report(args):
        if not handler:
            from agent.report.command import ReportCommand
            handler.append(ReportCommand(core, config, read_period))
        return handler[0](args)
    return report
