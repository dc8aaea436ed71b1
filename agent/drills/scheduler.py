"""Drills on a schedule, and the alert when none has passed for too long (docs/drills.md).

`[drills] schedule` is local wall-clock time (common/cron.py: "monthly", "weekly" or a cron expression, in
`[drills] timezone`), while the core's timers run on the monotonic clock: each check reads the wall clock, and the
scheduler looks again at least every CHECK_MAX_S, so a clock set by NTP after boot is seen within a minute.

Each scheduled time is a *slot*, named by its Unix time. A slot runs at most once, whatever the clock does:
- the slot is written to `<storage dir>/drills.json` before its drill starts, so a restart (even during the drill)
  does not run it again, and a clock stepped back does not bring it round again (slots up to the last one run
  are never due);
- a slot is run up to LATE_S after its time (the agent restarted a few minutes after 03:00); later than that (the
  agent was off, the clock jumped forward over it) it is skipped with `drill_skipped`, not run at a business hour.
A drill refused at its slot (the primary is down: no drill during trouble) is `drill_skipped` too. A slot that
passed while the agent was not running is not run late, nor reported: `drill_overdue` says when that matters.
While the clock is unsynchronised (a router without a clock boots in the past) nothing is scheduled nor judged.

Overdue: when no drill has passed for `overdue_days` (counted from the last passing drill, or from the first time
this agent watched, for a new box), `drill_overdue` is emitted — once per such period, also across restarts.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

from agent.config import DrillsConfig
from agent.config.atomic import write_atomically
from agent.core import CommandError, Core, Event
from common.cron import Cron, next_fire, parse

log = logging.getLogger(__name__)

LATE_S = 3600.0        # a slot missed by less than this still runs (the agent restarted just after it)
CHECK_MAX_S = 60.0     # the wall clock is looked at least this often
UNSYNCED = "unsynced"  # agent.core.WallClock's source for a clock nobody set
DAY_S = 86400.0


@dataclass(frozen=True)
class Memory:
    """What survives a restart (drills.json). Times are Unix seconds, None: never."""
    last_slot: float | None = None       # the last slot whose drill was started (or skipped)
    last_pass: float | None = None       # the last drill that passed, scheduled or not
    last_overdue: float | None = None    # the last drill_overdue
    watch_since: float | None = None     # when this agent first watched: a new box is not overdue at once


class DrillScheduler:
    def __init__(self, core: Core, cfg: DrillsConfig, runner, path: Path, tz):
        self.core = core
        self.cfg = cfg
        self.runner = runner
        self.path = path
        self.tz = tz
        self.cron: Cron | None = parse(cfg.schedule) if cfg.schedule.strip() else None
        self.memory = self._load()
        self.due: float | None = None
        self._failing: str | None = None
        self._waiting_for_clock = False
        core.add_sink(self._on_event)
        core.call_later(0, self._check)

    # ---- the timer ---------------------------------------------------------------------------------------
    def _check(self, now: float) -> None:
        wall, source = self.core.wall.now()
        if source == UNSYNCED:
            # a router without a clock boots in the past: a drill at that clock's "03:00" could move the traffic
            # in business hours. Wait for NTP or the network's time.
            if not self._waiting_for_clock:
                log.warning("drills: the clock is not synchronised; scheduled drills wait for it")
            self._waiting_for_clock, self.due = True, None
            self.core.call_later(CHECK_MAX_S, self._check)
            return
        self._waiting_for_clock = False
        if self.memory.watch_since is None:
            self._remember(watch_since=wall)
        if self.cron is not None:
            try:
                self._run_due_slot(wall)
            except ValueError as e:      # parse() refuses the expressions that never fire; this is the rest
                log.error("drills: [drills] schedule %r: %s; no scheduled drills", self.cfg.schedule, e)
                self.cron, self.due = None, None
        self._check_overdue(wall)
        self._publish()
        wait = CHECK_MAX_S if self.due is None else min(CHECK_MAX_S, max(0.0, self.due - wall))
        self.core.call_later(wait, self._check)

    def _run_due_slot(self, wall: float) -> None:
        last = self.memory.last_slot
        floor = wall - LATE_S if last is None else max(last, wall - LATE_S)
        if self.due is None or (last is not None and self.due <= last):
            self.due = next_fire(self.cron, floor, self.tz)
        while self.due <= wall:
            slot, self.due = self.due, None
            self._remember(last_slot=slot)          # before the drill: a restart during it does not run it again
            if wall - slot > LATE_S:
                self._skipped(slot, f"missed by {(wall - slot) / 60:.0f} min (the clock jumped over it)")
            else:
                self._start(slot)
            self.due = next_fire(self.cron, max(slot, wall - LATE_S), self.tz)

    def _start(self, slot: float) -> None:
        try:
            self.runner.start(self.cfg.kind, self.cfg.duration_s, trigger="schedule")
        except CommandError as e:
            self._skipped(slot, str(e).removeprefix("no drill: "))

    def _skipped(self, slot: float, reason: str) -> None:
        log.warning("scheduled %s drill of %s skipped: %s", self.cfg.kind, slot, reason)
        self.core.emit("drill_skipped", kind=self.cfg.kind, trigger="schedule", slot=slot, reason=reason)

    def _check_overdue(self, wall: float) -> None:
        period = self.cfg.overdue_days * DAY_S
        since = self.memory.last_pass if self.memory.last_pass is not None else self.memory.watch_since
        if period <= 0 or since is None or wall < since + period:
            return
        # the k-th period without a passing drill began at since + k * period: one alert per period
        began = since + math.floor((wall - since) / period) * period
        if self.memory.last_overdue is not None and self.memory.last_overdue >= began:
            return
        self._remember(last_overdue=wall)
        self.core.emit("drill_overdue", last_pass=self.memory.last_pass, days=round((wall - since) / DAY_S, 1),
                       overdue_days=self.cfg.overdue_days)

    # ---- results -----------------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "drill_result" and event.data.get("ok") is True:
            self._remember(last_pass=event.ts)
            self._publish()

    def _publish(self) -> None:
        self.core.state.setdefault("drills", {}).update({
            "schedule": self.cfg.schedule, "kind": self.cfg.kind, "next": self.due,
            "last_pass": self.memory.last_pass, "overdue_days": self.cfg.overdue_days})

    # ---- drills.json -------------------------------------------------------------------------------------
    def _load(self) -> Memory:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            fields = {k: raw.get(k) for k in asdict(Memory())}
            for key, value in fields.items():
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or not math.isfinite(value)):
                    raise ValueError(f"{key} is not a time")
            return Memory(**fields)
        except FileNotFoundError:
            return Memory()
        except (OSError, ValueError, AttributeError) as e:    # unreadable or not ours: start afresh, say so
            log.warning("%s: %s; starting without it (a slot of this hour may run again)", self.path,
                        getattr(e, "strerror", None) or e)
            return Memory()

    def _remember(self, **changes: Any) -> None:
        self.memory = replace(self.memory, **changes)
        try:       # a few bytes a month, like the status file: written on the core thread
            write_atomically(self.path, json.dumps(asdict(self.memory), sort_keys=True), mode=0o644)
        except OSError as e:
            problem = e.strerror or str(e)
            if problem != self._failing:
                log.warning("%s not written (%s): a restart may run this slot again", self.path, problem)
                self._failing = problem
            return
        self._failing = None


def attach(core: Core, config, runner) -> DrillScheduler:
    return DrillScheduler(core, config.drills, runner, Path(config.storage.dir) / "drills.json",
                          zone(config.drills.timezone))


def zone(name: str) -> tzinfo:
    """The configured zone, else the system's local time with its daylight saving rules (SystemLocal)."""
    if name:
        from zoneinfo import ZoneInfo     # only for a site that names its zone: zoneinfo brings sysconfig, 0.4 MB
        return ZoneInfo(name)
    return SystemLocal()


