"""Each check of `relais doctor` as a table: facts in, level and the words that matter out."""
from __future__ import annotations

import pytest

from agent.doctor import checks as c
from agent.doctor.check import Level

ROOT = c.Account("root", 0, frozenset({0}))
SERVICE = c.Account("relais", 998, frozenset({998, 20}))   # relais, dialout


def f(mode, uid=0, gid=998, is_dir=False, exists=True):
    return c.FileFacts(exists, is_dir, mode, uid, gid, {0: "root", 998: "relais"}.get(uid, ""),
                       {0: "root", 998: "relais"}.get(gid, ""))


# ---- configuration and permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize("problems, error, defaults, level, words", [
    ([], None, False, Level.OK, "loads"),
    (["x.toml: [modem] baud: expected one of 9600, ..., got -5"], None, False, Level.FAIL, "[modem] baud"),
    (["a", "b", "c"], None, False, Level.FAIL, "(and 2 more)"),
    (None, "x.toml: not TOML (line 3)", False, Level.FAIL, "not TOML"),
    (None, None, True, Level.WARN, "built-in defaults"),
])
def test_config(problems, error, defaults, level, words):
    """(An unreadable file is in test_doctor_cli.py, as a user who may not read it.)"""
    got = c.check_config("x.toml", problems, error, defaults)
    assert got.level == level and words in got.detail
    assert (got.advice != "") == (level != Level.OK)


@pytest.mark.parametrize("file, agent, secrets, level, words", [
    (f(0o640), SERVICE, True, Level.OK, "0640 root:relais"),
    (f(0o600, uid=998), SERVICE, True, Level.OK, "0600"),
    (f(0o600), SERVICE, True, Level.FAIL, "cannot read"),            # root's alone: the service cannot start
    (f(0o644), SERVICE, True, Level.FAIL, "secrets"),
    (f(0o644), SERVICE, False, Level.WARN, "every user can read"),
    (f(0o646), SERVICE, False, Level.FAIL, "anyone on the box can change"),
    (f(0o640, uid=1000), SERVICE, False, Level.WARN, "user 1000 can change"),
    (f(0o660, gid=50), c.Account("relais", 998, frozenset({998})), False, Level.FAIL, "cannot read"),
    (f(0o664, gid=50), SERVICE, False, Level.WARN, "group 50 can change"),
    (f(0o644, gid=50), SERVICE, False, Level.WARN, "every user can read"),
    (f(0o600), ROOT, True, Level.OK, "0600"),                        # no service user: root runs the agent
    (c.FileFacts(exists=False), SERVICE, True, Level.SKIP, "does not exist"),
])
def test_config_file_permissions(file, agent, secrets, level, words):
    got = c.check_config_file("/etc/relais/relais.toml", file, agent, secrets)
    assert got.level == level and words in got.detail, got
    if level in (Level.WARN, Level.FAIL):
        assert "chmod 0640" in got.advice


def test_group_writable_by_a_stranger_group_is_a_warning():
    got = c.check_config_file("/x", f(0o660, gid=1234), c.Account("relais", 998, frozenset({1234})), False)
    assert got.level == Level.OK   # the service's own group may write (set_config)
    got = c.check_config_file("/x", f(0o664, gid=1234), c.Account("relais", 998, frozenset({998})), False)
    assert got.level == Level.WARN and "group" in got.detail


@pytest.mark.parametrize("d, agent, level, words", [
    (f(0o750, uid=998, is_dir=True), SERVICE, Level.OK, "0750 relais:relais"),
    (f(0o755, uid=0, gid=0, is_dir=True), SERVICE, Level.FAIL, "cannot write"),
    (f(0o770, uid=0, gid=998, is_dir=True), SERVICE, Level.OK, "0770"),
    (f(0o777, uid=998, is_dir=True), SERVICE, Level.WARN, "every user can write"),
    (f(0o644, uid=998), SERVICE, Level.FAIL, "not a directory"),
    (c.FileFacts(exists=False), SERVICE, Level.WARN, "does not exist"),
])
def test_storage_dir(d, agent, level, words):
    got = c.check_storage_dir("/var/lib/relais", d, agent)
    assert got.level == level and words in got.detail, got


# ---- agent and port ---------------------------------------------------------------------------------------------

def test_agent():
    assert c.check_agent("/run/relais/console.sock", True, None).level == Level.OK
    got = c.check_agent("/run/relais/console.sock", False, "no console socket at /run/relais/console.sock")
    assert got.level == Level.WARN and got.detail.startswith("no console socket") and "systemctl start relais" in \
        got.advice


BY_ID = "/dev/serial/by-id/usb-Quectel_RM500Q-GL-if02-port0"


