"""The agent's heartbeat in the ledger, and what a start makes of it (store.py's Ledger, this part of it).

One row holds the last time the agent was known running, updated every HEARTBEAT_S (one UPDATE, with the open
incidents' evidence so that a kill loses at most that much of it) and at a clean stop. At start, the time from
that heartbeat to now is a NOT_OBSERVED incident, and every incident still open is closed at the heartbeat
("closed at restart"). A clock behind the last heartbeat (a router without RTC, before NTP) is never trusted
to move it back: the not-observed time is closed once the clock is right, from the monotonic time since the start.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from agent.core import Core
from agent.ledger.boot import machine_boot_time, watchdog_boot_status
from agent.ledger.records import (ALL_LINKS, MACHINE_RESTARTED, MACHINE_RESTARTED_CLEAN, NOT_OBSERVED,
                                   POWER)
from agent.ledger.rows import Open
from agent.ledger.schema import INCIDENT_COLS, incident_of
from agent.mqtt.codec import to_plain
from agent.storage import Db, StorageUnavailable

log = logging.getLogger(__name__)

HEARTBEAT_S = 60.0
PLANNED = "planned"          # the slot of a drill's or an operator's switch, kept apart from a real DOWN
CLOSED_AT_RESTART = ("closed at restart: the agent stopped while it was open (kill, crash or power cut); "
                     "it ends at the agent's last heartbeat")
CLOSED_AT_MIGRATION = ("closed at the migration of a version 0 ledger (which kept no heartbeat): still open when "
                       "that agent stopped; it ends at this start")
NOT_RUNNING = "agent_not_running"


class Restart:
    """The heartbeat part of the Ledger: it provides db, core, _open, _outage, _gap, _heartbeat_ts,
    _restart_mono, _wall(), _mono(), _insert(), _close() and _evidence()."""
    db: Db
    core: Core | None
    _open: dict[tuple[str, str], Open]
    _outage: Open | None
    _gap: Open | None
    _heartbeat_ts: float | None
    _restart_mono: float
    boot_time = staticmethod(machine_boot_time)      # tests give their own
    watchdog_status = staticmethod(watchdog_boot_status)

    def _restart(self) -> None:
        wall, source = self._wall()
        try:
            beat = self.db.query("SELECT ts, time_source, first_ts, first_source, clean FROM heartbeat WHERE id=1")
            rows = self.db.query(f"SELECT {INCIDENT_COLS} FROM incidents WHERE end IS NULL ORDER BY id")
            (earliest,) = self.db.query("SELECT MIN(t) FROM (SELECT MIN(start) AS t FROM incidents "
                                        "UNION ALL SELECT MIN(ts) FROM drills)")[0]
        except (StorageUnavailable, sqlite3.Error) as e:
            # The Db has said why. Without the last heartbeat this start cannot tell how long the agent was away:
            # the row is created if missing, never moved back.
            log.warning("ledger: cannot read the last heartbeat (%s); the time before this start is not recorded",
                        e)
            self._heartbeat_ts = wall
            self.db.write(lambda conn: conn.execute(
                "INSERT OR IGNORE INTO heartbeat (id, ts, time_source, first_ts, first_source) VALUES (1,?,?,?,?)",
                (wall, source, wall, source)))
            return
        if not beat:
            # A new file, or one migrated from version 0, which kept no heartbeat: an outage still open there was
            # open when that agent stopped, just before this start (an upgrade); it ends here, said so, and a
            # primary still down opens a new one. Carrying it on would let a later restart close it at a heartbeat
            # of this run, counting all of this run as downtime.
            for row in rows:
                self._close_at_restart(incident_of(row), wall, source, CLOSED_AT_MIGRATION)
            first = wall if earliest is None else min(earliest, wall)
            self._heartbeat_ts = wall
            self.db.write(lambda conn: conn.execute(
                "INSERT INTO heartbeat (id, ts, time_source, first_ts, first_source) VALUES (1,?,?,?,?)",
                (wall, source, first, source)))
            return
        last, last_source, _, _, clean = beat[0]
        closed = [self._close_at_restart(incident_of(r), last, last_source) for r in rows]
        gap = Open(ALL_LINKS, NOT_OBSERVED, last, last_source, NOT_RUNNING, None,
                   evidence={"stopped": "cleanly" if clean else "without a clean stop (kill, crash or power cut)",
                             "clean_stop": bool(clean), "heartbeat_every_s": HEARTBEAT_S})
        if closed:
            gap.evidence["closed_at_restart"] = closed
        if any(c["kind"] == POWER for c in closed):
            gap.evidence["power_cut_at_stop"] = True      # the site's power was cut when the agent stopped
        booted = self.boot_time()
        if booted is not None and booted > last:
            # The kernel's boot time is after the last heartbeat: the router itself restarted in the gap. Without
            # a clean stop that is a power loss, a hard reset or a kernel crash; which one, the kernel does not say.
            gap.evidence.update(machine_booted=round(booted, 3), machine_booted_source=source,
                                machine_restarted=MACHINE_RESTARTED_CLEAN if clean else MACHINE_RESTARTED)
            # The watchdog's boot status is about this boot's reset: it speaks of the gap only when the machine
            # restarted in it.
            gap.evidence.update(self.watchdog_status())
        ahead = wall >= last
        self._insert(gap)
        if ahead:
            self._close(gap, wall, source, wall - last, "wall")
        else:
            # The clock is behind the last heartbeat (a router without RTC, before NTP): the restart's time is
            # known once the clock is right again; the monotonic clock says how long ago it was.
            log.warning("ledger: the clock (%s) is behind the last heartbeat (%s): not-observed time closed later",
                        wall, last)
            self._gap = gap
        self._heartbeat_ts = max(wall, last)
        values = (wall, source) if ahead else (last, last_source)
        self.db.write(lambda conn: conn.execute("UPDATE heartbeat SET ts=?, time_source=?, clean=0 WHERE id=1",
                                                values))
        if self.core is not None:
            core, data = self.core, {"start": last, "start_source": last_source, "end": wall if ahead else None,
                                     "end_source": source if ahead else None,
                                     "duration_s": round(wall - last, 3) if ahead else None,
                                     "clean_stop": bool(clean), "closed_at_restart": closed}
            core.call_later(0, lambda now: core.emit("not_observed", **data))

    def _close_at_restart(self, inc, last: float, last_source: str, why: str = CLOSED_AT_RESTART) -> dict[str, Any]:
        end = max(inc.start, last)
        evidence = dict(inc.evidence, closed=why, closed_by="migration" if why == CLOSED_AT_MIGRATION else "restart")
        values = (end, last_source, end - inc.start, json.dumps(to_plain(evidence), sort_keys=True), inc.id)
        self.db.write(lambda conn: conn.execute(
            "UPDATE incidents SET end=?, end_source=?, duration_s=?, duration_basis='wall', evidence=? WHERE id=?",
            values))
        return {"link": inc.link, "kind": inc.kind, "cause": inc.cause, "start": inc.start, "end": end}

    # ---- heartbeat (core thread, every HEARTBEAT_S; and at a clean stop) -------------------------------------
    def beat(self, now: float | None = None, clean: bool = False) -> None:
        wall, source = self._wall()
        self._settle_gap(wall, source)
        if self._heartbeat_ts is not None and wall < self._heartbeat_ts:
            return   # the clock is behind: a heartbeat must never move back (it would hide time not observed)
        self._heartbeat_ts = wall
        saved = [(json.dumps(to_plain(self._evidence(o)), sort_keys=True), o.link, o.kind, o.start, int(o.planned))
                 for o in list(self._open.values())]

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE heartbeat SET ts=?, time_source=?, clean=? WHERE id=1", (wall, source, int(clean)))
            for values in saved:
                conn.execute("UPDATE incidents SET evidence=? WHERE link=? AND kind=? AND start=? AND planned=? AND end IS NULL",
                             values)
        self.db.write(write)

    def _settle_gap(self, wall: float, source: str) -> None:
        gap = self._gap
        if gap is None:
            return
        restarted = wall - (self._mono() - self._restart_mono)
        if restarted < gap.start:
            return
        self._gap = None
        self._close(gap, restarted, source, restarted - gap.start, "wall")

    def stop(self) -> None:
        """A clean stop: the heartbeat says when, and that it was one (the runtime's stop)."""
        self.beat(clean=True)
