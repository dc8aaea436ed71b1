"""The controller on the core, without privileges: the sim route backend, probers and netlink replaced by what
they would post. Time is the core's (a fake monotonic clock), so hold-downs pass without waiting."""
from __future__ import annotations

import time

import pytest

from agent.config import from_dict
from agent.core import CommandReceived, Core, WallClock
from agent.failover import attach
from agent.linkmon.inputs import AddressChanged, CarrierChanged, ProbeResult, RouteCheckDone, RoutesChanged
from board.routes.simulated import SimulatedRoutes

TARGETS = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class FakeProber:
    def __init__(self) -> None:
        self.rate, self.source, self.running, self.sent = "off", None, False, 0

    def set_rate(self, rate): self.rate = rate
    def set_source(self, address): self.source = address
    def start(self): self.running = True
    def stop(self): self.running = False


class FakeWatcher:
    running = False
    def start(self): self.running = True
    def stop(self): self.running = False


class Rig:
    def __init__(self, failover: dict | None = None, checker=None):
        self.clock = Clock()
        self.core = Core(monotonic=self.clock, wall=WallClock(now=lambda: 1_800_000_000.0 + self.clock.t))
        self.events = []
        self.core.add_sink(self.events.append)
        self.routes = SimulatedRoutes("eth0", "wwan0", clock=self.clock)
        self.probers = {"primary": FakeProber(), "backup": FakeProber()}
        self.watcher = FakeWatcher()
        config = from_dict({"probes": {"targets": TARGETS}, "failover": failover or {}})
        parts = {"probers": self.probers, "watcher": self.watcher}
        if checker:
            parts["route_checker"] = checker
        self.ctl = attach(self.core, config, self.routes, **parts)

    def post(self, *items):
        for item in items:
            self.core.post(item)
        self.core.drain()

    def advance(self, seconds: float, step: float = 0.1, answer: dict | None = None):
        """Let time pass; `answer` {link: True/False/None} says how each link's targets answer meanwhile."""
        answer = answer or {}
        end = self.clock.t + seconds
        i = 0
        while self.clock.t < end - 1e-9:
            self.clock.t = round(self.clock.t + step, 6)
            for link, ok in answer.items():
                if ok is not None:
                    self.core.post(ProbeResult(link, TARGETS[i % 3], ok, self.clock.t - (0.0 if ok else 0.5),
                                               1.0 if ok else None, "" if ok else "timeout"))
            i += 1
            self.core.drain()

    def up(self):
        self.post(CarrierChanged("eth0", True, self.clock.t), AddressChanged("eth0", "100.64.1.2", self.clock.t),
                  CarrierChanged("wwan0", True, self.clock.t), AddressChanged("wwan0", "100.64.2.2", self.clock.t))
        self.advance(3, answer={"primary": True, "backup": True})

    def command(self, name, args):
        box = {}
        self.post(CommandReceived(name, args, box.update))
        return box

    def kinds(self):
        return [e.kind for e in self.events]

    @property
    def state(self):
        return self.core.state["failover"]


def test_start_applies_routes_and_starts_threads():
    rig = Rig()
    assert rig.routes.status()["preferred"] == "primary"
    assert rig.probers["primary"].running and rig.watcher.running
    assert (rig.probers["primary"].rate, rig.probers["backup"].rate) == ("fast", "trickle")
    rig.ctl.stop()
    assert not rig.probers["primary"].running and not rig.watcher.running


def test_state_snapshot():
    rig = Rig()
    rig.up()
    s = rig.state
    assert (s["state"], s["active_uplink"], s["mode"], s["standby"]) == ("primary", "primary", "auto", "hot")
    p = s["links"]["primary"]
    assert p["up"] is True and p["status"] == "up" and p["interface"] == "eth0" and p["address"] == "100.64.1.2"
    assert p["rtt_ms"] == 1.0 and p["loss"] == 0.0 and p["probe_rate"] == "fast"
    assert set(p["targets"]) == set(TARGETS) and p["targets"]["192.0.2.1"]["alive"] is True
    assert set(s["links"]["backup"]) == set(p)


def test_carrier_loss_fails_over_with_wall_clock_times_for_the_ledger():
    rig = Rig()
    rig.up()
    cut = rig.clock.t
    rig.post(CarrierChanged("eth0", False, cut))
    assert rig.routes.status()["preferred"] == "backup"
    failover = next(e for e in rig.events if e.kind == "failover")
    assert failover.data["reason"] == "carrier_lost" and failover.data["detect_s"] == 0.0
    assert failover.data["started_at"] == pytest.approx(1_800_000_000.0 + cut)
    assert "started_mono" not in failover.data
    assert rig.probers["backup"].rate == "active"
    rig.post(CarrierChanged("eth0", True, rig.clock.t))
    rig.advance(11, answer={"primary": True, "backup": True})
    failback = next(e for e in rig.events if e.kind == "failback")
    assert failback.data["outage_s"] == pytest.approx(0.3, abs=0.11)   # 3 answers at 0.1 s steps
    assert rig.routes.status()["preferred"] == "primary" and rig.probers["backup"].rate == "trickle"


