"""The simulated modems through a real pty, the way a host sees them: identity, framing, errors, SIM, network,
data, time and SMS."""
from __future__ import annotations

import datetime
import os
import random
import re

import pytest
import serial

from modem.simulator import PERSONALITIES, Simulator
from modem.simulator.personalities import luhn_ok
from modem.simulator.radio import Signal
from tests.simulator.atclient import AtClient, lines_of, wait_until

ICCID_1 = PERSONALITIES["quectel-ec25"].sims[0].iccid
ICCID_2 = PERSONALITIES["quectel-ec25"].sims[1].iccid

# What each personality answers to ATI, AT+CGMI, AT+CGMM and its own ICCID command (the real vendor formats).
IDENTITY = {
    "quectel-ec25": (["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"], "Quectel", "EC25",
                     "AT+QCCID", f"+QCCID: {ICCID_1}"),
    "quectel-rm500q": (["Quectel", "RM500Q-GL", "Revision: RM500QGLABR11A06M4G"], "Quectel", "RM500Q-GL",
                       "AT+QCCID", f"+QCCID: {ICCID_1}"),
    "simcom-sim7600": (["Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600E-H", "Revision: SIM7600M22_V2.0",
                        "IMEI: {imei}", "+GCAP: +CGSM"], "SIMCOM INCORPORATED", "SIMCOM_SIM7600E-H",
                       "AT+CICCID", f"+ICCID: {ICCID_1}"),
    "sierra-em7455": (["Manufacturer: Sierra Wireless, Incorporated", "Model: EM7455",
                       "Revision: SWI9X30C_02.24.05.06 r7040 CARMD-EV-FRMWR2 2017/05/19 06:23:09",
                       "MEID: 35907306123456", "IMEI: {imei}", "IMEI SV: 9", "FSN: LF00000000000A", "+GCAP: +CGSM"],
                      "Sierra Wireless, Incorporated", "EM7455", "AT!ICCID?", f"ICCID: {ICCID_1}F"),
    "telit-le910": (["Telit", "LE910C1-EU", "25.21.660"], "Telit", "LE910C1-EU", "AT#CCID", f"#CCID: {ICCID_1}"),
    "huawei-me909s": (["Manufacturer: Huawei Technologies Co., Ltd.", "Model: ME909s-120",
                       "Revision: 11.617.15.00.00", "IMEI: {imei}", "+GCAP: +CGSM,+DS,+ES"],
                      "Huawei Technologies Co., Ltd.", "ME909s-120", "AT^ICCID?", f"^ICCID: {ICCID_1}"),
    "ublox-lara-r6": (["LARA-R6001D-00B-00"], "u-blox", "LARA-R6001D", "AT+CCID", f"+CCID: {ICCID_1}"),
    "fibocom-l850": (["Fibocom", "L850", "18500.5001.00.05.27.30"], '+CGMI: "Fibocom"',
                     '+CGMM: "L850 LTE Module","L850"', "AT+CCID", f"+CCID: {ICCID_1}"),
}


def test_every_personality_has_an_identity_check():
    assert set(IDENTITY) == set(PERSONALITIES)


@pytest.mark.parametrize("vendor", sorted(IDENTITY))
def test_identity(make_sim, vendor):
    sim = make_sim(vendor)
    p = sim.personality
    ati, cgmi, cgmm, iccid_cmd, iccid_line = IDENTITY[vendor]
    with AtClient(sim.link) as at:
        assert at.ok("ATI") == [x.format(imei=p.imei) for x in ati]
        cgsn = at.ok("AT+CGSN")
        assert len(cgsn) == 1 and p.imei in cgsn[0] and luhn_ok(p.imei)
        assert at.ok("AT+GSN") == cgsn
        assert at.ok("AT+CGMI") == [cgmi] and at.ok("AT+CGMM") == [cgmm]
        assert at.ok("AT+CIMI")[0].endswith("208011234567890")
        assert at.ok(iccid_cmd) == [iccid_line]
        # EF_ICCID through the standard restricted SIM access: BCD, nibbles swapped, F padding
        assert at.ok("AT+CRSM=176,12258,0,0,10") == ['+CRSM: 144,0,"983310000021436587F4"']


