"""Asking the running agent through its console socket: `ask(path, "status")` returns the core's answer,
{"ok": true, "result": ...} or {"ok": false, "error": "..."}, or raises ConsoleUnavailable saying in words why
there is no answer (no socket, nobody listening, not allowed, no answer in time)."""
from __future__ import annotations

import os
import socket
from typing import Any

from agent.console import protocol


class ConsoleUnavailable(Exception):
    """No answer from the agent; `reason` is one line for a person ("permission denied on ...")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ask(path: str | os.PathLike, cmd: str, args: dict[str, Any] | None = None,
        timeout: float = 5.0) -> dict[str, Any]:
    """One command, one answer, connection closed."""
    with Connection(path, timeout=timeout) as console:
        return console.ask(cmd, args)


class Connection:
    """A connection kept for several commands (`relais watch` asks every second): each ask() waits up to
    `timeout` for its answer."""

    def __init__(self, path: str | os.PathLike, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._buffer = b""
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(self.path)
        except OSError as e:
            self._sock.close()
            raise ConsoleUnavailable(_why_not_connected(self.path, e, timeout)) from None

    def ask(self, cmd: str, args: dict[str, Any] | None = None, timeout: float | None = None) -> dict[str, Any]:
        wait = self.timeout if timeout is None else timeout
        self._sock.settimeout(wait)
        try:
            self._sock.sendall(protocol.request(cmd, args))
            line = self._read_line()
        except socket.timeout:
            raise ConsoleUnavailable(f"the agent did not answer {cmd} within {wait:g} s") from None
        except OSError as e:
            raise ConsoleUnavailable(f"the connection to the agent broke ({e.strerror or e})") from None
        if line is None:
            raise ConsoleUnavailable("the agent closed the connection without an answer")
        try:
            return protocol.parse_answer(line)
        except protocol.ProtocolError as e:
            raise ConsoleUnavailable(f"the agent's answer was not understood ({e})") from None

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_line(self) -> bytes | None:
        while b"\n" not in self._buffer:
            if len(self._buffer) > protocol.MAX_ANSWER_BYTES:
                raise ConsoleUnavailable(f"the agent's answer is longer than {protocol.MAX_ANSWER_BYTES} bytes")
            chunk = self._sock.recv(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line


def _why_not_connected(path: str, e: OSError, timeout: float) -> str:
    if isinstance(e, FileNotFoundError):
        return f"no console socket at {path}: the agent is not running (or listens elsewhere: [console] socket)"
    if isinstance(e, ConnectionRefusedError):
        return f"nobody listens on {path}: the agent is not running (the socket is left from an earlier run)"
    if isinstance(e, PermissionError):
        return f"permission denied on {path}: run as root or as a member of group {protocol.GROUP}"
    if isinstance(e, socket.timeout):
        return f"the agent did not accept the connection on {path} within {timeout:g} s"
    return f"cannot connect to {path} ({e.strerror or e})"