@pytest.mark.parametrize("port, level, words, advice", [
    (c.PortFacts("/dev/ttyUSB2", False), Level.FAIL, "does not exist", "by-id"),
    (c.PortFacts(BY_ID, True, "/dev/ttyUSB2", (BY_ID,)), Level.OK, "-> /dev/ttyUSB2", ""),
    (c.PortFacts("/dev/relais-modem", True, "/dev/ttyUSB2", ("/dev/relais-modem", BY_ID)), Level.OK, "-> /dev/tty",
     ""),
    (c.PortFacts("/dev/ttyUSB2", True, "/dev/ttyUSB2", (BY_ID,)), Level.WARN, "re-enumeration", BY_ID),
    (c.PortFacts("/dev/ttyUSB2", True, "/dev/ttyUSB2", ("/dev/relais-modem", BY_ID)), Level.WARN, "re-enumeration",
     '"/dev/relais-modem"'),
    (c.PortFacts("/tmp/modem", True, "/dev/pts/3"), Level.OK, "pseudo-terminal", ""),
])
def test_port(port, level, words, advice):
    got = c.check_port(port)
    assert got.level == level and words in got.detail and advice in got.advice


AGENT = (812, "/usr/bin/python3 /usr/bin/relais run --config /etc/relais/relais.toml")
AGENT2 = (900, "/work/.venv/bin/python -m agent.cli run --config a.toml")
MM = (501, "/usr/sbin/ModemManager")
MINICOM = (777, "minicom -D /dev/ttyUSB2")


@pytest.mark.parametrize("holders, running, level, words", [
    ((), False, Level.OK, "nobody else"),
    ((AGENT,), True, Level.OK, "only the agent"),
    ((AGENT,), False, Level.WARN, "console does not answer"),
    ((MM,), False, Level.FAIL, "ModemManager"),
    ((AGENT, MM), True, Level.FAIL, "ModemManager"),
    ((AGENT, AGENT2), True, Level.FAIL, "2 relais agents"),
    ((AGENT, MINICOM), True, Level.FAIL, "minicom"),
])
def test_port_users(holders, running, level, words):
    got = c.check_port_users(c.PortFacts("/dev/ttyUSB2", True, "/dev/ttyUSB2", (), holders), running)
    assert got.level == level and words in got.detail, got


# ---- the modem --------------------------------------------------------------------------------------------------

GOOD = dict(via="agent", answers=True, model="Quectel RM500Q-GL", sim_state="READY", sim_slot=1,
            registration="home", operator="Orange F", rat="LTE",
            signal={"rsrp_dbm": -85, "rsrq_db": -9, "sinr_db": 18, "band": "B3", "cell_id": "A1B2C3"},
            data={"up": True, "address": "100.72.18.5", "apn": "orange.fr"})


def m(**changes):
    return c.ModemFacts(**{**GOOD, **changes})


CHECKS = {"modem": c.check_modem, "SIM": c.check_sim, "registration": c.check_registration,
          "signal": c.check_signal, "data session": c.check_data}


