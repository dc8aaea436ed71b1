"""Signed commands the alert loop orders on its own ([correlate] order_sim_switch: every site of a provider incident
moves to its other SIM), sent from a thread of their own over one broker connection kept open.

    alert loop ──order(site, name, args)──▶ bounded queue ──▶ orders thread: sign, publish QoS 1 (a whole
                                         (never waits)                        batch at once), await the PUBACKs

The loop must not wait on the broker: a round that ordered 200 switches one connection at a time stalled for as
long as 200 CONNECT/PUBLISH/DISCONNECT exchanges took, and up to 10 s a site with a broker that did not answer.
Here an order is a queue put. An order that cannot be published within ORDER_TTL_S of being ordered (the broker
away) is dropped with one line: a SIM switch sent minutes late may hit a site whose link already came back. One
published but not acknowledged in that time is said in one line too (paho keeps it for the connection's return).
"""
from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from typing import Any, Callable

from common.wire import codec
from common.wire.topics import Topics
from fleet.command import CommandError, build, key_for
from fleet.config import FleetConfig
from fleet.mqtt_client import make_client

log = logging.getLogger("relais.fleet.orders")

ORDER_TTL_S = 30.0      # from the order to the broker's acknowledgement, at most
CAPACITY = 10_000       # orders waiting; more are refused with a line (a fleet is 10,000 sites)


class Orders:
    def __init__(self, config: FleetConfig, clock: Callable[[], float] = time.time, ttl_s: float = ORDER_TTL_S,
                 capacity: int = CAPACITY):
        self.cfg = config
        self.clock = clock
        self.ttl_s = ttl_s
        self._queue: queue.Queue[tuple[str, str, dict[str, Any], float]] = queue.Queue(maxsize=capacity)
        self._stop = threading.Event()
        self._connected = threading.Event()
        self.counters = {"ordered": 0, "sent": 0, "not_sent": 0}
        self._lock = threading.Lock()
        self.idle = threading.Event()   # set when nothing is queued or in flight (for `stop` and the tests)
        self.idle.set()
        self.client = make_client(config.mqtt, f"{config.mqtt.effective_client_id}-orders-{secrets.token_hex(3)}")
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self._connected.clear()
        self.client.reconnect_delay_set(0.5, 10)
        self._thread = threading.Thread(target=self._run, name="fleet-orders", daemon=True)

    def start(self) -> "Orders":
        m = self.cfg.mqtt
        self.client.connect_async(m.host, m.effective_port, keepalive=60)
        self.client.loop_start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(self.ttl_s + 5)
        self.client.disconnect()
        self.client.loop_stop()

    def order(self, site: str, name: str, args: dict[str, Any]) -> None:
        """Queue one command; returns at once (the caller is the alert loop)."""
        try:
            self._queue.put_nowait((site, name, dict(args), time.monotonic()))
        except queue.Full:
            self._count("not_sent")
            log.error("%s: %s not sent: %d orders already waiting for the broker", site, name, self._queue.maxsize)
            return
        self._count("ordered")
        # after the put: cleared late, the orders thread sets it again at its next empty wait (0.2 s); cleared
        # before, it could see the queue empty in between and say idle with this order on its way
        self.idle.clear()

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:     # the loop's thread and the orders thread both count
            self.counters[what] += n

    # -- the orders thread ----------------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("orders: broker refused the connection: %s", reason)
        else:
            self._connected.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = [self._queue.get(timeout=0.2)]
            except queue.Empty:
                self.idle.set()
                continue
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._send(batch)
            except Exception:   # a bug here must not end the thread: later orders still go out
                log.exception("orders: a batch of %d failed", len(batch))
                self._count("not_sent", len(batch))
            if self._queue.empty():
                self.idle.set()

    def _send(self, batch: list[tuple[str, str, dict[str, Any], float]]) -> None:
        m = self.cfg.mqtt
        deadline = min(ordered for *_, ordered in batch) + self.ttl_s
        if not self._connected.wait(max(0.0, deadline - time.monotonic())):
            self._count("not_sent", len(batch))
            log.error("orders: %d not sent (%s): broker %s:%s not reachable within %g s",
                      len(batch), _names(batch), m.host, m.effective_port, self.ttl_s)
            return
        now = self.clock()
        in_flight = []
        for site, name, args, ordered in batch:
            try:
                body = build(key_for(self.cfg, site, None), site, name, args, now)
            except CommandError as e:
                self._count("not_sent")
                log.error("%s: %s not sent: %s", site, name, e)
                continue
            topic = f"{Topics(m.topic_prefix, site).base}/cmd/{name}"
            in_flight.append((site, name, ordered, self.client.publish(topic, codec.encode(body, "json"), qos=1)))
        for site, name, ordered, info in in_flight:   # all published before the first wait: one round trip
            try:
                info.wait_for_publish(max(0.0, ordered + self.ttl_s - time.monotonic()))
            except (RuntimeError, ValueError):   # paho: the connection dropped under the publish
                pass
            if info.is_published():
                self._count("sent")
                log.info("%s: %s sent", site, name)
            else:
                self._count("not_sent")
                log.error("%s: %s not acknowledged by the broker within %g s (paho sends it still if the "
                          "connection comes back)", site, name, self.ttl_s)


def _names(batch: list[tuple[str, str, dict[str, Any], float]]) -> str:
    sites = [site for site, *_ in batch]
    return ", ".join(sites[:5]) + (f" and {len(sites) - 5} more" if len(sites) > 5 else "")
