"""End to end: `relais run` (agent/runtime.py: modem service on the simulator, sim board, failover, ledger,
reporter) against a real Mosquitto."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from agent.mqtt.config_update import dump_toml
from modem.simulator import PERSONALITIES, Simulator
from tests.mqtt.broker import REPO
from tests.mqtt.conftest import FAST
from tests.mqtt.fleet import Fleet

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_relais_run_reports_the_modem_answers_commands_and_leaves_a_will(broker, tmp_path):
    link = str(tmp_path / "ttyUSB2")
    config = tmp_path / "relais.toml"
    config.write_text(dump_toml({
        "device": {"id": "site-7"}, "modem": {"port": link}, "board": {"backend": "simulated", "led": "none"},
        "mqtt": {"host": broker.host, "port": broker.port, "payload": "json", **FAST},
        "storage": {"dir": str(tmp_path / "store")}}))
    personality = PERSONALITIES["quectel-rm500q"]
    with Simulator(vendor="quectel-rm500q", link=link, speed=0), Fleet(broker) as fleet:
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            fleet.wait_for(lambda m: m.topic == "relais/v1/site-7/status" and m.payload == b"online", 30, "birth")
            state = fleet.wait_for(lambda m: m.topic == "relais/v1/site-7/state/modem"
                                   and m.doc()["state"]["modem"].get("imei") == personality.imei,
                                   30, "state with the modem's identity").doc()["state"]
            state.update(fleet.wait_for(lambda m: m.topic == "relais/v1/site-7/state/failover", 30,
                                        "the failover part").doc()["state"])
            assert state["modem"]["registration"] == "home" and state["modem"]["iccid"]
            assert state["failover"]["active_uplink"] == "primary"
            status = fleet.command("site-7", "get_status", timeout=20)
            assert status["ok"] and status["result"]["modem"]["imei"] == personality.imei
            report = fleet.command("site-7", "report", {"limit": 5})
            assert report["ok"] and report["result"]["totals"]["count"] == 0
            assert "unknown command" in fleet.command("site-7", "nope")["error"]
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=10)
        fleet.wait_for(lambda m: m.topic == "relais/v1/site-7/status" and m.payload == b"offline", 20, "will")
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
