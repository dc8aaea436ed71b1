"""When a link's next probe leaves and to which target: round-robin over the targets, spread evenly.

Rates (set by the failover policy, see ProbeRate):
    fast     every target every `interval_s`         the primary, always: detection speed, and fiber is free
    active   every target every `backup_interval_s`  the cellular link while it carries the traffic
    trickle  one probe per `trickle_interval_s`      the cellular link on standby: a documented trickle of data
    off      nothing                                 cold standby, cellular switched off
Pure: the prober thread and the simulated lab (tests, benchmark) run the same schedule.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rate(StrEnum):
    FAST = "fast"
    ACTIVE = "active"
    TRICKLE = "trickle"
    OFF = "off"


RATES = tuple(Rate)


@dataclass(frozen=True)
class Intervals:
    fast: float = 0.2        # per target
    active: float = 2.0      # per target
    trickle: float = 45.0    # per link

    def gap(self, rate: str, n_targets: int) -> float | None:
        """Seconds between two consecutive probes on the link, None when off."""
        if rate == Rate.FAST:
            return self.fast / n_targets
        if rate == Rate.ACTIVE:
            return self.active / n_targets
        if rate == Rate.TRICKLE:
            return self.trickle
        if rate == Rate.OFF:
            return None
        raise ValueError(f"unknown probe rate {rate!r} (known: {', '.join(RATES)})")


class ProbeSchedule:
    def __init__(self, targets: list[str] | tuple[str, ...], intervals: Intervals, rate: str = Rate.OFF,
                 now: float = 0.0):
        if not targets:
            raise ValueError("no targets")
        self.targets = tuple(targets)
        self.intervals = intervals
        self.rate = Rate.OFF
        self._next_at: float | None = None
        self._turn = 0
        self.set_rate(rate, now)

    def set_rate(self, rate: str, now: float) -> None:
        gap = self.intervals.gap(rate, len(self.targets))
        if rate == self.rate:
            return
        self.rate = rate
        # Speeding up starts at once (a failover wants answers now); slowing down waits one new gap.
        if gap is None:
            self._next_at = None
        elif self._next_at is None or now + gap < self._next_at:
            self._next_at = now
        else:
            self._next_at = now + gap

    def next_at(self) -> float | None:
        return self._next_at

    def take(self, now: float) -> str | None:
        """The target to probe now, if one is due; advances the schedule."""
        if self._next_at is None or now < self._next_at:
            return None
        gap = self.intervals.gap(self.rate, len(self.targets))
        target = self.targets[self._turn % len(self.targets)]
        self._turn += 1
        # Keep the cadence, but after a stall (a suspended machine, a busy core) do not fire a burst to catch up.
        self._next_at += gap
        if self._next_at <= now:
            self._next_at = now + gap
        return target
