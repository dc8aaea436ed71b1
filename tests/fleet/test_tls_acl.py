"""`fleet serve` over TLS with its own client certificate, behind the broker ACL shipped in packaging/: a device
that publishes under another device's id is refused by the broker, and one that claims another id inside its own
subtree is ignored by the fleet."""
from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
import pytest

from fleet.config import from_dict
from fleet.db import FleetDb
from fleet.ingest import Ingest
from tests.fleet.loadgen import encode, envelope
from tests.fleet.postgres import wait_for
from tests.mqtt.broker import SHIPPED_ACL, Broker, Tls, make_pki, require_mosquitto

pytestmark = pytest.mark.mosquitto


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), ["dev-a", "fleet"])


def device(broker: Broker, pki) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="dev-a", protocol=mqtt.MQTTv5)
    ctx = ssl.create_default_context(cafile=str(pki["ca"]))
    ctx.load_cert_chain(str(pki["dev-a_cert"]), str(pki["dev-a_key"]))
    c.tls_set_context(ctx)
    c.connect(broker.host, broker.port)
    c.loop_start()
    return c


def test_tls_client_certificate_and_the_shipped_acl(tmp_path, pki):
    require_mosquitto()
    broker = Broker(tmp_path / "broker", tls=Tls(pki["ca"], pki["server_cert"], pki["server_key"]),
                    acl=SHIPPED_ACL).start()
    database = str(tmp_path / "fleet.db")
    config = from_dict({"database": database, "mqtt": {
        "host": broker.host, "port": broker.port, "tls": True, "ca": str(pki["ca"]),
        "cert": str(pki["fleet_cert"]), "key": str(pki["fleet_key"]), "client_id": "fleet"}})
    ingest = Ingest(config).start()
    try:
        assert ingest.subscribed.wait(10), broker.tail()
        dev = device(broker, pki)
        own = dev.publish("relais/v1/dev-a/event", encode(envelope("dev-a", 1, 1.0, kind="failover"), "cbor"), 1)
        foreign = dev.publish("relais/v1/dev-b/event", encode(envelope("dev-b", 1, 1.0, kind="failover"), "cbor"), 1)
        claimed = dev.publish("relais/v1/dev-a/event", encode(envelope("dev-b", 2, 1.0, kind="failover"), "cbor"), 1)
        last = dev.publish("relais/v1/dev-a/event", encode(envelope("dev-a", 3, 1.0, kind="failback"), "cbor"), 1)
        for info in (own, foreign, claimed, last):
            info.wait_for_publish(10)
        db = FleetDb(database)
        wait_for(lambda: db.count("events") == 2 and ingest.counters["rejected_impostor"] == 1, 10,
                 "dev-a's two events and the impostor counted")
        assert db.query("SELECT device_id, seq FROM events ORDER BY seq") == [("dev-a", 1), ("dev-a", 3)]
        assert ingest.counters["received"] == 3     # the foreign one never reached the fleet: the ACL refused it
        assert "denied PUBLISH from dev-a" in broker.tail(200) or "Denied PUBLISH from dev-a" in broker.tail(200)
        db.close()
        dev.disconnect()
        dev.loop_stop()
    finally:
        ingest.stop()
        broker.stop()
