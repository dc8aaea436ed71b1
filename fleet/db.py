"""The fleet database through one SQL layer: SQLite (default: one file, nothing to set up) or PostgreSQL
(`database = "postgresql://..."`, for large fleets and several `fleet serve` instances).

Both speak the same SQL here: `INSERT ... ON CONFLICT` (SQLite 3.24+, PostgreSQL 9.5+) does the de-duplication
by (device, seq) in the database itself, so it holds across restarts of `fleet serve` and across instances sharing
one database. Statements are written with `?` placeholders and turned into psycopg's `%s` for PostgreSQL.

Tables: devices (online/offline and since when, first/last seen), status_changes (each change of online/offline,
the last STATUS_KEEP_S: the console's timeline draws the offline periods), device_state (the latest of each retained
state part), events, telemetry, replies. JSON bodies are stored as text: both databases read it back the same.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from fleet.messages import Kind, Message

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS devices (
        device_id TEXT PRIMARY KEY,
        online INTEGER,                      -- 1 online, 0 offline, NULL: no status seen yet
        online_since DOUBLE PRECISION,       -- when this fleet first saw the current online/offline
        first_seen DOUBLE PRECISION NOT NULL,
        last_seen DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS device_state (
        device_id TEXT NOT NULL, part TEXT NOT NULL, seq BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        body TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (device_id, part))""",
    """CREATE TABLE IF NOT EXISTS events (
        device_id TEXT NOT NULL, seq BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL, time_source TEXT,
        kind TEXT NOT NULL, data TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (device_id, seq))""",
    "CREATE INDEX IF NOT EXISTS events_kind_ts ON events (kind, ts)",
    """CREATE TABLE IF NOT EXISTS telemetry (
        device_id TEXT NOT NULL, seq BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL, time_source TEXT,
        why TEXT NOT NULL, metrics TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (device_id, seq))""",
    """CREATE TABLE IF NOT EXISTS replies (
        device_id TEXT NOT NULL, command_id TEXT NOT NULL, seq BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        ok INTEGER NOT NULL, body TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (device_id, command_id))""",
    # The latest event of each kind the fleet table shows (last incident, last drill), kept at ingest: reading
    # them from `events` for 10,000 devices at every page would scan every such event ever stored.
    """CREATE TABLE IF NOT EXISTS latest_events (
        device_id TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL, ts DOUBLE PRECISION NOT NULL,
        data TEXT NOT NULL, received DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (device_id, kind))""",
    # Each change of a device's online/offline as ingest saw it (the fleet's clock: the broker's will says
    # "offline", not the device). Pruned at ingest to STATUS_KEEP_S, so a flapping device costs rows only that long.
    """CREATE TABLE IF NOT EXISTS status_changes (
        device_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, online INTEGER NOT NULL,
        PRIMARY KEY (device_id, at))""",
    "CREATE INDEX IF NOT EXISTS status_changes_at ON status_changes (at)",
    # what changed since a moment: the console's table and its live rows look every few seconds
    "CREATE INDEX IF NOT EXISTS device_state_received ON device_state (received)",
    "CREATE INDEX IF NOT EXISTS latest_events_received ON latest_events (received)",
)
# the kinds kept in latest_events: incidents (the primary lost, an outage closed), drills, the agent's overdue
LATEST_KINDS = frozenset({"failover", "failback", "outage_closed", "drill_result", "drill_overdue"})

_TOUCH = ("INSERT INTO devices (device_id, online, online_since, first_seen, last_seen) VALUES (?, NULL, NULL, ?, ?) "
          "ON CONFLICT (device_id) DO UPDATE SET last_seen = excluded.last_seen")
# A retained status is delivered again at every (re)subscription: "since" moves only when the value changes.
_STATUS = ("INSERT INTO devices (device_id, online, online_since, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (device_id) DO UPDATE SET "
           "online_since = CASE WHEN devices.online IS NOT DISTINCT FROM excluded.online "
           "THEN devices.online_since ELSE excluded.online_since END, "
           "online = excluded.online, last_seen = excluded.last_seen")
