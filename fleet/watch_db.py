"""The alert loop's tables, beside the ingest's (fleet/db.py): provider incidents, what each alert channel sent,
what the loop tracked of each site, how far it has read, and which instance runs it.

    provider_incidents  one row per incident: opened/closed, its sites (JSON), the SIM switch suggested or ordered
    alerts_sent         (channel, key) -> when sent: each channel's de-duplication window, across restarts
    site_watch          device -> Tracked (fleet/sites.py) as JSON: telemetry metrics, poor signal since, drills
    fleet_watch         name -> value: 'cursor', the `received` up to which events and telemetry were read
    fleet_lease         name -> holder, until: one `fleet serve` of several runs the loop (the others wait)
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Mapping

from fleet.correlate import Incident
from fleet.db import FleetDb
from fleet.sites import Tracked
from fleet.uplinks import slim_links

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS provider_incidents (
        id TEXT PRIMARY KEY, link TEXT NOT NULL, provider TEXT NOT NULL, area TEXT NOT NULL,
        since DOUBLE PRECISION NOT NULL, opened_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION,
        sites TEXT NOT NULL,                  -- [{site, lost_at, recovered_at}]
        sim_switch TEXT,                      -- NULL, 'suggested' or 'ordered' (cellular incidents)
        -- its opening / closing was handed to the alert channels (in the transaction that stored their memory)
        open_announced INTEGER NOT NULL DEFAULT 0, close_announced INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS provider_incidents_since ON provider_incidents (since)",
    """CREATE TABLE IF NOT EXISTS alerts_sent (
        channel TEXT NOT NULL, key TEXT NOT NULL, sent_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (channel, key))""",
    "CREATE TABLE IF NOT EXISTS site_watch (device_id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS fleet_watch (name TEXT PRIMARY KEY, value DOUBLE PRECISION NOT NULL)",
    """CREATE TABLE IF NOT EXISTS fleet_lease (
        name TEXT PRIMARY KEY, holder TEXT NOT NULL, until DOUBLE PRECISION NOT NULL)""",
    # the loop reads what arrived since its last round
    "CREATE INDEX IF NOT EXISTS events_received ON events (received)",
    "CREATE INDEX IF NOT EXISTS telemetry_received ON telemetry (received)",
)

LINK_KINDS = ("link_down", "link_restored", "failover", "failback")
DRILL_KINDS = ("drill_result", "drill_overdue")

_OPEN = ("INSERT INTO provider_incidents (id, link, provider, area, since, opened_at, closed_at, sites, sim_switch) "
         "VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?) ON CONFLICT (id) DO NOTHING")
_SITES = "UPDATE provider_incidents SET sites = ? WHERE id = ? AND closed_at IS NULL"
_CLOSE = "UPDATE provider_incidents SET closed_at = ?, sites = ? WHERE id = ? AND closed_at IS NULL"
_SENT = ("INSERT INTO alerts_sent (channel, key, sent_at) VALUES (?, ?, ?) "
         "ON CONFLICT (channel, key) DO UPDATE SET sent_at = excluded.sent_at")
_TRACKED = ("INSERT INTO site_watch (device_id, body) VALUES (?, ?) "
            "ON CONFLICT (device_id) DO UPDATE SET body = excluded.body")
_CURSOR = ("INSERT INTO fleet_watch (name, value) VALUES ('cursor', ?) "
           "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
# Taken when free or expired, renewed by its holder; an upsert whose WHERE refuses changes no row.
_LEASE = ("INSERT INTO fleet_lease (name, holder, until) VALUES ('watch', ?, ?) ON CONFLICT (name) DO UPDATE "
          "SET holder = excluded.holder, until = excluded.until "
          "WHERE fleet_lease.holder = excluded.holder OR fleet_lease.until < ?")


def prepare(db: FleetDb) -> None:
    db.write([(statement, [()]) for statement in SCHEMA])


def sites_json(incident: Incident) -> str:
    return json.dumps([{"site": s.site, "lost_at": s.lost_at, "recovered_at": s.recovered_at}
                       for s in incident.sites], separators=(",", ":"))


def write_incident(db: FleetDb, statement: str, row: tuple) -> bool:
    """One incident write; True when it changed the row (a new incident, a close not recorded before)."""
    return db.write([(statement, [row])])[0] > 0


def open_incident(db: FleetDb, incident: Incident, sim_switch: str | None) -> bool:
    g = incident.group
    return write_incident(db, _OPEN, (incident.id, str(g.link), g.provider, g.area, incident.since,
                                      incident.opened_at, sites_json(incident), sim_switch))


def update_incident(db: FleetDb, incident: Incident) -> None:
    write_incident(db, _SITES, (sites_json(incident), incident.id))


def close_incident(db: FleetDb, incident: Incident) -> bool:
    return write_incident(db, _CLOSE, (incident.closed_at, sites_json(incident), incident.id))


def announced(db: FleetDb, incident_id: str) -> tuple[bool, bool]:
    """Whether the incident's opening, its closing, were handed to the alert channels already."""
    rows = db.query("SELECT open_announced, close_announced FROM provider_incidents WHERE id = ?", (incident_id,))
    return (bool(rows[0][0]), bool(rows[0][1])) if rows else (False, False)


