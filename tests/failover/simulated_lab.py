"""A simulated lab for the failover policy: probers (the real ProbeSchedule), a network with scripted faults and
random loss, ticks — all at simulated time, so ten minutes of a lossy line replay in a second.

Nothing here decides anything: it only feeds decide() what real probers would post (a result at send + RTT, or a
failure at send + timeout) and carries out its actions the way the controller does.
"""
from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field
from typing import Callable

from agent.failover.policy import (CheckRoute, Emit, LinkLayer, PolicyState, Prefer, Probe, ProbeRate,
                                   RouteChecked, Settings, Standby, Tick, decide, initial)
from agent.linkmon.schedule import Intervals, ProbeSchedule

TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")


@dataclass
class Fault:
    link: str
    start: float
    end: float
    kind: str = "blackhole"   # blackhole | carrier (link layer down as well) | target:<name> (one dead target)

    def covers(self, link: str, t: float) -> bool:
        return self.link == link and self.start <= t < self.end


@dataclass
class World:
    """What the network does to a probe: answered after an RTT, or lost."""
    loss: dict[str, float] = field(default_factory=dict)      # round-trip probe loss per link, 0..1
    rtt_ms: dict[str, float] = field(default_factory=lambda: {"primary": 8.0, "backup": 45.0})
    jitter_ms: float = 2.0
    faults: list[Fault] = field(default_factory=list)

    def answer(self, link: str, target: str, t: float, rng: random.Random) -> float | None:
        for f in self.faults:
            if f.covers(link, t) and (f.kind in ("blackhole", "carrier") or f.kind == f"target:{target}"):
                return None
        if rng.random() < self.loss.get(link, 0.0):
            return None
        return max(0.1, self.rtt_ms.get(link, 10.0) + rng.uniform(-self.jitter_ms, self.jitter_ms))


@dataclass
class Record:
    t: float
    action: object


class SimLab:
    def __init__(self, settings: Settings = Settings(), world: World | None = None, *,
                 targets: tuple[str, ...] = TARGETS, intervals: Intervals = Intervals(), timeout_s: float = 0.5,
                 tick_s: float = 0.1, seed: int = 1):
        self.world = world or World()
        self.rng = random.Random(seed)
        self.timeout_s = timeout_s
        self.tick_s = tick_s
        self.now = 0.0
        self._heap: list[tuple[float, int, object]] = []
        self._seq = itertools.count()
        self.schedules = {link: ProbeSchedule(targets, intervals) for link in ("primary", "backup")}
        self.records: list[Record] = []
        self.preferred: str | None = None
        self.probes_sent = {"primary": 0, "backup": 0}
        self.st: PolicyState
        self.st, actions = initial(settings, 0.0)
        self._apply(actions)
        for link in ("primary", "backup"):
            self.post(0.0, LinkLayer(link, True))
        self._next_tick = 0.0
        for f in self.world.faults:
            if f.kind == "carrier":
                self.post(f.start, LinkLayer(f.link, False, "carrier_lost"))
                self.post(f.end, LinkLayer(f.link, True))

    def post(self, t: float, event: object) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), event))

    def run(self, until: float, on_step: Callable[["SimLab"], None] | None = None) -> "SimLab":
        while True:
            candidates = [self._next_tick]
            if self._heap:
                candidates.append(self._heap[0][0])
            sends = [s.next_at() for s in self.schedules.values() if s.next_at() is not None]
            candidates += sends
            t = min(candidates)
            if t > until:
                self.now = until
                return self
            self.now = t
            if self._heap and self._heap[0][0] == t:
                _, _, event = heapq.heappop(self._heap)
                self._decide(event)
            elif t == self._next_tick:
                self._next_tick = round(t + self.tick_s, 9)
                self._decide(Tick())
            else:
                for link, schedule in self.schedules.items():
                    target = schedule.take(t)
                    if target is not None:
                        self._send(link, target, t)
            if on_step:
                on_step(self)

    def _send(self, link: str, target: str, t: float) -> None:
        self.probes_sent[link] += 1
        rtt = self.world.answer(link, target, t, self.rng)
        if rtt is None or rtt / 1000 > self.timeout_s:
            self.post(t + self.timeout_s, Probe(link, target, False, t))
        else:
            self.post(t + rtt / 1000, Probe(link, target, True, t, rtt))

    def _decide(self, event: object) -> None:
        self.st, actions = decide(self.st, event, self.now)
        self._apply(actions)

    def _apply(self, actions: list) -> None:
        for a in actions:
            self.records.append(Record(self.now, a))
            if isinstance(a, ProbeRate):
                self.schedules[a.link].set_rate(a.rate, self.now)
            elif isinstance(a, Prefer):
                self.preferred = a.uplink
            elif isinstance(a, CheckRoute):
                rtt = self.world.answer(self.preferred or "primary", "route-check", self.now, self.rng)
                self.post(self.now + 0.05, RouteChecked(self.preferred, rtt is not None, rtt))

    # ---- reading the outcome -----------------------------------------------------------------------------
    def events(self, kind: str | None = None) -> list[tuple[float, dict]]:
        return [(r.t, r.action.data) for r in self.records
                if isinstance(r.action, Emit) and (kind is None or r.action.kind == kind)]

    def route_changes(self) -> list[tuple[float, str]]:
        changes, current = [], None
        for r in self.records:
            if isinstance(r.action, Prefer) and r.action.uplink != current:
                if current is not None:
                    changes.append((r.t, r.action.uplink))
                current = r.action.uplink
        return changes

    def standby_changes(self) -> list[tuple[float, bool]]:
        return [(r.t, r.action.up) for r in self.records if isinstance(r.action, Standby)]
