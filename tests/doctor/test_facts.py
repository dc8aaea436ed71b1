"""What the doctor reads from the system, from real files, ptys and processes where they run here."""
from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest

from agent.config import from_dict
from agent.doctor import facts
from agent.doctor.check import Level
from agent.doctor.checks import check_port, check_port_users


@pytest.mark.parametrize("text, loaded, active, usec, kind, restarts", [
    ("LoadState=loaded\nActiveState=active\nWatchdogUSec=30s\nType=notify\nNRestarts=0\n",
     True, "active", 30_000_000, "notify", 0),
    ("LoadState=loaded\nActiveState=failed\nWatchdogUSec=1min 30s\nType=notify\nNRestarts=3\n",
     True, "failed", 90_000_000, "notify", 3),
    ("LoadState=loaded\nWatchdogUSec=30000000\nType=simple\n", True, "", 30_000_000, "simple", 0),   # old systemd
    ("LoadState=not-found\nActiveState=inactive\nWatchdogUSec=0\nType=simple\nNRestarts=0\n",
     False, "inactive", 0, "simple", 0),
    ("LoadState=loaded\nWatchdogUSec=infinity\n", True, "", 0, "", 0),
    ("LoadState=loaded\nWatchdogUSec=500ms\nNRestarts=x\n", True, "", 500_000, "", 0),
    ("garbage\n\n=\nWatchdogUSec=3 fortnights\n", False, "", 0, "", 0),
])
def test_systemctl_show(text, loaded, active, usec, kind, restarts):
    s = facts.parse_systemctl_show(text)
    assert (s.systemd, s.loaded, s.active, s.watchdog_usec, s.service_type, s.restarts) == \
        (True, loaded, active, usec, kind, restarts)


def test_no_systemd_directory_means_no_systemd(tmp_path):
    assert facts.service_facts(systemd_dir=str(tmp_path / "none")).systemd is False


def test_file_facts(tmp_path):
    p = tmp_path / "relais.toml"
    p.write_text("")
    p.chmod(0o640)
    f = facts.file_facts(p)
    assert f.exists and not f.is_dir and f.mode == 0o640 and f.uid == os.getuid() and f.owner
    assert facts.file_facts(tmp_path).is_dir
    assert not facts.file_facts(tmp_path / "missing").exists


def test_free_space_of_a_dir_not_made_yet_is_its_parents(tmp_path):
    free, error = facts.free_space(str(tmp_path / "not" / "yet"))
    assert free is not None and free > 0 and error == ""


