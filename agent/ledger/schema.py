"""The ledger file's tables, their migration from older files, and `read_period()`, the readers' way in.

Version 1 (PRAGMA user_version = 1): one `incidents` table for every kind (records.KINDS) and link, with its evidence
as JSON; `drills` (unchanged since version 0), `speeds`, `switches`; one `heartbeat` row, the last time the agent
was known running. Version 0 (the outage ledger) had `outages` (primary outages only) and `drills`: its outages
become primary DOWN incidents, in one transaction with the version bump, so a kill -9 during the migration leaves
the old file as it was and the next start migrates it again. (One still open is closed by the start that follows:
heartbeat.py.)
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from agent.ledger.records import DOWN, Drill, Incident, Period, Speed, Switch

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id             INTEGER PRIMARY KEY,
    link           TEXT NOT NULL,         -- an uplink's name, or 'all'
    kind           TEXT NOT NULL,         -- down | degraded | total | not_observed
    start          REAL NOT NULL,
    start_source   TEXT NOT NULL,
    end            REAL,
    end_source     TEXT,
    duration_s     REAL,
    duration_basis TEXT,                  -- monotonic | wall
    cause          TEXT NOT NULL,
    planned        INTEGER NOT NULL DEFAULT 0,
    carried_by     TEXT,
    evidence       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS incidents_start ON incidents (start);
CREATE TABLE IF NOT EXISTS drills (
    id          INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    time_source TEXT NOT NULL,
    ok          INTEGER,
    data        TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS speeds (
    id          INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    time_source TEXT NOT NULL,
    link        TEXT NOT NULL,
    ok          INTEGER NOT NULL,
    down_bps    REAL,
    up_bps      REAL,
    bytes       INTEGER NOT NULL DEFAULT 0,
    method      TEXT NOT NULL,
    server      TEXT NOT NULL,
    error       TEXT
);
CREATE TABLE IF NOT EXISTS switches (
    id          INTEGER PRIMARY KEY,
    ts          REAL NOT NULL,
    time_source TEXT NOT NULL,
    kind        TEXT NOT NULL,           -- sim_switch | operator_changed
    sim         INTEGER,
    operator    TEXT,
    reason      TEXT
);
CREATE TABLE IF NOT EXISTS heartbeat (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    ts           REAL NOT NULL,           -- the last time the agent was known running
    time_source  TEXT NOT NULL,
    first_ts     REAL NOT NULL,           -- the first time this ledger saw it running: observed since
    first_source TEXT NOT NULL,
    clean        INTEGER NOT NULL DEFAULT 0   -- 1: written by a clean stop; 0 at a restart: a kill, crash or power cut
);
"""
INCIDENT_COLS = ("id, link, kind, start, start_source, end, end_source, duration_s, duration_basis, cause, planned, "
                 "carried_by, evidence")
MIGRATED = "from the outage ledger (version 0): primary outages only, no evidence kept then"


def migrate(conn: sqlite3.Connection) -> None:
    """Bring a file to SCHEMA_VERSION (inside the caller's transaction; the tables of SCHEMA exist already)."""
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version >= SCHEMA_VERSION:
        return
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='outages'").fetchone():
        evidence = json.dumps({"migrated": MIGRATED})
        conn.execute("INSERT INTO incidents (link, kind, start, start_source, end, end_source, duration_s, "
                     "duration_basis, cause, planned, carried_by, evidence) SELECT 'primary', ?, start, start_source, "
                     "end, end_source, duration_s, duration_basis, cause, drill, uplink, ? FROM outages ORDER BY id",
                     (DOWN, evidence))
        conn.execute("DROP TABLE outages")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def incident_of(row: tuple) -> Incident:
    iid, link, kind, start, ssrc, end, esrc, duration, basis, cause, planned, carried_by, evidence = row
    return Incident(id=iid, link=link, kind=kind, start=start, start_source=ssrc, end=end, end_source=esrc,
                    duration_s=duration, duration_basis=basis, cause=cause, planned=bool(planned),
                    carried_by=carried_by, evidence=_json(evidence))


def read_period(path: Path | str, since: float, until: float) -> Period:
    """The ledger file's records overlapping [since, until), oldest first, for a report: read only, from any
    process (the agent may be running and writing it). A file of an older version is read as it is (the agent
    migrates it at its next start). Raises sqlite3.Error when it cannot be read."""
    uri = f"file:{Path(path)}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=5.0)
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "incidents" in tables:
            incidents = tuple(incident_of(r) for r in conn.execute(
                f"SELECT {INCIDENT_COLS} FROM incidents WHERE start < ? AND (end IS NULL OR end > ?) "
                "ORDER BY start, id", (until, since)))
        else:   # a version 0 file not migrated yet
            incidents = tuple(Incident(id=r[0], link="primary", kind=DOWN, start=r[1], start_source=r[2], end=r[3],
                                       end_source=r[4], duration_s=r[5], duration_basis=r[6], cause=r[7],
                                       planned=bool(r[9]), carried_by=r[8], evidence={"migrated": MIGRATED})
                              for r in conn.execute(
                                  "SELECT id, start, start_source, end, end_source, duration_s, duration_basis, cause, "
                                  "uplink, drill FROM outages WHERE start < ? AND (end IS NULL OR end > ?) "
                                  "ORDER BY start, id", (until, since)))
        drills = []
        for did, ts, src, ok, data in conn.execute(
                "SELECT id, ts, time_source, ok, data FROM drills WHERE ts >= ? AND ts < ? ORDER BY ts, id",
                (since, until)):
            d = _json(data)
            recovery = d.get("recovery_s")
            services = d.get("services")
            drills.append(Drill(id=did, ts=ts, time_source=src, kind=str(d.get("kind") or "full"),
                                ok=None if ok is None else bool(ok),
                                recovery_s=float(recovery) if _is_number(recovery) else None,
                                services=tuple(s for s in services if isinstance(s, dict))
                                if isinstance(services, list) else (), data=d))
        speeds = switches = ()
        if "speeds" in tables:
            speeds = tuple(Speed(id=r[0], ts=r[1], time_source=r[2], link=r[3], ok=bool(r[4]), down_bps=r[5],
                                 up_bps=r[6], bytes=r[7], method=r[8], server=r[9], error=r[10])
                           for r in conn.execute("SELECT id, ts, time_source, link, ok, down_bps, up_bps, bytes, "
                                                 "method, server, error FROM speeds WHERE ts >= ? AND ts < ? "
                                                 "ORDER BY ts, id", (since, until)))
            switches = tuple(Switch(id=r[0], ts=r[1], time_source=r[2], kind=r[3], sim=r[4], operator=r[5],
                                    reason=r[6])
                             for r in conn.execute("SELECT id, ts, time_source, kind, sim, operator, reason FROM "
                                                   "switches WHERE ts >= ? AND ts < ? ORDER BY ts, id",
                                                   (since, until)))
        observed_since = None
        if "heartbeat" in tables:
            row = conn.execute("SELECT first_ts FROM heartbeat WHERE id=1").fetchone()
            observed_since = row[0] if row else None
    finally:
        conn.close()
    return Period(since=since, until=until, incidents=incidents, drills=tuple(drills), speeds=speeds,
                  switches=switches, observed_since=observed_since)


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, (str, bytes)) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
