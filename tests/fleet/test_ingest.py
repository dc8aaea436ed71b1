"""`fleet serve`'s ingest against a real Mosquitto and each database: hundreds of devices from the load
generator, duplicates, bad messages, and restarts of the broker, the database and the fleet server itself in the
middle of the stream. What the broker acknowledged to the devices must end up in the database exactly once."""
from __future__ import annotations

import logging
import random
import threading
import time

import pytest

from fleet.db import FleetDb
from fleet.ingest import Ingest
from tests.fleet.conftest import fleet_config
from tests.fleet.loadgen import PARTS, Outgoing, Publisher, birth, encode, envelope, stream
from tests.fleet.postgres import wait_for

pytestmark = pytest.mark.mosquitto


def rows(db: FleetDb) -> int:
    return db.count("events") + db.count("telemetry")


def expect_everything(database: str, devices: int, keys: set, timeout: float = 60.0) -> FleetDb:
    db = FleetDb(database).connect()
    wait_for(lambda: rows(db) >= len(keys) and db.count("device_state") >= devices * len(PARTS), timeout,
             f"{len(keys)} rows")
    stored = {(d, s) for d, s in db.query("SELECT device_id, seq FROM events UNION ALL "
                                          "SELECT device_id, seq FROM telemetry")}
    assert len(stored) == rows(db) and stored == keys   # all of them, once each
    assert db.count("devices") == devices
    return db


def test_hundreds_of_devices_each_message_once(database, broker, caplog):
    caplog.set_level(logging.WARNING, logger="relais.fleet")
    devices = 300
    messages = [m for i in range(devices) for m in birth(i, fmt="json" if i % 3 == 0 else "cbor")]
    messages += list(stream(devices, 12))
    keys = {m.key for m in messages if m.key}
    copies = random.Random(1).sample([m for m in messages if m.key], 500)    # resent after a lost PUBACK
    bad = [Outgoing("relais/v1/site-00001/event", encode(envelope("site-00002", 1, 1.0, kind="x"), "json"), None),
           Outgoing("relais/v1/site-00001/event", b"\x00not a map", None),
           Outgoing("relais/v1/site-00001/event", b"\x00not a map either", None),
           Outgoing("relais/v1/site-00003/telemetry", b"{" + b" " * 70_000 + b"}", None)]
    ingest = Ingest(fleet_config(database, broker)).start()
    try:
        assert ingest.subscribed.wait(10)
        pub = Publisher(broker.host, broker.port)
        pub.publish_all(messages + copies + bad)
        db = expect_everything(database, devices, keys)
        wait_for(lambda: ingest.counters["received"] >= len(messages) + len(copies) + len(bad), 10, "the rest")
        assert ingest.counters["duplicates"] == len(copies)
        assert (ingest.counters["rejected_impostor"], ingest.counters["rejected_undecodable"],
                ingest.counters["rejected_oversized"]) == (1, 2, 1)
        lines = [r.getMessage() for r in caplog.records]
        assert sum("undecodable" in line for line in lines) == 1       # once per device and reason
        assert any(line.startswith("site-00001: ignored impostor") for line in lines)
        on_backup = db.query("SELECT COUNT(*) FROM device_state WHERE part = 'failover' AND body LIKE ?",
                             ('%"active_uplink":"backup"%',))[0][0]
        assert on_backup == devices // 5
        assert db.query("SELECT COUNT(*) FROM devices WHERE online = 1")[0][0] == devices
        db.close()
        pub.close()
    finally:
        ingest.stop()


def _publish_in_background(broker, messages) -> tuple[threading.Thread, list]:
    errors: list = []

    def run():
        try:
            pub = Publisher(broker.host, broker.port, client_id="loadgen-bg")
            pub.publish_all(messages, timeout=120)
            pub.close()
        except Exception as e:   # reported by the test, not lost in the thread
            errors.append(e)
    t = threading.Thread(target=run)
    t.start()
    return t, errors


