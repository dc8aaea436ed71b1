"""`relais modem probe` right after a modem reboot waits for the modem to settle, and says who holds the port
when another process has it open (issue 12, defect 8). A real pty, the real CLI process, the simulator at real
modem speed (its boot URCs arrive while the first commands are in flight, as on a real modem)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from modem.simulator import PERSONALITIES, Simulator

ROOT = Path(__file__).resolve().parents[1]


def probe(link: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", "modem", "probe", "--port", link, *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def wait_for(path: str, timeout: float = 10.0) -> None:
    """The link comes back when the rebooted modem's port does (a poll with a deadline, not a sleep to prove)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} did not come back"
        time.sleep(0.02)


def test_probe_right_after_a_reboot_waits_for_the_modem(tmp_path):
    link = str(tmp_path / "ttyUSB2")
    with Simulator(vendor="quectel-ec25", link=link, speed=1.0) as sim:
        for _ in range(3):                       # the defect happened 3 times out of 3
            sim.fault("reboot", "1")
            wait_for(link)
            r = probe(link, "--json")
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["imei"] == PERSONALITIES["quectel-ec25"].imei
            assert "Traceback" not in r.stderr


def test_probe_says_which_process_holds_the_port(tmp_path):
    link = str(tmp_path / "ttyUSB2")
    with Simulator(vendor="quectel-ec25", link=link, speed=0):
        holder = subprocess.Popen([sys.executable, "-c", "import os, sys; os.open(sys.argv[1], os.O_RDWR | "
                                   "os.O_NOCTTY); print('open', flush=True); sys.stdin.read()", link],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline() == "open\n"
            started = time.monotonic()
            r = probe(link)
            took = time.monotonic() - started
        finally:
            holder.stdin.close()
            holder.wait(timeout=10)
        assert r.returncode == 1
        assert f"port in use by PID {holder.pid} (" in r.stderr, r.stderr
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
        assert took < 5, "said at once, not after a command timed out"
        r = probe(link, "--json")                # the holder gone, and the simulator's own end is no holder
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["imei"] == PERSONALITIES["quectel-ec25"].imei
