"""The issue's "done when", with the real programs: `relais run` (the simulated modem and board, Mosquitto, Debian's
NUT serving the dummy UPS). A power cut then a low battery: the agent says so, publishes its last state, and stops
by itself, cleanly (exit 0), with the ledger and the outbox on disk."""
from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from agent.ledger.records import STOPPED_ON_BATTERY_LOW
from agent.mqtt.config_update import dump_toml
from modem.simulator import Simulator
from tests.mqtt.broker import REPO
from tests.mqtt.conftest import FAST, broker  # noqa: F401  (the fixture)
from tests.mqtt.fleet import Fleet
from tests.power.nut import DummyUps, require_nut

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]


def test_low_battery_stops_relais_run_cleanly_with_nothing_lost(broker, tmp_path):  # noqa: F811
    require_nut()
    link, store = str(tmp_path / "ttyUSB2"), tmp_path / "store"
    with DummyUps(tmp_path / "nut") as ups, Simulator(vendor="quectel-rm500q", link=link, speed=0), \
            Fleet(broker) as fleet:
        config = tmp_path / "relais.toml"
        config.write_text(dump_toml({
            "device": {"id": "site-ups"}, "modem": {"port": link}, "board": {"backend": "simulated", "led": "none"},
            "mqtt": {"host": broker.host, "port": broker.port, "payload": "json", **FAST},
            "storage": {"dir": str(store)},
            "power": {"ups": ups.address, "poll_s": 1, "confirm_s": 1, "stop_delay_s": 2}}))
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            fleet.wait_for(lambda m: m.topic == "relais/v1/site-ups/state/power"
                           and m.doc()["state"]["power"]["mains"] == "on_line", 30, "on line")
            ups.set("OB", charge=55, runtime=700)
            lost = fleet.wait_event("site-ups", "power_lost", timeout=20)
            ups.set("OB LB", charge=6, runtime=90)
            low = fleet.wait_event("site-ups", "battery_low", timeout=20)
            last = fleet.wait_for(lambda m: m.topic == "relais/v1/site-ups/state/power"
                                  and m.doc()["state"]["power"].get("stopping") is True, 20, "the last state")
            code = proc.wait(timeout=30)          # by itself: nobody sends it a signal
        finally:
            if proc.poll() is None:
                proc.kill()
            _, err = proc.communicate(timeout=10)
        fleet.wait_for(lambda m: m.topic == "relais/v1/site-ups/status" and m.payload == b"offline", 20,
                       "offline")
        check_the_disk_after_the_stop(store)
        # The service manager starts it again while the UPS is still on low battery: it stops again, quietly.
        again = subprocess.run([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        again_text = again.stderr.decode(errors="replace")
        assert again.returncode == 0 and "still on low battery" in again_text, again_text[-3000:]
        assert [m for m in fleet.events("site-ups") if m["kind"] in ("power_lost", "battery_low")] == [lost, low]
        # The power is back: the next start runs on, and the marker is gone.
        ups.set("OL CHRG", charge=9)
        ups.wait_for("OL CHRG")
        third = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(config)], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            fleet.wait_for(lambda m: m.topic == "relais/v1/site-ups/state/power"
                           and m.doc()["state"]["power"]["mains"] == "on_line"
                           and m.doc()["state"]["power"].get("charge_pct") == 9, 30, "on line again")
            assert third.poll() is None and not (store / "power-stopped").exists()
        finally:
            third.terminate()
            third_err = third.communicate(timeout=20)[1].decode(errors="replace")
        assert third.returncode == 0 and "Traceback" not in third_err, third_err[-3000:]
    with sqlite3.connect(store / "ledger.db") as db:
        cuts = db.execute("SELECT end, evidence FROM incidents WHERE kind='power'").fetchall()
        gaps = [json.loads(e) for (e,) in db.execute("SELECT evidence FROM incidents WHERE kind='not_observed' "
                                                      "ORDER BY id")]
    assert len(cuts) == 1 and cuts[0][0] is not None and "closed at restart" in json.loads(cuts[0][1])["closed"]
    assert "power_cut_at_stop" in gaps[0]
    text = err.decode(errors="replace")
    assert code == 0, text[-3000:]
    assert "Traceback" not in text and "lost at this exit" not in text, text[-3000:]
    assert "battery low: relais stops cleanly" in text
    assert lost["data"]["charge_pct"] == 55 and low["data"]["stopping"] is True
    assert last.doc()["state"]["power"]["battery_low"] is True


def check_the_disk_after_the_stop(store) -> None:
    with sqlite3.connect(store / "ledger.db") as db:
        (clean,), = db.execute("SELECT clean FROM heartbeat")
        rows = db.execute("SELECT link, kind, end, evidence FROM incidents WHERE kind='power'").fetchall()
        with sqlite3.connect(store / "mqtt.db") as outbox:
            waiting = [json.loads(p)["kind"] for (p,) in
                       outbox.execute("SELECT payload FROM outbox WHERE kind='event' ORDER BY seq")]
    assert clean == 1                       # the ledger's last word: a clean stop
    (site, kind, end, evidence), = rows     # the cut, still open: the power was not back when relais stopped
    assert (site, kind, end) == ("site", "power", None)
    evidence = json.loads(evidence)
    assert evidence["charge_pct_at_battery_low"] == 6 and evidence["agent_stopped"] == STOPPED_ON_BATTERY_LOW
    assert "power_lost" not in waiting and "battery_low" not in waiting     # delivered, not only queued
