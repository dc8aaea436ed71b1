"""Every fault of the simulator, observed from the host side of the pty, and the way back from it."""
from __future__ import annotations

import os
import re

import pytest
import serial

from modem.simulator import PERSONALITIES
from tests.simulator.atclient import AtClient, lines_of, wait_until


def _dead(client: AtClient) -> bool:
    try:
        client.ser.in_waiting
    except (OSError, serial.SerialException):
        return True
    return False


def port_back(sim, old: AtClient, timeout: float = 10) -> AtClient:
    """The host's view of a reboot: its fd dies, later the link exists again (often to a pty of the same name,
    as a USB modem comes back as the same ttyUSB). Returns a client on the new port."""
    assert wait_until(lambda: _dead(old), timeout), "the old port never died"
    old.close()
    assert wait_until(lambda: os.path.exists(sim.link), timeout), "the port never came back"
    return AtClient(sim.link)


# ---------------------------------------------------------------------------------------------- hang

def test_hang_then_recovery(sim, at):
    assert sim.fault("hang", 2) == "hanging for 2 s"
    at.send(b"AT\r")
    assert at.read_for(0.3) == b""                         # no echo, no answer
    assert sim.model.hanging                               # ... and that silence was inside the hang
    assert wait_until(lambda: not sim.model.hanging, 5)
    assert at.ok("AT+CGMM") == ["RM500Q-GL"]               # the AT sent during the hang was lost


def test_hang_forever_until_power_cycle(sim, at):
    assert sim.fault("hang", "forever") == "hanging until power cycle"
    for _ in range(3):
        at.send(b"AT\r")
        assert at.read_for(0.1) == b""
    assert sim.model.hang_forever
    sim.power_cycle()
    with pytest.raises((serial.SerialException, OSError)):  # the port is gone, like USB re-enumeration
        at.ok("AT")
    with port_back(sim, at) as at2:
        at2.read_until(rb"\+QIND: PB DONE\r\n")
        assert not sim.model.hanging and at2.ok("AT") == []


def test_power_cycle_fault_from_control(sim, at):
    assert sim.fault("power-cycle") == "power cycled"
    with port_back(sim, at) as at2:
        at2.read_until(rb"RDY\r\n")
        assert sim.model.boot_count == 1


# ---------------------------------------------------------------------------------------------- garbage

def test_garbage_burst_then_normal(sim, at):
    at.ok("ATE0")
    assert sim.fault("garbage", 400) == "sent 400 bytes of garbage"
    junk = b""
    while len(junk) < 400:
        junk += at.read_for(0.05)
    assert len(junk) == 400
    assert b"\x00" in junk
    with pytest.raises(UnicodeDecodeError):
        junk.decode("utf-8")
    assert not junk.endswith((b"\r", b"\n"))                # ends mid-line
    assert at.ok("AT+CSQ") == ["+CSQ: 23,99"]


def test_garbage_is_reproducible_with_a_seed(make_sim):
    bursts = []
    for name in ("a", "b"):
        sim = make_sim("quectel-ec25", seed=42, name=name)
        with AtClient(sim.link) as at:
            sim.fault("garbage", 100)
            data = b""
            while len(data) < 100:
                data += at.read_for(0.05)
            bursts.append(data)
    assert bursts[0] == bursts[1]


# ---------------------------------------------------------------------------------------------- URC storm

def test_urc_storm_default_count(sim, at):
    assert sim.fault("urc-storm") == "storm of 200 URCs"
    data = at.read_until(rb"(?:\+QIND: [^\r]*\r\n(?:\r\n)?){200}", 10)
    assert len(re.findall(rb"\+QIND: ", data)) == 200
    assert wait_until(lambda: sim.model.storm_remaining == 0)
    assert at.read_for(0.1).count(b"+QIND") == 0


def test_urc_storm_interleaves_with_responses(sim, at):
    sim.fault("urc-storm", 5000)
    r = at.cmd("AT+CSQ;+CREG?;+CGMM;+QCCID")
    assert r.final == "OK"
    answers = [x for x in r.lines if not x.startswith("+QIND:")]
    assert answers == ["+CSQ: 23,99", "+CREG: 0,1", "RM500Q-GL", f"+QCCID: {sim.model.sim.iccid}"]
    positions = [r.lines.index(a) for a in answers]
    # URCs between every two lines of the answer, not only before or after it
    assert all(b - a > 1 for a, b in zip(positions, positions[1:])), r.lines
    assert sim.model.storm_remaining > 0
    sim.fault("clear")
    assert sim.model.storm_remaining == 0
    at.read_for(0.1)
    assert at.ok("AT+CGMM") == ["RM500Q-GL"]


# ---------------------------------------------------------------------------------------------- reboot

BOOT = {
    "quectel-ec25": ["RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"],
    "quectel-rm500q": ["RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"],
    "simcom-sim7600": ["RDY", "+CPIN: READY", "SMS DONE", "PB DONE"],
    "huawei-me909s": ["^SYSSTART", "^SIMST: 1"],
}


