"""What a device published, read from (topic, payload): pure, no IO, every payload untrusted.

One function, `parse`, turns an MQTT message into a `Message` to store or a `Rejected` saying why not. A device
can only speak for itself: the device id in the topic must be the envelope's `device_id` (the broker ACL already
refuses a device publishing under another's subtree; a message that gets through anyway is ignored here).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from common.wire.codec import DecodeError, decode_map
from common.wire.topics import is_command_name, is_topic_level

DEFAULT_MAX_BYTES = 64 * 1024   # the largest body a device sends is a report reply (capped at 256 KiB of
                                # content by the agent; its default replies stay far below this)


class Kind(enum.StrEnum):
    STATUS = "status"
    STATE = "state"
    TELEMETRY = "telemetry"
    EVENT = "event"
    REPLY = "reply"


class Reason(enum.StrEnum):
    """Why a message is not stored (counted per reason; logged once per device and reason)."""
    BAD_TOPIC = "bad_topic"        # not relais/v1/<id>/<known leaf>, or a device id that cannot be a topic level
    OVERSIZED = "oversized"
    UNDECODABLE = "undecodable"    # not a JSON object / CBOR map of plain values, or bad status text
    MALFORMED = "malformed"        # decodes, but the envelope's fields are missing or of the wrong type
    IMPOSTOR = "impostor"          # the envelope's device_id is not the topic's
    UNKNOWN = "unknown"            # a device missing from [ingest] devices, when that list is kept


@dataclass(frozen=True)
class Message:
    kind: Kind
    device_id: str
    seq: int | None = None          # None only for status
    ts: float | None = None         # the device's clock; None only for status
    time_source: str | None = None
    part: str | None = None         # state: the part's name; reply: the command id
    online: bool | None = None      # status
    body: dict[str, Any] | None = None   # event {kind, data}, telemetry {why, metrics}, state {part: ...},
                                          # reply {ok, result | error}


@dataclass(frozen=True)
class Rejected:
    reason: Reason
    device_id: str | None     # from the topic, when it named one
    detail: str


def read_device_list(text: str, where: str) -> frozenset[str]:
    """[ingest] devices: one device id a line; blank lines and `#` comments are ignored. A bad line is named."""
    ids = set()
    for number, line in enumerate(text.splitlines(), 1):
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        if not is_topic_level(word):
            raise ValueError(f"{where}:{number}: {word[:80]!r} is not a device id (1-64 of A-Z a-z 0-9 _ . : -)")
        ids.add(word)
    return frozenset(ids)


@dataclass(frozen=True)
class Skip:
    """Nothing to store and nothing wrong: an empty retained payload (MQTT's way of deleting a retained topic)."""
    device_id: str


def parse(topic: str, payload: bytes, prefix: str = "relais/v1",
          max_bytes: int = DEFAULT_MAX_BYTES) -> Message | Rejected | Skip:
    head = prefix + "/"
    if not topic.startswith(head):
        return Rejected(Reason.BAD_TOPIC, None, f"topic {topic[:80]!r} is not under {prefix}/")
    levels = topic[len(head):].split("/")
    device = levels[0]
    if not is_topic_level(device):
        return Rejected(Reason.BAD_TOPIC, None, f"device id {device[:80]!r} in the topic is not a valid id")
    leaf = levels[1:]
    if len(payload) > max_bytes:
        return Rejected(Reason.OVERSIZED, device, f"{len(payload)} bytes (at most {max_bytes})")

    if leaf == ["status"]:
        text = payload.strip()
        if text in (b"online", b"offline"):
            return Message(Kind.STATUS, device, online=text == b"online")
        if not text:
            return Skip(device)
        return Rejected(Reason.UNDECODABLE, device, f"status is {text[:20]!r}, not online/offline")
    if leaf == ["state"] and not payload:
        return Skip(device)          # the agent clears the old whole-snapshot topic at every start
    if len(leaf) == 2 and leaf[0] == "state" and is_command_name(leaf[1]):
        kind, part = Kind.STATE, leaf[1]
        if not payload:
            return Skip(device)
    elif len(leaf) == 2 and leaf[0] == "reply" and is_topic_level(leaf[1]):
        kind, part = Kind.REPLY, leaf[1]
    elif leaf == ["telemetry"]:
        kind, part = Kind.TELEMETRY, None
    elif leaf == ["event"]:
        kind, part = Kind.EVENT, None
    else:
        return Rejected(Reason.BAD_TOPIC, device, f"unknown topic {'/'.join(leaf)[:80]!r}")

    try:
        _, doc = decode_map(payload)
    except DecodeError as e:
        return Rejected(Reason.UNDECODABLE, device, str(e))
    claimed = doc.get("device_id")
    if claimed != device:
        return Rejected(Reason.IMPOSTOR, device, f"payload says device_id {str(claimed)[:80]!r}")
    seq, ts, source = doc.get("seq"), doc.get("ts"), doc.get("time_source")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0 or seq >= 2 ** 63:
        return Rejected(Reason.MALFORMED, device, "seq is not a non-negative integer")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        return Rejected(Reason.MALFORMED, device, "ts is not a number")
    if source is not None and not isinstance(source, str):
        return Rejected(Reason.MALFORMED, device, "time_source is not a string")
    body = _body(kind, part, doc)
    if isinstance(body, str):
        return Rejected(Reason.MALFORMED, device, body)
    return Message(kind, device, seq=seq, ts=float(ts), time_source=source, part=part, body=body)


def _body(kind: Kind, part: str | None, doc: dict[str, Any]) -> dict[str, Any] | str:
    """The message's own keys, checked; a string says what is wrong."""
    if kind is Kind.EVENT:
        if not isinstance(doc.get("kind"), str) or not doc["kind"]:
            return "event without a kind"
        data = doc.get("data", {})
        return {"kind": doc["kind"][:64], "data": data if isinstance(data, dict) else {"value": data}}
    if kind is Kind.TELEMETRY:
        metrics = doc.get("metrics")
        if not isinstance(metrics, dict):
            return "telemetry without a metrics map"
        return {"why": str(doc.get("why", ""))[:16], "metrics": metrics}
    if kind is Kind.STATE:
        state = doc.get("state")
        if not isinstance(state, dict) or part not in state:
            return f"state without a {part!r} key"
        return {part: state[part]}
    ok = doc.get("ok")
    if not isinstance(ok, bool):
        return "reply without ok"
    return {"ok": ok, "result": doc.get("result")} if ok else {"ok": ok, "error": str(doc.get("error", ""))}
