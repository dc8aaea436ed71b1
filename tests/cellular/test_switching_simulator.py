"""Every SIM rule end to end: the modem simulator's faults (deny, sim-remove, signal ...) through the real
ModemService and the cellular manager on a running Core; the switch is seen in the modem's state, in the
sim_switch event and in the data session brought up on the new SIM."""
from __future__ import annotations

import logging

import pytest

from agent.linkmon.inputs import ProbeResult
from tests.cellular.rig import Rig


@pytest.fixture
def rig(tmp_path, request):
    made = []

    def make(**kwargs):
        r = Rig(tmp_path, **kwargs)
        made.append(r)
        r.wait(lambda: r.state("modem").get("registration") == "home", what="registered at start")
        return r
    yield make
    for r in made:
        r.close()


def switched(r, rule, timeout=20.0):
    event = r.wait_event("sim_switch", timeout, to_slot=2, rule=rule)
    assert event.data["from_slot"] == 1 and event.data["took_s"] >= 0
    r.wait(lambda: r.registered_on(2), what="registered on slot 2")
    return event


def test_registration_denied(rig):
    r = rig()
    r.wait_event("data_session", up=True, slot=1, apn="orange.fr")          # from the provider database
    r.sim.fault("deny", 1)
    switched(r, "registration_denied")
    r.wait_event("data_session", up=True, slot=2, apn="websfr", address=r.sim.model.slots[2].card.pdp_address)
    cell = r.state("cellular")
    assert cell["active_slot"] == 2 and cell["last_switch"]["rule"] == "registration_denied"
    assert cell["known_bad"]["1"]["rule"] == "registration_denied"
    assert r.events("operator_changed")[-1].data["to_plmn"] == "20810"


def test_sim_missing(rig):
    r = rig()
    r.sim.fault("sim-remove", 1)
    switched(r, "sim_failure")


def test_no_registration(rig):
    r = rig()
    r.sim.fault("signal", -140)                     # out of coverage: searching, on both SIMs (one radio)
    r.wait(lambda: "AT+QUIMSLOT=2" in r.sim.model.command_log, what="switch command sent")
    r.sim.fault("signal", -95)                      # coverage back while the other SIM is read
    switched(r, "no_registration")


def test_weak_signal(rig):
    r = rig()
    r.sim.fault("signal", -125)                     # registered, RSRP under -120
    switched(r, "weak_signal")


def test_data_path_failing(rig):
    r = rig()
    for _ in range(3):                               # what the failover probers post for the cellular link
        r.core.post(ProbeResult(link="backup", target="1.1.1.1", ok=False, sent_at=r.core.now(), error="timeout"))
    switched(r, "data_failing")


def test_data_path_failing_on_a_cellular_uplink_named_otherwise(rig):
    """[[uplinks]]: the modem's uplink is called "lte"; its probes are the ones that judge the data path."""
    r = rig(uplinks=[{"name": "fiber", "interface": "eth0", "priority": 1},
                     {"name": "lte", "kind": "cellular", "priority": 2}])
    for _ in range(3):
        r.core.post(ProbeResult(link="fiber", target="1.1.1.1", ok=False, sent_at=r.core.now(), error="timeout"))
    r.advance(1.0)
    assert r.events("sim_switch") == []                # a fixed line's failures are not the modem's business
    for _ in range(3):
        r.core.post(ProbeResult(link="lte", target="1.1.1.1", ok=False, sent_at=r.core.now(), error="timeout"))
    switched(r, "data_failing")


def test_roaming_not_allowed(rig):
    # The operator policy asks for SFR on the Orange SIM (AT+COPS=4): registered roaming, which slot 1 may not do.
    r = rig(cellular={"sim": [{"slot": 1, "preferred_plmns": ["20810"]}]})
    r.wait(lambda: 'AT+COPS=4,2,"20810"' in r.sim.model.command_log, what="operator asked for")
    switched(r, "roaming")
    assert r.wait_event("operator_changed", to_plmn="20810").data["from_plmn"] == "20801"


def test_data_cap_reached_until_the_next_billing_period(rig):
    r = rig(cellular={"return_after_s": 2.0})
    iccid = r.sim.model.slots[1].iccid
    # what agent/cellular/usage.py emits when the SIM in use reaches its [usage] cap
    r.on_core(lambda: r.core.emit("data_cap_reached", iccid=iccid, slot=1, period="2026-11", used_bytes=10**10,
                                  cap_bytes=10**10))
    r.modem.poll_soon()
    switched(r, "data_cap")
    r.advance(4)                                          # return_after_s passed: no return to a capped SIM
    assert r.state("cellular")["capped_slots"] == [1] and r.events("sim_switch")[-1].data["to_slot"] == 2
    # the meter, now counting slot 2, moves to the next period: slot 1 is usable again, and preferred
    r.on_core(lambda: r.core.state["cellular"].update(usage={"iccid": r.sim.model.slots[2].iccid, "slot": 2,
                                                             "month": "2026-12", "cap_reached": False}))
    r.wait_event("sim_switch", to_slot=1, reason="return_to_preferred")


