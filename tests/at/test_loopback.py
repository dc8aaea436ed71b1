"""modem.at.loopback: AtPort's API over an in-process wire, in virtual time (tests/virtual.py). The same outcomes
as the pty port (test_port.py, test_faults_simulator.py), with exact times: nothing here waits for real."""
from __future__ import annotations

import pytest

from modem.at import AtTimeout, TransportError
from modem.at.loopback import REOPEN_S, LoopbackPort
from tests.virtual import FakeClock, InProcessSimulator, Scheduler


@pytest.fixture
def world():
    clock = FakeClock()
    scheduler = Scheduler(clock)
    sim = InProcessSimulator("quectel-rm500q", clock, speed=1.0)
    events: list[tuple[float, str]] = []
    port = LoopbackPort(sim.wire(), clock=clock, wait=scheduler.wait,
                        on_event=lambda kind, detail: events.append((clock(), kind)))
    scheduler.add(sim.service, sim.next_deadline)
    scheduler.add(port.service, port.next_deadline)
    port.start(wait_open_s=1)
    yield clock, scheduler, sim, port, events
    port.close()


def test_answers_take_the_modems_time_not_ours(world):
    clock, _, sim, port, events = world
    start = clock()
    assert port.command("AT+CSQ").lines[0].startswith("+CSQ: ")
    assert 0 < clock() - start < 1.0                 # the simulated modem's answer delay, in virtual seconds
    assert events == [(start, "port_opened")]


def test_a_hung_modem_times_out_at_the_deadline_and_is_reported_unresponsive(world):
    clock, _, sim, port, events = world
    sim.fault("hang", "forever")
    for _ in range(3):
        start = clock()
        with pytest.raises(AtTimeout):
            port.command("AT+CSQ", timeout=5)
        assert clock() - start == pytest.approx(5.0)
    assert [kind for _, kind in events][-1] == "unresponsive"


def test_a_reboot_loses_the_port_fails_commands_and_reopens(world):
    clock, scheduler, sim, port, events = world
    sim.fault("reboot", 10)
    assert scheduler.run_until(lambda: not port.connected, 5)
    with pytest.raises(TransportError):
        port.command("AT")                           # while gone: at once, no queueing
    lost = clock()
    assert scheduler.run_until(lambda: port.connected, 30)
    assert 10 - 1 <= clock() - lost <= 10 + REOPEN_S + 1     # back when the modem is
    assert scheduler.run_until(lambda: "rebooted" in [k for _, k in events], 10)
    assert port.command("AT+CGMM").lines == ["RM500Q-GL"]
    assert [k for _, k in events][:3] == ["port_opened", "port_lost", "port_opened"]


def test_the_pin_is_not_in_the_at_trace(world, caplog):
    import logging
    caplog.set_level(logging.DEBUG, logger="relais.at")
    _, _, sim, port, _ = world
    sim.model.set_pin(1, "4711")
    port.command('AT+CPIN="4711"')
    assert "CPIN" in caplog.text and "4711" not in caplog.text
