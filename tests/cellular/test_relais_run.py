"""The issue's "done when", with the real programs: `relais sim --vendor quectel-rm500q`, `relais run` and
`relais sim-ctl PATH deny 1`; the agent's status file must show SIM slot 2 registered and a sim_switch event."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, details: Callable[[], str] = str) -> Any:
    """predicate()'s first true value within timeout (polled every 50 ms), else AssertionError naming `what`.
    Real time: the programs under test run in their own processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}{details()}")

RELAIS = [sys.executable, "-m", "agent.cli"]

CONFIG = """
[device]
id = "cell-test"
[modem]
port = "{link}"
[board]
backend = "simulated"
[storage]
dir = "{storage}"
[mqtt]
host = "127.0.0.1"
port = 1                # nothing listens: the reporter just retries
[cellular.rules.registration_denied]
duration_s = 2
"""


def status(storage: Path) -> dict:
    try:
        return json.loads((storage / "status.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}


def wait(predicate, timeout: float, what: str, logs) -> dict:
    return wait_for(predicate, timeout, what, lambda: "\n" + "\n".join(p.read_text()[-3000:] for p in logs))


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.slow
def test_deny_on_slot_1_gives_a_sim_switch_and_slot_2_registered(tmp_path):
    link, storage = tmp_path / "modem", tmp_path / "var"
    config = tmp_path / "relais.toml"
    config.write_text(CONFIG.format(link=link, storage=storage))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim_log, agent_log = tmp_path / "sim.log", tmp_path / "agent.log"
    procs = []
    try:
        with open(sim_log, "w") as out:
            procs.append(subprocess.Popen(RELAIS + ["sim", "--vendor", "quectel-rm500q", "--link", str(link),
                                                    "--speed", "0.2"], cwd=ROOT, env=env, stdout=out, stderr=out))
        wait(lambda: os.path.exists(str(link) + ".ctl"), 20, "the simulator's control socket", [sim_log])
        with open(agent_log, "w") as out:
            procs.append(subprocess.Popen(RELAIS + ["-v", "run", "--config", str(config)], cwd=ROOT, env=env,
                                          stdout=out, stderr=out))
        logs = [sim_log, agent_log]
        wait(lambda: status(storage).get("state", {}).get("modem", {}).get("registration") == "home", 60,
             "registered on slot 1", logs)
        assert status(storage)["state"]["modem"]["sim_slot"] == 1
        ctl = subprocess.run(RELAIS + ["sim-ctl", str(link), "deny", "1"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=30)
        assert ctl.returncode == 0 and ctl.stdout.startswith("ok:"), ctl

        def switched():
            s = status(storage)
            modem = s.get("state", {}).get("modem", {})
            events = [e for e in s.get("recent_events", []) if e["kind"] == "sim_switch"]
            return (modem.get("sim_slot") == 2 and modem.get("registration") in ("home", "roaming") and events
                    and s)
        s = wait(switched, 60, "sim_slot 2 registered and a sim_switch event", logs)
        event = next(e for e in s["recent_events"] if e["kind"] == "sim_switch")
        assert event["data"]["from_slot"] == 1 and event["data"]["to_slot"] == 2
        assert event["data"]["rule"] == "registration_denied"
        assert s["state"]["cellular"]["active_slot"] == 2
        shown = subprocess.run(RELAIS + ["status", "--storage", str(storage)], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=30)
        assert "SIM         : slot 2" in shown.stdout and "sim_switch" in shown.stdout
    finally:
        for proc in reversed(procs):
            stop(proc)
    assert "Traceback" not in agent_log.read_text()