@pytest.mark.parametrize("vendor", sorted(BOOT))
def test_reboot_port_vanishes_and_returns_with_boot_urcs(make_sim, vendor):
    sim = make_sim(vendor)
    at = AtClient(sim.link)
    assert at.ok("AT") == []
    sim.fault("reboot", 0.3)
    assert not os.path.lexists(sim.link)                   # gone at once, like a USB device
    with pytest.raises((serial.SerialException, OSError)):
        at.ok("AT")
    with port_back(sim, at) as at2:
        expected = BOOT[vendor]
        got = lines_of(at2.read_until(re.escape(expected[-1].encode()) + rb"\r\n"))
        assert got == expected
        assert wait_until(lambda: sim.model.registered)
        assert at2.ok("AT+CPIN?") == ["+CPIN: READY"]
    assert sim.model.boot_count == 1


def test_reboot_restores_volatile_settings(sim, at):
    at.ok("ATE0")
    at.ok("AT+CMEE=2;+CEREG=2;+CTZU=1;+QUIMSLOT=2")
    assert wait_until(lambda: sim.model.registered and sim.model.active_slot == 2)
    sim.fault("reboot", 0)
    with port_back(sim, at) as at2:
        at2.read_until(rb"PB DONE\r\n")
        assert at2.ok("AT+CMEE?;+CEREG?;+CTZU?;+QUIMSLOT?") == ["+CMEE: 1", "+CEREG: 0,1", "+CTZU: 1",
                                                                 "+QUIMSLOT: 2"]     # echo back on, NV kept


def test_cfun_1_1_is_a_reboot(make_sim):
    sim = make_sim("quectel-ec25")
    at = AtClient(sim.link)
    assert at.ok("AT+CFUN=1,1") == []                      # OK first, then the port goes away
    with port_back(sim, at) as at2:
        assert lines_of(at2.read_until(rb"PB DONE\r\n"))[0] == "RDY"


@pytest.mark.parametrize("vendor,command", [("sierra-em7455", "AT!RESET"), ("telit-le910", "AT#REBOOT"),
                                            ("simcom-sim7600", "AT+CRESET"), ("huawei-me909s", "AT^RESET"),
                                            ("ublox-lara-r6", "AT+CFUN=16"), ("fibocom-l850", "AT+CFUN=15")])
def test_vendor_reset_commands(make_sim, vendor, command):
    sim = make_sim(vendor)
    at = AtClient(sim.link)
    at.ok(command)
    with port_back(sim, at) as at2:
        assert wait_until(lambda: sim.model.booted)
        assert at2.ok("AT") == []


def test_power_down_needs_a_power_cycle(make_sim):
    sim = make_sim("quectel-ec25")
    at = AtClient(sim.link)
    at.ok("AT+QPOWD=1")
    at.read_until(rb"POWERED DOWN\r\n")
    assert wait_until(lambda: _dead(at))
    at.close()
    assert sim.model.powered_off and not os.path.lexists(sim.link)
    assert not wait_until(lambda: os.path.lexists(sim.link), 0.5)     # stays off
    sim.power_cycle()
    assert wait_until(lambda: os.path.exists(sim.link))
    with AtClient(sim.link) as at2:
        at2.read_until(rb"RDY\r\n")


# ---------------------------------------------------------------------------------------------- SIM

@pytest.mark.parametrize("vendor,removed,inserted", [
    ("quectel-ec25", ["+CPIN: NOT READY"], ["+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"]),
    ("simcom-sim7600", ["+SIMCARD: NOT AVAILABLE"], ["+CPIN: READY", "SMS DONE", "PB DONE"]),
    ("huawei-me909s", ["^SIMST: 255"], ["^SIMST: 1"]),
])
def test_sim_remove_and_insert(make_sim, vendor, removed, inserted):
    sim = make_sim(vendor)
    with AtClient(sim.link) as at:
        at.ok("AT+CMEE=1;+CREG=1")
        at.ok("AT+CGACT=1,1")
        assert sim.model.data_active
        assert sim.fault("sim-remove", 1) == "SIM removed from slot 1"
        got = lines_of(at.read_until(rb"\+CREG: 0\r\n"))
        assert got == removed + ["+CREG: 0"]
        assert not sim.model.data_active
        assert at.cmd("AT+CPIN?").final == "+CME ERROR: 10"
        assert at.cmd("AT+CIMI").final == "+CME ERROR: 10"
        sim.fault("sim-insert", 1)
        got = lines_of(at.read_until(rb"\+CREG: 1\r\n"))
        assert [x for x in got if not x.startswith("+CREG")] == inserted
        assert at.ok("AT+CPIN?") == ["+CPIN: READY"]


def test_removing_the_other_slot_changes_nothing_until_switching(make_sim):
    sim = make_sim("quectel-ec25")
    with AtClient(sim.link) as at:
        at.ok("AT+CREG=1")
        sim.fault("sim-remove", 2)
        assert at.read_for(0.1) == b"" and sim.model.registered
        at.ok("AT+QDSIM=1")
        assert lines_of(at.read_until(rb"NOT READY\r\n")) == ["+CREG: 0", "+CPIN: NOT READY"]
        assert at.cmd("AT+CPIN?").final == "+CME ERROR: 10"


