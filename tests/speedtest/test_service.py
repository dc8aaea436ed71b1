"""The speed tester on a Core driven by a fake clock (tests/virtual.py): the daily slot fires a real measurement
(a server on the loopback, a worker thread), the `speedtest` command, and the data budget asked of the real usage
meter. The only wait is core.step() for the worker's result, which the assertions then look at."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agent.cellular.usage import Counters, attach_usage
from agent.config import from_dict
from agent.core import CommandReceived, Core, WallClock
from agent.modem_service import ModemStatus
from agent.speedtest import attach_speedtest
from agent.speedtest.measure import Plan, SpeedResult
from agent.speedtest.schedule import slot
from agent.speedtest.service import budget_refusal, cost_estimate
from tests.speedtest.servers import SpeedServer
from tests.virtual import FakeClock

UTC = timezone.utc
ICCID = "8933150319000000017"
LOOPBACK_LINKS = {"primary": {"up": True, "interface": "lo", "address": "127.0.0.1"},
                  "backup": {"up": True, "interface": "lo", "address": "127.0.0.1"}}


@pytest.fixture
def server():
    s = SpeedServer("127.0.0.1")
    yield s
    s.close()


class Rig:
    def __init__(self, tmp_path, speedtest: dict, usage: dict | None = None, measure_fn=None, sim=True,
                 uplinks: list | None = None, links: dict | None = None):
        self.clock = FakeClock()
        self.core = Core(monotonic=self.clock, wall=WallClock(now=self.clock.wall, source=lambda: "ntp"))
        self.config = from_dict({"device": {"id": "box-7"}, "storage": {"dir": str(tmp_path / "var")},
                                 "speedtest": speedtest, "usage": usage or {}, "uplinks": uplinks or [],
                                 "board": {"cellular_interface": "wwan0"}}, source="<test>")
        self.events = []
        self.core.add_sink(self.events.append)
        self.core.state["failover"] = {"links": {k: dict(v) for k, v in (links or LOOPBACK_LINKS).items()}}
        self.counted = [0]
        self.usage = attach_usage(self.core, self.config, boot_id="boot",
                                  read_counters=lambda: Counters(1, self.counted[0], 0))
        self.measured: list[tuple[Plan, object]] = []
        real = measure_fn

        def recording(plan, binding):
            self.measured.append((plan, binding))
            if real is None:
                from agent.speedtest.measure import measure
                return measure(plan, binding)
            return real(plan, binding)
        self.tester = attach_speedtest(self.core, self.config, usage=self.usage, tz=UTC, measure_fn=recording)
        self.running = lambda: self.tester is not None and self.tester.running is not None
        if sim:
            self.core.post(ModemStatus({"iccid": ICCID, "sim_slot": 1}))
        self.core.drain()

    def speed_events(self):
        return [e for e in self.events if e.kind == "speed_measured"]

    def run_until_measured(self, count: int, max_s: float = 2 * 86400) -> None:
        """Timers in virtual time; while a measurement runs, wait on the core for its worker's result."""
        end = self.clock.now + max_s
        while len(self.speed_events()) < count:
            if self.running():
                assert self.core.step(timeout=10), "no result from the worker within 10 s"
                continue
            assert self.clock.now < end, f"{len(self.speed_events())} of {count} measurements in {max_s} s"
            self.clock.now = max(self.clock.now, self.core.next_timer_at())
            self.core.step(timeout=0)
        self.core.drain()

    def command(self, args) -> dict:
        box = {}
        self.core.post(CommandReceived("speedtest", args, box.update))
        self.core.drain()
        while not box and self.running():
            assert self.core.step(timeout=10)
        self.core.drain()
        return box


def test_the_daily_slot_measures_the_primary_through_its_binding(tmp_path, server):
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "max_bytes": 2_000_000})
    rig.run_until_measured(1)
    (event,) = rig.speed_events()
    assert event.data == {"link": "primary", "ok": True, "down_bps": event.data["down_bps"], "up_bps": None,
                          "bytes": 2_000_000, "method": "http", "server": "127.0.0.1", "error": None}
    assert event.data["down_bps"] > 0 and event.time_source == "ntp"
    day = datetime.fromtimestamp(event.ts, UTC).date()
    due = slot(rig.tester.schedule.settings, day)
    assert due <= event.ts < due + 60 and datetime.fromtimestamp(event.ts, UTC).hour == 3
    plan, binding = rig.measured[0]
    assert (binding.interface, binding.source) == ("lo", "127.0.0.1") and plan.max_bytes == 2_000_000
    assert rig.core.state["speedtest"] == {"running": None, "next_at": slot(rig.tester.schedule.settings,
                                                                            day + timedelta(days=1)),
                                           "last": {"primary": event.data}}
    rig.run_until_measured(2)                       # the next one is a day later
    assert rig.speed_events()[1].ts - event.ts > 86400 - 3600


