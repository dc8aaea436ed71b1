"""fleet.orders: the alert loop's fleet-wide SIM switches go out over one broker connection from a thread of their
own (a real Mosquitto), and a broker away costs the loop nothing and the orders a bounded time and one line."""
from __future__ import annotations

import logging
import time

import pytest

from common.wire import codec
from common.wire.signing import verify
from fleet.config import from_dict
from fleet.mqtt_client import make_client
from fleet.orders import Orders
from tests.fleet.postgres import wait_for
from tests.mqtt.broker import free_port

pytestmark = pytest.mark.mosquitto
SITES = [f"shop-{n:03d}" for n in range(200)]


class Nonces:
    def remember(self, *a):
        return True


def config(tmp_path, port: int):
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    for site in SITES[::2]:                   # half the sites have a command key: their orders are signed
        (keys / f"{site}.key").write_text(f"key-of-{site}\n")
    return from_dict({"database": str(tmp_path / "fleet.db"), "commands": {"keys": str(keys)},
                      "mqtt": {"host": "127.0.0.1", "port": port, "client_id": "fleet-a"}})


def test_two_hundred_switches_go_out_on_one_connection_while_the_loop_goes_on(tmp_path, broker):
    got, ready = [], []
    sub = make_client(config(tmp_path, broker.port).mqtt, "device-side")
    sub.on_connect = lambda c, *a: c.subscribe("relais/v1/+/cmd/+", qos=1)
    sub.on_subscribe = lambda *a: ready.append(1)
    sub.on_message = lambda c, u, msg: got.append((msg.topic, codec.decode_map(msg.payload)[1]))
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    orders = Orders(config(tmp_path, broker.port)).start()
    try:
        wait_for(lambda: ready, 10, "the device side subscribed")
        started = time.monotonic()
        for n, site in enumerate(SITES):
            orders.order(site, "sim_switch", {"slot": 1 + n % 2})
        ordering_s = time.monotonic() - started
        wait_for(lambda: len(got) == len(SITES), 20, "every switch at the devices")
        wait_for(lambda: orders.counters["sent"] + orders.counters["not_sent"] == 200, 10, "every PUBACK counted")
        assert orders.counters == {"ordered": 200, "sent": 200, "not_sent": 0}
        # the loop's part is a queue put: 200 of them take well under what one broker round trip per site took
        assert ordering_s < 0.5, ordering_s
        by_site = {topic.split("/")[2]: doc for topic, doc in got}
        assert sorted(by_site) == SITES and {t.split("/", 3)[3] for t, _ in got} == {"cmd/sim_switch"}
        for n, site in enumerate(SITES):
            doc = by_site[site]
            assert doc["args"] == {"slot": 1 + n % 2}
            if n % 2 == 0:
                verify(f"key-of-{site}".encode(), site, "sim_switch", doc["id"], doc["args"], doc, time.time(), 300,
                       Nonces())
            else:
                assert "sig" not in doc
        connections = [line for line in broker.log.read_text().splitlines()
                       if "New client connected" in line and "fleet-a-orders-" in line]
        assert len(connections) == 1, connections
    finally:
        orders.stop()
        sub.disconnect()
        sub.loop_stop()


def test_a_broker_away_costs_the_orders_a_bounded_time_and_one_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="relais.fleet.orders")
    orders = Orders(config(tmp_path, free_port()), ttl_s=1.0).start()   # nothing listens there
    try:
        started = time.monotonic()
        for site in SITES[:50]:
            orders.order(site, "sim_switch", {"slot": 2})
        assert time.monotonic() - started < 0.5
        assert orders.idle.wait(10)
        assert orders.counters == {"ordered": 50, "sent": 0, "not_sent": 50}
        lines = [r.getMessage() for r in caplog.records if r.name == "relais.fleet.orders"]
        assert len(lines) == 1 and lines[0].startswith("orders: 50 not sent (shop-000, shop-001, shop-002, "
                                                       "shop-003, shop-004 and 45 more): broker 127.0.0.1:")
    finally:
        orders.stop()
