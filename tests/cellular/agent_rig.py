"""The agent in virtual time for the SMS and network-time tests: Core + the real ModemService over
modem.at.loopback's port to the in-process modem simulator, the real failover controller on simulated uplinks
(probers driven by the scheduler), the modem clock and the SMS service, all on one fake clock (tests/virtual.py).
The test reads the state between steps without racing anything.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from agent.cellular.sms import attach_sms
from agent.config import from_dict
from agent.core import Core
from agent.failover import attach as attach_failover
from agent.linkmon.inputs import ProbeResult
from agent.linkmon.schedule import Intervals
from agent.linkmon.simulated import SimulatedRouteCheck, SimulatedUplinks, SimulatedWatcher
from agent.timesource import TimeSource, attach_time
from board.routes import open_backend
from tests.virtual import FakeClock, InProcessSimulator, Scheduler, attach_modem


class SimulatorAgent:
    """Core + ModemService + failover (simulated uplinks) + time + SMS against the in-process simulator, all in
    virtual time (tests/virtual.py): `pump(cond, timeout)` runs the world until cond() holds, `advance(s)` lets
    time pass; the test reads the state between steps without racing anything."""

    def __init__(self, tmp_path, *, sms: dict | None = None, time_cfg: dict | None = None, ntp: bool = True,
                 network_offset_s: float = 0.0, set_clock: Callable[[float], None] | None = None,
                 vendor: str = "quectel-ec25", speed: float = 0.0,
                 before_start: Callable[[InProcessSimulator], Any] | None = None,
                 extra: dict | None = None):
        self.clock = FakeClock()
        self.scheduler = Scheduler(self.clock)
        self.sim = InProcessSimulator(vendor, self.clock, name=str(tmp_path / "ttyUSB2"),
                                      network_offset_s=network_offset_s, speed=speed)
        if before_start:
            before_start(self.sim)
        raw = {"device": {"id": "shop-42"}, "storage": {"dir": str(tmp_path / "state")},
               "modem": {"port": self.sim.link},
               "probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"], "interval_s": 0.05,
                          "timeout_s": 0.2},
               "failover": {"hold_down_s": 0.5, "down_window_s": 0.5},
               "sms": sms or {}, "time": time_cfg or {}, **(extra or {})}
        self.config = from_dict(raw)
        self.source = TimeSource(ntp_synced=lambda: ntp, max_age_s=self.config.time.modem_time_max_age_s,
                                 system=self.clock.wall, monotonic=self.clock)
        self.core = core = Core(monotonic=self.clock, wall=self.source)
        self.events: list = []
        core.add_sink(self.events.append)
        self.modem = attach_modem(core, self.scheduler, self.sim, poll_s=2.0, pin=self.config.modem.pin)
        routes = open_backend("simulated", **self.config.route_options())   # [[uplinks]] too
        self.uplinks, probers, watcher, route_checker = self._simulated_links(routes)
        self.failover = attach_failover(core, self.config, routes, start=False, probers=probers, watcher=watcher,
                                        route_checker=route_checker)
        kwargs = {"set_clock": set_clock} if set_clock else {}
        self.time = attach_time(core, self.config, self.modem, source=self.source, **kwargs)
        self.sms = attach_sms(core, self.config, self.modem)
        for prober in probers.values():
            self.scheduler.add(prober.service, prober.next_deadline)
        self.failover.start()

    def _simulated_links(self, routes):
        """As agent.runtime._simulated_links wires the simulated board, with probers on the fake clock."""
        p = self.config.probes
        uplinks = SimulatedUplinks(seed=0)
        intervals = Intervals(p.interval_s, p.backup_interval_s, p.trickle_interval_s)
        interfaces = {"primary": self.config.board.primary_interface, "backup": self.config.board.cellular_interface}
        probers = {link: VirtualProber(link, iface, uplinks, list(p.targets), intervals, self.core.post, self.clock,
                                       timeout_s=p.timeout_s)
                   for link, iface in interfaces.items()}
        watcher = SimulatedWatcher(uplinks, interfaces, self.core.post, clock=self.clock)
        return uplinks, probers, watcher, SimulatedRouteCheck(uplinks, routes, interfaces)

    def pump(self, cond: Callable[[], Any], timeout: float = 20.0) -> Any:
        """cond()'s first true value within `timeout` virtual seconds, else its last value."""
        return self.scheduler.run_until(cond, timeout)

    def advance(self, seconds: float) -> None:
        self.scheduler.advance(seconds)

    def ready(self) -> bool:
        """Modem polled and registered, failover watching a healthy primary."""
        return bool(self.pump(lambda: self.core.state.get("modem", {}).get("registration") in ("home", "roaming")
                              and self.core.state.get("failover", {}).get("state") == "primary"))

    def sent_to(self, number: str) -> list[str]:
        return [s.text for s in self.sim.model.sent_sms if s.number == number]

    def stored(self) -> list:
        return [(s.index, s.sender, s.text) for s in self.sim.model.sim.sms]

    def events_of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def close(self) -> None:
        try:
            self.failover.stop()
            self.modem.stop()
        finally:
            self.scheduler.stop()


class VirtualProber:
    """agent.linkmon.simulated.SimulatedProber's schedule and answers, driven by the scheduler instead of a
    thread: a probe leaves every `gap` of the current rate; a lost one is reported when its timeout runs out."""

    def __init__(self, link: str, interface: str, uplinks: SimulatedUplinks, targets: list[str],
                 intervals: Intervals, post: Callable[[Any], None], clock: FakeClock, timeout_s: float):
        self.link, self.interface = link, interface
        self._uplinks, self._targets, self._intervals, self._post = uplinks, targets, intervals, post
        self._clock, self._timeout_s = clock, timeout_s
        self._rate = "off"
        self._running = False
        self._next_at = 0.0
        self._lost: list[ProbeResult] = []          # lost probes, reported at sent_at + timeout_s
        self._i = 0
        self.sent = 0

    def set_rate(self, rate: str) -> None:
        self._rate = rate
        self._next_at = self._clock()              # the thread is woken: it probes at once at the new rate

    def set_source(self, address: str | None) -> None:
        pass

    def start(self) -> None:
        self._running, self._next_at = True, self._clock()

    def stop(self, timeout: float = 2.0) -> None:
        self._running = False

    def service(self) -> bool:
        now, did = self._clock(), False
        while self._lost and self._lost[0].sent_at + self._timeout_s <= now:
            self._post(self._lost.pop(0))
            did = True
        gap = self._intervals.gap(self._rate, len(self._targets))
        if not self._running or gap is None or now < self._next_at:
            return did
        target = self._targets[self._i % len(self._targets)]
        self._i += 1
        ok, rtt, error = self._uplinks.answer(self.link)
        self.sent += 1
        if not ok and error == "timeout":
            self._lost.append(ProbeResult(self.link, target, False, now, rtt_ms=None, error="timeout"))
        else:
            self._post(ProbeResult(self.link, target, ok, now, rtt_ms=rtt, error=error))
        self._next_at = now + gap
        return True

    def next_deadline(self) -> float | None:
        times = [r.sent_at + self._timeout_s for r in self._lost[:1]]
        if self._running and self._intervals.gap(self._rate, len(self._targets)) is not None:
            times.append(self._next_at)
        return min(times, default=None)


@pytest.fixture
def agent_factory(tmp_path):
    made: list[SimulatorAgent] = []

    def make(**kwargs) -> SimulatorAgent:
        d = tmp_path / f"agent{len(made)}"
        d.mkdir()
        a = SimulatorAgent(d, **kwargs)
        made.append(a)
        return a
    yield make
    for a in made:
        a.close()
