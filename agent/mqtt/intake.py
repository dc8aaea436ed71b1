"""Commands arriving over MQTT: from topic and payload bytes to a command for the core, or a clear refusal.

Runs on the MQTT link thread and never raises: every bad input ends as a `Refusal` (reason, message, and the
command id when one could be read, so that the sender gets an error reply). A refusal without an id cannot be
answered; it is dropped and reported as a `command_rejected` event.

Body: {"id": str|int, "args": {...}} (args optional), plus "ts", "nonce", "sig" when signing is on
(common/wire/signing.py). Nothing else: an unknown key is more likely a mistake than a feature.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from agent.mqtt import codec
from common.wire import signing
from common.wire.topics import Topics, is_command_name, is_topic_level

OVERSIZE_PEEK = 65536   # oversized bodies up to this are still decoded, only to find an id to answer
BODY_KEYS = frozenset({"id", "args"})
ID_MEMORY_S = 600.0     # a repeated command id within this is answered, not run again (docs/mqtt.md)
# Ids are forgotten only when older than ID_MEMORY_S: forgetting earlier would run a retried command twice. Past
# this many commands in ID_MEMORY_S (a flood, not a fleet) new ones are refused as busy; each holds its reply.
ID_MEMORY_MAX = 1024


@dataclass(frozen=True)
class Accepted:
    name: str
    id: str
    args: dict[str, Any]
    fmt: str


@dataclass(frozen=True)
class Refusal:
    reason: str            # foreign_topic | bad_name | oversized | undecodable | malformed | no_id | unsigned |
    message: str           # forged | expired | replayed | busy
    name: str | None = None
    id: str | None = None
    fmt: str = "json"


@dataclass(frozen=True)
class Repeat:
    """The same command id again within ID_MEMORY_S: answer with the first reply (None: still running)."""
    id: str
    reply: bytes | None


@dataclass
class _Remembered:
    at: float
    reply: bytes | None = None


@dataclass
class CommandIntake:
    topics: Topics
    max_bytes: int
    key: bytes | None              # HMAC key; None = signing off
    window_s: float
    nonces: signing.NonceMemory | None
    _ids: OrderedDict[str, _Remembered] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, topic: str, payload: bytes, wall_now: float, mono_now: float) -> Accepted | Refusal | Repeat:
        """wall_now checks a signature's timestamp; mono_now (the core's clock) ages the remembered command ids."""
        name = self.topics.command_name(topic)
        if name is None:
            return Refusal("foreign_topic", f"not this device's command topic: {topic[:120]!r}")
        fmt = codec.sniff(payload) or "json"
        if len(payload) > self.max_bytes:
            cid = self._peek_id(payload) if len(payload) <= OVERSIZE_PEEK else None
            return Refusal("oversized", f"command is {len(payload)} bytes, the limit is {self.max_bytes}",
                           name, cid, fmt)
        try:
            fmt, doc = codec.decode_map(payload)
        except codec.DecodeError as e:
            return Refusal("undecodable", str(e), name, None, fmt)
        cid = _read_id(doc.get("id"))
        if cid is None:
            return Refusal("no_id", "'id' missing or not usable as a topic level (1-64 of A-Z a-z 0-9 _ . : -)",
                           name, None, fmt)
        if not is_command_name(name):
            return Refusal("bad_name", f"bad command name {name[:40]!r}: use a-z, 0-9 and _", None, cid, fmt)
        allowed = BODY_KEYS | (set(signing.SIGNATURE_FIELDS) if self.key is not None else set())
        unknown = sorted(set(doc) - allowed)
        if unknown:
            # repr: a key may hold line breaks or control characters; the message is one line in a log and a reply
            return Refusal("malformed", f"unknown key(s) {', '.join(map(repr, unknown))[:80]}"
                           + ("" if self.key is not None else " (signing is off)"), name, cid, fmt)
        args = doc.get("args", {})
        if not isinstance(args, dict):
            return Refusal("malformed", "'args' must be a map", name, cid, fmt)
        if self.key is not None:
            try:
                signing.verify(self.key, self.topics.device_id, name, cid, args, doc, wall_now, self.window_s,
                               self.nonces)
            except signing.SignatureRejected as e:
                return Refusal(e.reason, str(e), name, cid, fmt)
        seen = self._remember(cid, mono_now)
        if seen is True:
            return Refusal("busy", f"more than {ID_MEMORY_MAX} commands within {ID_MEMORY_S:.0f} s; try later",
                           name, cid, fmt)
        if seen is not None:
            return seen
        return Accepted(name, cid, args, fmt)

    def _peek_id(self, payload: bytes) -> str | None:
        try:
            _, doc = codec.decode_map(payload)
        except codec.DecodeError:
            return None
        return _read_id(doc.get("id"))

    def _remember(self, cid: str, now: float) -> Repeat | bool | None:
        """A Repeat for an id seen within ID_MEMORY_S; True when the memory is full (refuse); None: new."""
        with self._lock:
            while self._ids and now - next(iter(self._ids.values())).at > ID_MEMORY_S:
                self._ids.popitem(last=False)
            seen = self._ids.get(cid)
            if seen is not None:
                return Repeat(cid, seen.reply)
            if len(self._ids) >= ID_MEMORY_MAX:
                return True
            self._ids[cid] = _Remembered(now)
            return None

    def answered(self, cid: str, reply: bytes) -> None:
        """Keep the reply to a command id so that a repeat gets it again."""
        with self._lock:
            seen = self._ids.get(cid)
            if seen is not None:
                seen.reply = reply


def _read_id(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    return value if isinstance(value, str) and is_topic_level(value) else None
