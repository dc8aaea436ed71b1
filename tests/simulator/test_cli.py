"""`relais sim` and `relais sim-ctl` as subprocesses, and the control socket's line protocol."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from modem.simulator import PERSONALITIES
from tests.simulator.atclient import AtClient, wait_until

ROOT = Path(__file__).resolve().parents[2]


def relais(*args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def sim_process(workdir):
    link = f"{workdir}/modem"
    proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "sim", "--vendor", "quectel-ec25", "--link", link,
                             "--speed", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        yield proc, link, banner
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_sim_runs_until_sigterm_and_cleans_up(sim_process):
    proc, link, banner = sim_process
    assert banner.startswith("relais sim: quectel-ec25 on /dev/pts/")
    assert banner.rstrip().endswith(f"linked at {link} (faults: relais sim-ctl {link} FAULT)")
    pty = banner.split(" on ", 1)[1].split(",", 1)[0]
    assert os.path.realpath(link) == pty and os.path.exists(link + ".ctl")
    with AtClient(link) as at:
        assert at.ok("ATI") == ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert not os.path.lexists(link) and not os.path.lexists(link + ".ctl")


def test_sim_stops_on_sigint(sim_process):
    proc, link, _ = sim_process
    proc.send_signal(signal.SIGINT)
    assert proc.wait(10) == 0
    assert not os.path.lexists(link)


def test_sim_ctl_ok_rejected_and_absent(sim_process):
    proc, link, _ = sim_process
    with AtClient(link) as at:
        at.ok("AT+CEREG=1")
        r = relais("sim-ctl", link, "deny", "1")
        assert (r.returncode, r.stdout) == (0, "ok: registration denied on slot 1\n")
        at.read_until(rb"\+CEREG: 3\r\n")
        r = relais("sim-ctl", link, "sms-in", "+33639980009", "hello from the test")
        assert r.returncode == 1 and "not registered" in r.stderr           # denied: nothing delivered
        assert relais("sim-ctl", link, "allow", "1").returncode == 0
        at.read_until(rb"\+CEREG: 1\r\n")
        r = relais("sim-ctl", link, "sms-in", "+33639980009", "hello from the test")
        assert r.returncode == 0, r.stderr
        at.read_until(rb'\+CMTI: "SM",0\r\n')
        at.ok("AT+CMGF=1")
        assert at.ok("AT+CMGR=0")[1] == "hello from the test"
    r = relais("sim-ctl", link, "deny", "9")
    assert r.returncode == 1 and "error: deny: quectel-ec25 has slot(s) 1..2, not 9" in r.stderr
    r = relais("sim-ctl", link, "explode")
    assert r.returncode == 1 and "unknown fault 'explode'" in r.stderr
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    r = relais("sim-ctl", link, "status")
    assert r.returncode == 2 and "no simulator runs at" in r.stderr


def test_sim_ctl_hang_and_power_cycle(sim_process):
    proc, link, _ = sim_process
    at = AtClient(link)
    try:
        assert relais("sim-ctl", link, "hang", "forever").stdout == "ok: hanging until power cycle\n"
        at.send(b"AT\r")
        assert at.read_for(0.2) == b""
        assert relais("sim-ctl", link, "power-cycle").returncode == 0
    finally:
        at.close()
    assert wait_until(lambda: os.path.exists(link), 10)
    with AtClient(link) as at2:
        at2.read_until(rb"RDY\r\n")
        assert at2.ok("AT") == []


def test_unknown_vendor_exits_2(workdir):
    r = relais("sim", "--vendor", "nokia-3310", "--link", f"{workdir}/m")
    assert r.returncode == 2
    assert "unknown vendor 'nokia-3310'" in r.stderr and "quectel-rm500q" in r.stderr
    assert not os.path.lexists(f"{workdir}/m")


def test_list_personalities(workdir):
    r = relais("sim", "--list")
    assert r.returncode == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert names == list(PERSONALITIES)
    assert "2 slots" in r.stdout


def test_sim_without_link_is_a_usage_error(workdir):
    r = relais("sim", "--vendor", "quectel-ec25")
    assert r.returncode == 2 and "--link PATH is required" in r.stderr


def test_second_simulator_on_the_same_link_is_refused(sim_process):
    _, link, _ = sim_process
    r = relais("sim", "--vendor", "quectel-ec25", "--link", link, "--speed", "0")
    assert r.returncode == 1 and "already runs" in r.stderr
    assert os.path.exists(link)                                     # the first one is untouched


def test_control_socket_line_protocol(sim):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sim.link + ".ctl")
    f = s.makefile("rwb")
    try:
        for request, reply in ((b"signal -100\n", b"ok: RSRP -100 dBm, RSSI -72 dBm, RSRQ -12 dB, SINR 10 dB\n"),
                               (b"hang\n", b"error: hang takes one argument: SECONDS or 'forever'\n"),
                               (b"sms-in '+3363998 0009' hi\n",
                                b"error: sms-in: '+3363998 0009' is not a phone number\n"),
                               (b"deny 'unbalanced\n", b"error: No closing quotation\n"),
                               (b"\n", b"error: empty request\n"),
                               (b"clear\n", b"ok: all faults cleared\n")):
            f.write(request)
            f.flush()
            assert f.readline() == reply
        f.write(b"x" * 5000)                                        # no newline, too long: refused and closed
        f.flush()
        assert f.readline() == b"error: request too long\n"
        assert f.readline() == b""
    finally:
        f.close()
        s.close()
    assert sim.model.rsrp == -95 and sim.alive