def test_echo_on_by_default_and_ate0(at):
    at.send(b"AT\r")
    assert at.read_until(rb"OK\r\n") == b"AT\r\r\nOK\r\n"
    at.send(b"ATE0\r")
    assert at.read_until(rb"OK\r\n") == b"ATE0\r\r\nOK\r\n"          # the echo of ATE0 itself still comes
    at.send(b"AT+CSQ\r")
    assert at.read_until(rb"OK\r\n") == b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
    at.send(b"ATE1\r")
    at.read_until(rb"OK\r\n")
    at.send(b"AT\r")
    assert at.read_until(rb"OK\r\n") == b"AT\r\r\nOK\r\n"


@pytest.mark.parametrize("eol", [b"\r", b"\n", b"\r\n"])
def test_terminators_and_lowercase(at, eol):
    at.ok("ATE0")
    at.send(b"at+csq" + eol + b"aT+cgmm" + eol)
    assert at.read_until(rb"OK\r\n") == b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n"
    assert at.read_until(rb"OK\r\n") == b"\r\nRM500Q-GL\r\n\r\nOK\r\n"
    assert at.read_for(0.05) == b""                                 # a \r\n pair is one terminator


def test_cmee_modes(make_sim):
    sim = make_sim("quectel-ec25")
    sim.fault("sim-remove", 1)
    with AtClient(sim.link) as at:
        assert at.ok("AT+CMEE?") == ["+CMEE: 1"]                    # Quectel's default
        for mode, final in ((0, "ERROR"), (1, "+CME ERROR: 10"), (2, "+CME ERROR: SIM not inserted")):
            at.ok(f"AT+CMEE={mode}")
            r = at.cmd("AT+CIMI")
            assert (r.final, r.lines) == (final, [])
        assert at.cmd("AT+CMEE=7").final == "+CME ERROR: Incorrect parameters"
        assert at.cmd("AT+NOSUCHTHING").final == "ERROR"             # unknown command: plain ERROR


def test_joined_commands(at):
    r = at.cmd("AT+CSQ;+CREG?;+CGMM")
    assert r.final == "OK" and r.lines == ["+CSQ: 23,99", "+CREG: 0,1", "RM500Q-GL"]
    at.send(b"ATE0\r")
    at.read_until(rb"OK\r\n")
    at.send(b"AT+CSQ;+CREG?\r")
    # a real modem frames each command's answer on its own: a blank line between them
    assert at.read_until(rb"OK\r\n") == b"\r\n+CSQ: 23,99\r\n\r\n+CREG: 0,1\r\n\r\nOK\r\n"


def test_joined_commands_stop_at_the_first_error(sim, at):
    r = at.cmd("AT+CREG=2;+CSQ;+BOGUS;+CEREG=2")
    assert r.final == "ERROR" and r.lines == ["+CSQ: 23,99"]
    assert sim.model.creg_n == 2 and sim.model.cereg_n == 0


@pytest.mark.parametrize("junk", [
    b"\x00\x01\x02\xff\xfe\x80AT+\x00\r", b"AT" + b"Q" * 5000 + b"\r", b'AT+COPS=1,2,"20810\r', b"\xc3\x28\xa0\xa1\r",
])
def test_untrusted_input_gets_error_and_the_modem_goes_on(sim, at, junk):
    at.ok("ATE0")
    at.send(junk)
    assert at.read_until(rb"ERROR\r\n", 5).endswith(b"ERROR\r\n")
    assert at.ok("AT+CGMM") == ["RM500Q-GL"]
    assert sim.alive


def test_input_flood_is_bounded(sim, at):
    at.ok("ATE0")
    at.send(b"AT+COPS=?\r" + random.Random(3).randbytes(200_000) + b"\r")
    assert b"+COPS: (" in at.read_until(rb"OK\r\n", 10)
    assert wait_until(lambda: at.read_for(0.3) == b"", 30)         # the junk's ERRORs have all come out
    assert len(sim.model.command_log) <= 500
    assert at.ok("AT") == [] and sim.alive


def test_s_registers_and_basic_commands(at):
    assert at.ok("ATS3?") == ["013"]
    assert at.ok("ATE1V1Q0&D2&C1") == []
    assert at.cmd("ATD*99#").final == "NO CARRIER"
    assert at.cmd("ATI7").final == "ERROR"


