"""The issue's "done when" for the fleet view, with the real programs: `relais sim --vendor quectel-rm500q`,
`relais run` reporting to a real Mosquitto at default state settings, `relais sim-ctl PATH deny 1`. The broker's
retained state, read by a fresh subscriber as a dashboard opened at that moment would, must show SIM slot 2
registered within 5 s of the registration (the agent's own registration_changed timestamp)."""
from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from agent.mqtt.config_update import dump_toml
from tests.mqtt.broker import REPO
from tests.mqtt.fleet import Fleet, decode

pytestmark = [pytest.mark.mosquitto, pytest.mark.slow]

RELAIS = [sys.executable, "-m", "agent.cli"]
DEVICE = "cell-fleet"
FRESH_WITHIN_S = 5.0


def retained(broker, topic: str, timeout: float = 2.0) -> dict | None:
    """What a subscriber connecting now gets for `topic`: the retained message's document, None if none."""
    got: list[bytes] = []
    done = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"dash-{time.monotonic_ns()}",
                         protocol=mqtt.MQTTv5)
    client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, qos=1)

    def on_message(c, u, msg):
        if msg.retain:
            got.append(bytes(msg.payload))
            done.set()
    client.on_message = on_message
    client.connect(broker.host, broker.port, 30)
    client.loop_start()
    try:
        done.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return decode(got[0]) if got and got[0] else None


def stop(proc: subprocess.Popen) -> bytes:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.communicate(timeout=10)[1] or b""


def test_deny_sim_1_the_retained_state_shows_slot_2_registered_within_5_s(broker, tmp_path):
    link = tmp_path / "modem"
    config = tmp_path / "relais.toml"
    # Default [mqtt] state settings (state_debounce_s, state_max_per_hour): only where the broker is, and a quick
    # reconnect in case the broker is slow to accept the first connection.
    config.write_text(dump_toml({
        "device": {"id": DEVICE}, "modem": {"port": str(link)}, "board": {"backend": "simulated", "led": "none"},
        "mqtt": {"host": broker.host, "port": broker.port, "payload": "json", "reconnect_min_s": 0.2,
                 "reconnect_max_s": 1.0},
        "storage": {"dir": str(tmp_path / "store")},
        "cellular": {"rules": {"registration_denied": {"duration_s": 2}}}}))
    modem_topic = f"relais/v1/{DEVICE}/state/modem"
    sim_log = open(tmp_path / "sim.log", "wb")
    procs: list[subprocess.Popen] = []
    with Fleet(broker) as fleet:
        try:
            procs.append(subprocess.Popen(RELAIS + ["sim", "--vendor", "quectel-rm500q", "--link", str(link),
                                                    "--speed", "0.2"], cwd=REPO, stdout=sim_log,
                                          stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 20
            while not Path(str(link) + ".ctl").exists():
                assert time.monotonic() < deadline and procs[0].poll() is None, (tmp_path / "sim.log").read_text()
                time.sleep(0.1)
            procs.append(subprocess.Popen(RELAIS + ["run", "--config", str(config)], cwd=REPO,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            fleet.wait_for(lambda m: m.topic == modem_topic and m.payload
                           and m.doc()["state"]["modem"].get("registration") == "home"
                           and m.doc()["state"]["modem"].get("sim_slot") == 1, 60, "slot 1 registered")

            denied_at = time.time()
            ctl = subprocess.run(RELAIS + ["sim-ctl", str(link), "deny", "1"], cwd=REPO, capture_output=True,
                                 text=True, timeout=30)
            assert ctl.returncode == 0 and ctl.stdout.startswith("ok:"), ctl

            # A dashboard opened now, and now, and now ...: the first one that sees slot 2 registered.
            deadline = time.monotonic() + 90
            while True:
                doc = retained(broker, modem_topic)
                modem = (doc or {}).get("state", {}).get("modem", {})
                if modem.get("sim_slot") == 2 and modem.get("registration") in ("home", "roaming"):
                    seen_at = time.time()
                    break
                assert time.monotonic() < deadline, f"retained modem part never showed slot 2 registered: {modem}"
                time.sleep(0.2)

            def registered_on_2(m) -> bool:
                if m.topic != f"relais/v1/{DEVICE}/event":
                    return False
                e = m.doc()
                return (e["kind"] == "registration_changed" and e["ts"] > denied_at
                        and e["data"].get("registration") in ("home", "roaming"))
            event = fleet.wait_for(registered_on_2, 30, "registration_changed to registered after the deny").doc()
            late = seen_at - event["ts"]
            print(f"\nretained modem part showed slot 2 registered {late:.2f} s after the registration")
            assert late <= FRESH_WITHIN_S, f"{late:.2f} s: the fleet view was stale"
            assert doc["ts"] >= event["ts"] - 0.5          # the part published is the one after the registration
            deadline = time.monotonic() + 2 * FRESH_WITHIN_S   # the switch is over: the cellular part follows
            while ((retained(broker, f"relais/v1/{DEVICE}/state/cellular") or {}).get("state", {})
                   .get("cellular", {}).get("active_slot") != 2):
                assert time.monotonic() < deadline, "the retained cellular part never showed active_slot 2"
                time.sleep(0.2)
            assert fleet.events(DEVICE, "sim_switch")[-1]["data"]["to_slot"] == 2
        finally:
            errs = [stop(p) for p in reversed(procs)]
            sim_log.close()
    assert not any(b"Traceback" in e for e in errs), errs
