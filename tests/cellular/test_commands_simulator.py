"""The cellular commands as MQTT / SMS would send them (CommandReceived on the core), against the simulator:
sim_switch, operator_scan with its progress events, operator_select; bad arguments get clear refusals."""
from __future__ import annotations

import pytest

from agent.linkmon.inputs import ProbeResult

from tests.cellular.rig import Rig


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(**kwargs):
        r = Rig(tmp_path, **kwargs)
        made.append(r)
        r.wait(lambda: r.registered_on(1), what="registered at start", timeout=30)
        return r
    yield make
    for r in made:
        r.close()


def test_sim_switch_command_answers_when_registered_on_the_new_sim(rig):
    r = rig()
    reply = r.command("sim_switch", {"slot": 2})
    assert reply["ok"], reply
    assert reply["result"]["from_slot"] == 1 and reply["result"]["to_slot"] == 2
    assert reply["result"]["reason"] == "command" and reply["result"]["rule"] is None
    assert r.registered_on(2)
    assert r.events("sim_switch")[-1].data["reason"] == "command"


@pytest.mark.parametrize("args,error", [
    ({"slot": 3}, "slot must be one of sim_slots [1, 2]; got 3"),
    ({"slot": "2"}, "slot must be one of sim_slots [1, 2]; got '2'"),
    ({"slot": True}, "slot must be one of sim_slots"),
    ({}, "slot must be one of sim_slots [1, 2]; got None"),
    ({"slot": 1}, "already on slot 1"),
    ({"slot": 2, "now": 1}, "unknown argument(s) now (known: slot)"),
    (["slot", 2], "arguments must be an object, got list"),
])
def test_sim_switch_refusals(rig, args, error):
    r = rig()
    reply = r.command("sim_switch", args)
    assert reply["ok"] is False and error in reply["error"], reply


def test_operator_scan_reports_progress_then_the_networks(rig):
    r = rig(speed=0.1, scan_progress_s=0.5)               # a 3 s scan (30 s at speed 1)
    reply = r.command("operator_scan", timeout=60)
    assert reply["ok"], reply
    plmns = {(n["plmn"], n["availability"]) for n in reply["result"]["networks"]}
    assert {("20801", "current"), ("20810", "available"), ("20820", "forbidden")} <= plmns
    stages = [e.data["stage"] for e in r.events("operator_scan_progress")]
    assert stages[0] == "started" and stages[-1] == "done" and stages.count("scanning") >= 2, stages
    scanning = [e.data for e in r.events("operator_scan_progress") if e.data["stage"] == "scanning"]
    assert scanning[0]["timeout_s"] == 180.0 and 0 <= scanning[0]["percent"] < 100
    assert r.state("cellular")["last_scan"]["networks"] == reply["result"]["networks"]


def test_one_scan_at_a_time_and_no_switch_meanwhile(rig):
    r = rig(speed=0.1, scan_progress_s=0.5)
    first = r.post_command("operator_scan")
    r.wait(lambda: r.events("operator_scan_progress"))
    second = r.command("operator_scan")
    assert second["ok"] is False and "an operator scan is running" in second["error"]
    switch = r.command("sim_switch", {"slot": 2})
    assert switch["ok"] is False and "an operator scan is running" in switch["error"]
    assert r.wait(lambda: first, timeout=60)[0]["ok"]


def test_operator_select_pins_a_network_until_auto(rig):
    r = rig(cellular={"sim": [{"slot": 1, "roaming": True}]})
    reply = r.command("operator_select", {"plmn": "20810"})
    assert reply == {"ok": True, "result": {"mode": "manual", "plmn": "20810"}}
    r.wait(lambda: r.state("modem").get("registration") == "roaming" and r.state("modem").get("mnc") == "10")
    op = r.state("cellular")["operator"]
    assert op["pinned"] and r.state("cellular")["operator_mode"] == "manual"
    r.wait_event("operator_changed", from_plmn="20801", to_plmn="20810")
    assert r.command("operator_select", {"plmn": "auto"})["result"] == {"mode": "auto", "plmn": None}
    r.wait(lambda: r.state("modem").get("registration") == "home")


@pytest.mark.parametrize("args,error", [({"plmn": "208-01"}, "plmn must be \"auto\" or MCC+MNC"),
                                        ({"plmn": 20801}, "plmn must be"), ({}, "plmn must be")])
def test_operator_select_refusals(rig, args, error):
    r = rig()
    reply = r.command("operator_select", args)
    assert reply["ok"] is False and error in reply["error"]


def test_operator_select_of_a_forbidden_network_falls_back_to_automatic(rig):
    r = rig()
    reply = r.command("operator_select", {"plmn": "20820"})     # forbidden on this SIM: AT+COPS=4 falls back
    assert reply["ok"]
    assert 'AT+COPS=4,2,"20820"' in r.sim.model.command_log
    assert r.sim.model.cops_mode == 0 and r.sim.model.operator_plmn == "20801"


def test_rules_wait_for_a_scan_to_end(rig):
    r = rig(speed=0.1, scan_progress_s=0.5)               # a 3 s scan
    scan = r.post_command("operator_scan")
    r.wait(lambda: r.events("operator_scan_progress"))
    for _ in range(3):          # probes need no poll: the data_failing rule (0.5 s) fires while the worker scans
        r.core.post(ProbeResult(link="backup", target="1.1.1.1", ok=False, sent_at=r.core.now(), error="timeout"))

    def firing_but_held():
        c = r.state("cellular")
        return c["firing"] == ["data_failing"] and c["held"] and c["operator_scan"] is not None and c
    cell = r.wait(firing_but_held, what="the rule firing during the scan")
    assert cell["switching"] is None                       # no switch job queued behind the scan
    assert r.wait(lambda: scan, timeout=60)[0]["ok"]
    done = r.wait_event("operator_scan_progress", stage="done")
    switch = r.wait_event("sim_switch", to_slot=2, rule="data_failing", timeout=30)
    assert switch.ts >= done.ts and r.events("sim_switch_failed") == []