def test_address_gone_is_down_and_probers_follow_the_address():
    rig = Rig()
    rig.up()
    assert rig.probers["primary"].source == "100.64.1.2"
    rig.post(AddressChanged("eth0", None, rig.clock.t))
    assert rig.probers["primary"].source is None
    assert rig.state["links"]["primary"]["reason"] == "no_address" and rig.state["active_uplink"] == "backup"


def test_nothing_is_judged_before_netlink_has_said_both_carrier_and_address():
    rig = Rig()
    rig.post(CarrierChanged("eth0", True, rig.clock.t))
    assert rig.events == [] and rig.state["links"]["primary"]["carrier"] is True
    assert rig.state["links"]["primary"]["address"] is None


def test_a_failed_route_change_is_reported_once_and_retried():
    rig = Rig()
    rig.up()
    rig.routes.fail_next("prefer", "netlink busy")
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    assert rig.state["active_uplink"] == "backup"          # the intent
    assert rig.routes.status()["preferred"] == "primary"   # not yet the kernel
    errors = [e for e in rig.events if e.kind == "route_error"]
    assert len(errors) == 1 and "netlink busy" in errors[0].data["error"]
    rig.advance(5.1)                                       # the periodic reconcile
    assert rig.routes.status()["preferred"] == "backup"


def test_someone_else_moving_the_default_route_is_undone():
    rig = Rig()
    rig.up()
    rig.routes.prefer("backup")   # an admin, a DHCP client...
    rig.post(RoutesChanged(rig.clock.t))
    rig.advance(0.4)
    assert rig.routes.status()["preferred"] == "primary"


@pytest.mark.parametrize("args, error", [
    ({}, "mode must be one of"),
    ({"mode": "sideways"}, "mode must be one of"),
    ({"mode": "auto", "extra": 1}, "unknown argument"),
    ("auto", "arguments must be an object"),
])
def test_failover_command_refuses_bad_arguments(args, error):
    rig = Rig()
    rig.up()
    reply = rig.command("failover", args)
    assert reply["ok"] is False and error in reply["error"]
    assert rig.state["mode"] == "auto"


def test_failover_command_switches_modes():
    rig = Rig()
    rig.up()
    reply = rig.command("failover", {"mode": "force_backup"})
    assert reply == {"ok": True, "result": {"mode": "force_backup", "state": "backup", "active_uplink": "backup"}}
    assert rig.routes.status()["preferred"] == "backup"
    assert [e.data["reason"] for e in rig.events if e.kind == "failover"] == ["manual"]


@pytest.mark.parametrize("args", [{"duration_s": 1}, {"duration_s": 7200}, {"duration_s": "60"},
                                  {"duration_s": True}, {"duration_s": float("nan")}, {"minutes": 1}])
def test_drill_command_refuses_bad_durations(args):
    rig = Rig()
    rig.up()
    reply = rig.command("drill", args)
    assert reply["ok"] is False and rig.state["state"] == "primary"


def test_drill_command_runs_a_drill_with_the_route_check():
    seen = []

    def checker(target, options, addresses):
        seen.append((target.host, addresses))
        return RouteCheckDone("wwan0", "100.64.2.2", True, 30.0)

    rig = Rig(checker=checker)
    rig.up()
    reply = rig.command("drill", {})
    assert reply["ok"] and reply["result"]["duration_s"] == 60.0
    rig.advance(0.5)   # the check runs on a thread and posts its result
    for _ in range(100):
        rig.core.drain()
        if seen and rig.ctl.policy.drill and rig.ctl.policy.drill.route:
            break
        time.sleep(0.01)
    assert seen == [("192.0.2.1", {"100.64.1.2": "eth0", "100.64.2.2": "wwan0"})]
    assert rig.state["state"] == "drill" and rig.routes.status()["preferred"] == "backup"
    busy = rig.command("drill", {"duration_s": 10})
    assert not busy["ok"] and "already running" in busy["error"]
    rig.advance(60, step=0.5, answer={"primary": True, "backup": True})
    result = next(e for e in rig.events if e.kind == "drill_result")
    assert result.data["ok"] is True and result.data["route"]["uplink"] == "backup"
    assert rig.routes.status()["preferred"] == "primary" and "failover" not in rig.kinds()


def test_cold_standby_switches_cellular_with_the_failover():
    rig = Rig(failover={"standby": "cold"})
    assert rig.routes.status()["uplinks"]["backup"]["up"] is False and rig.probers["backup"].rate == "off"
    rig.post(CarrierChanged("eth0", True, rig.clock.t), AddressChanged("eth0", "100.64.1.2", rig.clock.t))
    rig.advance(2, answer={"primary": True})
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    assert rig.routes.status()["uplinks"]["backup"]["up"] is True
    assert rig.routes.status()["preferred"] == "backup" and rig.probers["backup"].rate == "active"
    ops = [(c.op, c.uplink) for c in rig.routes.changes]
    assert ops[-2:] == [("standby", "backup"), ("prefer", "backup")]   # up first, then the route
