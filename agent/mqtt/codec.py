"""The agent's side of the payload encoding: its own values (dataclasses, enums, secrets) as plain ones.

The wire format itself (encode, sniff, decode_map) lives in common/wire/codec.py, shared with the fleet side, and
is re-exported here so the agent has one codec module to import.
"""
from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any

from agent.config import Secret
from common.wire.codec import MAX_DEPTH, DecodeError, decode_map, encode, sniff

__all__ = ["to_plain", "encode", "sniff", "decode_map", "DecodeError", "MAX_DEPTH"]


def to_plain(value: Any, depth: int = 0) -> Any:
    """Snapshot values (dataclasses, enums, tuples, secrets ...) as plain JSON/CBOR values.
    Secrets become "***": cbor2 and json would otherwise write a str subclass's real content."""
    if depth > MAX_DEPTH:
        return "..."
    # The snapshot is walked every state tick: its common exact types first (a Secret, a str subclass, and enums
    # are not these exact types and take the checks below).
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): to_plain(v, depth + 1) for k, v in value.items()}
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is list:
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, Secret):
        return "***"
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, enum.Enum):
        return to_plain(value.value, depth + 1)
    if isinstance(value, dict):
        return {str(k): to_plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_plain(v, depth + 1) for v in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    return str(value)