def test_the_cellular_uplink_only_when_enabled_with_its_own_byte_limit(tmp_path, server):
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "cellular": True, "max_bytes": 3_000_000,
                         "cellular_max_bytes": 1_000_000})
    rig.run_until_measured(2)
    assert [(e.data["link"], e.data["bytes"]) for e in rig.speed_events()] == [("primary", 3_000_000),
                                                                             ("backup", 1_000_000)]
    rig_off = Rig(tmp_path / "off", {"url": server.url("/bytes/50000000")})
    rig_off.run_until_measured(1)
    rig_off.clock.now += 86400 * 2
    rig_off.run_until_measured(2)
    assert {e.data["link"] for e in rig_off.speed_events()} == {"primary"}


def test_over_the_data_budget_the_cellular_uplink_is_not_measured(tmp_path, server, caplog):
    # 4 MB cap, 1 MB used: a 5 MB measurement (and its overhead) does not fit
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "cellular": True, "links": ["backup"]},
              usage={"cap_slot1_mb": 4, "warn_pct": 0})
    rig.counted[0] = 1_000_000
    rig.usage.sample(rig.clock.now)
    assert rig.usage.remaining_bytes() == 3_000_000
    rig.run_until_measured(1)
    (event,) = rig.speed_events()
    assert event.data["ok"] is False and event.data["link"] == "backup" and event.data["bytes"] == 0
    assert event.data["error"] == ("data budget: a measurement may use up to 6.3 MB, 3.0 MB left under the SIM's "
                                   "cap this period")
    assert rig.measured == [] and server.peers == []
    assert "not started: data budget" in caplog.text
    assert rig.command({"link": "backup"})["result"]["error"].startswith("data budget")
    assert rig.measured == []


def test_within_the_data_budget_it_runs_and_the_estimate_covers_the_limit(tmp_path, server):
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "cellular": True, "links": ["backup"]},
              usage={"cap_slot1_mb": 100})
    reply = rig.command({"link": "backup"})
    assert reply["ok"] and reply["result"]["ok"] and reply["result"]["bytes"] == 5_000_000
    assert cost_estimate(rig.measured[0][0]) >= 5_000_000


def test_a_cap_with_the_sim_not_known_yet_leaves_no_budget(tmp_path, server):
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "cellular": True}, usage={"cap_slot2_mb": 1000},
              sim=False)
    assert rig.usage.remaining_bytes() == 0
    assert rig.command({"link": "backup"})["result"]["error"].startswith("data budget")
    assert rig.measured == []


def test_budget_refusal():
    assert budget_refusal(5_000_000, None) is None
    assert budget_refusal(5_000_000, 5_000_000) is None
    assert budget_refusal(5_000_001, 5_000_000).startswith("data budget: a measurement may use up to 5.0 MB")
    assert cost_estimate(Plan(url="http://x/", max_bytes=1_000_000)) < cost_estimate(
        Plan(url="http://x/", upload_url="http://x/up", max_bytes=1_000_000))
    assert cost_estimate(Plan(iperf3="x", max_bytes=1_000_000)) > 2_000_000


def test_the_command_runs_one_now_and_replies_with_the_measurement(tmp_path, server):
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "max_bytes": 1_000_000})
    reply = rig.command({"link": "primary"})
    assert reply["ok"] and reply["result"] == rig.speed_events()[0].data and reply["result"]["ok"]
    assert rig.command(None)["result"]["link"] == "primary"          # the primary by default


@pytest.mark.parametrize("speedtest, args, error", [
    ({"url": "http://127.0.0.1:1/"}, {"link": "lte"}, "speedtest: link: expected one of primary, backup, got 'lte'"),
    ({"url": "http://127.0.0.1:1/"}, {"uplink": "primary"},
     'speedtest takes {"link": NAME}, NAME one of the uplinks: primary, backup'),
    ({"url": "http://127.0.0.1:1/"}, ["primary"],
     'speedtest takes {"link": NAME}, NAME one of the uplinks: primary, backup'),
    ({"url": "http://127.0.0.1:1/"}, {"link": 3}, "speedtest: link: expected one of primary, backup, got '3'"),
    ({"url": "http://127.0.0.1:1/"}, {"link": "backup"},
     "speedtest: [speedtest] cellular is false: the cellular uplink is not measured"),
])
def test_command_refusals(tmp_path, speedtest, args, error):
    rig = Rig(tmp_path, speedtest)
    assert rig.command(args) == {"ok": False, "error": error}
    assert rig.speed_events() == []


