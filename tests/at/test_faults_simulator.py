"""The AT engine against the modem simulator's faults, over a real pty: it must recover from each.

Each test injects one fault the way a field modem misbehaves and asserts what the engine does during the fault
and that the next commands work again afterwards.
"""
import threading
import time

import pytest

from modem import vendors
from modem.at import AtError, AtPort, AtTimeout, TransportError
from modem.device import ModemDevice
from modem.simulator import Simulator
from tests.at.test_port import wait_until


@pytest.fixture
def sim(tmp_path):
    s = Simulator(vendor="quectel-rm500q", link=str(tmp_path / "ttyUSB2"), speed=0)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def port(sim):
    events = []
    p = AtPort(sim.link if hasattr(sim, "link") else sim._link, on_event=lambda k, d: events.append((k, d)),
               reopen_max_s=0.2)
    p.events = events
    p.set_vendor_urcs(vendors.get("quectel").vendor_urc_prefixes)   # the simulated modem's; ModemDevice does this
    p.start(wait_open_s=5)
    yield p
    p.close()


def csq_ok(port) -> bool:
    return port.command("AT+CSQ", timeout=1).lines[0].startswith("+CSQ:")


def test_hang_times_out_then_recovers(sim, port):
    sim.fault("hang", 1.0)
    t0 = time.monotonic()
    with pytest.raises(AtTimeout):
        port.command("AT+CSQ", timeout=0.3)
    assert time.monotonic() - t0 < 2.0
    assert wait_until(lambda: _try(lambda: csq_ok(port)), 5)


def test_hang_forever_until_power_cycle_reports_unresponsive(sim, port):
    sim.fault("hang", "forever")
    for _ in range(3):
        with pytest.raises(AtTimeout):
            port.command("AT", timeout=0.2)
    assert ("unresponsive", "3 commands in a row timed out") in port.events
    sim.power_cycle()
    assert wait_until(lambda: _try(lambda: csq_ok(port)), 10)


def test_garbage_burst_does_not_break_next_commands(sim, port):
    for _ in range(5):
        sim.fault("garbage")
        assert csq_ok(port)
        assert port.command("ATI").lines[0] == "Quectel"


def test_urc_storm_never_leaks_into_answers(sim, port):
    seen = []
    port.set_catch_all(seen.append)
    sim.fault("urc-storm", 300)
    for _ in range(30):
        r = port.command("AT+CSQ")
        assert len(r.lines) == 1 and r.lines[0].startswith("+CSQ:"), r.lines
        ident = port.command("AT+CGMM").lines
        assert ident == ["RM500Q-GL"], ident
    assert len(seen) > 0


def test_reboot_port_disappears_commands_fail_cleanly_and_engine_resumes(sim, port):
    before = set(threading.enumerate())
    sim.fault("reboot", 0.5)
    with pytest.raises((TransportError, AtTimeout)):
        for _ in range(50):            # until the port is seen gone
            port.command("AT+CSQ", timeout=0.5)
            time.sleep(0.02)
    assert wait_until(lambda: any(k == "port_lost" for k, _ in port.events), 5)
    assert wait_until(lambda: port.connected and _try(lambda: csq_ok(port)), 15)
    assert [k for k, _ in port.events].count("port_opened") >= 2
    assert wait_until(lambda: set(threading.enumerate()) <= before | {threading.current_thread()}, 5), \
        "reboot left extra threads behind"


def test_modem_reset_command_is_a_reboot_too(sim, port):
    try:
        port.command("AT+CFUN=1,1")
    except (TransportError, AtError):
        pass                            # the port may go away before the OK
    assert wait_until(lambda: any(k in ("port_lost", "rebooted") for k, _ in port.events), 10)
    assert wait_until(lambda: port.connected and _try(lambda: csq_ok(port)), 15)


def test_sim_remove_gives_cme_10_and_insert_recovers(sim, port):
    dev = ModemDevice(port)
    dev.initialize()
    sim.fault("sim-remove", 1)
    assert dev.sim()["sim_state"] == "NOT INSERTED"
    sim.fault("sim-insert", 1)
    assert wait_until(lambda: dev.sim()["sim_state"] == "READY", 10)


def test_deny_is_seen_as_denied_registration_with_urc(sim, port):
    urcs = []
    port.set_catch_all(urcs.append)
    dev = ModemDevice(port)
    dev.initialize()
    assert dev.registration()["registration"] == "home"
    sim.fault("deny", 1)
    assert wait_until(lambda: dev.registration().get("registration") == "denied", 10)
    assert any(u.startswith(("+CEREG:", "+CREG:", "+C5GREG:")) for u in urcs)
    sim.fault("clear")
    assert wait_until(lambda: dev.registration().get("registration") == "home", 10)


def test_signal_fault_moves_rsrp(sim, port):
    dev = ModemDevice(port)
    dev.identify()
    sim.fault("signal", -118)
    assert dev.signal()["rsrp_dbm"] == -118
    sim.fault("clear")
    assert dev.signal()["rsrp_dbm"] != -118


def _try(fn):
    try:
        return fn()
    except Exception:
        return False


def test_many_threads_each_get_their_own_answer_during_a_urc_storm(sim, port):
    """One command in flight at a time, whoever reads: answers never cross between callers."""
    sim.fault("urc-storm", 2000)
    errors: list[str] = []

    def worker(command: str, expect: str) -> None:
        for _ in range(40):
            try:
                lines = port.command(command, timeout=5).lines
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(f"{command}: {e!r}")
                continue
            if not (len(lines) == 1 and lines[0].startswith(expect)):
                errors.append(f"{command}: got {lines}")

    threads = [threading.Thread(target=worker, args=a) for a in
               [("AT+CSQ", "+CSQ:"), ("AT+CGMM", "RM500Q"), ("AT+CEREG?", "+CEREG:"), ("AT+CIMI", "2080")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