# ---------------------------------------------------------------------------------------------- SIM and PIN

def test_pin_flow(make_sim):
    sim = make_sim("quectel-ec25")
    sim.fault("pin", 2, "1234")
    with AtClient(sim.link) as at:
        at.ok("AT+QDSIM=1")
        at.read_until(rb"\+CPIN: SIM PIN\r\n")
        assert at.ok("AT+CPIN?") == ["+CPIN: SIM PIN"]
        assert at.cmd("AT+CIMI").final == "+CME ERROR: 11"
        assert at.cmd('AT+CPIN="0000"').final == "+CME ERROR: 16"
        assert sim.model.slots[2].pin_attempts == 2
        at.ok('AT+CPIN="1234"')
        at.read_until(rb"\+CPIN: READY\r\n")
        assert at.ok("AT+CPIN?") == ["+CPIN: READY"]
        assert at.cmd('AT+CPIN="1234"').final == "+CME ERROR: 3"
        assert wait_until(lambda: sim.model.registered)
        assert at.ok("AT+CIMI") == ["208109876543210"]


def test_three_wrong_pins_block_the_card(make_sim):
    sim = make_sim("telit-le910")
    sim.fault("pin", 1, "4321")
    sim.power_cycle()
    assert wait_until(lambda: sim.model.port_present)
    with AtClient(sim.link) as at:
        assert wait_until(lambda: sim.model.booted and not sim.model.sim_busy)
        for _ in range(3):
            assert at.cmd('AT+CPIN="1111"').final == "ERROR"            # Telit default CMEE=0
        assert at.ok("AT+CPIN?") == ["+CPIN: SIM PUK"]
        at.ok("AT+CMEE=1")
        assert at.cmd('AT+CPIN="00000000","9999"').final == "+CME ERROR: 16"
        at.ok('AT+CPIN="12345678","9999"')
        assert at.ok("AT+CPIN?") == ["+CPIN: READY"]
        assert sim.model.slots[1].pin == "9999"


# ---------------------------------------------------------------------------------------------- network

def test_registration_reports_n0_n1_n2(sim, at):
    assert at.ok("AT+CREG?;+CGREG?;+CEREG?;+C5GREG?") == ["+CREG: 0,1", "+CGREG: 0,1", "+CEREG: 0,1", "+C5GREG: 0,1"]
    at.ok("AT+CREG=2;+CEREG=2;+C5GREG=2")
    assert at.ok("AT+CREG?") == ['+CREG: 2,1,"1A2B","00A1B2C3",7']
    assert at.ok("AT+C5GREG?") == ['+C5GREG: 2,1,"1A2B","00A1B2C3",13']     # EN-DC on Orange
    assert at.ok("AT+CREG=?") == ["+CREG: (0-2)"]
    assert at.cmd("AT+CREG=5").final == "+CME ERROR: 50"


def test_cops_formats_manual_and_deregistration(sim, at):
    assert at.ok("AT+COPS?") == ['+COPS: 0,0,"Orange F",13']
    at.ok("AT+COPS=3,1")
    assert at.ok("AT+COPS?") == ['+COPS: 0,1,"Orange",13']
    at.ok("AT+COPS=3,2")
    assert at.ok("AT+COPS?") == ['+COPS: 0,2,"20801",13']
    assert at.cmd('AT+COPS=1,2,"20899"').final == "+CME ERROR: 30"           # not on the air
    assert at.cmd('AT+COPS=1,2,"20820"').final == "+CME ERROR: 32"           # forbidden on this SIM
    at.ok('AT+COPS=1,0,"SFR"')
    assert wait_until(lambda: sim.model.registration == 5)                   # roaming on the other network
    assert at.ok("AT+COPS?") == ['+COPS: 1,2,"20810",12']
    at.ok("AT+COPS=2")
    assert at.ok("AT+COPS?") == ["+COPS: 2"] and not sim.model.registered
    at.ok("AT+COPS=0")
    assert wait_until(lambda: sim.model.registration == 1)
    assert at.ok("AT+COPS?") == ['+COPS: 0,2,"20801",13']


