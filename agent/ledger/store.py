"""The ledger file (records.py says what it holds; schema.py its tables): every incident of every uplink — down,
degraded, total outages, the time the agent was not running — with its evidence, plus drills, speed measurements
and SIM / operator switches. The evidence a business takes to its operator.

Fed by domain events (it is a core sink) and by the probers' results (ProbeResult: the probe counts of evidence.py):
- `link_down` / `link_restored` / `link_degraded` (the failover policy, per link) open and close DOWN and DEGRADED
  incidents; every uplink down at once is a TOTAL outage (link "all"): no uplink carried the traffic.
- `failover` / `failback` keep the primary outage's semantics: the failover adopts the primary's DOWN incident
  (or opens one: cause = its reason) and says which uplink carries the traffic; the failback closes it and emits
  `outage_closed` with its duration: `outage_s` when the event carries it (the primary's first failure until it
  was healthy again, the hold-down before the failback not included). A drill's or an operator's switch ("drill",
  "manual") is recorded as planned: never the operator's downtime.
- `drill_result`, `speed_measured`, `sim_switch`, `operator_changed` are stored as they come (missing fields
  tolerated).
- `power_lost` / `power_restored` / `battery_low` (agent/power): the site's power cuts (power.py).

Not observed (heartbeat.py). A heartbeat row holds the last time the agent was known running (updated every
HEARTBEAT_S, one UPDATE, and at a clean stop). At start, the time from that heartbeat to now is a NOT_OBSERVED incident (never
counted as up, nor as the operator's downtime), and every incident still open — the agent was killed or lost power
during it — is closed at the heartbeat, "closed at restart": a link still failing opens a new one when the failover
controller sees it again. The open incidents' evidence is saved with each heartbeat, so a kill loses at most a
minute of it.

Every timestamp keeps its time source (ntp / modem / unsynced): an entry stamped by an unsynced clock is weaker
evidence and the report says so. Durations come from the monotonic clock when the incident opened in this run
(an NTP step during an outage does not change them), from the wall clock otherwise.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import Config
from agent.core import Core, Event
from agent.ledger.evidence import ProbeLog, bytes_between, cellular_now
from agent.ledger.heartbeat import HEARTBEAT_S, PLANNED, Restart
from agent.ledger.power import PowerCuts
from agent.ledger.records import ALL_LINKS, DEGRADED, DOWN, TOTAL
from agent.ledger.rows import Open, drill_row, is_number, speed_row, start_of, switch_row
from agent.ledger.schema import INCIDENT_COLS, SCHEMA, incident_of, migrate, read_period
from agent.linkmon.inputs import ProbeResult
from agent.mqtt.codec import to_plain
from agent.storage import Db, announce

log = logging.getLogger(__name__)

UPLINKS = ("primary", "backup")   # agent/failover/policy.py Uplink; not imported: a reader need not load failover


@dataclass(frozen=True)
class Outage:
    """A primary outage as the `report` command and `current()` show it (the version 0 vocabulary)."""
    id: int | None
    start: float
    start_source: str
    end: float | None
    end_source: str | None
    duration_s: float | None
    duration_basis: str | None
    cause: str
    uplink: str
    drill: bool


class Ledger(Restart, PowerCuts):
    """Writes go through `Db.write`: on disk at once when the disk takes them, else queued in order for the storage
    writer; the open incidents are kept in memory, so the core thread never waits for (or fails on) the disk."""

    def __init__(self, db: Db, core: Core | None = None):
        self.db = db
        self.core = core
        self.probes = ProbeLog()
        self._open: dict[tuple[str, str], Open] = {}     # (link, kind or PLANNED)
        self._outage: Open | None = None                  # the primary outage from failover to failback
        self._active: str | None = None                   # the uplink carrying the traffic, as the events said
        self._gap: Open | None = None                     # a NOT_OBSERVED waiting for the clock to be right
        self._restart_mono = self._mono()                 # this start, on the monotonic clock
        self._heartbeat_ts: float | None = None
        self._handlers = {"link_down": self._link_down, "link_restored": self._link_restored,
                          "link_degraded": self._link_degraded, "failover": self._failover,
                          "failback": self._failback, "drill_result": self.drill, "speed_measured": self._speed,
                          "sim_switch": self._switch, "operator_changed": self._switch,
                          "power_lost": self._power_lost, "power_restored": self._power_restored,
                          "battery_low": self._battery_low}
        self.db.write(migrate)
        self._restart()

    # ---- clocks --------------------------------------------------------------------------------------------
    def _wall(self) -> tuple[float, str]:
        return self.core.wall.now() if self.core is not None else (time.time(), "unsynced")

    def _mono(self) -> float:
        return self.core.now() if self.core is not None else time.monotonic()

    def _state(self) -> dict[str, Any]:
        return self.core.state if self.core is not None else {}

    # ---- events (core thread) ----------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        handler = self._handlers.get(event.kind)
        if handler is not None:
            handler(event)

    def on_probe(self, r: ProbeResult, now: float) -> None:
        self.probes.add(str(r.link), str(r.target), bool(r.ok), r.sent_at, r.rtt_ms)

    def _link_down(self, event: Event) -> None:
        d = event.data
        link = d.get("link")
        if not isinstance(link, str) or not link:
            return
        reason = str(d.get("reason") or "unknown")
        start = start_of(d.get("started_at"), event.ts)
        self._close_kind(link, DEGRADED, event, "down", end=start)   # degraded until it went down
        current = self._open.get((link, DOWN))
        if current is not None:
            if current.restored is not None:   # back, then lost again before the failback: the same outage
                current.restored = None
                current.evidence["flaps"] = current.evidence.get("flaps", 0) + 1
            return
        first = "first_failed_probe" if reason == "no_answer" else "first_sign"
        evidence = {first: start, f"{first}_source": event.time_source}
        if is_number(d.get("detect_s")):
            evidence["detect_s"] = round(float(d["detect_s"]), 3)
        start_mono = self._mono() - (event.ts - start)
        o = Open(link, DOWN, start, event.time_source, reason, start_mono, carried_by=self._carrier(link),
                 evidence=evidence, from_link=True)
        o.tally = self.probes.open(link, start_mono, backfill=True)
        self._add_cellular(o)
        self._insert(o)
        self._total(event)

    def _link_restored(self, event: Event) -> None:
        d = event.data
        link = d.get("link")
        if not isinstance(link, str) or not link:
            return
        self._close_kind(link, DEGRADED, event, "restored")
        o = self._open.get((link, DOWN))
        if o is not None:
            if o is self._outage:   # the failback closes it, with the outage's semantics
                o.restored = (event.ts, event.time_source, self._mono())
                o.evidence.update(restored_at=event.ts, restored_at_source=event.time_source)
            else:
                down_s = d.get("down_s")
                if is_number(down_s) and down_s >= 0 and "continues" not in o.evidence:
                    self._close(o, event.ts, event.time_source, float(down_s), "monotonic")
                else:
                    self._close(o, event.ts, event.time_source, *self._duration(o, event.ts))
        self._close_kind(ALL_LINKS, TOTAL, event, f"{link} restored")

    def _link_degraded(self, event: Event) -> None:
        d = event.data
        link = d.get("link")
        if not isinstance(link, str) or not link or (link, DOWN) in self._open or (link, DEGRADED) in self._open:
            return
        reason = str(d.get("reason") or "degraded")
        evidence: dict[str, Any] = {"detected": reason}
        seen = ((self._state().get("failover") or {}).get("links") or {}).get(link) or {}
        if is_number(seen.get("loss")):
            evidence["loss_pct_at_detection"] = round(100.0 * seen["loss"], 1)
        if is_number(seen.get("rtt_ms")):
            evidence["latency_ms_at_detection"] = seen["rtt_ms"]
        mono = self._mono()
        o = Open(link, DEGRADED, event.ts, event.time_source, reason.split()[0], mono,
                 carried_by=self._carrier(link, degraded=True), evidence=evidence, from_link=True)
        o.tally = self.probes.open(link, mono, backfill=False)
        self._add_cellular(o)
        self._insert(o)

    def _carrier(self, link: str, degraded: bool = False) -> str | None:
        """The uplink carrying the traffic while `link` is down (a degraded link may still carry it)."""
        active = self._carrying()
        if active == link and not degraded:
            return None
        return None if self._is_down(active) else active

    def _carrying(self) -> str:
        """The uplink in use: as the last switch said; before any, as the failover state says (with [[uplinks]]
        the best one is not called "primary"), else the name of old."""
        if self._active is not None:
            return self._active
        fo = self._state().get("failover") or {}
        active = fo.get("active_uplink") if isinstance(fo, dict) else None
        return active if isinstance(active, str) and active else UPLINKS[0]

    def _is_down(self, link: str) -> bool:
        o = self._open.get((link, DOWN))
        return o is not None and o.restored is None

    def _total(self, event: Event) -> None:
        """Every uplink down at once: no uplink carried the traffic, the business was offline."""
        uplinks = tuple((self._state().get("failover") or {}).get("links") or ()) or UPLINKS   # [[uplinks]]
        if (ALL_LINKS, TOTAL) in self._open or not all(self._is_down(link) for link in uplinks):
            return
        downs = [self._open[(link, DOWN)] for link in uplinks]
        last = max(downs, key=lambda o: o.start)
        o = Open(ALL_LINKS, TOTAL, last.start, last.start_source, "all_down", last.start_mono,
                 evidence={"links": {d.link: d.cause for d in downs}})
        self._insert(o)

    # ---- the primary outage: failover → failback -------------------------------------------------------------
    def _failover(self, event: Event) -> None:
        self.opened(event, self._mono())

    def opened(self, event: Event, mono: float | None) -> Outage | None:
        data = event.data
        self._active = str(data.get("to") or data.get("uplink") or "backup")
        left = str(data.get("from") or "primary")   # the uplink traffic left: the preferred one, by name
        down = self._open.get((left, DOWN))
        if self._outage is not None:
            if down is not None and down is not self._outage:   # N uplinks: a backup lost in turn, now carried
                self._carried(down, event)
            log.info("failover while an outage is open (%s): same outage", data.get("reason"))
            return None
        cause = str(data.get("reason") or "unknown")
        if down is not None:   # the primary's DOWN (link_down came first): now carried by the backup
            o = down
            self._carried(o, event)
        else:
            # The failover controller says `started_at` (first failed probe, wall clock); `outage_start` too.
            start = start_of(data.get("outage_start", data.get("started_at")), event.ts)
            start_source = str(data.get("outage_start_source") or event.time_source)
            # Planned switches — a drill, or an operator's force_backup ("manual") — are recorded but are not
            # the operator's downtime: the fiber was fine.
            planned = bool(data.get("drill")) or cause in ("drill", "manual")
            o = Open(left, DOWN, start, start_source, cause, None if mono is None else mono - (event.ts - start),
                     planned=planned, carried_by=self._active)
            self._add_cellular(o, carrying=self._cellular(self._active))
            self._insert(o, slot=PLANNED if planned else DOWN)
        self._outage = o
        return self._outage_view(o)

    def _carried(self, o: Open, event: Event) -> None:
        o.carried_by = self._active
        o.evidence["failover_at"], o.evidence["failover_at_source"] = event.ts, event.time_source
        self._add_cellular(o, carrying=self._cellular(self._active))
        values = (o.carried_by, json.dumps(to_plain(self._evidence(o)), sort_keys=True), o.link, o.kind, o.start,
                  int(o.planned))
        self.db.write(lambda conn: conn.execute(
            "UPDATE incidents SET carried_by=?, evidence=? WHERE link=? AND kind=? AND start=? AND planned=? AND end IS NULL",
            values))

    def _failback(self, event: Event) -> None:
        closed = self.closed(event, self._mono())
        if closed is not None and not closed.drill and self.core is not None:
            core = self.core
            # After the failback event has reached every sink, so that the broker sees them in that order.
            core.call_later(0, lambda now: core.emit(
                "outage_closed", duration_s=round(closed.duration_s or 0.0, 3), cause=closed.cause,
                start=closed.start, start_source=closed.start_source, end=closed.end,
                end_source=closed.end_source, uplink=closed.uplink, duration_basis=closed.duration_basis))

    def closed(self, event: Event, mono: float | None) -> Outage | None:
        self._active = str(event.data.get("to") or UPLINKS[0])
        o = self._outage
        if o is None:
            log.warning("failback without an open outage: nothing to close")
            return None
        if event.data.get("to") not in (None, o.link):   # N uplinks: back to a better backup, not yet home
            return None
        self._outage = None
        outage_s = event.data.get("outage_s")
        end, end_source = event.ts, event.time_source
        if is_number(outage_s) and outage_s >= 0:
            # The primary was healthy again `outage_s` after it failed; the failback came a hold-down later.
            # The SLA outage ends when the primary recovered, not when we chose to trust it again.
            duration, basis = float(outage_s), "monotonic"
            end = min(event.ts, o.start + duration)
        elif o.restored is not None:
            end, end_source, restored_mono = o.restored
            duration, basis = ((restored_mono - o.start_mono, "monotonic") if o.start_mono is not None
                               else (end - o.start, "wall"))
        elif o.start_mono is not None and mono is not None:
            duration, basis = max(0.0, mono - o.start_mono), "monotonic"
        else:
            duration, basis = max(0.0, event.ts - o.start), "wall"
        still_down = o.from_link and o.restored is None and not is_number(outage_s)
        self._close(o, end, end_source, max(0.0, duration), basis)
        if still_down:   # back on the primary (an operator's force_primary) while it is still down: it goes on
            again = Open(o.link, DOWN, event.ts, event.time_source, o.cause, mono, carried_by=None,
                         evidence={"continues": f"the outage from {o.start} (back on the primary, still down)"},
                         from_link=True)
            again.tally = self.probes.open(o.link, mono if mono is not None else self._mono(), backfill=False)
            self._insert(again)
        return dataclasses.replace(self._outage_view(o), end=end, end_source=end_source, duration_s=duration,
                                   duration_basis=basis)

    @staticmethod
    def _outage_view(o: Open) -> Outage:
        return Outage(None, o.start, o.start_source, None, None, None, None, o.cause, o.carried_by or "none",
                      o.planned)

    # ---- drills, speed, switches ---------------------------------------------------------------------------
    def drill(self, event: Event) -> None:
        sql, values = drill_row(event)
        self.db.write(lambda conn: conn.execute(sql, values))

    def _speed(self, event: Event) -> None:
        sql, values = speed_row(event)
        self.db.write(lambda conn: conn.execute(sql, values))

    def _switch(self, event: Event) -> None:
        sql, values = switch_row(event, self._state().get("modem") or {})
        self.db.write(lambda conn: conn.execute(sql, values))
        _, _, _, sim, operator, _ = values
        for o in self._open.values():   # the network carrying an open incident's traffic changed: say so
            if "operator" in o.evidence or self._cellular(o.carried_by) or self._cellular(o.link):
                o.evidence.setdefault("switches", []).append(
                    {"at": event.ts, "at_source": event.time_source, "kind": event.kind,
                     **({"sim": sim} if sim is not None else {}),
                     **({"operator": operator} if operator else {})})

    # ---- rows ----------------------------------------------------------------------------------------------
    def _add_cellular(self, o: Open, carrying: bool = False) -> None:
        """The cellular network and byte count, when the backup matters to this incident."""
        if not (carrying or self._cellular(o.carried_by) or self._cellular(o.link)):
            return
        now = cellular_now(self._state())
        for key in ("operator", "cell", "sim"):
            if key in now:
                o.evidence.setdefault(key, now[key])
        if not o.cellular:
            o.cellular = now

    def _cellular(self, link: str | None) -> bool:
        """Whether an uplink is the modem: its kind in the failover state ([[uplinks]]), else the name of old."""
        info = ((self._state().get("failover") or {}).get("links") or {}).get(link)
        return info.get("kind") == "cellular" if isinstance(info, dict) and "kind" in info else link == "backup"

    def _evidence(self, o: Open) -> dict[str, Any]:
        evidence = dict(o.evidence)
        if o.tally is not None and o.tally.sent:
            evidence.update(o.tally.as_evidence())
        if o.cellular:
            used = bytes_between(o.cellular, cellular_now(self._state()))
            if used is not None:
                evidence["backup_bytes"] = used
        return evidence

    def _insert(self, o: Open, slot: str | None = None) -> None:
        self._open[(o.link, slot or o.kind)] = o
        values = (o.link, o.kind, o.start, o.start_source, o.cause, int(o.planned), o.carried_by,
                  json.dumps(to_plain(self._evidence(o)), sort_keys=True))
        self.db.write(lambda conn: conn.execute(
            "INSERT INTO incidents (link, kind, start, start_source, cause, planned, carried_by, evidence) "
            "VALUES (?,?,?,?,?,?,?,?)", values))

    def _close(self, o: Open, end: float, end_source: str, duration: float, basis: str) -> None:
        for key, value in list(self._open.items()):
            if value is o:
                del self._open[key]
        if o.tally is not None:
            self.probes.close(o.link, o.tally)
        values = (end, end_source, duration, basis, json.dumps(to_plain(self._evidence(o)), sort_keys=True),
                  o.link, o.kind, o.start, int(o.planned))
        self.db.write(lambda conn: conn.execute(
            "UPDATE incidents SET end=?, end_source=?, duration_s=?, duration_basis=?, evidence=? "
            "WHERE link=? AND kind=? AND start=? AND planned=? AND end IS NULL", values))

    def _close_kind(self, link: str, kind: str, event: Event, why: str, end: float | None = None) -> None:
        """Close `link`'s open incident of `kind` at `end` (wall clock, at most the event's time; default it)."""
        o = self._open.get((link, kind))
        if o is not None:
            o.evidence["ended_by"] = why
            end = max(o.start, event.ts if end is None else min(end, event.ts))
            self._close(o, end, event.time_source, *self._duration(o, end, event.ts - end))

    def _duration(self, o: Open, end: float, before_now_s: float = 0.0) -> tuple[float, str]:
        """From the monotonic clock when the incident opened in this run, else from the wall clock. `end` is
        `before_now_s` before now."""
        if o.start_mono is not None:
            return max(0.0, self._mono() - before_now_s - o.start_mono), "monotonic"
        return max(0.0, end - o.start), "wall"

    # ---- queries -------------------------------------------------------------------------------------------
    def get(self, oid: int) -> Outage:
        return _outage(self.db.query(f"SELECT {INCIDENT_COLS} FROM incidents WHERE id=?", (oid,))[0])

    def current(self) -> Outage | None:
        return None if self._outage is None else self._outage_view(self._outage)

    def open_incidents(self) -> list[Open]:
        return list(self._open.values())


def _outage(row: tuple) -> Outage:
    i = incident_of(row)
    return Outage(i.id, i.start, i.start_source, i.end, i.end_source, i.duration_s, i.duration_basis, i.cause,
                  i.carried_by or "none", i.planned)


def attach(core: Core, config: Config) -> Ledger:
    ledger = Ledger(Db(Path(config.storage.dir) / "ledger.db", SCHEMA), core)
    core.add_sink(ledger.on_event)
    core.subscribe(ProbeResult, ledger.on_probe)
    core.register_command("report", _report_command(core, config))
    core.call_every(HEARTBEAT_S, ledger.beat, first_in=HEARTBEAT_S)
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


__all__ = ["Ledger", "Outage", "attach", "read_period", "HEARTBEAT_S"]
