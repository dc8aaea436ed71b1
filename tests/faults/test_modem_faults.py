"""Fault catalogue, modem: the whole agent in virtual time against the simulator's faults (tests/faults/virtual_agent.py).
Each scenario checks what the agent must do, then records it (tests/faults/catalogue.py)."""
from __future__ import annotations

import dataclasses

import pytest

from tests.faults.catalogue import Outcome, kinds
from tests.faults.virtual_agent import WholeAgent


@pytest.fixture
def agent(tmp_path):
    made = []

    def make(**kwargs) -> WholeAgent:
        a = WholeAgent(tmp_path / f"a{len(made)}", **kwargs)
        made.append(a)
        assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 60), \
            "the agent never came up"
        return a
    yield make
    for a in made:
        a.close()


def record(a: WholeAgent, mark: int, scenario: str, behaviour: str, recovery_s: float | None) -> None:
    assert a.lost() == 0, f"{a.lost()} accepted events not in the outbox"
    Outcome("modem", scenario, behaviour, len(a.since(mark)), a.lost(), recovery_s, kinds(a.since(mark))).report()


def answering(a: WholeAgent) -> bool:
    m = a.state("modem")
    return bool(m.get("connected")) and a.registered()


def test_hang_for_20_s(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("hang", 20)
    end = a.clock() + 20
    took = a.answered_after(end, 600)
    assert took is not None
    assert a.pump(lambda: answering(a), 60)
    assert "modem_unresponsive" in kinds(a.since(mark))
    assert "recovery_step" not in kinds(a.since(mark))     # 20 s is within the ladder's patience
    record(a, mark, "hang 20 s", "modem_unresponsive reported; answering again after the hang, no ladder step",
           took)


def test_hang_until_power_cycle(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("hang", "forever")
    took = a.time_until(lambda: "modem_recovered" in kinds(a.since(mark)) and answering(a), 900)
    assert took is not None, kinds(a.since(mark))
    steps = [e.data.get("step") for e in a.since(mark) if e.kind == "recovery_step"]
    assert steps[-1] == "power", steps
    record(a, mark, "hang until power cycle", f"ladder climbed {' → '.join(dict.fromkeys(steps))}", took)


def test_garbage_on_the_line(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("garbage", 4096)
    a.advance(30)
    assert answering(a) and a.state("failover").get("state") == "primary"
    assert "recovery_step" not in kinds(a.since(mark))
    record(a, mark, "4 KiB of garbage", "resynchronised on the next line; no recovery needed", None)


def test_urc_storm(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("urc-storm", 2000)
    a.advance(30)
    assert answering(a)
    assert "recovery_step" not in kinds(a.since(mark))
    record(a, mark, "2000 URCs in a burst", "answers kept apart from URCs; no recovery needed", None)


def test_reboot(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("reboot", 5)
    back = a.clock() + 5
    took = a.answered_after(back, 600)
    assert took is not None and a.pump(lambda: answering(a), 60)
    record(a, mark, "modem reboot (port gone 5 s)", "port reopened, modem re-initialised, registered", took)


def test_usb_loss(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("reboot", 30)          # the USB device leaves for 30 s and comes back (re-enumeration)
    back = a.clock() + 30
    assert a.pump(lambda: not a.state("modem").get("connected"), 10)
    took = a.answered_after(back, 600)
    assert took is not None and a.pump(lambda: answering(a), 60)
    record(a, mark, "USB loss 30 s", "port reopened when it came back", took)


def test_sim_removed(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("sim-remove", 1)
    took = a.time_until(lambda: a.registered(2), 600)
    assert took is not None
    assert "sim_switch" in kinds(a.since(mark))
    record(a, mark, "SIM 1 removed", "switched to SIM 2, registered", took)


def test_registration_denied(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("deny", 1)
    took = a.time_until(lambda: a.registered(2), 600)
    assert took is not None
    assert "sim_switch" in kinds(a.since(mark))
    record(a, mark, "registration denied on SIM 1", "switched to SIM 2, registered", took)


def test_no_signal(agent):
    a = agent()
    mark = a.mark()
    a.sim.fault("signal", -140)
    a.advance(60)
    evented = kinds(a.since(mark))
    assert a.state("modem").get("connected")
    assert a.lost() == 0
    a.sim.fault("signal", -90)
    took = a.time_until(lambda: answering(a) and (a.state("modem").get("signal") or {}).get("rsrp_dbm", -200) > -100,
                        120)
    assert took is not None
    if "sim_switch_failed" in evented:
        did = "weak-signal rule tried SIM 2 (no better there), stayed on SIM 1; ladder re-registered"
    elif "sim_switch" in evented:
        did = "weak-signal rule switched to SIM 2"
    else:
        did = "kept SIM 1 (the weak-signal rule wants longer), reported the signal"
    record(a, mark, "no signal (RSRP -140 dBm) for 60 s", did, took)


def test_sim_busy_at_boot_with_a_pin(agent, tmp_path):
    a = agent(pins={1: "1234"}, modem_pin="1234")
    a.sim.engine.timing = dataclasses.replace(a.sim.engine.timing, sim_read=15.0)
    mark = a.mark()
    a.sim.model.command_log.clear()
    a.sim.fault("reboot", 1)
    assert a.pump(lambda: a.sim.model.sim_busy and "AT+CPIN?" in a.sim.model.command_log, 30)
    took = a.time_until(lambda: a.sim.model.slots[1].pin_state == "READY" and a.sim.model.registered
                        and a.registered(1), 600)
    assert took is not None
    assert a.sim.model.slots[1].pin_state == "READY" and a.sim.model.slots[1].pin_attempts == 3
    assert "sim_switch" not in kinds(a.since(mark))
    record(a, mark, "SIM busy at boot, PIN set", "asked again until read, PIN entered once, stayed on SIM 1", took)


def test_wrong_pin(agent):
    a = agent(pins={2: "2468"}, cellular={"sim": [{"slot": 2, "pin": "1111"}]})
    mark = a.mark()
    a.sim.fault("deny", 1)                     # forces a switch to the SIM whose configured PIN is wrong
    assert a.pump(lambda: "sim_pin_rejected" in kinds(a.since(mark)), 600)
    a.advance(120)
    # Tried once, never again: three wrong tries would lock the SIM (PUK). The card counts down from 3.
    assert a.sim.model.slots[2].pin_attempts == 2
    record(a, mark, "wrong PIN for SIM 2", "PIN tried once, sim_pin_rejected, not retried (no PUK lock)", None)
