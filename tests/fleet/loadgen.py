"""A load generator: what hundreds of devices publish (docs/mqtt.md topics and envelopes), from one paho client.

Every event and telemetry message has its own (device, seq); `publish_all` republishes what the broker has not
acknowledged, with the same seq, until it has everything — what the agent's outbox does after a broker restart.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Iterator

import cbor2
import paho.mqtt.client as mqtt

PREFIX = "relais/v1"
PARTS = ("modem", "failover", "cellular")
WINDOW = 20_000


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    key: tuple[str, int] | None   # (device, seq) of an event or telemetry message: one row each in the database
    retain: bool = False


def encode(doc: dict, fmt: str) -> bytes:
    return cbor2.dumps(doc) if fmt == "cbor" else json.dumps(doc, separators=(",", ":")).encode()


def envelope(device: str, seq: int, ts: float, **body) -> dict:
    return {"device_id": device, "seq": seq, "ts": round(ts, 3), "time_source": "ntp", **body}


def part_state(part: str, i: int) -> dict:
    if part == "modem":
        return {"connected": True, "operator_name": "Orange F" if i % 2 else "SFR", "sim_slot": 1,
                "signal": {"rsrp_dbm": -80 - i % 45, "rsrq_db": -10}}
    if part == "failover":
        return {"state": "backup" if i % 5 == 0 else "primary", "mode": "auto",
                "active_uplink": "backup" if i % 5 == 0 else "primary"}
    return {"active_slot": 1, "operator": "Orange F"}


def device_id(i: int) -> str:
    return f"site-{i:05d}"


def birth(i: int, fmt: str = "cbor", ts: float = 1.7e9) -> list[Outgoing]:
    """What a device publishes at connect: status online and every state part (retained)."""
    dev = device_id(i)
    out = [Outgoing(f"{PREFIX}/{dev}/status", b"online", None, retain=True)]
    for n, part in enumerate(PARTS):
        out.append(Outgoing(f"{PREFIX}/{dev}/state/{part}",
                            encode(envelope(dev, 10 + n, ts, state={part: part_state(part, i)}), fmt), None,
                            retain=True))
    return out


def stream(devices: int, per_device: int, fmt: str = "cbor", first_seq: int = 1000,
           ts: float = 1.7e9) -> Iterator[Outgoing]:
    """`per_device` messages for each of `devices` devices, interleaved as a fleet sends them: of every four
    seqs of a device, three are telemetry and one an event."""
    for k in range(per_device):
        for i in range(devices):
            dev, seq = device_id(i), first_seq + k
            if k % 4 == 3:
                body = {"kind": "failover", "data": {"reason": "primary_down", "to": "backup"}}
                yield Outgoing(f"{PREFIX}/{dev}/event", encode(envelope(dev, seq, ts + k, **body), fmt), (dev, seq))
            else:
                metrics = {"rsrp_dbm": -90 - k % 7, "primary_rtt_ms": 12 + k % 5, "rx_bytes": 1000 * k}
                body = {"why": "change", "metrics": metrics}
                yield Outgoing(f"{PREFIX}/{dev}/telemetry", encode(envelope(dev, seq, ts + k, **body), fmt),
                               (dev, seq))


class Publisher:
    def __init__(self, host: str, port: int, client_id: str = "loadgen"):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.1, 1.0)
        self.connected = threading.Event()
        self.client.on_connect = lambda *a: self.connected.set()
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.connect_async(host, port, 30)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("load generator could not connect")

    def publish_all(self, messages: list[Outgoing], timeout: float = 120.0) -> float:
        """Until the broker acknowledged every message; returns the seconds it took. In windows of WINDOW: a
        packet id is 16 bits, and paho refuses a message whose id is still outstanding."""
        start = time.monotonic()
        for first in range(0, len(messages), WINDOW):
            self._publish_window(messages[first:first + WINDOW], start, timeout)
        return time.monotonic() - start

    def _publish_window(self, messages: list[Outgoing], start: float, timeout: float) -> None:
        pending = {n: self._send(m) for n, m in enumerate(messages)}
        progress_at, left = start, len(pending)
        while pending:
            now = time.monotonic()
            if now - start > timeout:
                raise AssertionError(f"{len(pending)} messages never acknowledged by the broker")
            time.sleep(0.05)
            done = {n: self._published(info) for n, info in pending.items()}
            pending = {n: info for n, info in pending.items() if not done[n]}
            if self.connected.is_set():
                # refused by paho while the broker was away (a restart): sent again once connected
                pending.update({n: self._send(messages[n]) for n in pending if done[n] is None})
            if len(pending) < left:
                progress_at, left = now, len(pending)
            elif self.connected.is_set() and now - progress_at > 2.0:
                # stuck after a reconnect: paho may hold messages of the dead connection; send them again with
                # the same seq, as the agent's outbox does (the fleet drops the copies)
                pending = {n: self._send(messages[n]) for n in pending}
                progress_at = now

    def _send(self, m: Outgoing):
        return self.client.publish(m.topic, m.payload, qos=1, retain=m.retain)

    @staticmethod
    def _published(info) -> bool | None:
        """True once acknowledged; None when paho refused it (not connected at the time): to be sent again."""
        try:
            return info.is_published()
        except RuntimeError:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
