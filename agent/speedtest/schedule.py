"""When to measure: each configured uplink once a day, in the quiet hour, at a minute of its own.

    decide(state, Tick(up, busy), now) -> (state, [Measure(link), ...])        pure: `now` is the wall clock

The slot of a day is `hour`:00 local time plus an offset within `jitter_min` minutes, drawn from the device id and
the date: a fleet of routers with the same configuration does not hit the speed server in the same second, one
router's slot moves from day to day (no fixed minute where its measurement always meets the same neighbours), and
the same device on the same day always gets the same slot (deterministic in tests).

A link is measured only while it is up (a measurement of a dead link says nothing about its speed: the outage is
in the ledger already). Missed slots are not made up for outside the quiet hour: a measurement not started within
LATE_S of its slot waits for the next day, when the business may be at work and need the bandwidth. One
measurement runs at a time (`busy`: the scheduler's or one asked for by the `speedtest` command).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo

LATE_S = 3600.0


@dataclass(frozen=True)
class Settings:
    links: tuple[str, ...]          # measured each day, in this order
    hour: int = 3                   # local hour of the slot
    jitter_min: int = 60            # the slot falls within this many minutes after hour:00
    device: str = ""                # seeds the offset
    tz: tzinfo | None = None        # None: the system's local time


@dataclass(frozen=True)
class Tick:
    up: frozenset[str]              # links that carry traffic now
    busy: bool = False              # a measurement is running


@dataclass(frozen=True)
class Measure:
    link: str


@dataclass(frozen=True)
class State:
    settings: Settings
    day: date | None = None         # the local day `done` is about
    done: frozenset[str] = field(default_factory=frozenset)   # links measured (or tried) that day


def offset_s(device: str, day: date, jitter_min: int) -> int:
    """Seconds after hour:00, the same for one device and one day; crc32 spreads well enough and needs no
    hashlib (the agent may run without OpenSSL)."""
    if jitter_min <= 0:
        return 0
    return zlib.crc32(f"{device}/{day.isoformat()}".encode()) % (jitter_min * 60)


def slot(settings: Settings, day: date) -> float:
    """The wall-clock time of `day`'s measurement."""
    start = datetime.combine(day, time(settings.hour), tzinfo=settings.tz)
    return (start + timedelta(seconds=offset_s(settings.device, day, settings.jitter_min))).timestamp()


def local_day(now: float, tz: tzinfo | None) -> date:
    return datetime.fromtimestamp(now, tz).date()


def decide(state: State, event: Tick, now: float) -> tuple[State, list[Measure]]:
    s = state.settings
    day = local_day(now, s.tz)
    if state.day != day:
        state = replace(state, day=day, done=frozenset())
    due = slot(s, day)
    if event.busy or not due <= now < due + LATE_S:
        return state, []
    for link in s.links:
        if link not in state.done and link in event.up:
            return replace(state, done=state.done | {link}), [Measure(link)]
    return state, []


def next_slot(settings: Settings, now: float) -> float:
    """The next slot at or after `now` (what the state shows as next_at)."""
    day = local_day(now, settings.tz)
    due = slot(settings, day)
    return due if due >= now else slot(settings, day + timedelta(days=1))
