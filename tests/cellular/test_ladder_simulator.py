"""Every recovery-ladder step end to end against the modem simulator: the trouble, the step the modem actually
receives (its command log, its boot count), the recovery_step events, and the modem coming back.

One SIM slot in these tests, so that the SIM rules stay out of the way; windows of a few seconds (rig.py)."""
from __future__ import annotations


import pytest

from tests.cellular.rig import Rig

ONE_SLOT = {"sim_slots": [1]}


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(cellular=None, **kwargs):
        r = Rig(tmp_path, cellular={**ONE_SLOT, **(cellular or {})}, **kwargs)
        made.append(r)
        r.wait(lambda: r.registered_on(1), what="registered at start")
        return r
    yield make
    for r in made:
        r.close()


def steps(r):
    return [(e.data["step"], e.data["result"]) for e in r.events("recovery_step")]


def test_reregister_brings_a_deregistered_modem_back(rig):
    r = rig()
    r.on_core(lambda: r.modem.send_at("AT+COPS=2"))          # someone deregistered it (SIM ready, no service)
    event = r.wait_event("modem_recovered", trouble="no_service")
    assert event.data["last_step"] == "reregister" and event.data["steps"] == 1
    assert steps(r) == [("reregister", "ok")]
    assert r.sim.model.command_log[-60:].count("AT+COPS=0") >= 1
    r.wait(lambda: r.registered_on(1))


def test_each_step_in_turn_while_nothing_helps_then_recovery(rig):
    r = rig()
    boots = r.sim.model.boot_count
    r.sim.fault("signal", -140)                                  # no coverage: none of the steps can help
    r.wait_event("recovery_step", step="reregister", result="ok")
    r.wait_event("recovery_step", step="radio", result="ok")
    assert {"AT+COPS=0", "AT+CFUN=0", "AT+CFUN=1"} <= set(r.sim.model.command_log)
    r.wait_event("recovery_step", step="reset", result="ok")
    r.wait(lambda: r.sim.model.boot_count == boots + 1, what="the reset restarted the modem")
    assert "AT+CFUN=1,1" in r.sim.model.command_log
    usb = r.wait_event("recovery_step", step="usb")
    assert usb.data["result"].startswith("skipped:") and "not below a USB device" in usb.data["result"]   # a UART
    r.wait_event("recovery_step", step="power", result="ok", timeout=30)
    r.wait(lambda: r.sim.model.boot_count == boots + 2, what="the power cycle restarted the modem")
    assert [s for s, _ in steps(r)] == ["reregister", "radio", "reset", "usb", "power"]
    r.sim.fault("signal", -95)                                   # coverage back
    event = r.wait_event("modem_recovered", timeout=30)
    assert event.data["trouble"] == "no_service" and event.data["last_step"] == "power"
    assert r.state("cellular")["ladder"]["resets_last_hour"] == 2      # reset and power; the skipped usb not


def test_a_modem_hanging_until_power_cycled_is_power_cycled(rig):
    r = rig()
    r.sim.fault("hang", "forever")
    power = r.wait_event("recovery_step", step="power", timeout=120)
    assert power.data["result"] == "ok" and power.data["reason"] == "unresponsive"
    results = dict(steps(r))
    for step in ("reregister", "radio", "reset"):                 # each tried, each unanswered: escalate at once
        assert results[step].startswith("failed: AT: no final result"), results
    assert results["usb"].startswith("skipped:")
    event = r.wait_event("modem_recovered", timeout=60)
    assert event.data["trouble"] == "unresponsive" and event.data["last_step"] == "power"
    r.wait(lambda: r.registered_on(1))
    assert not r.sim.model.hanging


def test_port_gone_skips_the_at_steps(rig):
    r = rig()
    r.sim.fault("reboot", 600)                                    # the port goes and does not come back by itself
    power = r.wait_event("recovery_step", step="power", timeout=30)
    assert power.data["reason"] == "port_gone" and power.data["result"] == "ok"
    usb = r.events("recovery_step")[0]
    assert usb.data["step"] == "usb" and usb.data["result"].startswith("failed: ")   # the tty is gone
    r.wait_event("modem_recovered", trouble="port_gone", timeout=30)
    r.wait(lambda: r.registered_on(1))


def test_hourly_bound_stops_the_ladder_and_says_so(rig):
    r = rig(cellular={"ladder": {"max_resets_per_hour": 0}})
    r.sim.fault("reboot", 600)
    event = r.wait_event("recovery_step", result="rate_limited")
    assert event.data["step"] == "usb" and event.data["retry_in_s"] is None
    assert r.state("cellular")["ladder"]["rate_limited"] is True
    boots = r.sim.model.boot_count
    r.advance(3)
    assert r.sim.model.boot_count == boots and len(r.events("recovery_step")) == 1


def test_no_power_control_configured_is_a_skip(rig):
    r = rig(power=False)
    r.sim.fault("reboot", 600)
    power = r.wait_event("recovery_step", step="power")
    assert power.data["result"] == "skipped: no power control configured ([board] power_gpio)"


def test_modem_reset_command(rig):
    r = rig(cellular={"ladder": {"max_resets_per_hour": 1}})
    boots = r.sim.model.boot_count
    reply = r.command("modem_reset")
    assert reply == {"ok": True, "result": {"step": "reset", "result": "ok", "detail": "AT+CFUN=1,1"}}
    r.wait(lambda: r.sim.model.boot_count == boots + 1)
    assert r.events("recovery_step")[-1].data["reason"] == "command"
    r.wait(lambda: r.registered_on(1))
    again = r.command("modem_reset")
    assert again["ok"] is False and "1 modem resets in the last hour" in again["error"]
    assert r.command("modem_reset", {"hard": True})["error"].startswith("unknown argument(s) hard")