class SystemLocal(tzinfo):
    """The C library's local time (TZ, /etc/localtime) as a tzinfo, folds and gaps included, without zoneinfo."""

    def _instants(self, dt: datetime) -> list[float]:
        """The Unix times whose local time is `dt` (naive): one, two (the hour that repeats) or none (the gap)."""
        fields = (dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, 0, 0)
        found = set()
        for isdst in (0, 1):
            try:
                t = time.mktime(fields + (isdst,))
            except (OverflowError, ValueError):
                continue
            if time.localtime(t)[:6] == fields[:6]:
                found.add(t)
        return sorted(found)

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        if dt is None:
            return None
        naive = dt.replace(tzinfo=None, microsecond=0, fold=0)
        instants = self._instants(naive)
        if instants:
            t = instants[-1] if dt.fold and len(instants) > 1 else instants[0]
        else:   # in the gap: fold 0 reads it with the offset before the jump, fold 1 with the one after
            before, after = (self._offset_at(time.mktime(naive.timetuple()[:8] + (flag,))) for flag in (0, 1))
            return min(before, after) if dt.fold else max(before, after)
        return self._offset_at(t)

    @staticmethod
    def _offset_at(t: float) -> timedelta:
        return timedelta(seconds=time.localtime(t).tm_gmtoff)

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None if dt is None else time.strftime("%Z", time.localtime(dt.replace(tzinfo=self).timestamp()))

    def fromutc(self, dt: datetime) -> datetime:
        t = (dt.replace(tzinfo=timezone.utc)).timestamp()
        lt = time.localtime(t)
        local = datetime(*lt[:6], microsecond=dt.microsecond)
        instants = self._instants(local)
        fold = 1 if len(instants) > 1 and int(t) == int(instants[-1]) and instants[0] != instants[-1] else 0
        return local.replace(tzinfo=self, fold=fold)
