"""End to end: the fleet asks a running agent (`relais run` on the simulator) for its continuity sheet over a real
Mosquitto, and gets it with the modem the agent drives."""
from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from agent.mqtt.config_update import dump_toml
from modem.simulator import PERSONALITIES, Simulator
from tests.mqtt.broker import REPO
from tests.mqtt.conftest import FAST, broker  # noqa: F401  (the fixture: a Mosquitto per test on a free port)
from tests.mqtt.fleet import Fleet
from tests.plan.sites import SHOP

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_the_fleet_gets_the_sheet(broker, tmp_path):  # noqa: F811
    link = str(tmp_path / "ttyUSB2")
    config = tmp_path / "relais.toml"
    config.write_text(dump_toml({
        **SHOP, "device": {**SHOP["device"], "id": "site-9"}, "modem": {"port": link},
        "board": {"backend": "simulated", "led": "none"},
        "mqtt": {"host": broker.host, "port": broker.port, "payload": "json", **FAST},
        "storage": {"dir": str(tmp_path / "store")}}))
    personality = PERSONALITIES["quectel-rm500q"]
    with Simulator(vendor="quectel-rm500q", link=link, speed=0), Fleet(broker) as fleet:
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            fleet.wait_for(lambda m: m.topic == "relais/v1/site-9/state/modem"
                           and m.doc()["state"]["modem"].get("imei") == personality.imei, 30, "the modem's identity")
            sheet = fleet.command("site-9", "plan", {}, timeout=20)
            assert sheet["ok"], sheet
            assert sheet["result"]["equipment"]["imei"] == personality.imei
            assert [c["name"] for c in sheet["result"]["contacts"]] == ["Julien Martin", "InfoLyon"]
            html = fleet.command("site-9", "plan", {"format": "html", "lang": "en"}, timeout=20)
            assert html["ok"] and "Internet continuity plan" in html["result"]["content"]
            assert html["result"]["bytes"] < 64 * 1024
            bad = fleet.command("site-9", "plan", {"lang": "de"}, timeout=20)
            assert bad == {**bad, "ok": False, "error": "lang: expected fr or en, got 'de'"}
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=10)
    assert b"Traceback" not in err, err.decode(errors="replace")[-2000:]