def test_a_broker_restart_mid_stream_loses_nothing(tmp_path, broker):
    """One instance (group ""): a plain subscription, which Mosquitto keeps across its restart with the session,
    so the devices can go on publishing while `fleet serve` is still reconnecting."""
    database = str(tmp_path / "fleet.db")
    devices = 200
    messages = [m for i in range(devices) for m in birth(i)] + list(stream(devices, 30))
    keys = {m.key for m in messages if m.key}
    ingest = Ingest(fleet_config(database, broker, batch_max=100, group="")).start()
    try:
        assert ingest.subscribed.wait(10)
        publisher, errors = _publish_in_background(broker, messages)
        wait_for(lambda: ingest.counters["received"] > 1000, 30, "the stream to start")
        broker.restart()          # SIGTERM: Mosquitto saves sessions and queued messages (persistence true)
        publisher.join(150)
        assert not errors, errors
        expect_everything(database, devices, keys).close()
        assert ingest.counters["received"] < 2 * len(messages)
    finally:
        ingest.stop()


def test_a_broker_restart_keeps_what_it_queued_for_a_shared_subscription(tmp_path, broker):
    """Mosquitto 2.0 restores the session and the messages it queued for it, but not its shared subscriptions:
    what it accepted for the fleet before the restart is all stored, and the fleet subscribes again at its
    reconnect, before the next ones. The fleet is away while the first part is published, so all of it waits in
    the broker's queue through the restart."""
    database = str(tmp_path / "fleet.db")
    devices = 200
    before = [m for i in range(devices) for m in birth(i)] + list(stream(devices, 20))
    after = list(stream(devices, 10, first_seq=5000))
    keys = {m.key for m in before + after if m.key}
    config = fleet_config(database, broker, batch_max=50)
    first = Ingest(config).start()
    assert first.subscribed.wait(10)
    first.stop()                       # the session and its subscriptions stay on the broker
    pub = Publisher(broker.host, broker.port)
    pub.publish_all(before)
    pub.close()
    broker.restart()
    ingest = Ingest(config).start()
    try:
        assert ingest.subscribed.wait(20)
        pub = Publisher(broker.host, broker.port)
        pub.publish_all(after)
        pub.close()
        expect_everything(database, devices, keys).close()
    finally:
        ingest.stop()


@pytest.mark.slow
def test_a_database_crash_mid_stream_loses_nothing(postgres, broker):
    import psycopg
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS crash")
        conn.execute("CREATE DATABASE crash")
    database = postgres.url.rsplit("/", 1)[0] + "/crash"
    devices = 200
    messages = [m for i in range(devices) for m in birth(i)] + list(stream(devices, 30))
    keys = {m.key for m in messages if m.key}
    ingest = Ingest(fleet_config(database, broker, batch_max=100)).start()
    try:
        assert ingest.subscribed.wait(10)
        publisher, errors = _publish_in_background(broker, messages)
        wait_for(lambda: ingest.counters["received"] > 1000, 30, "the stream to start")
        postgres.stop("immediate")     # a crash: whatever was not committed is gone
        time.sleep(1.5)                # the database stays away while the stream goes on
        held = ingest.counters["received"]
        postgres.start()
        publisher.join(150)
        assert not errors, errors
        expect_everything(database, devices, keys).close()
        assert held < len(messages)    # the crash did happen mid-stream
    finally:
        ingest.stop()


def test_two_instances_of_a_group_share_the_stream(tmp_path, broker):
    database = str(tmp_path / "fleet.db")
    devices = 100
    messages = [m for i in range(devices) for m in birth(i)] + list(stream(devices, 20))
    keys = {m.key for m in messages if m.key}
    a = Ingest(fleet_config(database, broker)).start()
    b = Ingest(fleet_config(database, broker, client_id="fleet-test-b")).start()
    try:
        assert a.subscribed.wait(10) and b.subscribed.wait(10)
        pub = Publisher(broker.host, broker.port)
        pub.publish_all(messages)
        expect_everything(database, devices, keys).close()
        wait_for(lambda: a.counters["stored"] + b.counters["stored"] == len(keys), 10, "both counters")
        assert a.counters["stored"] > len(keys) // 5 and b.counters["stored"] > len(keys) // 5
        pub.close()
    finally:
        a.stop()
        b.stop()