def test_pin_of_the_other_sim_from_its_config_never_logged(rig, caplog):
    caplog.set_level(logging.DEBUG)                  # the AT trace included
    r = rig(pins={2: "2468"}, cellular={"sim": [{"slot": 2, "pin": "2468"}]})
    r.sim.fault("deny", 1)
    switched(r, "registration_denied")
    assert r.state("cellular")["pin"] == {"2": "ok"}
    assert any('AT+CPIN="***"' in rec.getMessage() for rec in caplog.records)   # it was sent, redacted
    assert not any("2468" in rec.getMessage() for rec in caplog.records)


def test_a_wrong_pin_is_tried_once_only(rig, caplog):
    caplog.set_level(logging.DEBUG)
    r = rig(pins={2: "2468"}, cellular={"sim": [{"slot": 2, "pin": "1111"}]})
    r.sim.fault("deny", 1)
    event = r.wait_event("sim_pin_rejected", slot=2)
    assert event.data["cme_error"] == 16
    r.wait_event("sim_switch_failed", to_slot=2)
    assert r.sim.model.slots[2].pin_attempts == 2        # one attempt used, two left for a person with the right one
    assert r.state("cellular")["pin"]["2"] == "rejected"
    assert not any("1111" in rec.getMessage() for rec in caplog.records)


def test_return_to_the_preferred_sim(rig):
    r = rig(cellular={"return_after_s": 3.0})
    r.sim.fault("deny", 1)
    switched(r, "registration_denied")
    r.sim.fault("allow", 1)
    event = r.wait_event("sim_switch", to_slot=1, reason="return_to_preferred", timeout=30)
    assert event.data["from_slot"] == 2
    r.wait(lambda: r.registered_on(1))


def test_a_preferred_sim_still_bad_in_the_trial_is_left_again(rig):
    r = rig(cellular={"return_after_s": 3.0})
    r.sim.fault("deny", 1)
    switched(r, "registration_denied")
    r.wait_event("sim_switch_failed", to_slot=1, reason="return_to_preferred", timeout=30)
    r.wait_event("sim_switch", to_slot=2, reason="switch_back", timeout=30)
    r.wait(lambda: r.registered_on(2))


def test_both_sims_denied_no_ping_pong(rig):
    r = rig()
    r.sim.fault("deny", 1)
    r.sim.fault("deny", 2)
    r.wait_event("sim_switch_failed", to_slot=2)         # slot 2 did not register either
    r.wait(lambda: r.state("cellular")["failed_switches"] >= 1)
    r.advance(6)
    starts = [line for line in r.sim.model.command_log if line.startswith("AT+QUIMSLOT=")]
    assert 1 <= len(starts) <= 2, starts                  # dwell 2 s, doubled per switch that did not help
    assert r.state("cellular")["dwell_s"] >= 4.0


def test_single_sim_modem_never_switches(rig):
    r = rig(vendor="sierra-em7455")                      # one slot, no slot query
    r.sim.fault("deny", 1)
    r.wait(lambda: r.state("modem").get("registration") == "denied")
    r.advance(2)
    assert r.events("sim_switch") == [] and r.state("cellular")["switch_supported"] is False
    assert r.state("cellular")["sim_slots"] == [1]


def test_ec25_switches_with_qdsim(rig):
    r = rig(vendor="quectel-ec25")
    r.sim.fault("deny", 1)
    switched(r, "registration_denied")
    assert "AT+QDSIM=1" in r.sim.model.command_log
    r.wait_event("data_session", up=True, slot=2, via="AT+CGACT=1,1")     # the EC25 has no QNETDEVCTL


def test_no_apn_is_reported_and_never_climbs_the_ladder(rig, tmp_path):
    from agent.cellular.apn import ApnDatabase
    r = rig(cellular={"ladder": {"data_down_s": 1.0}}, apn_database=ApnDatabase(str(tmp_path / "missing.xml")))
    event = r.wait_event("data_session", up=False)
    assert "no APN database" in event.data["error"] and "[[cellular.sim]]" in event.data["error"]
    r.advance(3)
    assert r.events("recovery_step") == [] and r.state("cellular")["ladder"]["trouble"] is None
    assert len(r.events("data_session")) == 1                 # said once, not at every retry
