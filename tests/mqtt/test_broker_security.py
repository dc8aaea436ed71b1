"""TLS with per-device certificates and the shipped ACL (packaging/mosquitto/relais.acl); username/password."""
from __future__ import annotations

import logging
import ssl
import subprocess
import threading

import paho.mqtt.client as mqtt
import pytest

from tests.mqtt.broker import SHIPPED_ACL, Broker, Tls, require_mosquitto
from tests.mqtt.fleet import Fleet
from tests.mqtt.harness import MODEM_STATE, Agent, eventually

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def tls_broker(tmp_path, pki):
    require_mosquitto()
    b = Broker(tmp_path / "broker", tls=Tls(pki["ca"], pki["server_cert"], pki["server_key"]),
               acl=SHIPPED_ACL).start()
    yield b
    b.stop()


def fleet_tls(broker, pki, **kw):
    return Fleet(broker, ca=str(pki["ca"]), cert=(str(pki["fleet_cert"]), str(pki["fleet_key"])), **kw)


class Rogue:
    """A client holding dev-a's certificate that tries to step outside dev-a's subtree."""

    def __init__(self, broker, pki):
        self.acks: dict[int, object] = {}
        self.done = threading.Condition()
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-a-rogue", protocol=mqtt.MQTTv5)
        ctx = ssl.create_default_context(cafile=str(pki["ca"]))
        ctx.load_cert_chain(str(pki["dev-a_cert"]), str(pki["dev-a_key"]))
        self.c.tls_set_context(ctx)
        self.c.on_publish = lambda c, u, mid, rc, p: self._ack(mid, rc)
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self._ack(mid, rcs[0])
        self.received: list[bytes] = []
        self.c.on_message = lambda c, u, msg: self._got(msg.payload)
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()

    def _ack(self, mid, rc):
        with self.done:
            self.acks[mid] = rc
            self.done.notify_all()

    def _got(self, payload):
        with self.done:
            self.received.append(bytes(payload))
            self.done.notify_all()

    def wait(self, mid):
        with self.done:
            assert self.done.wait_for(lambda: mid in self.acks, 10)
            return self.acks[mid]

    def close(self):
        self.c.disconnect()
        self.c.loop_stop()


def test_tls_client_certificate_state_and_commands(tls_broker, pki, config_for):
    cfg = config_for(tls_broker, "dev-a", tls=True, ca=pki["ca"], cert=pki["dev-a_cert"], key=pki["dev-a_key"])
    with fleet_tls(tls_broker, pki) as fleet, Agent(cfg, state={"modem": MODEM_STATE}) as agent:
        assert agent.reporter.link.connected.wait(15), agent.reporter.link.stats
        fleet.wait_for(lambda m: m.topic == "relais/v1/dev-a/status" and m.payload == b"online", 10, "birth")
        state = fleet.wait_for(lambda m: m.topic == "relais/v1/dev-a/state/modem", 10, "state").doc()
        assert state["state"]["modem"]["model"] == "RM500Q-GL"
        assert fleet.command("dev-a", "get_status", fmt="cbor")["ok"]
        agent.emit("test_event", over="tls")
        assert fleet.wait_event("dev-a", "test_event")["data"] == {"over": "tls"}


def test_acl_keeps_a_device_inside_its_own_subtree(tls_broker, pki):
    with fleet_tls(tls_broker, pki) as fleet:
        rogue = Rogue(tls_broker, pki)
        try:
            foreign = rogue.c.publish("relais/v1/dev-b/event", b"forged event", qos=1)
            assert rogue.wait(foreign.mid).value == 0x87          # MQTT 5 PUBACK: not authorized
            own = rogue.c.publish("relais/v1/dev-a/event", b"own event", qos=1)
            assert rogue.wait(own.mid).value == 0                  # its own subtree works (the control)
            fleet.wait_for(lambda m: m.payload == b"own event", 10, "own event")
            assert not [m for m in fleet.messages if m.topic.startswith("relais/v1/dev-b/")]
            # Mosquitto grants the subscriptions but delivers only what the ACL lets it read.
            for topic in ("relais/v1/dev-b/cmd/+", "relais/v1/+/cmd/+"):
                rogue.wait(rogue.c.subscribe(topic, qos=1)[1])
            fleet.client.publish("relais/v1/dev-b/cmd/get_status", b'{"id":"for-b"}', qos=1)
            fleet.client.publish("relais/v1/dev-a/cmd/get_status", b'{"id":"for-a"}', qos=1)
            with rogue.done:
                assert rogue.done.wait_for(lambda: b'{"id":"for-a"}' in rogue.received, 10)
            assert b'{"id":"for-b"}' not in rogue.received
        finally:
            rogue.close()


def test_without_a_client_certificate_the_broker_refuses(tls_broker, pki, config_for):
    cfg = config_for(tls_broker, "dev-a", tls=True, ca=pki["ca"], reconnect_min_s=0.5, reconnect_max_s=0.5)
    with Agent(cfg) as agent:
        eventually(lambda: agent.reporter.link.stats.connect_failures >= 2, what="refused attempts")
        assert not agent.reporter.link.connected.is_set() and agent.reporter.link.stats.connects == 0


def test_username_password_and_no_password_in_the_logs(tmp_path, config_for, caplog):
    require_mosquitto()
    pwfile = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "dev-c", "right-Pa55word"], check=True,
                   capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", str(pwfile), "fleet", "fleet-pass"], check=True, capture_output=True)
    broker = Broker(tmp_path / "broker", acl=SHIPPED_ACL, password_file=pwfile).start()
    caplog.set_level(logging.DEBUG)
    try:
        with Fleet(broker, username="fleet", password="fleet-pass") as fleet:
            good = config_for(broker, "dev-c", username="dev-c", password="right-Pa55word")
            with Agent(good) as agent:
                assert agent.reporter.link.connected.wait(10)
                assert fleet.command("dev-c", "get_status")["ok"]
            bad = config_for(broker, "dev-c", username="dev-c", password="wrong-Pa55word",
                             reconnect_min_s=0.3, reconnect_max_s=0.3)
            with Agent(bad) as agent:
                eventually(lambda: agent.reporter.link.stats.connect_failures >= 2, what="refused attempts")
                assert not agent.reporter.link.connected.is_set()
                assert "CONNACK" in agent.reporter.link.stats.last_error
                assert "Not authorized" in agent.reporter.link.stats.last_error or \
                    "Bad user name or password" in agent.reporter.link.stats.last_error
    finally:
        broker.stop()
    assert "Pa55word" not in caplog.text
    assert "Pa55word" not in repr(bad) and "Pa55word" not in str(bad.mqtt)