@pytest.mark.parametrize("facts, check, level, words", [
    (m(), "modem", Level.OK, "Quectel RM500Q-GL answers (through the agent)"),
    (m(via="port"), "modem", Level.OK, "on its port"),
    (m(answers=False, error="no final result within 5 s"), "modem", Level.FAIL, "does not answer"),
    (m(answers=False), "SIM", Level.SKIP, "does not answer"),
    (m(answers=False), "signal", Level.SKIP, "does not answer"),
    (m(), "SIM", Level.OK, "ready in slot 1"),
    (m(sim_state="NOT INSERTED"), "SIM", Level.FAIL, "no SIM in slot 1"),
    (m(sim_state="SIM PIN"), "SIM", Level.FAIL, "asks for its PIN"),
    (m(sim_state="SIM PIN", pin_configured=True), "SIM", Level.FAIL, "configured one"),
    (m(sim_state="SIM PUK"), "SIM", Level.FAIL, "blocked"),
    (m(sim_state="SIM BUSY"), "SIM", Level.WARN, "being read"),
    (m(sim_state="PH-NET PIN"), "SIM", Level.FAIL, "locked to a network"),
    (m(sim_state=None), "SIM", Level.WARN, "did not say"),
    (m(), "registration", Level.OK, "registered (home network) on Orange F LTE"),
    (m(registration="roaming"), "registration", Level.OK, "roaming"),
    (m(registration="denied"), "registration", Level.FAIL, "refuses this SIM"),
    (m(registration="searching"), "registration", Level.WARN, "searching"),
    (m(registration="not_registered"), "registration", Level.FAIL, "not registered"),
    (m(registration="home_sms_only"), "registration", Level.WARN, "SMS only"),
    (m(sim_state="NOT INSERTED", registration="not_registered"), "registration", Level.SKIP, "no usable SIM"),
    (m(), "signal", Level.OK, "good: RSRP -85 dBm, RSRQ -9 dB, SINR 18 dB, band B3, cell A1B2C3"),
    (m(signal={"rsrp_dbm": -105}), "signal", Level.WARN, "poor: RSRP -105 dBm"),
    (m(signal={"rsrp_dbm": -125, "rsrq_db": -17, "sinr_db": 0}), "signal", Level.FAIL, "poor: RSRP -125 dBm"),
    (m(signal={}), "signal", Level.FAIL, "no signal: nothing measured"),
    (m(), "data session", Level.OK, "up, address 100.72.18.5 on APN orange.fr"),
    (m(data={"up": False, "error": "no APN for 20801"}), "data session", Level.FAIL, "no APN"),
    (m(data={"up": False, "error": None}), "data session", Level.FAIL, "down"),
    (m(data={"up": False}, cold_standby=True), "data session", Level.OK, "until a failover"),
    (m(data_enabled=False, data=None), "data session", Level.OK, "not relais' job"),
    (m(registration="denied"), "data session", Level.SKIP, "not registered"),
    (m(via="port", data={"up": False, "address": None}), "data session", Level.SKIP, "agent brings it up"),
    (m(via="port", data={"up": True, "address": "10.0.0.7"}), "data session", Level.OK, "10.0.0.7"),
])
def test_modem_checks(facts, check, level, words):
    got = CHECKS[check](facts)
    assert got.name == check and got.level == level and words in got.detail, got
    assert (got.advice != "") == (level in (Level.WARN, Level.FAIL)), got


def test_weak_signal_advice_names_the_antenna():
    got = c.check_signal(m(signal={"rsrp_dbm": -125}))
    assert "move the antenna out of the rack or use an external antenna" in got.advice


def test_no_modem_facts_skip_everything_that_needs_them():
    assert c.check_modem(None, "/dev/ttyUSB2 is in use").detail == "/dev/ttyUSB2 is in use"
    for check in CHECKS.values():
        assert check(None).level == Level.SKIP


# ---- broker, clock, space, watchdog -----------------------------------------------------------------------------

@pytest.mark.parametrize("facts, level, words, advice", [
    (c.BrokerFacts("b:8883", True, login=True, elapsed_ms=35, tls_version="TLSv1.3"), Level.OK,
     "b:8883: TLSv1.3, login accepted in 35 ms", ""),
    (c.BrokerFacts("b:1883", False), Level.OK, "no TLS, connect accepted", ""),
    (c.BrokerFacts("b:1883", False, "dns", "b does not resolve"), Level.FAIL, "DNS: b does not resolve", "DNS"),
    (c.BrokerFacts("b:1883", False, "tcp", "Connection refused"), Level.FAIL, "TCP: Connection refused",
     "broker up"),
    (c.BrokerFacts("b:8883", True, "tls", "certificate verify failed"), Level.FAIL, "TLS:", "[mqtt] ca"),
    (c.BrokerFacts("b:1883", False, "mqtt", "refused: bad user name or password (0x04)"), Level.FAIL,
     "MQTT CONNECT: refused: bad user name", "password"),
])
def test_broker(facts, level, words, advice):
    got = c.check_broker(facts)
    assert got.level == level and words in got.detail and advice in got.advice, got


NOW = 1796280874.0


@pytest.mark.parametrize("facts, level, words", [
    (c.ClockFacts(NOW, True), Level.OK, "NTP"),
    (c.ClockFacts(NOW, False, "modem", -0.349), Level.OK, "modem's network time, system clock off by -0.3 s"),
    (c.ClockFacts(NOW, False, "unsynced"), Level.WARN, "no modem network time yet"),
    (c.ClockFacts(NOW, False, None), Level.WARN, "the agent is not running"),
    (c.ClockFacts(NOW, False, None, 2.0), Level.WARN, "the modem's network time is +2.0 s from the system clock"),
    (c.ClockFacts(86400.0 * 3, False, None), Level.FAIL, "never set"),
    (c.ClockFacts(86400.0 * 3, True), Level.OK, "NTP"),
])
def test_clock(facts, level, words):
    got = c.check_clock(facts)
    assert got.level == level and words in got.detail, got


