"""`relais fleet serve`: every device's messages from the broker into the fleet database.

    paho thread ──(mid, topic, payload)──▶ queue ──▶ writer thread: parse, one transaction per batch, COMMIT,
                                                                    then PUBACK each message of the batch

QoS 1 with manual acknowledgement (paho 2 `manual_ack`): the broker forgets a message only once it is committed.
If the database is down the writer keeps its batch and retries (backoff), acknowledging nothing, so the broker
stops sending once `ReceiveMaximum` messages are unacknowledged and keeps the rest queued in our session
(`session_expiry_s`, clean_start false); if `fleet serve` dies, the broker sends the unacknowledged ones again to
the next instance of the group, and the database drops the ones it already has by (device, seq).

Two subscriptions, because MQTT 5 does not deliver retained messages on shared subscriptions
(`group = ""` makes the first one plain too, for a single instance: see docs/fleet.md on Mosquitto restarts):
- `$share/<group>/<prefix>/+/{event,telemetry,reply/+}`: the bulk, split between the instances of the group;
- `<prefix>/+/{status,state/+}`: every instance gets the retained status and state of every device at subscribe
  (a few messages per device, stored idempotently), then their changes.
"""
from __future__ import annotations

import logging
import os
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from common.backoff import Backoff
from fleet.config import FleetConfig, FleetConfigError
from fleet.db import DatabaseError, FleetDb, describe
from fleet.messages import Message, Reason, Rejected, Skip, parse, read_device_list
from fleet.mqtt_client import connect_properties, make_client

log = logging.getLogger("relais.fleet.ingest")

DB_RETRY = Backoff(initial_s=0.2, max_s=10.0, jitter=0.5)
REJECT_LOG_LIMIT = 10_000   # (device, reason) pairs remembered for "logged once"; then a single summary line
SHARED_LEAVES = ("event", "telemetry", "reply/+")
DIRECT_LEAVES = ("status", "state/+")


@dataclass(frozen=True)
class Delivery:
    mid: int
    qos: int
    topic: str
    payload: bytes
    connection: int   # which connection brought it: a mid means nothing on the next one


