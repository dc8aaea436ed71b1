"""SMS alerts and commands against the modem simulator in virtual time, through Core + ModemService and the real
failover controller on simulated uplinks: what the router does when someone texts it, and what it texts.

`SimulatorAgent` (also used by test_time_simulator.py) runs it all in virtual time (tests/virtual.py): the
in-process simulator, the real AT port engine, ModemService, Core and the failover probers on one fake clock.
"""
from __future__ import annotations

import logging
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

OWNER = "+33612345678"          # allowlisted as "06 12 34 56 78" with country_code 33
STRANGER = "+33700000001"
PIN = "k7q2x9"                  # letters too: a digit PIN could also be a substring of an IMEI in the logs
WRONG_PIN = "zz9w4t"


def ucs2(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


class SimulatorAgent:
    """Core + ModemService + failover (simulated uplinks) + time + SMS against the in-process simulator, all in
    virtual time (tests/virtual.py): `pump(cond, timeout)` runs the world until cond() holds, `advance(s)` lets
    time pass; the test reads the state between steps without racing anything."""

    def __init__(self, tmp_path, *, sms: dict | None = None, time_cfg: dict | None = None, ntp: bool = True,
                 network_offset_s: float = 0.0, set_clock: Callable[[float], None] | None = None,
                 vendor: str = "quectel-ec25",
                 before_start: Callable[[InProcessSimulator], Any] | None = None,
                 extra: dict | None = None):
        self.clock = FakeClock()
        self.scheduler = Scheduler(self.clock)
        self.sim = InProcessSimulator(vendor, self.clock, name=str(tmp_path / "ttyUSB2"),
                                      network_offset_s=network_offset_s)
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
        self.modem = attach_modem(core, self.scheduler, self.sim, poll_s=2.0)
        routes = open_backend("simulated", **self.config.board.route_options())
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


SMS = {"command_numbers": ["06 12 34 56 78"], "alert_numbers": ["0033 6 12 34 56 78"], "country_code": "33",
       "pin": PIN, "coalesce_s": 0.0}


def test_command_from_owner_with_pin_switches_failover_and_answers(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{PIN} failover backup")
    assert a.pump(lambda: any("failover backup: ok" in t for t in a.sent_to(OWNER))), a.sent_to(OWNER)
    assert a.core.state["failover"]["mode"] == "force_backup"
    assert a.core.state["failover"]["active_uplink"] == "backup"
    reply = next(t for t in a.sent_to(OWNER) if "failover backup" in t)
    assert reply.startswith("relais shop-42: failover backup: ok, mode force_backup") and len(reply) <= 160
    (cmd,) = a.events_of("sms_command")
    assert cmd.data == {"from": "+33*******78", "command": "failover backup", "ok": True}
    assert a.pump(lambda: a.stored() == []), "the processed message must be deleted from the SIM"
    # the manual failover is itself an alert event: the owner is told by SMS too
    assert a.pump(lambda: any("FIBER DOWN" in t and "(manual)" in t for t in a.sent_to(OWNER))), a.sent_to(OWNER)

    a.sim.fault("sms-in", OWNER, f"{PIN}  FAILOVER   auto ")          # case and spaces do not matter
    assert a.pump(lambda: any("failover auto: ok" in t for t in a.sent_to(OWNER)))
    assert a.core.state["failover"]["mode"] == "auto"


def test_status_and_help_and_unknown_command(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{PIN} status")
    assert a.pump(lambda: any(t.startswith("relais shop-42 ") and "on primary" in t for t in a.sent_to(OWNER)))
    status = next(t for t in a.sent_to(OWNER) if "on primary" in t)
    assert "mode auto" in status and "4G" in status and "SIM1" in status and len(status) <= 160, status
    a.sim.fault("sms-in", OWNER, f"{PIN} reboot now")
    assert a.pump(lambda: any("unknown command; use: status" in t for t in a.sent_to(OWNER)))
    a.sim.fault("sms-in", OWNER, f"{PIN} sim 3")
    assert a.pump(lambda: len([t for t in a.sent_to(OWNER) if "unknown command" in t]) == 2)
    assert a.pump(lambda: a.stored() == [])


def test_wrong_pin_and_unknown_number_are_ignored_and_the_pin_never_logged(agent_factory, caplog):
    caplog.set_level(logging.DEBUG)
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.sim.fault("sms-in", OWNER, f"{WRONG_PIN} failover backup")
    a.sim.fault("sms-in", STRANGER, f"{PIN} failover backup")        # right PIN, number not allowlisted
    a.sim.fault("sms-in", "20700", "Votre forfait: 80% consommes")   # an operator's short code
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 3), a.events_of("sms_rejected")
    reasons = sorted((e.data["from"], e.data["reason"]) for e in a.events_of("sms_rejected"))
    assert reasons == [("+33*******01", "unknown_number"), ("+33*******78", "bad_pin"), ("20*00", "unknown_number")]
    assert a.pump(lambda: a.stored() == [])                           # deleted all the same
    a.advance(1.0)
    assert a.sent_to(OWNER) == [] and a.sent_to(STRANGER) == []       # no answer to any of them
    assert a.core.state["failover"]["mode"] == "auto"
    assert "ignored (bad_pin)" in caplog.text and "ignored (unknown_number)" in caplog.text
    for secret in (PIN, WRONG_PIN, ucs2(PIN), ucs2(WRONG_PIN)):
        assert secret.lower() not in caplog.text.lower(), secret


def test_wrong_pins_lock_the_number_out(agent_factory):
    a = agent_factory(sms={**SMS, "max_bad_pins_per_hour": 2})
    assert a.ready()
    for i in range(2):
        a.sim.fault("sms-in", OWNER, f"{WRONG_PIN}{i} status")
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 2)
    a.sim.fault("sms-in", OWNER, f"{PIN} status")                     # right PIN, but too late this hour
    assert a.pump(lambda: len(a.events_of("sms_rejected")) == 3)
    assert [e.data["reason"] for e in a.events_of("sms_rejected")] == ["bad_pin", "bad_pin", "locked_out"]
    assert a.sent_to(OWNER) == []


def test_alerts_on_failover_and_failback(agent_factory):
    a = agent_factory(sms=SMS)
    assert a.ready()
    a.uplinks.set("primary", reachable=False)                         # the fiber goes dark beyond the first hop
    assert a.pump(lambda: any("FIBER DOWN" in t for t in a.sent_to(OWNER)), timeout=30), a.sent_to(OWNER)
    down = next(t for t in a.sent_to(OWNER) if "FIBER DOWN" in t)
    assert down.startswith("relais shop-42: FIBER DOWN ")
    assert "(no answer from 3 targets), on 4G" in down and len(down) <= 160, down
    a.uplinks.set("primary", reachable=True)
    assert a.pump(lambda: any("FIBER BACK" in t for t in a.sent_to(OWNER)), timeout=30), a.sent_to(OWNER)
    back = next(t for t in a.sent_to(OWNER) if "FIBER BACK" in t)
    assert " after " in back, back
    assert a.pump(lambda: a.core.state["sms"]["sent"] == 2)


def test_alert_bursts_are_coalesced_and_rate_limited(agent_factory):
    a = agent_factory(sms={**SMS, "coalesce_s": 1.0, "max_alerts_per_hour": 1})
    assert a.ready()
    a.core.emit("failover", reason="no_answer", to="backup")
    a.core.emit("sim_switch", to_slot=2, reason="data_cap")
    assert a.pump(lambda: a.sent_to(OWNER))
    (first,) = a.sent_to(OWNER)
    assert "FIBER DOWN" in first and "SIM SWITCH" in first and "; " in first, first
    a.core.emit("failback", reason="recovered", outage_s=75.0)     # over this hour's budget: waits
    a.advance(2.0)
    assert len(a.sent_to(OWNER)) == 1
    assert a.core.state["sms"]["queued_alerts"] == 1


def test_command_stored_while_the_agent_was_down_is_run_unless_stale(agent_factory):
    def before(sim):
        sim.fault("allow", 1)                                         # wait for registration: SMS needs it
        assert sim.run_alone(lambda: sim.model.registered, 10)
        sim.fault("sms-in", OWNER, f"{PIN} failover backup")
        real = sim.engine.wallclock
        sim.engine.wallclock = lambda: real() - 7200                  # the network stamps this one 2 h ago
        sim.fault("sms-in", OWNER, f"{PIN} failover primary")
        sim.engine.wallclock = real
    a = agent_factory(sms=SMS, before_start=before)
    assert a.ready()
    assert a.pump(lambda: a.core.state["failover"]["mode"] == "force_backup")
    assert a.pump(lambda: [e.data["reason"] for e in a.events_of("sms_rejected")] == ["stale"])
    assert a.pump(lambda: a.stored() == [])
    assert a.core.state["failover"]["mode"] == "force_backup"


def test_no_command_numbers_leaves_the_sim_messages_alone(agent_factory):
    a = agent_factory(sms={"alert_numbers": [OWNER]})
    assert a.ready()
    a.sim.fault("sms-in", OWNER, "hello")
    a.advance(2.0)
    assert [m[2] for m in a.stored()] == ["hello"]
    assert a.events_of("sms_rejected") == []
