"""`relais fleet cmd`: a real agent (`relais run` on the simulator) verifies what the fleet signs, with the same
common/wire/signing.py on both sides; `fleet serve` stores the device's reply and its new state."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from agent.mqtt.config_update import dump_toml
from fleet.command import CommandError, build, parse_args
from fleet.db import FleetDb
from modem.simulator import Simulator
from tests.fleet.conftest import write_fleet_toml
from tests.fleet.postgres import wait_for
from tests.mqtt.broker import REPO
from tests.mqtt.conftest import FAST

KEY = "k-3f9a1c77e2d04b6a"


def relais(*args: str, timeout: float = 40) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def test_args_as_json_or_words():
    assert parse_args(['{"mode": "force_backup"}']) == {"mode": "force_backup"}
    assert parse_args(["mode=force_backup", "slot=2", "dry_run=true", "x={\"a\":1}"]) == \
        {"mode": "force_backup", "slot": 2, "dry_run": True, "x": {"a": 1}}
    assert parse_args([]) == {}
    for bad in (["{nope"], ["[1]"], ["mode"], ["=x"]):
        with pytest.raises(CommandError):
            parse_args(bad)


def test_the_body_is_what_the_agent_verifies():
    from common.wire.signing import verify

    class Nonces:
        def remember(self, *a):
            return True
    body = build(KEY.encode(), "dev-1", "failover", {"mode": "auto"}, now=1_800_000_000.7)
    assert body["ts"] == 1_800_000_000 and len(body["nonce"]) == 16
    verify(KEY.encode(), "dev-1", "failover", body["id"], {"mode": "auto"}, body, 1_800_000_010, 300, Nonces())
    assert "sig" not in build(None, "dev-1", "get_status", {}, now=0)
    with pytest.raises(CommandError, match="not a device id"):
        build(None, "dev/1", "get_status", {}, now=0)
    with pytest.raises(CommandError, match="not a command name"):
        build(None, "dev-1", "Get", {}, now=0)


@pytest.mark.mosquitto
@pytest.mark.slow
def test_a_signed_failover_round_trips_from_fleet_cmd(tmp_path, broker):
    link = str(tmp_path / "ttyUSB2")
    agent_config = tmp_path / "relais.toml"
    agent_config.write_text(dump_toml({
        "device": {"id": "site-7"}, "modem": {"port": link}, "board": {"backend": "simulated", "led": "none"},
        "mqtt": {"host": broker.host, "port": broker.port, "payload": "cbor", "command_key": KEY, **FAST},
        "storage": {"dir": str(tmp_path / "store")}}))
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "site-7.key").write_text(KEY + "\n")
    (tmp_path / "wrong.key").write_text("not-the-key\n")
    database = str(tmp_path / "fleet.db")
    fleet_toml = write_fleet_toml(tmp_path / "fleet.toml", database, broker, keys=keys)
    serve = subprocess.Popen([sys.executable, "-m", "agent.cli", "fleet", "serve", "--config", str(fleet_toml)],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with Simulator(vendor="quectel-rm500q", link=link, speed=0):
        agent = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(agent_config)],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            db = FleetDb(database)
            wait_for(lambda: _part(db, "site-7", "failover").get("active_uplink") == "primary", 40,
                     "the agent's failover part in the fleet database")
            r = relais("fleet", "cmd", "site-7", "failover", "mode=force_backup", "--wait", "--config",
                       str(fleet_toml))
            assert r.returncode == 0, r.stderr
            reply = json.loads(r.stdout)
            assert reply["ok"] is True, reply
            wait_for(lambda: db.reply("site-7", reply["id"]) is not None, 20, "the reply in the database")
            assert db.reply("site-7", reply["id"])["ok"] is True
            wait_for(lambda: _part(db, "site-7", "failover").get("mode") == "force_backup", 20,
                     "the new failover state in the database")
            listed = relais("fleet", "ls", "--config", str(fleet_toml), "--json")
            assert [d["site"] for d in json.loads(listed.stdout)] == ["site-7"]

            forged = relais("fleet", "cmd", "site-7", "failover", '{"mode": "auto"}', "--wait", "--key",
                            str(tmp_path / "wrong.key"), "--config", str(fleet_toml))
            assert forged.returncode == 1 and json.loads(forged.stdout)["error"].endswith("bad signature")
            sent = relais("fleet", "cmd", "site-7", "failover", "mode=auto", "--config", str(fleet_toml))
            assert sent.returncode == 0 and sent.stdout.startswith("sent failover to site-7 (id ")
            wait_for(lambda: _part(db, "site-7", "failover").get("mode") == "auto", 20, "back to auto")
            db.close()
        finally:
            agent.send_signal(signal.SIGKILL)
            _, agent_err = agent.communicate(timeout=10)
            serve.terminate()
            _, serve_err = serve.communicate(timeout=15)
    assert "Traceback" not in agent_err and "Traceback" not in serve_err, (agent_err + serve_err)[-3000:]


@pytest.mark.mosquitto
def test_no_reply_is_one_line(tmp_path, broker):
    fleet_toml = write_fleet_toml(tmp_path / "fleet.toml", str(tmp_path / "fleet.db"), broker)
    r = relais("fleet", "cmd", "nobody", "get_status", "--wait", "--timeout", "0.5", "--config", str(fleet_toml))
    assert r.returncode == 2 and r.stderr == "relais fleet cmd: no reply from nobody within 0.5 s (offline? see " \
                                             "`relais fleet ls`)\n"
    r = relais("fleet", "cmd", "x", "get_status", "--key", str(tmp_path / "none.key"), "--config", str(fleet_toml))
    assert r.returncode == 2 and r.stderr.startswith(f"relais fleet cmd: key file {tmp_path}/none.key: ")


def _part(db: FleetDb, device: str, part: str) -> dict:
    try:
        rows = db.query("SELECT body FROM device_state WHERE device_id = ? AND part = ?", (device, part))
    except Exception:   # the file is not there yet: fleet serve creates it at its start
        return {}
    return json.loads(rows[0][0]) if rows else {}