class Ingest:
    def __init__(self, config: FleetConfig, clock: Callable[[], float] = time.time):
        self.cfg = config
        self.clock = clock
        self.db = FleetDb(config.database)
        self.counters: Counter[str] = Counter()
        self.receive_maximum = min(65535, 2 * config.ingest.batch_max)
        # Bounded: Mosquitto 2.0 sent a resumed session more than ReceiveMaximum unacknowledged messages (20,000
        # queued here in a `make bench-fleet` run, 67 MiB of RSS instead of 33); paho's thread now waits here
        # instead (BENCHMARKS.md, "Fleet ingest").
        self._queue: queue.Queue[Delivery] = queue.Queue(maxsize=self.receive_maximum + config.ingest.batch_max)
        self._stop = threading.Event()
        self._ack_lock = threading.Lock()
        self._connection = 0
        self._logged: set[tuple[str | None, str]] = set()
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.died = threading.Event()   # the writer thread ended on an error: `fleet serve` exits for a restart
        self.client = make_client(config.mqtt, config.mqtt.effective_client_id, manual_ack=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.reconnect_delay_set(0.5, 30)
        self._writer = threading.Thread(target=self._write_loop, name="fleet-writer", daemon=True)
        self.known: frozenset[str] | None = None   # None: every device is welcome
        self._known_stamp: tuple[int, int] | None = None
        if config.ingest.devices:
            problem = self._reload_known()
            if problem:
                raise FleetConfigError(problem)

    def _reload_known(self) -> str | None:
        """Read [ingest] devices again when the file changed (checked once per batch: adding a router to the list
        takes effect without a restart). A problem is returned in words, and the list read before is kept."""
        path = self.cfg.ingest.devices
        try:
            st = os.stat(path)
            if (st.st_mtime_ns, st.st_size) == self._known_stamp:
                return None
            with open(path, encoding="utf-8") as f:
                self.known = read_device_list(f.read(), path)
            self._known_stamp = (st.st_mtime_ns, st.st_size)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            return f"[ingest] devices: {e}"
        return None

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> "Ingest":
        m = self.cfg.mqtt
        props = connect_properties(SessionExpiryInterval=m.session_expiry_s,
                                   ReceiveMaximum=self.receive_maximum)
        self._writer.start()
        self.client.connect_async(m.host, m.effective_port, keepalive=60, clean_start=False, properties=props)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Stop taking messages; what is unacknowledged stays with the broker for the next start."""
        self._stop.set()
        self._writer.join(15)
        self.client.disconnect()
        self.client.loop_stop()
        self.db.close()

    # -- paho thread --------------------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self._log_once(None, "connect", f"broker refused the connection: {reason}")
            return
        with self._ack_lock:
            self._connection += 1
        self.connected.set()
        prefix, group = self.cfg.mqtt.topic_prefix, self.cfg.mqtt.group
        share = f"$share/{group}/" if group else ""   # "" = one instance alone, a plain subscription
        topics = [f"{share}{prefix}/+/{leaf}" for leaf in SHARED_LEAVES] + \
                 [f"{prefix}/+/{leaf}" for leaf in DIRECT_LEAVES]
        # Again on a resumed session too: Mosquitto 2.0 restores a session and its queued messages from its
        # persistence file after a restart, but not the session's shared subscriptions (tests/fleet/
        # test_ingest.py). Subscribing again is harmless.
        client.subscribe([(t, 1) for t in topics])
        log.info("connected to %s:%s (session %s)", self.cfg.mqtt.host, self.cfg.mqtt.effective_port,
                 "resumed" if flags.session_present else "new")

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        with self._ack_lock:
            self._connection += 1
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("broker connection lost (%s); reconnecting", reason)

    def _on_message(self, client, userdata, msg) -> None:
        delivery = Delivery(msg.mid, msg.qos, msg.topic, msg.payload, self._connection)
        while not self._stop.is_set():   # stopping: dropped unacknowledged, the broker sends it again next time
            try:
                self._queue.put(delivery, timeout=0.2)
                return
            except queue.Full:
                continue

    # -- writer thread ------------------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        try:
            self._write_batches()
        except Exception:   # a bug: without its writer the process would stay up and acknowledge nothing
            log.exception("the database writer stopped")
            self.died.set()

    def _write_batches(self) -> None:
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch and not self._store(batch):
                return   # stopping with a batch not stored: not acknowledged, the broker sends it again
            self._ack(batch)

    def _next_batch(self) -> list[Delivery]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.cfg.ingest.batch_wait_s
        while len(batch) < self.cfg.ingest.batch_max:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[Delivery]) -> bool:
        if self.cfg.ingest.devices:
            problem = self._reload_known()
            if problem:
                self._log_once(None, problem, f"{problem}; keeping the list read before")
        messages = []
        for d in batch:
            result = parse(d.topic, d.payload, self.cfg.mqtt.topic_prefix, self.cfg.ingest.max_message_bytes)
            if self.known is not None and isinstance(result, Message) and result.device_id not in self.known:
                result = Rejected(Reason.UNKNOWN, result.device_id, "not in [ingest] devices")
            if isinstance(result, Message):
                messages.append(result)
            elif isinstance(result, Rejected):
                self.counters[f"rejected_{result.reason}"] += 1
                self._log_once(result.device_id, result.reason,
                               f"ignored {result.reason} message on {d.topic[:120]!r}: {result.detail}")
            elif isinstance(result, Skip):
                self.counters["skipped"] += 1
        attempt = 0
        while True:
            try:
                stored = self.db.store(messages, self.clock())
                break
            except DatabaseError as e:
                if attempt == 0:
                    log.error("database unavailable, holding %d messages unacknowledged: %s", len(batch), e)
                if self._stop.wait(DB_RETRY.delay(min(attempt, 32), random.random())):
                    return False
                attempt += 1
        if attempt:
            log.warning("database back after %d retries: %s", attempt, describe(self.db.url))
        self.counters["received"] += len(batch)
        self.counters["stored"] += stored.new
        self.counters["duplicates"] += stored.duplicates
        return True

    def _ack(self, batch: list[Delivery]) -> None:
        with self._ack_lock:
            for d in batch:
                if d.qos > 0 and d.connection == self._connection:
                    self.client.ack(d.mid, d.qos)

    def _log_once(self, device: str | None, reason: str, line: str) -> None:
        key = (device, reason)
        if key in self._logged:
            return
        if len(self._logged) >= REJECT_LOG_LIMIT:
            if (None, "limit") not in self._logged:
                self._logged.add((None, "limit"))
                log.warning("more than %d devices sent bad messages: no more lines for new ones (counted)",
                            REJECT_LOG_LIMIT)
            return
        self._logged.add(key)
        log.warning("%s%s", f"{device}: " if device else "", line)


def serve(config: FleetConfig, stop: threading.Event, report_every_s: float = 60.0,
          beside: Callable[[], Callable[[], None] | None] | None = None) -> int:
    """Run until `stop` is set (0), or until the writer dies (1: systemd's Restart= starts a fresh one, and the
    broker sends it what was not acknowledged); a line of counters every `report_every_s`. `beside` starts what
    runs along (the console) once the configuration has proved good, and returns how to stop it."""
    ingest = Ingest(config)
    stop_beside = beside() if beside is not None else None
    try:
        ingest.db.connect()
    except DatabaseError as e:
        log.warning("database not reachable yet (%s): messages wait on the broker until it is", e)
    ingest.start()
    from fleet import watch   # provider incidents and alerts: its own thread and connection (fleet/watch.py)
    watch_stop = threading.Event()
    watcher = watch.start(config, watch_stop)
    log.info("relais fleet serve: %s, broker %s:%s, group %s", describe(config.database), config.mqtt.host,
             config.mqtt.effective_port, config.mqtt.group)
    last_report = time.monotonic()
    try:
        while not stop.wait(0.5):
            if ingest.died.is_set():
                return 1
            if time.monotonic() - last_report >= report_every_s:
                last_report = time.monotonic()
                log.info("counters: %s", dict(sorted(ingest.counters.items())))
    finally:
        watch_stop.set()
        ingest.stop()
        if stop_beside is not None:
            stop_beside()
        watcher.join(10)
    return 0