@pytest.mark.parametrize("free, level", [
    (None, Level.SKIP), (0, Level.FAIL), (c.SPACE_FAIL_BYTES - 1, Level.FAIL), (c.SPACE_FAIL_BYTES, Level.WARN),
    (c.SPACE_WARN_BYTES - 1, Level.WARN), (c.SPACE_WARN_BYTES, Level.OK), (10 ** 12, Level.OK),
])
def test_space(free, level):
    assert c.check_space("/var/lib/relais", free, "gone").level == level


@pytest.mark.parametrize("facts, level, words", [
    (c.ServiceFacts(False), Level.SKIP, "no systemd"),
    (c.ServiceFacts(True, loaded=False), Level.WARN, "not installed"),
    (c.ServiceFacts(True, True, "active", 0, "notify"), Level.WARN, "no WatchdogSec"),
    (c.ServiceFacts(True, True, "active", 30_000_000, "simple"), Level.WARN, "Type=simple"),
    (c.ServiceFacts(True, True, "inactive", 30_000_000, "notify"), Level.WARN, "WatchdogSec=30s, inactive"),
    (c.ServiceFacts(True, True, "active", 30_000_000, "notify", restarts=2), Level.WARN, "restarted 2 times"),
    (c.ServiceFacts(True, True, "active", 30_000_000, "notify"), Level.OK, "WatchdogSec=30s, active"),
])
def test_watchdog(facts, level, words):
    got = c.check_watchdog(facts)
    assert got.level == level and words in got.detail, got


def test_without_a_service_user_the_fix_is_for_the_user_running_the_agent():
    got = c.check_config_file("/x.toml", f(0o644, uid=1000, gid=1000), c.Account("pi", 1000, frozenset({1000})),
                              secrets=True)
    assert got.level == Level.FAIL and got.advice == "chown pi /x.toml && chmod 0600 /x.toml"


@pytest.mark.parametrize("cmdline, shown", [
    ("/usr/lib/relais/venv/bin/python3 /usr/bin/relais run --config /etc/relais/relais.toml",
     "python3 relais run --config /etc/relais/relais.toml"),
    ("/usr/sbin/ModemManager", "ModemManager"),
    ("minicom -D /dev/ttyUSB2", "minicom -D /dev/ttyUSB2"),
    ("/x/python3 " + "a" * 80, "python3 " + "a" * 49 + "..."),
])
def test_short_command(cmdline, shown):
    assert c.short_command(cmdline) == shown


@pytest.mark.parametrize("signal, shown", [
    ({"rsrp_dbm": -95, "rssi_dbm": -67, "band": "B3"}, "RSRP -95 dBm, band B3"),      # RSSI: only without RSRP
    ({"rssi_dbm": -103, "rat": "UMTS"}, "RSSI -103 dBm"),
    ({"rsrp_dbm": float("nan"), "sinr_db": True, "pci": 0}, "PCI 0"),
    ({}, "nothing measured"),
    ({"rsrp_dbm": -95, "band": "B3", "nr": {"rsrp_dbm": -98, "sinr_db": 11}}, "RSRP -95 dBm, band B3, 5G RSRP -98 dBm"),
    ({"rsrp_dbm": -95, "nr": "x"}, "RSRP -95 dBm"),
])
def test_describe_signal(signal, shown):
    assert c.describe_signal(signal) == shown


@pytest.mark.parametrize("node, level", [
    (f(0o660, uid=0, gid=20), Level.OK),           # root:dialout, the service has dialout
    (f(0o600, uid=0, gid=20), Level.FAIL),
    (f(0o660, uid=0, gid=5), Level.FAIL),          # root:tty
])
def test_port_access_for_the_agent(node, level):
    got = c.check_port(c.PortFacts("/dev/ttyUSB2", True, "/dev/ttyUSB2", access=node), SERVICE)
    assert got.level == level, got
    if level == Level.FAIL:
        assert "cannot open /dev/ttyUSB2" in got.detail and "chgrp dialout" in got.advice


@pytest.mark.parametrize("facts, check, said", [
    (m(registration="denied", other_slots=(2,)), c.check_registration,
     "; meanwhile relais sim-switch 2 uses the SIM in slot 2"),
    (m(registration="denied"), c.check_registration, "data allowed?"),
    (m(sim_state="NOT INSERTED", other_slots=(1,), sim_slot=2), c.check_sim,
     "relais sim-switch 1 uses the SIM in slot 1"),
    (m(registration="searching", other_slots=(2,)), c.check_registration, "moving the antenna"),   # WARN: wait
])
def test_the_other_sim_is_offered_when_there_is_one(facts, check, said):
    assert check(facts).advice.endswith(said)


def test_the_modem_reset_advice_fits_who_holds_the_port():
    assert "relais modem reset" in c.check_modem(m(answers=False)).advice
    assert "relais modem reset" not in c.check_modem(m(answers=False, via="port")).advice
