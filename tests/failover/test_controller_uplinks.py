"""The controller with three [[uplinks]] (fiber, a second operator, cellular) on the sim route backend: routes,
events, state and the failover command speak of uplinks by name."""
from __future__ import annotations

from agent.config import from_dict
from agent.core import Core, WallClock
from agent.failover import attach
from agent.linkmon.inputs import AddressChanged, CarrierChanged
from board.routes.simulated import SimulatedRoutes
from tests.failover.test_controller import TARGETS, Clock, FakeProber, FakeWatcher, Rig

UPLINKS = [{"name": "fiber", "interface": "eth0", "priority": 1},
           {"name": "second", "interface": "eth1", "priority": 2},
           {"name": "lte", "kind": "cellular", "priority": 3}]
ADDRESSES = {"eth0": "100.64.1.2", "eth1": "100.64.3.2", "wwan0": "100.64.2.2"}


class ThreeUplinks(Rig):
    def __init__(self, failover: dict | None = None):   # noqa: super().__init__ builds a two-uplink agent
        self.clock = Clock()
        self.core = Core(monotonic=self.clock, wall=WallClock(now=lambda: 1_800_000_000.0 + self.clock.t))
        self.events = []
        self.core.add_sink(self.events.append)
        self.config = from_dict({"probes": {"targets": TARGETS}, "failover": failover or {}, "uplinks": UPLINKS})
        self.routes = SimulatedRoutes(clock=self.clock, **{k: v for k, v in self.config.route_options().items()
                                                           if k in ("uplinks", "preferred_metric",
                                                                    "standby_metric")})
        self.probers = {u["name"]: FakeProber() for u in UPLINKS}
        self.watcher = FakeWatcher()
        self.ctl = attach(self.core, self.config, self.routes, probers=self.probers, watcher=self.watcher)

    def up(self):
        for iface, address in ADDRESSES.items():
            self.post(CarrierChanged(iface, True, self.clock.t), AddressChanged(iface, address, self.clock.t))
        self.advance(3, answer={"fiber": True, "second": True, "lte": True})

    def switches(self):
        return [(e.kind, e.data["from"], e.data["to"]) for e in self.events if e.kind in ("failover", "failback")]


def test_routes_and_probe_rates_per_uplink_at_start():
    rig = ThreeUplinks()
    status = rig.routes.status()
    assert status["preferred"] == "fiber"
    assert {u: info["metric"] for u, info in status["uplinks"].items()} == {"fiber": 10, "second": 20, "lte": 21}
    assert {u: p.rate for u, p in rig.probers.items()} == {"fiber": "fast", "second": "fast", "lte": "trickle"}


def test_fiber_then_second_line_lost_and_back_by_name():
    rig = ThreeUplinks({"hold_down_s": 2.0})
    rig.up()
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    assert rig.routes.status()["preferred"] == "second" and rig.state["active_uplink"] == "second"
    rig.advance(1, answer={"second": True, "lte": True})
    rig.post(CarrierChanged("eth1", False, rig.clock.t))
    assert rig.routes.status()["preferred"] == "lte" and rig.probers["lte"].rate == "active"
    # the fiber comes back: after its hold-down the traffic goes straight to it
    rig.post(CarrierChanged("eth0", True, rig.clock.t))
    rig.advance(3, answer={"fiber": True, "lte": True})
    assert rig.routes.status()["preferred"] == "fiber"
    assert rig.switches() == [("failover", "fiber", "second"), ("failover", "second", "lte"),
                              ("failback", "lte", "fiber")]
    s = rig.state
    assert (s["active_uplink"], s["state"]) == ("fiber", "primary")
    assert {u: (i["interface"], i["kind"], i["priority"], i["status"]) for u, i in s["links"].items()} == {
        "fiber": ("eth0", "ethernet", 1, "up"), "second": ("eth1", "ethernet", 2, "down"),
        "lte": ("wwan0", "cellular", 3, "up")}
    # flows NATed to the addresses of the uplinks left are flushed at each switch
    assert rig.routes.forgotten[-1] == [ADDRESSES["eth1"], ADDRESSES["wwan0"]]


def test_the_failover_command_forces_an_uplink_by_name():
    rig = ThreeUplinks()
    rig.up()
    reply = rig.command("failover", {"mode": "force_second"})
    assert reply == {"ok": True, "result": {"mode": "force_second", "state": "backup", "active_uplink": "second"}}
    assert rig.routes.status()["preferred"] == "second"
    reply = rig.command("failover", {"mode": "force_dsl"})
    assert not reply["ok"] and "force_fiber, force_second, force_lte" in reply["error"]
