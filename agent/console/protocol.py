"""The console protocol: what `relais status`, `relais watch`, `relais doctor` ... say to the running agent.

One JSON object per line, both ways, over a local Unix socket:
    request  {"cmd": "<core command name>", "args": {...}}          at most MAX_REQUEST_BYTES
    answer   {"ok": true, "result": ...} | {"ok": false, "error": "..."}   at most MAX_ANSWER_BYTES
The answer has exactly core.run_command's shape: every console command is a core command (the same ones MQTT
reaches), so there is one list of commands and one place that refuses them. A connection may carry several
requests one after the other (`relais watch` keeps its connection); each gets its answer before the next is read.

Everything here is pure (bytes in, values out): the server and the client only move the lines.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

# Where the socket lives when [console] socket is "": systemd (RuntimeDirectory=relais) and the OpenWrt init
# script make this directory for the service; a trial run from a checkout has none and uses its [storage] dir.
RUN_DIR = "/run/relais"
SOCKET_NAME = "console.sock"
DEFAULT_SOCKET = f"{RUN_DIR}/{SOCKET_NAME}"
GROUP = "relais"       # members may use the console (the socket is 0660, this group)
MODE = 0o660

# A request is a command name and a few arguments; an answer may be the whole state (a few kB) with room to grow.
# Bounds so that neither side can be made to buffer without end by a peer that never sends a newline.
MAX_REQUEST_BYTES = 16 * 1024
MAX_ANSWER_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16         # nesting bound on a request's args: the core's handlers never need deeper


class ProtocolError(ValueError):
    """A line that is not a console request or answer; the message says what was wrong, in one line."""


def socket_path(configured: str, storage_dir: str | os.PathLike) -> Path:
    """The socket's path, the same rule for the agent and for the commands that talk to it: the configured path,
    else /run/relais/console.sock when the service manager made /run/relais, else <storage dir>/console.sock."""
    if configured:
        return Path(configured)
    if os.path.isdir(RUN_DIR):
        return Path(RUN_DIR) / SOCKET_NAME
    return Path(storage_dir) / SOCKET_NAME


def encode(message: dict[str, Any]) -> bytes:
    """One line of compact JSON (non-ASCII escaped: a serial console may not show UTF-8)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("ascii") + b"\n"


def request(cmd: str, args: dict[str, Any] | None = None) -> bytes:
    return encode({"cmd": cmd, "args": args or {}})


def parse_request(line: bytes) -> tuple[str, dict[str, Any]]:
    """(command name, args) from one request line; ProtocolError saying what is wrong otherwise."""
    if len(line) > MAX_REQUEST_BYTES:
        raise ProtocolError(f"request longer than {MAX_REQUEST_BYTES} bytes")
    message = _json_object(line, "request")
    unknown = set(message) - {"cmd", "args"}
    if unknown:
        raise ProtocolError(f"unknown request field(s) {', '.join(sorted(map(str, unknown)))} (expected cmd, args)")
    cmd, args = message.get("cmd"), message.get("args", {})
    if not isinstance(cmd, str) or not cmd or len(cmd) > 64 or not cmd.isprintable():
        raise ProtocolError('"cmd": expected a command name, e.g. "status"')
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ProtocolError(f'"args": expected an object, got {type(args).__name__}')
    if _depth(args) > MAX_DEPTH:
        raise ProtocolError(f'"args": nested deeper than {MAX_DEPTH}')
    return cmd, args


def parse_answer(line: bytes) -> dict[str, Any]:
    """The answer as sent (run_command's shape), checked; ProtocolError otherwise."""
    if len(line) > MAX_ANSWER_BYTES:
        raise ProtocolError(f"answer longer than {MAX_ANSWER_BYTES} bytes")
    answer = _json_object(line, "answer")
    if answer.get("ok") is True and "result" in answer:
        return answer
    if answer.get("ok") is False and isinstance(answer.get("error"), str):
        return answer
    raise ProtocolError('answer: expected {"ok": true, "result": ...} or {"ok": false, "error": "..."}')


def error(text: str) -> dict[str, Any]:
    return {"ok": False, "error": text}


def _json_object(line: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError(f"{what}: not UTF-8 text") from None
    except RecursionError:
        raise ProtocolError(f"{what}: nested too deep") from None
    except ValueError as e:
        raise ProtocolError(f"{what}: not JSON ({e.args[0] if e.args else e})") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level
