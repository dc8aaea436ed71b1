"""The drill runner with the failover controller on a fake monotonic clock (tests/failover/test_controller.py's
Rig): the sim route backend, fake probers. The service checks and the passive drill's probes are replaced by
recording functions (the real ones run in the netns lab: test_drills_lab.py); they run on the runner's worker
thread, whose result the test waits for."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest

from agent.config import DrillsConfig, from_dict
from agent.core import CommandReceived, WallClock
from agent.drills.scheduler import DrillScheduler
from agent.drills.services import ServiceResult
from agent.linkmon.inputs import RouteCheckDone
from agent.linkmon.methods import ProbeFailed
from tests.failover.test_controller import Rig as ControllerRig

SERVICES = [{"name": "Téléphonie", "check": "sip:192.0.2.60"}, {"name": "Cloud", "check": "https://192.0.2.43/"}]
MODEM_OK = {"connected": True, "sim_state": "READY", "registration": "home", "operator_name": "Orange F",
            "rat": "LTE"}


class Rig(ControllerRig):
    def __init__(self, failover: dict | None = None, failing: dict | None = None, probes_fail: bool = False):
        self.checked: list[tuple[str, str, str, str]] = []     # (check, interface, source, preferred uplink)
        self.failing = failing or {}
        self.probes_fail = probes_fail
        self.probed: list[tuple[str, str]] = []

        def checker(target, options, addresses):
            return RouteCheckDone("wwan0", "100.64.2.2", True, 30.0)
        super().__init__(failover=failover, checker=checker)
        self.ctl.drills.config = from_dict({"probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]},
                                            "services": SERVICES, "drills": {"service_timeout_s": 0.5}})
        self.ctl.drills._check = self.fake_check
        self.ctl.drills._probe = self.fake_probe

    def fake_check(self, spec, binding, timeout_s, ca_file=""):
        self.checked.append((spec, binding.interface, binding.source, self.routes.status()["preferred"]))
        if spec in self.failing:
            return ServiceResult(False, None, self.failing[spec])
        return ServiceResult(True, 12.5, "SIP/2.0 200 OK" if spec.startswith("sip") else "HTTP 200")

    def fake_probe(self, target, binding, options):
        self.probed.append((target.host, binding.interface))
        if self.probes_fail:
            raise ProbeFailed("timeout")
        return 40.0 + len(self.probed)

    def wait_result(self, timeout: float = 5.0, **advance):
        """Drive the core until drill_result (the checks post from their thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if advance:
                self.advance(0.5, step=0.5, **advance)
            else:
                self.core.drain()
            found = [e for e in self.events if e.kind == "drill_result"]
            if found:
                return found
            time.sleep(0.005)
        raise AssertionError(f"no drill_result; events {self.kinds()}")


def test_a_passive_drill_checks_the_backup_without_moving_traffic():
    rig = Rig()
    rig.up()
    rig.core.state["modem"] = dict(MODEM_OK)
    changes = len(rig.routes.changes)
    reply = rig.command("drill", {"kind": "passive"})
    assert reply["ok"] and reply["result"]["kind"] == "passive" and reply["result"]["duration_s"] is None
    assert rig.state["state"] == "primary"
    [result] = rig.wait_result()
    d = result.data
    assert d["kind"] == "passive" and d["trigger"] == "command" and d["ok"] is True, d
    assert d["reason"] == "completed" and d["recovery_s"] is None
    assert [(s["name"], s["ok"]) for s in d["path"]] == [("sim", True), ("registration", True), ("data", True),
                                                         ("latency", True)]
    assert d["path"][1]["detail"] == "home on Orange F LTE" and d["path"][2]["detail"] == "wwan0 100.64.2.2"
    assert d["path"][3]["detail"] == "3/3 answered, median 42 ms"
    assert d["backup"] == {"sent": 3, "lost": 0, "loss": 0.0, "rtt_ms": 42.0}
    assert d["services"] == [
        {"name": "Téléphonie", "check": "sip:192.0.2.60", "ok": True, "detail": "SIP/2.0 200 OK", "rtt_ms": 12.5},
        {"name": "Cloud", "check": "https://192.0.2.43/", "ok": True, "detail": "HTTP 200", "rtt_ms": 12.5}]
    # bound to the backup while the primary kept the traffic; not a route changed
    assert [c[1:] for c in rig.checked] == [("wwan0", "100.64.2.2", "primary")] * 2
    assert {p[1] for p in rig.probed} == {"wwan0"}
    assert len(rig.routes.changes) == changes and "drill_started" not in rig.kinds()
    assert rig.core.state["drills"]["running"] is None and rig.core.state["drills"]["last"]["ok"] is True


def test_a_failing_service_fails_the_drill():
    rig = Rig(failing={"https://192.0.2.43/": "certificate: unable to get local issuer certificate"})
    rig.up()
    rig.command("drill", {"kind": "passive"})
    [result] = rig.wait_result()
    assert result.data["ok"] is False
    assert result.data["reason"] == "service Cloud failed: certificate: unable to get local issuer certificate"
    assert [s["ok"] for s in result.data["services"]] == [True, False]


@pytest.mark.parametrize("modem, step, reason", [
    ({**MODEM_OK, "sim_state": "SIM PIN"}, "sim", "sim: SIM PIN"),
    ({**MODEM_OK, "registration": "searching", "operator_name": None, "rat": None}, "registration",
     "registration: searching"),
    ({"connected": False}, "modem", "modem: the modem does not answer"),
])
def test_the_modem_part_of_a_passive_drill(modem, step, reason):
    rig = Rig()
    rig.up()
    rig.core.state["modem"] = modem
    rig.command("drill", {"kind": "passive"})
    [result] = rig.wait_result()
    assert result.data["ok"] is False and result.data["reason"] == reason
    assert any(s["name"] == step and s["ok"] is False for s in result.data["path"])


def test_a_passive_drill_without_answers_through_the_backup_fails():
    rig = Rig(probes_fail=True)
    rig.up()
    rig.command("drill", {"kind": "passive"})
    [result] = rig.wait_result()
    assert result.data["ok"] is False
    assert result.data["reason"] == "latency: 0/3 answered (192.0.2.1: timeout)"
    assert result.data["backup"]["lost"] == 3


def test_a_passive_drill_on_cold_standby_says_only_a_full_drill_can_check():
    rig = Rig(failover={"standby": "cold"})
    rig.up()
    rig.command("drill", {"kind": "passive"})
    [result] = rig.wait_result()
    assert result.data["ok"] is False and "only a full drill can check it" in result.data["reason"]
    assert rig.probed == []


def test_a_full_drill_checks_the_services_while_the_backup_carries_the_traffic():
    rig = Rig()
    rig.up()
    reply = rig.command("drill", {"kind": "full", "duration_s": 5})
    assert reply["ok"] and reply["result"] == {"started": True, "kind": "full", "duration_s": 5.0,
                                               "trigger": "command", "result": "as the drill_result event"}
    [result] = rig.wait_result(timeout=10, answer={"primary": True, "backup": True})
    d = result.data
    assert d["kind"] == "full" and d["ok"] is True, d
    assert [c[3] for c in rig.checked] == ["backup", "backup"]       # during the drill, traffic on the backup
    assert d["route"]["uplink"] == "backup" and d["backup"]["sent"] >= 2
    assert 0 < d["recovery_s"] < 1 and d["traffic_s"] == pytest.approx(5.0, abs=0.5)
    assert [s["ok"] for s in d["services"]] == [True, True]
    assert rig.routes.status()["preferred"] == "primary" and rig.kinds().count("drill_result") == 1


def test_a_full_drill_with_a_failing_service():
    rig = Rig(failing={"sip:192.0.2.60": "no answer within 0.5 s"})
    rig.up()
    rig.command("drill", {"duration_s": 5})        # full: the command's kind before kinds existed
    [result] = rig.wait_result(timeout=10, answer={"primary": True, "backup": True})
    assert result.data["kind"] == "full" and result.data["ok"] is False
    assert result.data["reason"] == "service Téléphonie failed: no answer within 0.5 s"


def test_one_drill_at_a_time_and_bad_arguments():
    rig = Rig()
    rig.up()
    gate = threading.Event()
    slow = rig.fake_check
    rig.ctl.drills._check = lambda *a, **k: (gate.wait(5), slow(*a, **k))[1]
    assert rig.command("drill", {"kind": "passive"})["ok"]
    for args in ({"kind": "passive"}, {"kind": "full"}):
        busy = rig.command("drill", args)
        assert not busy["ok"] and busy["error"] == "no drill: a passive drill is already running"
    gate.set()
    rig.wait_result()
    for args, error in (({"kind": "both"}, "kind must be one of passive, full; got 'both'"),
                        ({"kind": "passive", "wait": "yes"}, "wait must be true or false; got 'yes'"),
                        ({"kind": "passive", "when": 1}, "unknown argument(s) when")):
        reply = rig.command("drill", args)
        assert not reply["ok"] and reply["error"].startswith(error)


def test_wait_answers_with_the_result():
    rig = Rig()
    rig.up()
    box: dict = {}
    gate = threading.Event()
    quick = rig.fake_check
    rig.ctl.drills._check = lambda *a, **k: (gate.wait(5), quick(*a, **k))[1]
    rig.core.post(CommandReceived("drill", {"kind": "passive", "wait": True}, box.update))
    rig.core.drain()
    assert box == {}                        # the answer is the result: not while the checks run
    gate.set()
    rig.wait_result()
    rig.core.drain()
    assert box["ok"] and box["result"]["kind"] == "passive" and box["result"]["ok"] is True
    assert box["result"]["services"][0]["name"] == "Téléphonie" and "ts" in box["result"]


def test_a_bug_in_the_checks_is_a_failed_drill_not_a_dead_thread():
    rig = Rig()
    rig.up()
    rig.ctl.drills._check = lambda *a, **k: 1 / 0
    rig.command("drill", {"kind": "passive"})
    [result] = rig.wait_result()
    assert result.data["ok"] is False and result.data["reason"] == "checks: internal error: ZeroDivisionError"


def test_a_scheduled_full_drill_runs_at_its_slot_through_the_real_runner(tmp_path):
    """The scheduler, the runner and the failover controller together on the fake clock: the slot comes, the
    traffic moves, the services are checked on the backup, one drill_result says trigger "schedule"."""
    rig = Rig()
    rig.core.wall = WallClock(now=lambda: 1_800_000_000.0 + rig.clock.t, source=lambda: "ntp")
    rig.up()
    slot = (int(rig.core.wall.now()[0]) // 60 + 2) * 60          # two minute boundaries ahead
    at = datetime.fromtimestamp(slot, timezone.utc)
    cfg = DrillsConfig(schedule=f"{at.minute} {at.hour} * * *", kind="full", duration_s=5.0, overdue_days=0.0)
    DrillScheduler(rig.core, cfg, rig.ctl.drills, tmp_path / "drills.json", timezone.utc)
    rig.advance(slot - rig.core.wall.now()[0] - 1.0, step=0.5, answer={"primary": True, "backup": True})
    assert "drill_started" not in rig.kinds()
    [result] = rig.wait_result(timeout=10, answer={"primary": True, "backup": True})
    started = next(e for e in rig.events if e.kind == "drill_started")
    assert slot <= started.ts <= slot + 0.5
    assert (result.data["kind"], result.data["trigger"], result.data["ok"]) == ("full", "schedule", True)
    assert [c[3] for c in rig.checked] == ["backup", "backup"]
    rig.advance(120, step=1.0, answer={"primary": True, "backup": True})
    assert rig.kinds().count("drill_started") == 1