# ---------------------------------------------------------------------------------------------- registration

def test_deny_and_allow_with_urcs(sim, at):
    at.ok("AT+CREG=1;+CGREG=1;+CEREG=2;+C5GREG=1")
    at.ok("AT+CGACT=1,1")
    assert sim.fault("deny", 1) == "registration denied on slot 1"
    assert lines_of(at.read_until(rb"\+C5GREG: 3\r\n")) == ["+CREG: 3", "+CGREG: 3", "+CEREG: 3", "+C5GREG: 3"]
    assert at.ok("AT+CEREG?") == ["+CEREG: 2,3"]
    assert at.ok("AT+COPS?") == ["+COPS: 0"]
    assert not sim.model.data_active and at.ok("AT+CGACT?") == ["+CGACT: 1,0"]
    assert at.ok('AT+QENG="servingcell"')[0].startswith('+QENG: "servingcell","LIMSRV","LTE","FDD",208,01,')
    sim.fault("allow", 1)
    got = lines_of(at.read_until(rb'\+C5GREG: 1\r\n'))
    assert got == ["+CREG: 2", "+CGREG: 2", '+CEREG: 2', "+C5GREG: 2",
                   "+CREG: 1", "+CGREG: 1", '+CEREG: 1,"1A2B","00A1B2C3",7', "+C5GREG: 1"]


def test_deny_on_the_other_slot_shows_after_switching(sim, at):
    at.ok("AT+CEREG=1")
    sim.fault("deny", 2)
    assert at.read_for(0.1) == b""
    at.ok("AT+QUIMSLOT=2")
    at.read_until(rb"\+CEREG: 3\r\n")
    assert sim.model.registration == 3
    sim.fault("clear")
    at.read_until(rb"\+CEREG: 1\r\n")
    assert sim.model.operator.plmn == "20810"


# ---------------------------------------------------------------------------------------------- dual SIM

SWITCH = {
    "quectel-ec25": ("AT+QDSIM?", "+QDSIM: {}", 0),
    "quectel-rm500q": ("AT+QUIMSLOT?", "+QUIMSLOT: {}", 1),
    "simcom-sim7600": ("AT+SWITCHSIM?", "+SWITCHSIM: {}", 0),
    "telit-le910": ("AT#SIMSELECT?", "#SIMSELECT: {}", 1),
}


@pytest.mark.parametrize("vendor", sorted(SWITCH))
def test_sim_slot_switch(make_sim, vendor):
    sim = make_sim(vendor)
    query, answer, base = SWITCH[vendor]
    with AtClient(sim.link) as at:
        at.ok("AT+CMEE=1;+CREG=1;+COPS=3,2")
        assert at.ok(query) == [answer.format(base)]
        assert at.ok("AT+COPS?")[0].startswith('+COPS: 0,2,"20801"')
        at.ok(query.replace("?", f"={base + 1}"))
        at.read_until(rb"\+CREG: 1\r\n")                   # deregistered, SIM re-read, registered again
        assert at.ok(query) == [answer.format(base + 1)]
        assert at.ok("AT+COPS?")[0].startswith('+COPS: 0,2,"20810"')
        assert at.ok("AT+CIMI") == ["208109876543210"]
        assert sim.model.active_slot == 2 and sim.model.sim.msisdn == "+33639980002"
        assert at.cmd(query.replace("?", f"={base + 2}")).final == "+CME ERROR: 50"


def test_switch_sequence_of_urcs_on_rm500q(sim, at):
    at.ok("AT+CEREG=1")
    at.ok("AT+QUIMSLOT=2")
    got = lines_of(at.read_until(rb"\+CEREG: 1\r\n"))
    # at speed 0 every delay is 0 and the order is that of the events: card read (+CPIN), search starts,
    # the rest of the SIM's URCs, registered
    assert got == ["+CEREG: 0", "+CPIN: READY", "+CEREG: 2", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE",
                   "+CEREG: 1"]


def test_single_sim_modems_have_no_slot_command(make_sim):
    sim = make_sim("sierra-em7455")
    with AtClient(sim.link) as at:
        assert at.cmd("AT+QUIMSLOT?").final == "ERROR"
    with pytest.raises(ValueError, match="slot"):
        sim.fault("sim-remove", 2)


def test_clear_restores_everything(sim, at):
    at.ok("AT+CEREG=1")
    sim.fault("signal", -120)
    sim.fault("deny", 1)
    sim.fault("sim-remove", 2)
    sim.fault("urc-storm", 10000)
    sim.fault("clear")
    m = sim.model
    assert m.rsrp == -95 and m.storm_remaining == 0
    assert all(s.inserted and not s.denied for s in m.slots.values())
    assert wait_until(lambda: m.registration == 1)


def test_every_personality_boots_registered_and_answers(make_sim):
    for name in PERSONALITIES:
        sim = make_sim(name, name=name)
        with AtClient(sim.link) as at:
            assert at.ok("AT+CPIN?") == ["+CPIN: READY"]
            assert at.ok("AT+CREG?") == ["+CREG: 0,1"]
