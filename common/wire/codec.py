"""Payload encoding: CBOR by default (RFC 8949: about half the bytes of JSON for our messages, see BENCHMARKS.md),
JSON for people reading with mosquitto_sub. Every message is an envelope carrying device_id, seq, ts, time_source.
Both sides read and write with these functions: the agent (agent/mqtt/) and the fleet (fleet/).

Commands may come in either encoding whatever `payload` says: the first byte tells them apart (a JSON object starts
with "{", a CBOR map with a major-type-5 byte 0xa0..0xbf), and the reply uses the request's encoding.
"""
from __future__ import annotations

import io
import json
import math
from typing import Any

# cbor2 is imported where it is used: an agent sending JSON loads it (~1 MB of RSS) only for a CBOR command.

MAX_DEPTH = 16   # deeper than any message of ours; bounds recursion on hostile input


class DecodeError(ValueError):
    """A payload that is not a JSON or CBOR document of plain values."""


def encode(obj: Any, fmt: str) -> bytes:
    if fmt == "cbor":
        import cbor2
        return cbor2.dumps(obj)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def sniff(payload: bytes) -> str | None:
    """'json', 'cbor' or None, from the first meaningful byte."""
    head = payload.lstrip(b" \t\r\n")[:1]
    if head == b"{":
        return "json"
    if head and 0xA0 <= head[0] <= 0xBF:
        return "cbor"
    return None


def decode_map(payload: bytes) -> tuple[str, dict[str, Any]]:
    """Decode a command body: a JSON object or CBOR map of plain values only (no CBOR tags, no byte strings,
    string keys). Returns (encoding, document)."""
    fmt = sniff(payload)
    if fmt is None:
        raise DecodeError("not a JSON object or CBOR map")
    try:
        if fmt == "json":
            doc = json.loads(payload.decode("utf-8"), parse_constant=_reject_constant)
        else:
            import cbor2
            stream = io.BytesIO(payload)
            doc = cbor2.CBORDecoder(stream, tag_hook=_reject_tag).decode()
            if stream.tell() != len(payload):
                raise DecodeError(f"{len(payload) - stream.tell()} bytes after the CBOR map")
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("nested too deeply") from None
    except Exception as e:  # every decoder failure is the sender's problem, reported, never raised further
        raise DecodeError(f"undecodable {fmt}: {type(e).__name__}: {str(e)[:80]}") from None
    _check_plain(doc, 0)
    if not isinstance(doc, dict):
        raise DecodeError(f"expected a {fmt} map at the top level")
    return fmt, doc


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not a number")


def _reject_tag(decoder: Any, tag: Any) -> Any:
    raise DecodeError(f"CBOR tag {tag.tag} is not accepted")


def _check_plain(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DecodeError("nested too deeply")
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        # CBOR bignums (tag 2/3) decode to ints of any size; past 4300 digits str() raises, and no field of ours
        # needs more than 64 bits.
        if not -2 ** 64 < value < 2 ** 64:
            raise DecodeError("integer out of range (more than 64 bits)")
        return
    if isinstance(value, str):
        _check_text(value)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DecodeError("non-finite number")
        return
    if isinstance(value, list):
        for v in value:
            _check_plain(v, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise DecodeError("map keys must be strings")
            _check_text(k)
            _check_plain(v, depth + 1)
        return
    raise DecodeError(f"{type(value).__name__} values are not accepted")


def _check_text(text: str) -> None:
    # JSON's \ud800 escapes decode to lone surrogates, which no encoder (UTF-8 file, CBOR, log) accepts later.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DecodeError("string holds a lone surrogate (not valid Unicode)") from None
