"""AtPort over a real pty: commands, URCs on the IO thread, timeouts, port loss and reopen, no thread leak."""
import threading
import time

import pytest

from modem.at import AtError, AtPort, AtTimeout, TransportError
from tests.at.pty_modem import PtyModem


def wait_until(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def modem(tmp_path):
    m = PtyModem(str(tmp_path / "ttyUSB2"), {
        b"AT+CSQ": b'\r\n+QIND: "csq",20,99\r\n+CSQ: 20,99\r\n\r\nOK\r\n',
        b"AT+CPIN?": b"\r\n+CME ERROR: 10\r\n",
        b"ATI": b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
    })
    m.plug()
    yield m
    m.unplug()


@pytest.fixture
def no_thread_leak():
    before = set(threading.enumerate())
    yield
    assert wait_until(lambda: set(threading.enumerate()) <= before, 5), \
        f"leaked threads: {set(threading.enumerate()) - before}"


def test_command_answer_and_urc_on_handler(no_thread_leak, modem):
    urcs, events = [], []
    with AtPort(modem.link, on_event=lambda k, d: events.append(k)) as port:
        port.on_urc("+QIND:", urcs.append)
        r = port.command("AT+CSQ")
        assert r.lines == ["+CSQ: 20,99"]
        assert urcs == ['+QIND: "csq",20,99']
        assert port.command("ATI").lines == ["Quectel", "EC25", "Revision: EC25EFAR06A06M4G"]
        with pytest.raises(AtError) as e:
            port.command("AT+CPIN?")
        assert e.value.code == 10
    assert events[0] == "port_opened"


def test_unsolicited_when_idle_reaches_catch_all(no_thread_leak, modem):
    seen = []
    with AtPort(modem.link) as port:
        port.set_catch_all(seen.append)
        modem.send(b'\r\n+CMTI: "SM",3\r\n')
        assert wait_until(lambda: seen == ['+CMTI: "SM",3'])


def test_timeout_then_recovery_and_unresponsive_event(no_thread_leak, modem):
    events = []
    with AtPort(modem.link, on_event=lambda k, d: events.append(k)) as port:
        modem.silent = True
        for _ in range(3):
            with pytest.raises(AtTimeout):
                port.command("AT+CSQ", timeout=0.2)
        assert "unresponsive" in events
        modem.silent = False
        assert port.command("AT+CSQ").lines == ["+CSQ: 20,99"]


def test_port_loss_fails_in_flight_at_once_and_reopens(no_thread_leak, modem):
    events = []
    with AtPort(modem.link, on_event=lambda k, d: events.append(k), reopen_max_s=0.2) as port:
        modem.silent = True
        errors = []

        def call():
            try:
                port.command("AT+CSQ", timeout=30)
            except Exception as e:  # noqa: BLE001 - the test inspects it
                errors.append(e)

        t = threading.Thread(target=call)
        t.start()
        assert wait_until(lambda: modem.received and modem.received[-1] == b"AT+CSQ")
        started = time.monotonic()
        modem.unplug()
        t.join(5)
        assert isinstance(errors[0], TransportError)
        assert time.monotonic() - started < 5      # not the 30 s command timeout
        assert wait_until(lambda: "port_lost" in events)
        with pytest.raises(TransportError):
            port.command("AT")                        # while gone: fails at once, no queueing
        modem.silent = False
        modem.plug()                                  # re-enumerated: same link, new pty
        assert port.wait_connected(5)
        assert port.command("AT+CSQ").lines == ["+CSQ: 20,99"]
        assert events.count("port_opened") == 2


def test_close_while_port_missing_stops_the_reopen_loop(tmp_path, no_thread_leak, caplog):
    port = AtPort(str(tmp_path / "nothing"), reopen_max_s=0.1).start()
    assert wait_until(lambda: "cannot open" in caplog.text)     # the reopen loop is at work
    port.close()
    assert not port.connected


def test_pin_is_not_in_the_at_trace(modem, caplog):
    import logging
    caplog.set_level(logging.DEBUG, logger="relais.at")
    modem.replies[b'AT+CPIN="4711"'] = b"\r\nOK\r\n"
    modem.replies[b'AT+CGAUTH=1,1,"user","s3cret"'] = b"\r\nOK\r\n"
    with AtPort(modem.link) as port:
        port.command('AT+CPIN="4711"')
        port.command('AT+CGAUTH=1,1,"user","s3cret"')
    assert "4711" not in caplog.text and "s3cret" not in caplog.text
    assert "CPIN" in caplog.text and "CGAUTH" in caplog.text