def test_a_writer_that_dies_stops_serve_for_a_restart(tmp_path, broker, monkeypatch, caplog):
    from fleet import ingest as ingest_module

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr(ingest_module, "parse", broken)
    stop = threading.Event()
    done: list[int] = []
    server = threading.Thread(target=lambda: done.append(ingest_module.serve(fleet_config(str(tmp_path / "f.db"),
                                                                                          broker), stop)))
    server.start()
    pub = Publisher(broker.host, broker.port)
    wait_for(lambda: "Sending SUBACK to fleet-test" in broker.tail(30), 10, "the subscription")
    pub.publish_all(birth(0))
    server.join(20)
    assert done == [1] and not stop.is_set()
    assert "the database writer stopped" in caplog.text
    pub.close()


def test_unknown_devices_are_ignored_when_a_list_is_kept(tmp_path, broker, caplog):
    caplog.set_level(logging.WARNING, logger="relais.fleet")
    known = tmp_path / "devices.txt"
    known.write_text("# the shops\nsite-00000\nsite-00001   # Lyon\n\n")
    database = str(tmp_path / "fleet.db")
    ingest = Ingest(fleet_config(database, broker, devices=str(known))).start()
    try:
        assert ingest.subscribed.wait(10)
        pub = Publisher(broker.host, broker.port)
        pub.publish_all([m for i in range(3) for m in birth(i)] + list(stream(3, 4)))
        db = FleetDb(database).connect()
        wait_for(lambda: ingest.counters["received"] == 3 * 8, 10, "every message")
        assert [r[0] for r in db.query("SELECT device_id FROM devices ORDER BY device_id")] == \
            ["site-00000", "site-00001"]
        assert ingest.counters["rejected_unknown"] == 8     # site-00002's birth (4) and stream (4)
        assert sum("site-00002: ignored unknown" in r.getMessage() for r in caplog.records) == 1
        known.write_text("site-00000\nsite-00001\nsite-00002\n")   # a new shop: no restart needed
        pub.publish_all(list(stream(3, 1, first_seq=9000)))
        wait_for(lambda: db.query("SELECT COUNT(*) FROM events WHERE device_id = 'site-00002'")[0][0] +
                 db.query("SELECT COUNT(*) FROM telemetry WHERE device_id = 'site-00002'")[0][0] == 1, 10,
                 "site-00002 accepted")
        known.write_text("site-00000\nnot a device\n")              # a bad edit keeps the list before
        pub.publish_all(list(stream(3, 1, first_seq=9500)))
        wait_for(lambda: ingest.counters["received"] == 24 + 3 + 3, 10, "the last three")
        assert ingest.known == {"site-00000", "site-00001", "site-00002"}
        assert any("devices.txt:2: 'not a device' is not a device id" in r.getMessage() for r in caplog.records)
        db.close()
        pub.close()
    finally:
        ingest.stop()


def test_stop_returns_while_the_queue_is_full(tmp_path, broker):
    """The queue between paho's thread and the writer is bounded; a stop while it is full must not leave paho's
    thread waiting on it forever (loop_stop would never return)."""
    import queue
    config = fleet_config(str(tmp_path / "f.db"), broker, batch_max=5)
    ingest = Ingest(config)
    ingest._queue = queue.Queue(maxsize=3)   # smaller than ReceiveMaximum: full without a broker overshooting
    stored = threading.Event()
    release = threading.Event()
    real_store = ingest.db.store

    def slow_store(messages, received):
        stored.set()
        release.wait(30)
        return real_store(messages, received)
    ingest.db.store = slow_store
    ingest.start()
    try:
        assert ingest.subscribed.wait(10)
        pub = Publisher(broker.host, broker.port)
        pub.publish_all(list(stream(50, 2)))
        wait_for(lambda: stored.is_set() and ingest._queue.full(), 10, "a full queue behind a stuck writer")
    finally:
        stopper = threading.Thread(target=ingest.stop)
        stopper.start()
        release.set()
        stopper.join(20)
    assert not stopper.is_alive()
    pub.close()
