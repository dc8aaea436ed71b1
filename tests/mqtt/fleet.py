"""The fleet side in tests: a plain paho client that watches a device's topics and sends it commands."""
from __future__ import annotations

import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import cbor2
import paho.mqtt.client as mqtt

from common.wire import signing
from tests.mqtt.broker import Broker


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def doc(self) -> Any:
        return decode(self.payload)


def decode(payload: bytes) -> Any:
    if payload[:1] == b"{":
        return json.loads(payload)
    return cbor2.loads(payload)


class Fleet:
    def __init__(self, broker: Broker, client_id: str = "fleet", subscribe: str = "relais/v1/#",
                 cert: tuple[str, str] | None = None, ca: str | None = None, username: str | None = None,
                 password: str | None = None, persistent: bool = False, protocol: int = mqtt.MQTTv5):
        self.broker = broker
        self.subscription = subscribe
        self.messages: list[Received] = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
                                  clean_session=None if protocol == mqtt.MQTTv5 else not persistent)
        self.persistent = persistent
        self.connected = threading.Event()
        if ca:
            ctx = ssl.create_default_context(cafile=ca)
            if cert:
                ctx.load_cert_chain(*cert)
            self.client.tls_set_context(ctx)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *a: self.connected.clear()
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.reconnect_delay_set(0.1, 0.5)

    def __enter__(self) -> "Fleet":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self, timeout: float = 10.0) -> "Fleet":
        props = None
        if self.client.protocol == mqtt.MQTTv5 and self.persistent:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect_async(self.broker.host, self.broker.port, 30,
                                  clean_start=not self.persistent if self.client.protocol == mqtt.MQTTv5
                                  else mqtt.MQTT_CLEAN_START_FIRST_ONLY, properties=props)
        self.client.loop_start()
        if not self.connected.wait(timeout):
            raise AssertionError(f"fleet client did not connect\n{self.broker.tail()}")
        return self

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason, props) -> None:
        if reason.is_failure:
            return
        client.subscribe(self.subscription, qos=1)

    def _on_subscribe(self, client, userdata, mid, reasons, props) -> None:
        self.connected.set()   # "connected" once the subscription is in place: tests publish right after

    def _on_message(self, client, userdata, msg) -> None:
        with self.cond:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic()))
            self.cond.notify_all()

    def wait_for(self, pred: Callable[[Received], bool], timeout: float = 10.0, what: str = "") -> Received:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = "\n".join(f"  {m.topic} {m.payload[:120]!r}" for m in self.messages[-15:])
                    raise AssertionError(f"timed out waiting for {what or pred}; last messages:\n{seen}\n"
                                         f"broker log:\n{self.broker.tail(15)}")
                self.cond.wait(left)

    def on(self, topic: str) -> list[Received]:
        with self.cond:
            return [m for m in self.messages if m.topic == topic]

    def events(self, device: str, kind: str | None = None) -> list[dict]:
        docs = [m.doc() for m in self.on(f"relais/v1/{device}/event")]
        return [d for d in docs if kind is None or d["kind"] == kind]

    def wait_event(self, device: str, kind: str, timeout: float = 10.0,
                   pred: Callable[[dict], bool] = lambda d: True) -> dict:
        m = self.wait_for(lambda m: m.topic == f"relais/v1/{device}/event" and m.doc()["kind"] == kind
                          and pred(m.doc()), timeout, f"event {kind}")
        return m.doc()

    def command(self, device: str, name: str, args: dict | None = None, cid: str | None = None, fmt: str = "json",
                key: bytes | None = None, ts: int | None = None, nonce: str | None = None,
                raw: bytes | None = None, sig: str | None = None, timeout: float = 10.0,
                expect_reply: bool = True) -> dict | None:
        """Send a command and wait for its reply (the decoded reply document)."""
        cid = cid or secrets.token_hex(6)
        body: dict[str, Any] = {"id": cid}
        if args is not None:
            body["args"] = args
        if key is not None:
            ts = int(time.time()) if ts is None else ts
            nonce = nonce or secrets.token_hex(8)
            body.update(ts=ts, nonce=nonce,
                        sig=sig or signing.sign(key, device, name, cid, ts, nonce, args or {}))
        payload = raw if raw is not None else (cbor2.dumps(body) if fmt == "cbor" else json.dumps(body).encode())
        self.client.publish(f"relais/v1/{device}/cmd/{name}", payload, qos=1)
        if not expect_reply:
            return None
        return self.reply(device, cid, timeout)

    def reply(self, device: str, cid: str, timeout: float = 10.0) -> dict:
        return self.wait_for(lambda m: m.topic == f"relais/v1/{device}/reply/{cid}", timeout,
                             f"reply {cid}").doc()