def test_cops_scan_lists_both_operators_and_the_forbidden_one(make_sim):
    sim = make_sim("quectel-ec25")
    with AtClient(sim.link) as at:
        assert at.ok("AT+COPS=?") == ['+COPS: (2,"Orange F","Orange","20801",7),(1,"SFR","SFR","20810",7),'
                                      '(3,"Bouygues Telecom","BYTEL","20820",7),,(0,1,2,3,4),(0,1,2)']


def test_cfun_levels(sim, at):
    at.ok("AT+CEREG=1")
    assert at.ok("AT+CFUN=4") == ["+CEREG: 0"]              # the radio goes off, then the OK
    assert at.ok("AT+CFUN?") == ["+CFUN: 4"]
    assert at.ok("AT+CSQ") == ["+CSQ: 99,99"]
    at.ok("AT+CFUN=0")
    assert at.cmd("AT+CIMI").final == "+CME ERROR: 13"
    at.ok("AT+CFUN=1")
    at.read_until(rb"\+CPIN: READY\r\n")
    at.read_until(rb"\+CEREG: 1\r\n")
    assert at.ok("AT+CFUN?") == ["+CFUN: 1"]


def test_network_time(sim, at):
    at.ok("AT+CTZR=2")
    assert at.ok("AT+CCLK?")[0].startswith('+CCLK: "80/01/06,')             # RTC before network time
    at.ok("AT+CTZU=1")
    (line,) = at.ok("AT+CCLK?")
    m = re.fullmatch(r'\+CCLK: "(\d\d)/(\d\d)/(\d\d),(\d\d):(\d\d):(\d\d)\+04"', line)
    assert m
    clock = datetime.datetime(2000 + int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]),
                              tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    assert abs((clock - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 60
    at.ok("AT+COPS=2")
    at.ok("AT+COPS=0")
    ctze = at.read_until(rb"\+CTZE: [^\r]*\r\n").decode()
    assert re.search(r'\+CTZE: "\+04",0,"20\d\d/\d\d/\d\d,\d\d:\d\d:\d\d"', ctze)


# ---------------------------------------------------------------------------------------------- data

def test_pdp_context_activation_and_address(sim, at):
    assert at.ok("AT+CGDCONT?")[0] == '+CGDCONT: 1,"IPV4V6","orange","0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",0,0,0,0'
    at.ok('AT+CGDCONT=1,"IP","internet.test"')
    assert at.ok("AT+CGDCONT?") == ['+CGDCONT: 1,"IP","internet.test","0.0.0.0",0,0,0,0']
    assert at.ok("AT+CGPADDR=1") == ["+CGPADDR: 1"]
    at.ok("AT+CGACT=1,1")
    assert at.ok("AT+CGACT?") == ["+CGACT: 1,1"]
    assert at.ok("AT+CGPADDR=1") == ['+CGPADDR: 1,"100.72.18.5"']
    assert sim.model.data_active
    at.ok("AT+COPS=2")                                                      # deregistration drops the session
    assert not sim.model.data_active
    assert at.ok("AT+CGPADDR=1") == ["+CGPADDR: 1"]
    assert at.cmd("AT+CGACT=1,1").final == "+CME ERROR: 30"
    assert at.cmd("AT+CGACT=1,5").final == "+CME ERROR: 50"


def test_pdp_contexts_belong_to_the_sim(sim, at):
    at.ok('AT+CGDCONT=1,"IP","apn.slot1"')
    at.ok("AT+QUIMSLOT=2")
    assert wait_until(lambda: sim.model.registered and sim.model.active_slot == 2)
    assert at.ok("AT+CGDCONT?") == ['+CGDCONT: 1,"IPV4V6","sl2sfr","0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0",0,0,0,0']


def test_quectel_netdev_data_call(sim, at):
    assert at.ok("AT+QNETDEVCTL?") == ["+QNETDEVCTL: 0,0,0,0"]
    at.ok("AT+QNETDEVCTL=1,1,1")
    assert at.ok("AT+QNETDEVCTL?") == ["+QNETDEVCTL: 1,1,1,1"]
    assert sim.model.data_active and sim.model.data_call
    sim.fault("deny", 1)
    assert not sim.model.data_active
    assert at.ok("AT+QNETDEVCTL?") == ["+QNETDEVCTL: 1,1,1,0"]
    at.ok('AT+QCFG="usbnet",2')
    assert at.ok('AT+QCFG="usbnet"') == ['+QCFG: "usbnet",2']


# ---------------------------------------------------------------------------------------------- SMS

def test_sms_send_prompt_flow(sim, at):
    at.ok("AT+CMGF=1")
    at.ok('AT+CSCS="GSM"')
    at.send(b'AT+CMGS="+33639980002"\r')
    assert at.read_until(rb"> ") == b'AT+CMGS="+33639980002"\r\r\n> '       # no line end after the prompt
    assert at.read_for(0.05) == b""
    at.send(b"backup link up\x1a")
    out = at.read_until(rb"OK\r\n")
    assert out.endswith(b"\r\n+CMGS: 1\r\n\r\nOK\r\n") and out.startswith(b"backup link up")
    assert [(s.number, s.text, s.mr, s.slot) for s in sim.model.sent_sms] == [
        ("+33639980002", "backup link up", 1, 1)]
    at.send(b'AT+CMGS="+33639980002"\r')
    at.read_until(rb"> ")
    at.send(b"never mind\x1b")                                              # ESC cancels
    assert at.read_until(rb"OK\r\n").endswith(b"never mind\r\nOK\r\n")
    assert len(sim.model.sent_sms) == 1
    at.send(b'AT+CMGS="+33639980002"\rtwo\rlines\x1a')
    assert at.read_until(rb"OK\r\n").endswith(b"two\r\n> lines\r\n+CMGS: 2\r\n\r\nOK\r\n")
    assert sim.model.sent_sms[-1].text == "two\nlines"


def test_sms_send_without_network_fails(sim, at):
    at.ok("AT+CMGF=1;+COPS=2")
    at.send(b'AT+CMGS="+33639980002"\rhello\x1a')
    assert at.read_until(rb"ERROR: \d+\r\n").endswith(b"+CMS ERROR: 331\r\n")
    assert sim.model.sent_sms == []


def test_incoming_sms_read_list_delete(make_sim):
    sim = make_sim("simcom-sim7600")
    with AtClient(sim.link) as at:
        at.ok("AT+CMGF=1;+CMEE=1")
        assert sim.fault("sms-in", "+33639980009", "switch", "to", "slot", "2") == \
            "SMS from +33639980009 stored at index 0"
        at.read_until(rb'\r\n\+CMTI: "SM",0\r\n')
        sim.fault("sms-in", "+33639980009", "second")
        at.read_until(rb'\r\n\+CMTI: "SM",1\r\n')
        lines = at.ok('AT+CMGL="REC UNREAD"')
        assert len(lines) == 4 and lines[1] == "switch to slot 2" and lines[3] == "second"
        assert re.fullmatch(r'\+CMGL: 0,"REC UNREAD","\+33639980009",,"\d\d/\d\d/\d\d,\d\d:\d\d:\d\d\+04"',
                            lines[0])
        assert at.ok('AT+CMGL="REC UNREAD"') == []                         # listing marked them read
        assert at.ok("AT+CMGR=1")[1:] == ["second"]
        assert at.ok("AT+CMGR=1")[0].startswith('+CMGR: "REC READ","+33639980009",,')
        at.ok("AT+CMGD=0")
        assert at.cmd("AT+CMGR=0").final == "+CMS ERROR: 321"
        assert [s.index for s in sim.model.sim.sms] == [1]
        at.ok("AT+CMGD=0,4")
        assert at.ok('AT+CMGL="ALL"') == []


def test_sms_in_needs_a_registered_sim(sim):
    sim.fault("sim-remove", 1)
    with pytest.raises(ValueError, match="no usable SIM"):
        sim.fault("sms-in", "+33639980009", "hi")


# ---------------------------------------------------------------------------------------------- serving cell

SERVING = {
    "quectel-ec25": ('AT+QENG="servingcell"', '+QENG: "servingcell","NOCONN","LTE","FDD",208,01,A1B2C3,123,1300,3,'
                     '5,5,1A2B,{rsrp},{rsrq},{rssi},{sinr5},{srx}'),
    "quectel-rm500q": ('AT+QENG="servingcell"', '+QENG: "LTE","FDD",208,01,A1B2C3,123,1300,3,5,5,1A2B,{rsrp},'
                       '{rsrq},{rssi},{sinr},0,-,{srx}'),
    "simcom-sim7600": ("AT+CPSI?", "+CPSI: LTE,Online,208-01,0x1A2B,10597059,123,EUTRAN-BAND3,1300,5,5,{rsrq10},"
                       "{rsrp10},{rssi10},{sinr}"),
    "sierra-em7455": ("AT!GSTATUS?", "PCC RxM RSSI:  {rssi}\t\tRSRP (dBm):  {rsrp}"),
    "telit-le910": ("AT#RFSTS", '#RFSTS: "208 01",1300,{rsrp},{rssi},{rsrq},1A2B,255,,128,19,0,0A1B2C3,'
                    '"208011234567890","Orange F",3,3,720,3240,{sinr}'),
    "huawei-me909s": ("AT^HCSQ?", '^HCSQ: "LTE",{hrssi},{hrsrp},{hsinr},{hrsrq}'),
    "ublox-lara-r6": ("AT+CESQ", "+CESQ: 99,99,255,255,{cesq_rsrq},{cesq_rsrp}"),
    "fibocom-l850": ("AT+XMCI=1", '+XMCI: 4,208,01,"0x1A2B","0x00A1B2C3","0x007B","0x00000514","0x00004B64",'
                     '"0xFFFFFFFF",{cesq_rsrp},{cesq_rsrq},{sinr},"0x00000003","0x00000000"'),
}


@pytest.mark.parametrize("vendor", sorted(SERVING))
@pytest.mark.parametrize("rsrp", [-72, -118])
def test_signal_fault_moves_every_report_consistently(make_sim, vendor, rsrp):
    sim = make_sim(vendor)
    sim.fault("signal", rsrp)
    s = Signal.from_rsrp(rsrp)
    fields = dict(rsrp=s.rsrp, rssi=s.rssi, rsrq=round(s.rsrq), sinr=round(s.sinr), sinr5=s.sinr_fifth_db,
                  srx=s.srxlev, rsrq10=round(s.rsrq * 10), rsrp10=s.rsrp * 10, rssi10=s.rssi * 10,
                  hrssi=s.rssi + 121, hrsrp=s.rsrp + 141, hsinr=round((s.sinr + 20) * 5) + 1,   # Huawei: 1 = first step
                  hrsrq=round((s.rsrq + 19.5) * 2) + 1, cesq_rsrq=s.cesq_rsrq, cesq_rsrp=s.cesq_rsrp)
    command, expected = SERVING[vendor]
    with AtClient(sim.link) as at:
        assert expected.format(**fields) in at.ok(command)
        assert at.ok("AT+CSQ") == [f"+CSQ: {s.csq_rssi},99"]
        cesq = at.ok("AT+CESQ")[0]
        assert cesq.startswith(f"+CESQ: 99,99,255,255,{s.cesq_rsrq},{s.cesq_rsrp}")


def test_signal_below_coverage_loses_the_network(sim, at):
    at.ok("AT+CEREG=1")
    sim.fault("signal", -135)
    at.read_until(rb"\+CEREG: 2\r\n")
    assert at.ok("AT+CSQ") == ["+CSQ: 99,99"]
    assert at.ok('AT+QENG="servingcell"') == ['+QENG: "servingcell","SEARCH"']
    sim.fault("signal", -100)
    at.read_until(rb"\+CEREG: 1\r\n")
    with pytest.raises(ValueError):
        sim.fault("signal", -20)


def test_rm500q_sa_serving_cell_on_slot_2(sim, at):
    at.ok("AT+QUIMSLOT=2")
    assert wait_until(lambda: sim.model.registered and sim.model.operator.plmn == "20810")
    (line,) = at.ok('AT+QENG="servingcell"')
    assert line.startswith('+QENG: "servingcell","NOCONN","NR5G-SA","TDD",208,10,ABCDE123,789,3C4D5E,636672,78,10,')
    assert at.ok("AT+QNWINFO") == ['+QNWINFO: "TDD NR5G","20810","NR5G BAND 78",636672']
    at.ok("AT+C5GREG=2")
    assert at.ok("AT+C5GREG?") == ['+C5GREG: 2,1,"3C4D5E","0ABCDE123",11']


def test_context_manager_cleans_up(workdir):
    link = f"{workdir}/ctx"
    fds = len(os.listdir("/proc/self/fd"))
    with Simulator(vendor="sierra-em7455", link=link, speed=0) as sim:
        assert os.path.islink(link) and os.path.exists(link + ".ctl")
        with AtClient(link) as at:
            assert "Model: EM7455" in at.ok("ATI")
        with pytest.raises(RuntimeError, match="already runs"):
            Simulator(vendor="sierra-em7455", link=link, speed=0).start()
        assert sim.alive
    assert not os.path.lexists(link) and not os.path.lexists(link + ".ctl")
    assert len(os.listdir("/proc/self/fd")) == fds
    with pytest.raises(RuntimeError):
        sim.fault("clear")


def test_bad_vendor_and_bad_faults(sim):
    with pytest.raises(ValueError, match="unknown modem personality"):
        Simulator(vendor="nokia-3310", link="/tmp/x")
    for args in (("hang", "soon"), ("deny", 3), ("deny",), ("urc-storm", 0), ("explode",), ("garbage", "x"),
                 ("reboot", -1), ("sms-in", "abc", "hi")):
        with pytest.raises(ValueError):
            sim.fault(*args)
    assert sim.fault("status").startswith("quectel-rm500q up, slot 1 SIM READY, registered (home) on Orange F")


def test_lines_of_helper():
    assert lines_of(b"\r\nA\r\n\r\nB\r\n") == ["A", "B"]


def test_serial_open_of_a_stopped_simulator_fails(workdir):
    link = f"{workdir}/gone"
    sim = Simulator(vendor="quectel-ec25", link=link, speed=0).start()
    sim.stop()
    with pytest.raises(serial.SerialException):
        serial.Serial(link)


def test_sms_in_ucs2(sim, at):
    at.ok('AT+CMGF=1;+CSCS="UCS2"')
    number = "".join(f"{ord(c):04X}" for c in "+33639980002")
    at.send(f'AT+CMGS="{number}"\r'.encode())
    at.read_until(rb"> ")
    at.send("".join(f"{ord(c):04X}" for c in "été 2024").encode() + b"\x1a")           # "été 2024"
    at.read_until(rb"OK\r\n")
    assert (sim.model.sent_sms[0].number, sim.model.sent_sms[0].text) == ("+33639980002", "été 2024")
    sim.fault("sms-in", "+33639980009", "ok")
    at.read_until(rb"CMTI[^\r]*\r\n")
    assert at.ok("AT+CMGR=0")[1] == "006F006B"


def test_commands_are_counted_and_logged(sim, at):
    before = sim.model.commands_received
    at.ok("AT")
    at.ok("AT+CSQ;+CREG?")
    at.cmd("AT+NOPE")
    assert sim.model.commands_received == before + 3
    assert sim.model.command_log[-3:] == ["AT", "AT+CSQ;+CREG?", "AT+NOPE"]


def test_delays_scale_with_speed(make_sim):
    import time
    sim = make_sim("quectel-ec25", speed=0.02)                   # COPS=? takes 30 s * 0.02
    with AtClient(sim.link) as at:
        t0 = time.monotonic()
        at.ok("AT+COPS=?")
        assert time.monotonic() - t0 >= 0.6
        t0 = time.monotonic()
        at.ok("AT+CSQ")
        assert time.monotonic() - t0 < 2.0                      # 0.4 ms at this speed: no 30 s scan here


def test_pin_set_before_start(workdir):
    sim = Simulator(vendor="quectel-rm500q", link=f"{workdir}/pin", speed=0)
    sim.model.set_pin(1, "2468")
    with sim:
        with AtClient(sim.link) as at:
            assert at.ok("AT+CPIN?") == ["+CPIN: SIM PIN"] and not sim.model.registered
            at.ok('AT+CPIN="2468"')
            assert wait_until(lambda: sim.model.registered)