def mark_sim_switch(db: FleetDb, incident_id: str, what: str) -> None:
    db.write([("UPDATE provider_incidents SET sim_switch = ? WHERE id = ?", [(what, incident_id)])])


def incidents(db: FleetDb, since: float | None = None, until: float | None = None,
              open_only: bool = False) -> list[dict[str, Any]]:
    """Incidents overlapping [since, until), oldest first, sites decoded."""
    where, params = [], []
    if open_only:
        where.append("closed_at IS NULL")
    if until is not None:
        where.append("since < ?")
        params.append(until)
    if since is not None:
        where.append("(closed_at IS NULL OR closed_at >= ?)")
        params.append(since)
    rows = db.query("SELECT id, link, provider, area, since, opened_at, closed_at, sites, sim_switch "
                    "FROM provider_incidents" + (" WHERE " + " AND ".join(where) if where else "")
                    + " ORDER BY since, id", tuple(params))
    return [{"id": r[0], "link": r[1], "provider": r[2], "area": r[3], "since": r[4], "opened_at": r[5],
             "closed_at": r[6], "sites": json.loads(r[7]), "sim_switch": r[8]} for r in rows]


def alert_memory(db: FleetDb, channel: str) -> dict[str, float]:
    return {k: t for k, t in db.query("SELECT key, sent_at FROM alerts_sent WHERE channel = ?", (channel,))}


def tracked(db: FleetDb) -> dict[str, Tracked]:
    return {d: Tracked.from_json(json.loads(body)) for d, body in db.query("SELECT device_id, body FROM site_watch")}


def cursor(db: FleetDb) -> float | None:
    rows = db.query("SELECT value FROM fleet_watch WHERE name = 'cursor'")
    return rows[0][0] if rows else None


def save_round(db: FleetDb, upto: float, sites: Mapping[str, Tracked], sent: Iterable[tuple[str, str, float]],
               forget_before: float, opened: Iterable[str] = (), closed: Iterable[str] = ()) -> None:
    """What a round learnt, in one transaction: the tracked sites it changed, what the channels sent, the
    incidents announced, the cursor. A crash before it: the round is done again, nothing was marked sent."""
    db.write([(_TRACKED, [(d, json.dumps(t.as_json(), separators=(",", ":"))) for d, t in sites.items()]),
              (_SENT, list(sent)),
              ("UPDATE provider_incidents SET open_announced = 1 WHERE id = ?", [(i,) for i in opened]),
              ("UPDATE provider_incidents SET close_announced = 1 WHERE id = ?", [(i,) for i in closed]),
              ("DELETE FROM alerts_sent WHERE sent_at < ?", [(forget_before,)]),
              (_CURSOR, [(upto,)])])


def take_lease(db: FleetDb, holder: str, now: float, for_s: float) -> bool:
    return db.write([(_LEASE, [(holder, now + for_s, now)])])[0] > 0


CHUNK = 5000   # rows per query: a restart after a day away reads a day of telemetry in bounded memory