# Written before _STATUS, so "a change" is against what the device had; a status repeated (every resubscription
# delivers the retained one again) writes nothing. Two changes in one batch share its time: the later one stays.
_STATUS_CHANGE = ("INSERT INTO status_changes (device_id, at, online) SELECT ?, ?, ? WHERE NOT EXISTS "
                  "(SELECT 1 FROM devices WHERE device_id = ? AND online IS NOT DISTINCT FROM ?) "
                  "ON CONFLICT (device_id, at) DO UPDATE SET online = excluded.online")
STATUS_KEEP_S = 35 * 86400.0    # the console's 30 days, and some
STATUS_PRUNE_EVERY_S = 3600.0
# State and replies take their seq when sent (docs/mqtt.md): an older part arriving late must not win.
_STATE = ("INSERT INTO device_state (device_id, part, seq, ts, body, received) VALUES (?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (device_id, part) DO UPDATE SET seq = excluded.seq, ts = excluded.ts, body = excluded.body, "
          "received = excluded.received WHERE excluded.seq > device_state.seq")
_EVENT = ("INSERT INTO events (device_id, seq, ts, time_source, kind, data, received) VALUES (?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (device_id, seq) DO NOTHING")
_TELEMETRY = ("INSERT INTO telemetry (device_id, seq, ts, time_source, why, metrics, received) "
              "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, seq) DO NOTHING")
_LATEST = ("INSERT INTO latest_events (device_id, kind, seq, ts, data, received) VALUES (?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (device_id, kind) DO UPDATE SET seq = excluded.seq, ts = excluded.ts, data = excluded.data, "
           "received = excluded.received WHERE excluded.seq > latest_events.seq")
# The agent answers a repeated command id with its first reply: the first one stored is the one.
_REPLY = ("INSERT INTO replies (device_id, command_id, seq, ts, ok, body, received) VALUES (?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (device_id, command_id) DO NOTHING")


class DatabaseError(Exception):
    """The database refused or is unreachable; the words say which and where (never the password)."""


@dataclass(frozen=True)
class Stored:
    new: int          # events + telemetry rows written
    duplicates: int   # events + telemetry already there (same device and seq)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def describe(url: str) -> str:
    """The database named for a log line or an error: a PostgreSQL URL without its password."""
    if url.startswith(("postgresql://", "postgres://")):
        from urllib.parse import urlsplit
        u = urlsplit(url)
        user = f"{u.username}@" if u.username else ""
        try:
            port = f":{u.port}" if u.port else ""
        except ValueError:   # a port that is no number: psycopg will say so; the name must not fail first
            port = ":?"
        return f"postgresql://{user}{u.hostname or 'localhost'}{port}{u.path}"
    return url


