"""The simulator's engine without a pty: a fake clock makes the real modem's delays (speed 1) checkable in
microseconds, and junk input can be thrown at it by the thousand."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from pathlib import Path
import re

from modem.simulator.atparse import Command, SyntaxErrorAT, parse_line, split_args
from modem.simulator.engine import Engine, Output, PortDown, PortUp
from modem.simulator.personalities import PERSONALITIES, luhn_complete, luhn_ok
from modem.simulator.radio import Signal


class Clocked:
    """An engine at speed 1 driven by a fake clock."""

    def __init__(self, vendor: str = "quectel-rm500q", speed: float = 1.0):
        self.t = 100.0
        self.e = Engine(PERSONALITIES[vendor], speed=speed, seed=1, wallclock=lambda: 1_732_356_930.0)
        self.e.start(self.t)
        self.out = bytearray()
        self.events: list[object] = []

    def _collect(self) -> None:
        for a in self.e.take_actions():
            if isinstance(a, Output):
                self.out += a.data
            else:
                self.events.append(a)

    def send(self, text: str | bytes) -> None:
        self.e.receive(text.encode("latin-1") if isinstance(text, str) else text, self.t)
        self._collect()

    def wait(self, seconds: float) -> None:
        self.t += seconds
        self.e.advance(self.t)
        self._collect()

    def take(self) -> str:
        s = self.out.decode("latin-1")
        self.out.clear()
        return s


# ---------------------------------------------------------------------------------------------- data tables

@pytest.mark.parametrize("name", PERSONALITIES)
def test_personality_identity_numbers_are_valid(name):
    p = PERSONALITIES[name]
    assert len(p.imei) == 15 and luhn_ok(p.imei)
    for card in p.sims:
        assert luhn_ok(card.iccid) and card.iccid.startswith("8933")
        assert card.imsi.startswith(card.home_plmn) and len(card.imsi) == 15
    assert p.ati and p.sources


def test_luhn_known_values():
    assert luhn_complete("49015420323751") == "490154203237518"      # the textbook IMEI example
    assert not luhn_ok("490154203237517")


def test_dual_sim_personalities_have_two_operators():
    for name in ("quectel-ec25", "quectel-rm500q", "simcom-sim7600", "telit-le910"):
        p = PERSONALITIES[name]
        assert [c.home_plmn for c in p.sims] == ["20801", "20810"]
    assert PERSONALITIES["sierra-em7455"].slots == 1


def test_signal_derivation_is_monotonic_and_in_range():
    prev = None
    for rsrp in range(-140, -43):
        s = Signal.from_rsrp(rsrp)
        assert 0 <= s.csq_rssi <= 31 and 0 <= s.cesq_rsrp <= 97 and 0 <= s.cesq_rsrq <= 34
        if prev:
            assert s.rssi >= prev.rssi and s.rsrq >= prev.rsrq and s.sinr >= prev.sinr
        prev = s
    assert Signal.from_rsrp(-95).cesq_rsrp == 46


# ---------------------------------------------------------------------------------------------- syntax

def test_parse_joined_and_basic_commands():
    cmds = parse_line('E0V1+CSQ;+CREG?;+CGDCONT=1,"IP","a;b";+CEREG=?;&F;S0=0')
    assert [(c.name, c.kind) for c in cmds] == [
        ("E", "action"), ("V", "action"), ("+CSQ", "action"), ("+CREG", "read"), ("+CGDCONT", "set"),
        ("+CEREG", "test"), ("&F", "action"), ("S0", "set")]
    assert cmds[4].args == ("1", "IP", "a;b")


def test_parse_rejects_unbalanced_quotes_and_junk():
    with pytest.raises(SyntaxErrorAT):
        parse_line('+CGDCONT=1,"IP')
    with pytest.raises(SyntaxErrorAT):
        parse_line("\x00\xff")
    with pytest.raises(SyntaxErrorAT):
        parse_line("\xdf")                     # latin-1 'ß', whose upper() is the ASCII 'SS'

    assert split_args('1,,"x"') == (("1", "", "x"), (False, False, True))
    assert Command("+X", "set", "", ("", "5")).int_arg(1) == 5


# ---------------------------------------------------------------------------------------------- timing (speed 1)

def test_cops_scan_takes_thirty_seconds_at_speed_1():
    c = Clocked()
    c.send("AT+COPS=?\r")
    c.wait(29.0)
    assert "OK" not in c.take()
    c.wait(1.1)
    out = c.take()
    assert '(2,"Orange F","Orange","20801",7),(2,"Orange F","Orange","20801",13)' in out
    assert '(1,"SFR","SFR","20810",12)' in out and '(3,"Bouygues Telecom","BYTEL","20820",7)' in out
    assert out.endswith(",,(0,1,2,3,4),(0,1,2)\r\n\r\nOK\r\n")


def test_cops_scan_at_speed_0_is_immediate():
    c = Clocked(speed=0)
    c.send("AT+COPS=?\r")
    assert c.take().endswith("OK\r\n")


def test_slot_switch_timeline_at_speed_1():
    c = Clocked()
    c.send("AT+CEREG=1\r")
    c.wait(0.1)
    c.take()
    c.send("AT+QUIMSLOT=2\r")
    c.wait(0.1)
    assert c.take().endswith("OK\r\n\r\n+CEREG: 0\r\n")          # deregistered at once
    c.wait(2.0)
    assert "+CPIN" not in c.take()                               # still reading the other card
    c.wait(0.6)
    out = c.take()
    assert "+CPIN: READY" in out and "+CEREG: 2" in out
    assert c.e.model.registration == 2
    c.wait(2.5)
    assert "+CEREG: 1" in c.take() + "".join([])
    assert c.e.model.operator.short_name == "SFR" and c.e.model.rat == "NR5G-SA"


def test_cfun_answers_after_the_radio_is_off():
    c = Clocked()
    c.send("AT+CFUN=4\r")
    c.wait(1.0)
    assert "OK" not in c.take() and c.e.model.cfun == 1
    c.wait(0.6)
    assert c.take().endswith("OK\r\n") and c.e.model.cfun == 4 and not c.e.model.registered


def test_commands_queue_while_one_is_running():
    c = Clocked()
    c.send("AT+COPS=?\rAT+CSQ\r")
    c.wait(1)
    assert "+CSQ" not in c.take()
    c.wait(30)
    out = c.take()
    assert out.index("+COPS: (") < out.index("+CSQ:")


def test_reboot_waits_for_a_host_before_booting():
    c = Clocked(speed=0)
    c.e.fault("reboot", ["3"], c.t)
    c._collect()
    assert isinstance(c.events[-1], PortDown)
    c.wait(3.0)
    assert isinstance(c.events[-1], PortUp) and c.take() == ""
    c.wait(1.0)
    assert c.take() == ""                                      # nobody opened the port yet
    c.e.host_opened(c.t)
    c._collect()
    out = c.take()
    assert out.startswith("\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n")
    assert c.e.model.boot_count == 1 and c.e.model.registered


def test_boot_goes_ahead_without_a_host():
    c = Clocked(speed=0)
    c.e.fault("reboot", ["0"], c.t)
    c.wait(2.5)                                                # boot_urc_fallback is 2 s
    assert c.e.model.booted and c.e.model.registered


def test_cclk_follows_network_time_once_ctzu_is_on():
    c = Clocked(speed=0)
    c.send("AT+CCLK?\r")
    assert '+CCLK: "80/01/06,00:00:00+00"' in c.take()
    c.send("AT+CTZU=1;+CCLK?\r")
    assert '+CCLK: "24/11/23,11:15:30+04"' in c.take()         # wallclock 2024-11-23 10:15:30 UTC, CET


# ---------------------------------------------------------------------------------------------- untrusted input

@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"", b"AT", b"at+", b"AT^", b"\r"]), st.binary(max_size=300),
       st.sampled_from(sorted(PERSONALITIES)))
def test_any_input_leaves_the_modem_answering(prefix, junk, vendor):
    c = Clocked(vendor, speed=0)
    c.send(prefix + junk)
    c.wait(60)                                                 # let whatever it started finish
    c.send(b"\x1b")                                            # leave an SMS prompt if the junk opened one
    c.wait(60)
    c.take()
    c.send("\rATE1\r")
    c.wait(60)
    c.take()
    if not c.e.model.port_present or not c.e.model.booted:     # the junk said AT+CFUN=1,1 or similar
        c.wait(10)
        c.e.host_opened(c.t)
        c.wait(60)
        c.take()
    c.send("AT\r")
    c.wait(1)
    assert c.take().endswith("AT\r\r\nOK\r\n")


@pytest.mark.parametrize("line", [
    b"AT+CGDCONT=1,\"IP\r", b"\x00\xff\xfe\xc3(AT+\x00CSQ\r", b"AT" + b"X" * 3000 + b"\r", b"AT+\r", b"AT+CSQ=\"\r",
    b"hello\r", b"AT\xe9\r",
])
def test_malformed_lines_get_error(line):
    c = Clocked(speed=0)
    c.send(b"ATE0\r")
    c.take()
    c.send(line)
    assert c.take().endswith("ERROR\r\n")
    c.send(b"AT\r")
    assert c.take() == "\r\nOK\r\n"


def test_line_noise_before_at_is_skipped():
    c = Clocked(speed=0)
    c.send(b"ATE0\r")
    c.take()
    c.send(b"\x00\xff\xfe~~AT+CSQ\r")
    assert c.take() == "\r\n+CSQ: 23,99\r\n\r\nOK\r\n"


_NAMES = sorted({name for h in ("+CSQ", "+CREG", "+CEREG", "+C5GREG", "+COPS", "+CGDCONT", "+CGACT", "+CGPADDR",
                                "+CPIN", "+CMGS", "+CMGR", "+CMGL", "+CMGD", "+CFUN", "+CCLK", "+CTZU", "+CRSM",
                                "+QENG", "+QUIMSLOT", "+QDSIM", "+QNETDEVCTL", "+QCFG", "+CPSI", "+SWITCHSIM",
                                "!GSTATUS", "#RFSTS", "#SIMSELECT", "^HCSQ", "+XMCI", "+CMEE", "+CSCS", "+CMGF",
                                "I", "E", "Z", "S3", "D")
                 for name in (h,)})


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(["", "?", "=?", "="]),
                          st.text(alphabet='0123456789,"-+.abcAT ;', max_size=20)), min_size=1, max_size=4),
       st.sampled_from(sorted(PERSONALITIES)))
def test_real_commands_with_random_arguments_never_break_the_modem(parts, vendor):
    c = Clocked(vendor, speed=0)
    line = "AT" + ";".join(name + suffix + (args if suffix == "=" else "") for name, suffix, args in parts)
    c.send(line + "\r")
    c.wait(60)
    c.send(b"\x1b")
    c.wait(60)
    if not c.e.model.port_present or not c.e.model.booted:
        c.wait(10)
        c.e.host_opened(c.t)
        c.wait(60)
    c.take()
    c.send("ATE1\r")
    c.wait(1)
    c.take()
    c.send("AT\r")
    c.wait(1)
    assert c.take().endswith("AT\r\r\nOK\r\n"), line


def test_the_device_side_imports_nothing_of_the_host_side():
    sim_dir = Path(__file__).resolve().parents[2] / "modem" / "simulator"
    for path in sim_dir.glob("*.py"):
        for line in path.read_text().splitlines():
            if re.match(r"\s*(from|import)\s", line):
                assert not re.search(r"\b(agent|board)\b|modem\.at\b|modem import at\b", line), (path.name, line)


def test_sim_pulled_while_being_read_stays_absent():
    c = Clocked()
    c.send("AT+CMEE=1;+QUIMSLOT=2\r")
    c.wait(1.5)                                                # switched, now reading slot 2
    c.e.fault("sim-remove", ["2"], c.t)
    c.wait(10)
    out = c.take()
    assert "+CPIN: READY" not in out and not c.e.model.registered
    c.send("AT+CPIN?\r")
    c.wait(1)
    assert c.take().endswith("+CME ERROR: 10\r\n")


def test_switching_back_quickly_reads_only_the_last_slot():
    c = Clocked()
    c.send("AT+QUIMSLOT=2\r")
    c.wait(0.5)
    c.send("AT+QUIMSLOT=1\r")
    c.wait(10)
    assert c.take().count("+CPIN: READY") == 1
    assert c.e.model.active_slot == 1 and c.e.model.operator.plmn == "20801"