def chunks(db: FleetDb, select: str, after: float, upto: float, params: tuple = (), order: str = "",
           limit: int = CHUNK) -> Iterator[list[tuple]]:
    """`select` (its WHERE ends with AND, or is empty) over `received` in (after, upto], in arrival order, `limit`
    rows at a time; each row's last column is its `received`. A chunk ends where `received` changes: one
    ingest batch (one `received`) is never split, so a chunk can be longer than `limit` only by one batch."""
    while True:
        rows = db.query(f"{select} received > ? AND received <= ? ORDER BY received{order} LIMIT ?",
                        (*params, after, upto, limit))
        if len(rows) < limit:
            if rows:
                yield rows
            return
        last = rows[-1][-1]
        whole = [r for r in rows if r[-1] < last]
        if not whole:       # one batch longer than the limit: read it whole
            whole = db.query(f"{select} received = ? ORDER BY received{order}", (*params, last))
        yield whole
        after = whole[-1][-1]


def new_events(db: FleetDb, after: float, upto: float, kinds: tuple[str, ...] = LINK_KINDS + DRILL_KINDS):
    """Events of `kinds` that arrived in (after, upto]: (device_id, ts, kind, data, received), in chunks."""
    marks = ", ".join("?" * len(kinds))
    return chunks(db, f"SELECT device_id, ts, kind, data, received FROM events WHERE kind IN ({marks}) AND", after,
                  upto, kinds, ", ts, device_id, seq")


def new_telemetry(db: FleetDb, after: float, upto: float):
    """Telemetry that arrived in (after, upto]: (device_id, ts, metrics, received), in chunks."""
    return chunks(db, "SELECT device_id, ts, metrics, received FROM telemetry WHERE", after, upto, (),
                  ", ts, device_id, seq")


def link_events(db: FleetDb, after: float, upto: float):
    """The link events of (after, upto]: what rebuilds the correlation after a restart."""
    return new_events(db, after, upto, LINK_KINDS)


# What the loop reads of each state part: a real agent's modem and failover parts are 0.5 KB of JSON each, a few
# KB as Python objects; of 10,000 devices the loop keeps only these keys (fleet/sites.py reads nothing else).
KEPT = {"device": ("contracts",), "failover": ("active_uplink", "since", "links"),
        "cellular": ("operator", "active_slot", "usage"), "modem": ("operator_name",)}
KEPT_USAGE = ("total_bytes", "cap_bytes")


def lean_devices(db: FleetDb) -> Iterator[dict[str, Any]]:
    """FleetDb.devices() with only the state the alert loop reads (KEPT): each part decoded, picked, let go; the
    devices one slice at a time, in device_id order."""
    out: dict[str, dict[str, Any]] = {}
    for device_id, online, since, last in db.query("SELECT device_id, online, online_since, last_seen FROM devices "
                                                   "ORDER BY device_id"):
        out[device_id] = {"device_id": device_id, "online": None if online is None else bool(online),
                          "since": since, "last_seen": last, "state": {}}
    marks = ", ".join("?" * len(KEPT))
    # a slice of devices at a time, in the database's own order: all their bodies at once would be the peak
    ids = list(out)
    step = CHUNK // len(KEPT)
    for first in range(0, len(ids), step):
        rows = db.query(f"SELECT device_id, part, body FROM device_state WHERE part IN ({marks}) "
                        f"AND device_id >= ? AND device_id <= ?",
                        (*KEPT, ids[first], ids[min(first + step, len(ids)) - 1]))
        for device_id, part, body in rows:
            d = out.get(device_id)
            try:
                value = json.loads(body)
            except ValueError:
                continue
            if d is None or not isinstance(value, dict):
                continue
            kept = {k: value[k] for k in KEPT[part] if k in value}
            if isinstance(kept.get("usage"), dict):
                kept["usage"] = {k: kept["usage"][k] for k in KEPT_USAGE if k in kept["usage"]}
            if "links" in kept:
                kept["links"] = slim_links(kept["links"])     # each link's priority and kind, nothing else
            d["state"][part] = kept
        for device_id in ids[first:first + step]:
            yield out.pop(device_id)