class FleetDb:
    """One connection, used by one thread at a time (the ingest writer, or a CLI command)."""

    def __init__(self, url: str):
        self.url = url
        self.postgres = url.startswith(("postgresql://", "postgres://"))
        self._conn: Any = None
        self._status_pruned = float("-inf")   # when store() last dropped status changes older than STATUS_KEEP_S

    # -- connection ---------------------------------------------------------------------------------------------
    def connect(self) -> "FleetDb":
        try:
            if self.postgres:
                import psycopg   # only for PostgreSQL: the optional `fleet` dependency group
                self._conn = psycopg.connect(self.url, connect_timeout=5)
            else:
                path = self.url.removeprefix("sqlite://") if self.url.startswith("sqlite://") else self.url
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                # isolation_level=None: transactions are ours (BEGIN ... COMMIT), one per batch
                self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
                self._conn.execute("PRAGMA journal_mode=WAL")
                # FULL: a commit is on disk before the broker is told (PUBACK) it may forget the message
                self._conn.execute("PRAGMA synchronous=FULL")
            self._run_schema()
        except ImportError:
            raise DatabaseError("PostgreSQL needs psycopg: pip install 'relais[fleet]' "
                                "(or Debian's python3-psycopg)") from None
        except Exception as e:
            self.close()
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None
        return self

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:   # closing a connection the server already dropped
                pass
            self._conn = None

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def _run_schema(self) -> None:
        with self._transaction() as cur:
            for statement in SCHEMA:
                cur.execute(statement)

    def _transaction(self):
        return _Transaction(self)

    # -- writing ------------------------------------------------------------------------------------------------
    def store(self, messages: Iterable[Message], received: float) -> Stored:
        """Write one batch in one transaction; returns once it is committed. Raises DatabaseError (the caller
        then keeps the batch, reconnects and tries again: nothing is acknowledged before this returns)."""
        touch: dict[str, float] = {}
        status, state, events, telemetry, replies, latest = [], [], [], [], [], []
        for m in messages:
            touch[m.device_id] = received
            if m.kind is Kind.STATUS:
                status.append((m.device_id, int(m.online), received, received, received))
            elif m.kind is Kind.STATE:
                state.append((m.device_id, m.part, m.seq, m.ts, _dumps(m.body[m.part]), received))
            elif m.kind is Kind.EVENT:
                events.append((m.device_id, m.seq, m.ts, m.time_source, m.body["kind"], _dumps(m.body["data"]),
                               received))
                if m.body["kind"] in LATEST_KINDS:
                    latest.append((m.device_id, m.body["kind"], m.seq, m.ts, events[-1][5], received))
            elif m.kind is Kind.TELEMETRY:
                telemetry.append((m.device_id, m.seq, m.ts, m.time_source, m.body["why"], _dumps(m.body["metrics"]),
                                  received))
            else:
                replies.append((m.device_id, m.part, m.seq, m.ts, int(m.body["ok"]), _dumps(m.body), received))
        new = 0
        try:
            with self._transaction() as cur:
                if touch:
                    cur.executemany(self._sql(_TOUCH), [(d, t, t) for d, t in sorted(touch.items())])
                for row in status:   # in order: each change is judged against the one before it
                    device, online = row[0], row[1]
                    cur.execute(self._sql(_STATUS_CHANGE), (device, received, online, device, online))
                    cur.execute(self._sql(_STATUS), row)
                if status and received - self._status_pruned >= STATUS_PRUNE_EVERY_S:
                    cur.execute(self._sql("DELETE FROM status_changes WHERE at < ?"), (received - STATUS_KEEP_S,))
                    self._status_pruned = received
                if state:
                    cur.executemany(self._sql(_STATE), state)
                for statement, rows in ((_EVENT, events), (_TELEMETRY, telemetry)):
                    if rows:
                        cur.executemany(self._sql(statement), rows)
                        new += max(cur.rowcount, 0)
                if replies:
                    cur.executemany(self._sql(_REPLY), replies)
                if latest:
                    cur.executemany(self._sql(_LATEST), latest)
        except DatabaseError:
            raise
        except Exception as e:
            self.close()   # a broken connection is not reused: the next batch reconnects
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None
        return Stored(new=new, duplicates=len(events) + len(telemetry) - new)

    # -- reading ------------------------------------------------------------------------------------------------
    def query(self, statement: str, params: tuple = ()) -> list[tuple]:
        try:
            with self._transaction() as cur:
                cur.execute(self._sql(statement), params)
                return list(cur.fetchall())
        except Exception as e:
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None

    def execute(self, statement: str, params: tuple = ()) -> int:
        """One writing statement in its own transaction; the rows it changed."""
        try:
            with self._transaction() as cur:
                cur.execute(self._sql(statement), params)
                return max(cur.rowcount, 0)
        except Exception as e:
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None

    def execute_schema(self, statements: Iterable[str]) -> None:
        """Tables of another part of the fleet (the console's users), created when missing."""
        try:
            with self._transaction() as cur:
                for statement in statements:
                    cur.execute(statement)
        except Exception as e:
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None
    def write(self, statements: Iterable[tuple[str, list[tuple]]]) -> list[int]:
        """Several statements in one transaction, each run over its rows; how many rows each changed (an upsert
        whose WHERE refused counts 0: fleet/watch_db.py tells a new incident from one it has by this)."""
        changed = []
        try:
            with self._transaction() as cur:
                for statement, rows in statements:
                    n = 0
                    for row in rows:
                        cur.execute(self._sql(statement), row)
                        n += max(cur.rowcount, 0)
                    changed.append(n)
        except Exception as e:
            self.close()
            raise DatabaseError(f"{describe(self.url)}: {_first_line(e)}") from None
        return changed

    def count(self, table: str) -> int:
        if table not in ("devices", "device_state", "events", "telemetry", "replies"):
            raise ValueError(table)
        return self.query(f"SELECT COUNT(*) FROM {table}")[0][0]

    def reply(self, device_id: str, command_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT body FROM replies WHERE device_id = ? AND command_id = ?", (device_id, command_id))
        return json.loads(rows[0][0]) if rows else None

    def devices(self, parts: Iterable[str] | None = None, latest: bool = False,
                device_id: str | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Every device with its status and its latest state parts, merged as the agent's snapshot; only the
        named `parts` when given (the console's table needs four of them: JSON parsing is most of the time);
        with `latest`, also "latest": {kind: {"ts", "data"}} of LATEST_KINDS; `device_id`: that one device;
        `ids`: these devices (at most 500: the console reads a large fleet, or what changed, a slice at a time)."""
        out: dict[str, dict[str, Any]] = {}
        if device_id is not None:
            ids = [device_id]
        if ids is not None and not 0 < len(ids) <= 500:
            raise ValueError(f"devices(ids=...): 1 to 500 ids, got {len(ids)}")
        one = (f" WHERE device_id IN ({', '.join('?' * len(ids))})", tuple(ids)) if ids is not None else ("", ())
        for did, online, since, first, last in self.query(
                "SELECT device_id, online, online_since, first_seen, last_seen FROM devices" + one[0] +
                " ORDER BY device_id", one[1]):
            out[did] = {"device_id": did, "online": None if online is None else bool(online),
                        "since": since, "first_seen": first, "last_seen": last, "state": {}}
        wanted = None if parts is None else sorted(set(parts))
        where = [] if wanted is None else [f"part IN ({', '.join('?' * len(wanted))})"]
        params: list[Any] = [] if wanted is None else list(wanted)
        if ids is not None:
            where.append(one[0].removeprefix(" WHERE "))
            params.extend(ids)
        sql = "SELECT device_id, part, body FROM device_state" + (" WHERE " + " AND ".join(where) if where else "")
        for did, part, body in self.query(sql, tuple(params)):
            if did in out:
                out[did]["state"][part] = json.loads(body)
        if latest:
            for d in out.values():
                d["latest"] = {}
            sql = "SELECT device_id, kind, ts, data FROM latest_events" + one[0]
            for did, kind, ts, data in self.query(sql, one[1]):
                if did in out:
                    out[did]["latest"][kind] = {"ts": ts, "data": json.loads(data)}
        return list(out.values())

    def status_changes(self, device_id: str, since: float) -> list[tuple[float, bool]]:
        """(when, online) of each change of the device's status since `since`, in time order."""
        return [(at, bool(online)) for at, online in self.query(
            "SELECT at, online FROM status_changes WHERE device_id = ? AND at >= ? ORDER BY at", (device_id, since))]


class _Transaction:
    def __init__(self, db: FleetDb):
        self.db = db

    def __enter__(self):
        if self.db._conn is None:
            self.db.connect()
        self.cur = self.db._conn.cursor()
        if not self.db.postgres:
            self.cur.execute("BEGIN IMMEDIATE")   # psycopg opens its transaction by itself
        return self.cur

    def __exit__(self, exc_type, exc, tb) -> None:
        conn = self.db._conn
        if exc_type is None:
            if self.db.postgres:
                conn.commit()
            else:
                self.cur.execute("COMMIT")
            return
        try:
            if self.db.postgres:
                conn.rollback()
            else:
                self.cur.execute("ROLLBACK")
        except Exception:   # the connection is gone: there is nothing to roll back
            pass


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0] if text else ''}"[:200]