def test_one_measurement_at_a_time(tmp_path, server):
    server.pace_s = 0.05
    rig = Rig(tmp_path, {"url": server.url("/bytes/50000000"), "timeout_s": 1})
    first = {}
    rig.core.post(CommandReceived("speedtest", {"link": "primary"}, first.update))
    rig.core.drain()
    assert rig.tester.running == "primary" and rig.core.state["speedtest"]["running"] == "primary"
    assert rig.command({"link": "primary"}) == {
        "ok": False, "error": "speedtest: the primary uplink is being measured; try again when it is done"}
    while not first:
        assert rig.core.step(timeout=10)
    assert first["result"]["ok"]


def test_a_failure_is_reported_with_its_one_line(tmp_path):
    rig = Rig(tmp_path, {"url": "http://127.0.0.1:1/file"})
    reply = rig.command({"link": "primary"})
    assert reply["result"] == {"link": "primary", "ok": False, "down_bps": None, "up_bps": None, "bytes": 0,
                               "method": "http", "server": "127.0.0.1", "error": "connection refused"}


def test_a_bug_in_the_measurement_is_an_error_not_a_dead_thread(tmp_path, caplog):
    def broken(plan, binding):
        return 1 / 0
    rig = Rig(tmp_path, {"url": "http://127.0.0.1:1/file"}, measure_fn=broken)
    reply = rig.command({"link": "primary"})
    assert reply["result"]["error"] == "internal error: ZeroDivisionError" and not reply["result"]["ok"]
    assert rig.tester.running is None


RUNTIME = """
import json, sys
from agent import config
from agent.runtime import build
cfg = config.from_dict(json.loads(sys.argv[1]), source="test")
rt = build(cfg, mqtt=False)
print(json.dumps(["speedtest" in rt.core.commands(), "agent.speedtest" in sys.modules,
                  rt.core.state.get("speedtest")]))
"""


@pytest.mark.parametrize("speedtest, expected", [
    ({}, [False, False, None]),                   # off: not even imported (the agent's 30 MB budget)
    ({"url": "http://192.0.2.1/f", "hour": 4}, [True, True, {"running": None, "last": {}}]),
])
def test_the_runtime_attaches_it_only_when_configured(tmp_path, speedtest, expected):
    import json
    import subprocess
    import sys
    from pathlib import Path
    raw = {"modem": {"port": str(tmp_path / "no-modem")}, "board": {"backend": "simulated"},
           "storage": {"dir": str(tmp_path / "var")}, "speedtest": speedtest}
    proc = subprocess.run([sys.executable, "-c", RUNTIME, json.dumps(raw)], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    attached, imported, state = json.loads(proc.stdout.splitlines()[-1])
    assert [attached, imported] == expected[:2]
    if expected[2] is None:
        assert state is None
    else:
        assert {k: state[k] for k in ("running", "last")} == expected[2] and state["next_at"] > 0


THREE = [{"name": "fiber", "interface": "eth0", "priority": 1}, {"name": "fiber2", "interface": "eth1", "priority": 2},
         {"name": "lte", "kind": "cellular", "priority": 3}]
# the engine's links: fiber2's interface not published yet (its configured one is used), lte's address not known
THREE_LINKS = {"fiber": {"up": True, "interface": "eth0", "address": "192.0.2.10"},
               "fiber2": {"up": True, "address": "198.51.100.7"}, "lte": {"up": True, "interface": "wwan0"}}


def test_three_named_uplinks_each_measured_through_its_own_binding_on_schedule_and_on_command(tmp_path):
    def fake(plan, binding):     # no such interfaces here: what is measured, and through what, is the point
        return SpeedResult(True, down_bps=8 * plan.max_bytes, bytes=plan.max_bytes, method="http", server="s")
    rig = Rig(tmp_path, {"url": "http://s/f", "links": ["fiber", "fiber2"], "cellular": True, "max_bytes": 3_000_000,
                         "cellular_max_bytes": 1_000_000}, usage={"cap_slot1_mb": 100}, measure_fn=fake,
              uplinks=THREE, links=THREE_LINKS)
    rig.run_until_measured(3)
    assert [(e.data["link"], e.data["bytes"]) for e in rig.speed_events()] == [
        ("fiber", 3_000_000), ("fiber2", 3_000_000), ("lte", 1_000_000)]
    assert [(b.interface, b.source) for _, b in rig.measured] == [
        ("eth0", "192.0.2.10"), ("eth1", "198.51.100.7"), ("wwan0", None)]
    assert set(rig.core.state["speedtest"]["last"]) == {"fiber", "fiber2", "lte"}
    assert rig.command({"link": "fiber2"})["result"]["link"] == "fiber2"
    assert rig.command(None)["result"]["link"] == "fiber"                  # the best uplink by default
    assert rig.command({"link": "backup"})["result"]["link"] == "lte"      # the alias of the cellular uplink
    assert rig.command({"link": "primary"})["result"]["link"] == "fiber"
    assert rig.command({"link": "dsl"}) == {"ok": False,
                                            "error": "speedtest: link: expected one of fiber, fiber2, lte, got 'dsl'"}
