"""Optional HMAC-SHA256 signing of commands, with a timestamp and a nonce inside a replay window.

The signature covers a canonical text, not the payload bytes, so that JSON and CBOR senders sign the same thing and
any language can produce it (docs/mqtt.md has a shell recipe):

    relais-cmd-v1 \\n <device_id> \\n <command name> \\n <id> \\n <ts> \\n <nonce> \\n <args as canonical JSON>

canonical JSON = keys sorted, no spaces, ASCII only (Python: json.dumps(args, sort_keys=True,
separators=(",", ":"))). The device id and command name are in it so that a signed command cannot be replayed to
another device or under another name. `ts` is whole Unix seconds.

Checks, in this order: well-formed (else "unsigned"), signature (else "forged"; checked before anything is
remembered, so unsigned traffic cannot fill the nonce table), time within +-window of the device clock (else
"expired"), nonce never seen within the window (else "replayed").
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any, Protocol

VERSION = "relais-cmd-v1"
_NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SIG = re.compile(r"[0-9a-fA-F]{64}")
SIGNATURE_FIELDS = ("ts", "nonce", "sig")


class SignatureRejected(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason   # unsigned | forged | expired | replayed


class NonceMemory(Protocol):
    def remember(self, nonce: str, ts: float, now: float, window_s: float) -> bool: ...


def canonical_args(args: dict[str, Any]) -> str:
    return json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def signing_text(device_id: str, name: str, command_id: str, ts: int, nonce: str, args: dict[str, Any]) -> bytes:
    return "\n".join((VERSION, device_id, name, command_id, str(ts), nonce, canonical_args(args))).encode()


def sign(key: bytes, device_id: str, name: str, command_id: str, ts: int, nonce: str,
         args: dict[str, Any]) -> str:
    return hmac.new(key, signing_text(device_id, name, command_id, ts, nonce, args), hashlib.sha256).hexdigest()


def verify(key: bytes, device_id: str, name: str, command_id: str, args: dict[str, Any], doc: dict[str, Any],
           now: float, window_s: float, nonces: NonceMemory) -> None:
    """Raise SignatureRejected unless `doc` (the decoded command body) is signed, fresh and new."""
    ts, nonce, sig = (doc.get(k) for k in SIGNATURE_FIELDS)
    if isinstance(ts, bool) or not isinstance(ts, int):
        raise SignatureRejected("unsigned", "signed commands need 'ts' (integer Unix seconds)")
    if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
        raise SignatureRejected("unsigned", "signed commands need 'nonce' (8-64 of A-Z a-z 0-9 _ -)")
    if not isinstance(sig, str) or not _SIG.fullmatch(sig):
        raise SignatureRejected("unsigned", "signed commands need 'sig' (64 hex digits of HMAC-SHA256)")
    expected = sign(key, device_id, name, command_id, ts, nonce, args)
    if not hmac.compare_digest(expected, sig.lower()):
        raise SignatureRejected("forged", "bad signature")
    if abs(now - ts) > window_s:
        raise SignatureRejected("expired", f"ts {ts} is {ts - now:+.0f} s from the device clock "
                                           f"({'ahead of' if ts > now else 'behind'} it; window "
                                           f"+-{window_s:.0f} s)")
    if not nonces.remember(nonce, ts, now, window_s):
        raise SignatureRejected("replayed", f"nonce {nonce} already used")