def test_port_facts_finds_the_by_id_name_and_the_holders(tmp_path):
    master, slave = pty.openpty()
    device = os.ttyname(slave)
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (by_id / "usb-Quectel_EC25-if02-port0").symlink_to(device)
    (by_id / "usb-Other-if00-port0").symlink_to("/dev/null")
    holder = subprocess.Popen([sys.executable, "-c", f"import sys,time; f=open({device!r}); print(1, flush=True); "
                               "time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"1"
        p = facts.port_facts(device, by_id_dir=str(by_id), udev_name=str(tmp_path / "relais-modem"))
        assert p.exists and p.device == device and p.stable_names == (str(by_id / "usb-Quectel_EC25-if02-port0"),)
        assert p.access.exists and p.access.mode == os.stat(device).st_mode & 0o7777
        assert [pid for pid, _ in p.holders] == [holder.pid]
        assert check_port(p).level == Level.WARN                       # a by-id name exists: use it
        assert check_port_users(p, agent_running=False).level == Level.FAIL
        via_link = facts.port_facts(str(by_id / "usb-Quectel_EC25-if02-port0"), by_id_dir=str(by_id))
        assert check_port(via_link).level == Level.OK
        (tmp_path / "relais-modem").symlink_to(device)                   # the package's udev rule's name
        p = facts.port_facts(device, by_id_dir=str(by_id), udev_name=str(tmp_path / "relais-modem"))
        assert p.stable_names[0] == str(tmp_path / "relais-modem") and len(p.stable_names) == 2
    finally:
        holder.kill()
        holder.wait()
        os.close(master)
        os.close(slave)
    assert not facts.port_facts(str(tmp_path / "ttyUSB9")).exists


CONFIG = from_dict({"modem": {"pin": "1234"}, "failover": {"standby": "cold"}})

STATUS = {"state": {
    "modem": {"connected": True, "manufacturer": "Quectel", "model": "RM500Q-GL", "sim_state": "READY",
              "sim_slot": 1, "registration": "home", "operator_name": "Orange F", "rat": "NR5G-NSA",
              "signal": {"rsrp_dbm": -95, "rsrq_db": -11, "sinr_db": 12, "band": "B3"}},
    "cellular": {"data": {"up": True, "address": "100.72.18.5", "apn": "orange.fr", "error": None},
                 "ladder": {"trouble": None}, "sim_slots": [1, 2]},
    "time": {"source": "modem", "modem_offset_s": -0.349}}}


def test_modem_from_the_agent_state():
    m = facts.modem_from_agent(STATUS, None, None, CONFIG)
    assert (m.via, m.answers, m.model, m.sim_state, m.sim_slot, m.registration, m.operator) == \
        ("agent", True, "Quectel RM500Q-GL", "READY", 1, "home", "Orange F")
    assert m.signal["rsrp_dbm"] == -95 and m.data["address"] == "100.72.18.5"
    assert m.pin_configured and m.cold_standby and m.data_enabled and m.other_slots == (2,)


def test_a_fresh_reading_wins_over_the_last_poll():
    fresh = {"sim_state": "NOT INSERTED", "sim_slot": 1, "registration": "not_registered", "signal": {}}
    m = facts.modem_from_agent(STATUS, fresh, None, CONFIG)
    assert (m.sim_state, m.registration, m.signal) == ("NOT INSERTED", "not_registered", {})


@pytest.mark.parametrize("status, fresh_error, said", [
    (STATUS, "the modem did not answer: AT+QENG: no final result within 5 s", "no final result"),
    ({"state": {**STATUS["state"], "cellular": {"ladder": {"trouble": "unresponsive"}}}}, None,
     "sees the modem unresponsive"),
    ({"state": {"modem": {"connected": False}}}, None, "has not reached it"),
])
def test_modem_not_answering_through_the_agent(status, fresh_error, said):
    m = facts.modem_from_agent(status, None, fresh_error, CONFIG)
    assert not m.answers and said in m.error


@pytest.mark.parametrize("status", [None, [], {"state": "x"}, {"state": {"modem": 3, "cellular": []}},
                                    {"state": {"modem": {"connected": True, "signal": "x", "sim_slot": "1"}}}])
def test_odd_agent_answers_become_facts_not_tracebacks(status):
    m = facts.modem_from_agent(status, None, None, CONFIG)
    assert isinstance(m.signal, dict) and m.sim_slot is None


def test_clock_facts_from_the_agent_state():
    c = facts.clock_facts(STATUS, 1.0)
    assert c.agent_source == "modem" and c.modem_offset_s == -0.349 and isinstance(c.ntp_synced, bool)
    assert facts.clock_facts({"state": {"time": {"modem_offset_s": True}}}, 1.0).modem_offset_s is None


def test_agent_absent(tmp_path):
    import socket
    path = str(tmp_path / "console.sock")
    assert facts.agent_absent(path)                                   # no socket file
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()
    assert facts.agent_absent(path)                                   # left by an agent that died
    os.unlink(path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(path)
        live.listen(1)
        assert not facts.agent_absent(path)                           # somebody listens


def test_clock_facts_from_the_modem_read_on_the_port():
    c = facts.clock_facts(None, 1796280874.0, modem_clock_utc=1796280876.04)
    assert c.agent_source is None and c.modem_offset_s == 2.0
    assert facts.clock_facts(STATUS, 1796280874.0, modem_clock_utc=1.0).modem_offset_s == -0.349   # the agent's
