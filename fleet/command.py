"""Signed commands to one device (`relais fleet cmd`), signed exactly as the agent verifies them
(common/wire/signing.py: the same module on both sides).

    body = build(key, "dev-1", "failover", {"mode": "force_backup"}, now)   # id, args, ts, nonce, sig
    reply = send(config, "dev-1", "failover", body, wait=True)               # the device's reply, or None
"""
from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

from common.wire import codec, signing
from common.wire.topics import Topics, is_command_name, is_topic_level
from fleet.config import FleetConfig
from fleet.mqtt_client import make_client


class CommandError(Exception):
    """Something to tell the person at the keyboard, in one line."""


def new_id() -> str:
    return "f" + secrets.token_hex(6)


def build(key: bytes | None, device_id: str, name: str, args: dict[str, Any], now: float,
          command_id: str | None = None) -> dict[str, Any]:
    """The command body; signed when a key is given (a device without command_key accepts no signature fields)."""
    if not is_topic_level(device_id):
        raise CommandError(f"site {device_id!r} is not a device id (1-64 of A-Z a-z 0-9 _ . : -)")
    if not is_command_name(name):
        raise CommandError(f"command {name!r} is not a command name ([a-z][a-z0-9_]{{0,31}})")
    cid = command_id or new_id()
    body: dict[str, Any] = {"id": cid, "args": args}
    if key is not None:
        ts, nonce = int(now), secrets.token_hex(8)
        body.update(ts=ts, nonce=nonce, sig=signing.sign(key, device_id, name, cid, ts, nonce, args))
    return body


def parse_args(words: list[str]) -> dict[str, Any]:
    """One JSON object (`'{"mode": "force_backup"}'`), or k=v words whose values are read as JSON when they can
    be (`slot=2` is a number, `dry_run=true` a boolean) and as text otherwise (`mode=force_backup`)."""
    if len(words) == 1 and words[0].lstrip().startswith("{"):
        try:
            doc = json.loads(words[0])
        except json.JSONDecodeError as e:
            raise CommandError(f"ARGS is not a JSON object: {e}") from None
        if not isinstance(doc, dict):
            raise CommandError("ARGS is not a JSON object")
        return doc
    args: dict[str, Any] = {}
    for word in words:
        name, eq, text = word.partition("=")
        if not eq or not name:
            raise CommandError(f"argument {word!r}: expected key=value or one JSON object")
        try:
            args[name] = json.loads(text)
        except json.JSONDecodeError:
            args[name] = text
    return args


def read_key(path: Path) -> bytes:
    """The device's command_key as the agent uses it (its text, UTF-8); surrounding whitespace and a final newline
    are not part of it."""
    try:
        text = path.read_text().strip()
    except OSError as e:
        raise CommandError(f"key file {path}: {e.strerror or e}") from None
    if not text:
        raise CommandError(f"key file {path} is empty")
    return text.encode()


def key_for(config: FleetConfig, device_id: str, key_file: str | None) -> bytes | None:
    """--key FILE, else <[commands] keys>/<device_id>.key when it exists, else None (the command goes unsigned)."""
    if key_file:
        return read_key(Path(key_file))
    path = Path(config.commands.keys) / f"{device_id}.key"
    return read_key(path) if path.exists() else None


def send(config: FleetConfig, device_id: str, name: str, body: dict[str, Any], wait: bool,
         timeout: float | None = None) -> dict[str, Any] | None:
    """Publish the command (QoS 1, acknowledged by the broker); with `wait`, the device's reply document.
    The reply topic is subscribed before the command goes out: a fast device cannot answer into the void."""
    m = config.mqtt
    topics = Topics(m.topic_prefix, device_id)
    timeout = config.commands.reply_timeout_s if timeout is None else timeout
    reply: list[dict[str, Any]] = []
    got, ready, failed = threading.Event(), threading.Event(), []
    client = make_client(m, f"relais-fleet-cmd-{secrets.token_hex(4)}")

    def on_connect(c, userdata, flags, reason, properties):
        if reason.is_failure:
            failed.append(f"broker refused the connection: {reason}")
            ready.set()
        elif wait:
            c.subscribe(topics.reply(str(body["id"])), qos=1)
        else:
            ready.set()

    def on_message(c, userdata, msg):
        try:
            _, doc = codec.decode_map(msg.payload)
        except codec.DecodeError:
            return
        if doc.get("device_id") == device_id and str(doc.get("id")) == str(body["id"]):
            reply.append(doc)
            got.set()

    client.on_connect = on_connect
    client.on_subscribe = lambda *a: ready.set()
    client.on_message = on_message
    try:
        client.connect(m.host, m.effective_port, keepalive=30)
    except OSError as e:
        raise CommandError(f"broker {m.host}:{m.effective_port}: {e.strerror or e}") from None
    client.loop_start()
    try:
        if not ready.wait(10) or failed:
            raise CommandError(failed[0] if failed else f"broker {m.host}:{m.effective_port} did not answer")
        info = client.publish(f"{topics.base}/cmd/{name}", codec.encode(body, "json"), qos=1)
        info.wait_for_publish(10)
        if not info.is_published():
            raise CommandError("the broker did not acknowledge the command")
        if not wait:
            return None
        if not got.wait(timeout):
            raise CommandError(f"no reply from {device_id} within {timeout:g} s (offline? see `relais fleet ls`)")
        return reply[0]
    finally:
        client.disconnect()
        client.loop_stop()
