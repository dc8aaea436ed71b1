"""Against a real Mosquitto: birth and will, retained state parts (also after a broker restart), command round trips,
error replies, store-and-forward across a broker restart, seq across agent restarts."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import cbor2
import pytest

from common.wire.signing import sign
from tests.mqtt.conftest import write_config
from tests.mqtt.fleet import Fleet
from tests.mqtt.harness import MODEM_STATE, Agent

pytestmark = pytest.mark.mosquitto
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def agent_process(config_path, *extra) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.mqtt.agent_proc", "--config", str(config_path), *extra],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_birth_retained_state_with_modem_data_and_last_will(broker, tmp_path):
    path = write_config(tmp_path, broker, payload="cbor")
    with Fleet(broker) as fleet:
        proc = agent_process(path)
        try:
            fleet.wait_for(lambda m: m.topic == "relais/v1/dev-1/status" and m.payload == b"online", 20, "birth")
            state = fleet.wait_for(lambda m: m.topic == "relais/v1/dev-1/state/modem", 20, "state")
            assert state.payload[:1] != b"{"                       # CBOR by default
            doc = cbor2.loads(state.payload)
            assert doc["device_id"] == "dev-1" and doc["time_source"] == "ntp"
            assert isinstance(doc["seq"], int) and doc["ts"] > 1.6e9
            modem = doc["state"]["modem"]
            assert modem["model"] == "RM500Q-GL" and modem["iccid"] == "8933150319000000001"
            assert modem["operator_name"] == "Orange F" and modem["registration"] == "home"
            assert modem["signal"]["rsrp_dbm"] == -95
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        fleet.wait_for(lambda m: m.topic == "relais/v1/dev-1/status" and m.payload == b"offline", 20, "will")
    # A newcomer (a dashboard opened later) gets the retained status and the retained state.
    with Fleet(broker, client_id="late") as late:
        status = late.wait_for(lambda m: m.topic == "relais/v1/dev-1/status", 10, "retained status")
        assert status.retain and status.payload == b"offline"
        state = late.wait_for(lambda m: m.topic == "relais/v1/dev-1/state/modem", 10, "retained state")
        assert state.retain and cbor2.loads(state.payload)["state"]["modem"]["imei"] == "867698040000001"


def test_command_round_trips_in_json_and_cbor(broker, config_for):
    with Fleet(broker) as fleet, Agent(config_for(broker), state={"modem": MODEM_STATE}) as agent:
        assert agent.reporter.link.connected.wait(10)
        r = fleet.command("dev-1", "get_status", cid="j1")
        assert r["id"] == "j1" and r["ok"] is True and r["device_id"] == "dev-1" and "seq" in r and "ts" in r
        assert r["result"]["modem"]["operator_name"] == "Orange F"
        raw = fleet.wait_for(lambda m: m.topic == "relais/v1/dev-1/reply/j1").payload
        assert raw[:1] == b"{"                                         # asked in JSON, answered in JSON
        r = fleet.command("dev-1", "report", {"limit": 5}, cid="c1", fmt="cbor")
        raw = fleet.wait_for(lambda m: m.topic == "relais/v1/dev-1/reply/c1").payload
        assert raw[:1] != b"{" and cbor2.loads(raw) == r                # asked in CBOR, answered in CBOR
        assert r["ok"] and r["result"]["totals"]["count"] == 0


def test_error_replies_and_dropped_commands_are_evented(broker, config_for):
    with Fleet(broker) as fleet, Agent(config_for(broker, max_command_bytes=512)) as agent:
        assert agent.reporter.link.connected.wait(10)
        r = fleet.command("dev-1", "no_such_command", cid="u1")
        assert r["ok"] is False and "unknown command 'no_such_command'" in r["error"]
        r = fleet.command("dev-1", "get_status", raw=json.dumps({"id": "m1", "args": [1]}).encode(), cid="m1")
        assert r["ok"] is False and r["error"].startswith("malformed")
        r = fleet.command("dev-1", "get_status", raw=json.dumps({"id": "o1", "pad": "x" * 600}).encode(), cid="o1")
        assert r["ok"] is False and "oversized" in r["error"] and "512" in r["error"]
        r = fleet.command("dev-1", "Bad-Name", cid="b1")
        assert r["ok"] is False and "bad_name" in r["error"]
        # No id: nothing to reply to, so it is dropped and reported.
        fleet.command("dev-1", "get_status", raw=b"\x00\xffnot json nor cbor", expect_reply=False)
        fleet.command("dev-1", "get_status", raw=json.dumps({"args": {}}).encode(), expect_reply=False)
        undecodable = fleet.wait_event("dev-1", "command_rejected", pred=lambda d: d["data"]["reason"] == "undecodable")
        assert undecodable["data"]["command"] == "get_status" and undecodable["data"]["id"] is None
        fleet.wait_event("dev-1", "command_rejected", pred=lambda d: d["data"]["reason"] == "no_id")
        reasons = sorted(e["data"]["reason"] for e in fleet.events("dev-1", "command_rejected"))
        assert reasons == ["bad_name", "malformed", "no_id", "oversized", "undecodable"]
        # ... and the agent is still fine.
        assert fleet.command("dev-1", "get_status", cid="after")["ok"]
        assert not [m for m in fleet.messages if m.topic.startswith("relais/v1/dev-1/reply/") and
                    m.topic.rsplit("/", 1)[1] not in ("u1", "m1", "o1", "b1", "after")]


def test_signed_commands_forged_replayed_expired_are_refused(broker, config_for):
    key = b"0123456789abcdef0123456789abcdef"
    cfg = config_for(broker, command_key=key.decode(), replay_window_s=60)
    with Fleet(broker) as fleet, Agent(cfg) as agent:
        assert agent.reporter.link.connected.wait(10)
        assert fleet.command("dev-1", "get_status", key=key, nonce="nonce-good-1", cid="s1")["ok"]
        r = fleet.command("dev-1", "get_status", key=key, nonce="nonce-good-1", cid="s2")
        assert not r["ok"] and r["error"].startswith("replayed")      # a new id, a used nonce
        r = fleet.command("dev-1", "get_status", key=key, sig="ab" * 32, cid="s3")
        assert not r["ok"] and r["error"].startswith("forged")
        r = fleet.command("dev-1", "get_status", key=key, ts=int(time.time()) - 3600, cid="s4")
        assert not r["ok"] and r["error"].startswith("expired")
        r = fleet.command("dev-1", "get_status", cid="s5")
        assert not r["ok"] and r["error"].startswith("unsigned")
        # Replay of the exact same message (same id, nonce and signature):
        body = {"id": "s6", "args": {}, "ts": int(time.time()), "nonce": "nonce-good-6"}
        body["sig"] = sign(key, "dev-1", "get_status", "s6", body["ts"], body["nonce"], {})
        assert fleet.command("dev-1", "get_status", raw=json.dumps(body).encode(), cid="s6")["ok"]
        fleet.client.publish("relais/v1/dev-1/cmd/get_status", json.dumps(body).encode(), qos=1)
        fleet.wait_event("dev-1", "command_rejected", pred=lambda d: d["data"]["id"] == "s6")
        reasons = {e["data"]["id"]: e["data"]["reason"] for e in fleet.events("dev-1", "command_rejected")}
        assert reasons == {"s2": "replayed", "s3": "forged", "s4": "expired", "s5": "unsigned", "s6": "replayed"}


def test_events_made_while_the_broker_is_down_arrive_in_order_after_it_returns(tmp_path, config_for):
    from tests.mqtt.broker import Broker, require_mosquitto
    require_mosquitto()
    broker = Broker(tmp_path / "broker", persistence=True).start()
    try:
        # The fleet consumer has a persistent session: the broker keeps its subscription across the restart.
        fleet = Fleet(broker, client_id="fleet-persistent", subscribe="relais/v1/+/event", persistent=True).start()
        with Agent(config_for(broker)) as agent:
            assert agent.reporter.link.connected.wait(10)
            agent.emit("test_event", n=-1)
            fleet.wait_event("dev-1", "test_event")
            broker.stop()
            for n in range(40):
                agent.emit("test_event", n=n)         # accepted: on disk when emit returns
            assert agent.reporter.outbox.count() >= 40
            broker.start()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(fleet.events("dev-1", "test_event")) < 41:
                time.sleep(0.1)
            got = [e["data"]["n"] for e in fleet.events("dev-1", "test_event")]
            seqs = [e["seq"] for e in fleet.events("dev-1", "test_event")]
            assert got == list(range(-1, 40)), got
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
            deadline = time.monotonic() + 10
            while agent.reporter.outbox.count() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert agent.reporter.outbox.count() == 0                 # removed after PUBACK
        fleet.close()
    finally:
        broker.stop()


def test_a_broker_that_lost_its_retained_messages_gets_every_state_part_back(tmp_path, config_for):
    """No persistence: a restarted broker knows nothing. At the reconnect every part is published again, with
    what changed while the broker was away."""
    from tests.mqtt.broker import Broker, require_mosquitto
    require_mosquitto()
    broker = Broker(tmp_path / "broker").start()
    try:
        state = {"modem": MODEM_STATE, "failover": {"state": "normal", "active_uplink": "primary"}}
        with Agent(config_for(broker), state=state) as agent:
            with Fleet(broker, client_id="before", subscribe="relais/v1/dev-1/state/#") as fleet:
                fleet.wait_for(lambda m: m.topic.endswith("/state/failover"), 10, "the failover part")
            broker.stop()
            agent.on_core(lambda now: agent.core.state["modem"].update(sim_slot=2, iccid="8933150319000000002"))
            broker.start()
            with Fleet(broker, client_id="after", subscribe="relais/v1/dev-1/state/#") as fleet:
                modem = fleet.wait_for(lambda m: m.topic.endswith("/state/modem")
                                       and m.doc()["state"]["modem"]["sim_slot"] == 2, 20, "the new modem part")
                failover = fleet.wait_for(lambda m: m.topic.endswith("/state/failover"), 10, "the failover part")
            assert modem.doc()["state"]["modem"]["iccid"] == "8933150319000000002"
            assert failover.doc()["state"]["failover"]["active_uplink"] == "primary"   # unchanged, sent again
    finally:
        broker.stop()


def test_seq_keeps_growing_across_agent_restarts(broker, config_for):
    cfg = config_for(broker)
    with Fleet(broker) as fleet:
        for round_ in range(2):
            with Agent(cfg) as agent:
                assert agent.reporter.link.connected.wait(10)
                for n in range(3):
                    agent.emit("test_event", round=round_, n=n)
                fleet.command("dev-1", "get_status", cid=f"r{round_}")
                deadline = time.monotonic() + 10
                while (len(fleet.events("dev-1", "test_event")) < 3 * (round_ + 1) or agent.reporter.outbox.count()
                       ) and time.monotonic() < deadline:
                    time.sleep(0.05)   # all acknowledged: nothing in flight to be sent again next round
        seqs = [m.doc()["seq"] for m in fleet.messages   # (an empty payload clears a retained topic: no seq)
                if m.payload and m.topic != "relais/v1/dev-1/status" and "/cmd/" not in m.topic]
        events = fleet.events("dev-1", "test_event")
        assert [(e["data"]["round"], e["data"]["n"]) for e in events] == [(r, n) for r in range(2) for n in range(3)]
        first = [e["seq"] for e in events[:3]] + [fleet.reply("dev-1", "r0")["seq"]]
        second = [e["seq"] for e in events[3:]] + [fleet.reply("dev-1", "r1")["seq"]]
        assert min(second) > max(first)
        assert len(set(seqs)) == len(seqs)


def test_set_config_over_mqtt(broker, tmp_path):
    from agent.config import load
    path = write_config(tmp_path, broker)
    with Fleet(broker) as fleet, Agent(load(path)) as agent:
        assert agent.reporter.link.connected.wait(10)
        r = fleet.command("dev-1", "set_config", {"changes": {"mqtt": {"heartbeat_s": 3600}}})
        assert r["ok"] and r["result"]["live"] == ["mqtt.heartbeat_s"], r
        r = fleet.command("dev-1", "set_config", {"changes": {"mqtt": {"keepalive": 1}}})
        assert not r["ok"] and "keepalive" in r["error"] and "file unchanged" in r["error"]
    assert load(path).mqtt.heartbeat_s == 3600


def test_failover_and_failback_move_the_connection_to_the_new_route(broker, config_for):
    with Fleet(broker) as fleet, Agent(config_for(broker)) as agent:
        link = agent.reporter.link
        assert link.connected.wait(10)
        agent.emit("failover", reason="primary_down", to="backup")
        fleet.wait_event("dev-1", "failover")
        deadline = time.monotonic() + 10
        while link.stats.connects < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert link.stats.connects == 2               # a new session, over whatever the route is now
        agent.emit("failback", reason="primary_up")
        closed = fleet.wait_event("dev-1", "outage_closed")
        assert closed["data"]["cause"] == "primary_down" and closed["data"]["uplink"] == "backup"
        unique = {e["seq"]: e["kind"] for e in fleet.events("dev-1")}    # a repeat (in flight) has its seq
        assert [unique[s] for s in sorted(unique)] == ["failover", "failback", "outage_closed"]
        # The old path still worked here, so the broker got a clean DISCONNECT: no "offline" flap.
        assert b"offline" not in [m.payload for m in fleet.on("relais/v1/dev-1/status")]
