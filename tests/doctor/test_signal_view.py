"""`relais signal`'s output: one line per reading with the bar and the verdict, the advice when the verdict turns
to one that has some, an error line when there is no reading, the pace of the readings."""
from __future__ import annotations

import io

from agent import signal_cli
from agent.signal_cli import NoReading


def readings(*items):
    it = iter(items)

    def read():
        item = next(it)
        if isinstance(item, Exception):
            raise item
        return item
    return read


class Clock:
    def __init__(self):
        self.t = 100.0
        self.sleeps: list[float] = []

    def now(self):
        return self.t

    def sleep(self, s):
        self.sleeps.append(round(s, 3))
        self.t += s


def run(read, count, took=0.0):
    out, clock = io.StringIO(), Clock()

    def timed_read():
        clock.t += took          # each reading takes this long: the pace stays one per interval
        return read()
    code = signal_cli.watch(timed_read, out, count, 1.0, now=clock.now, sleep=clock.sleep, wall=lambda: 0.0)
    return code, out.getvalue().splitlines(), clock.sleeps


GOOD = {"registration": "home", "signal": {"rsrp_dbm": -85, "rsrq_db": -9, "sinr_db": 18, "band": "B3",
                                           "cell_id": "A1B2C3"}}
WEAK = {"registration": "home", "signal": {"rsrp_dbm": -125, "rsrq_db": -17, "sinr_db": 0, "band": "B3"}}


def test_lines_show_the_change_and_the_advice_once():
    code, lines, sleeps = run(readings(GOOD, WEAK, WEAK, GOOD), 4, took=0.25)
    assert code == 0
    assert "good" in lines[0] and "RSRP -85 dBm, RSRQ -9 dB, SINR 18 dB, band B3, cell A1B2C3" in lines[0]
    assert lines[0].count("#") == 15 and "poor" in lines[1] and lines[1].count("#") == 2
    assert lines[2].strip().startswith("-> move the antenna out of the rack")
    assert "poor" in lines[3] and "good" in lines[4] and len(lines) == 5     # advice not repeated
    assert sleeps == [0.75, 0.75, 0.75]                                      # one reading a second


def test_no_reading_is_a_line_and_the_exit_status():
    code, lines, _ = run(readings(NoReading("the modem does not answer: AT+CSQ: no final result"), GOOD), 2)
    assert "the modem does not answer" in lines[0] and "good" in lines[1] and code == 0
    code, lines, _ = run(readings(GOOD, NoReading("the agent does not answer")), 2)
    assert code == signal_cli.EXIT_NO_READING


def test_not_registered_is_said_and_nothing_measured_is_no_signal():
    code, lines, _ = run(readings({"registration": "searching", "signal": {}}), 1)
    assert "no signal" in lines[0] and "nothing measured  (searching)" in lines[0] and code == 1
    assert "antenna" in lines[1]


def test_odd_readings_do_not_break_the_line():
    _, lines, _ = run(readings({"signal": "x"}, {"registration": 5, "signal": {"rsrp_dbm": "?", "band": None}}), 2)
    assert all("no signal" in ln for ln in lines if not ln.strip().startswith("->"))


def test_an_agent_without_signal_now_gives_its_last_poll(tmp_path):
    """An agent older than `relais signal` answers "signal" (the console's, from the last poll) and not
    "signal_now": the reader falls back, through the real console server."""
    import shutil
    import tempfile
    import threading
    from pathlib import Path

    from agent.console import commands
    from agent.console.server import ConsoleServer
    from agent.core import Core
    short = Path(tempfile.mkdtemp(prefix="rd", dir="/tmp"))     # a Unix socket path is at most 107 bytes
    core = Core()
    core.state["modem"] = {"connected": True, "registration": "home",
                           "signal": {"rsrp_dbm": -112, "rsrq_db": -15, "sinr_db": 2, "band": "B20"}}
    commands.register(core)
    server = ConsoleServer(core, short / "console.sock")
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,), kwargs={"tick_s": 0.05}, daemon=True)
    thread.start()
    server.start()
    try:
        read = signal_cli.agent_reader(str(server.path))
        code, lines, _ = run(read, 2)
    finally:
        server.stop()
        stop.set()
        thread.join(timeout=5)
        shutil.rmtree(short, ignore_errors=True)
    assert code == 0 and "poor" in lines[0] and "RSRP -112 dBm, RSRQ -15 dB, SINR 2 dB, band B20" in lines[0]
    assert "poor" in lines[2]
