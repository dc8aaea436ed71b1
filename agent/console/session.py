"""One console client, on its own thread: read a request line, post it to the core as CommandReceived, wait
(bounded) for the core's reply, write it back; again until the client hangs up or goes quiet."""
from __future__ import annotations

import logging
import socket
import struct
import threading
from typing import Any, Callable

from agent.console import protocol
from agent.core import CommandReceived, Core

log = logging.getLogger("agent.console.server")

IDLE_TIMEOUT_S = 120.0      # a connection with no request for this long is closed (relais watch asks every second)
SEND_TIMEOUT_S = 10.0       # a client that does not read its answer loses its connection, not the agent a thread


class Session:
    def __init__(self, core: Core, conn: socket.socket, answer_timeout_s: float, stopping: threading.Event,
                 done: Callable[[], None]) -> None:
        self.core = core
        self.answer_timeout_s = answer_timeout_s
        self._conn = conn
        self._stopping = stopping
        self._done = done

    def serve(self) -> None:
        conn = self._conn
        try:
            self._log_peer(conn)
            buffer = b""
            while not self._stopping.is_set():
                conn.settimeout(IDLE_TIMEOUT_S)
                try:
                    line, buffer = _read_line(conn, buffer)
                    if line is None:
                        return               # the client hung up or went quiet
                    name, args = protocol.parse_request(line)
                except protocol.ProtocolError as e:
                    self._send(conn, protocol.error(str(e)))
                    return                   # after a bad line the rest of the stream means nothing
                self._send(conn, self._ask_core(name, args))
        except OSError as e:                 # the client went away mid-answer: its loss, not the agent's
            log.debug("console: client connection ended (%s)", e.strerror or e)
        except Exception:                    # a bug here must not end the agent (the supervisor would)
            log.exception("console: serving a client failed")
        finally:
            conn.close()
            self._done()

    def _ask_core(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        done = threading.Event()
        box: list[dict[str, Any]] = []

        def reply(answer: dict[str, Any]) -> None:    # on the core thread: must not block
            box.append(answer)
            done.set()

        self.core.post(CommandReceived(name, args, reply, origin="console"))
        if not done.wait(self.answer_timeout_s):
            return protocol.error(f"the agent did not answer {name} within {self.answer_timeout_s:g} s")
        return box[0]

    def _send(self, conn: socket.socket, answer: dict[str, Any]) -> None:
        from agent.mqtt.codec import to_plain      # secrets as "***", NaN as null: what MQTT would send
        try:
            data = protocol.encode(to_plain(answer))
        except (TypeError, ValueError) as e:
            log.error("console: answer not JSON (%s)", e)
            data = protocol.encode(protocol.error("internal error: the answer is not JSON"))
        if len(data) > protocol.MAX_ANSWER_BYTES:
            data = protocol.encode(protocol.error(f"answer longer than {protocol.MAX_ANSWER_BYTES} bytes"))
        conn.settimeout(SEND_TIMEOUT_S)
        conn.sendall(data)

    @staticmethod
    def _log_peer(conn: socket.socket) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        try:
            pid, uid, gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                struct.calcsize("3i")))
        except OSError:
            return
        log.debug("console: client pid %d uid %d gid %d", pid, uid, gid)


def _read_line(conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
    """One request line (without its newline) and what came after it; None when the peer hung up or timed out.
    ProtocolError for more than MAX_REQUEST_BYTES without a newline."""
    while b"\n" not in buffer:
        if len(buffer) > protocol.MAX_REQUEST_BYTES:
            raise protocol.ProtocolError(f"request longer than {protocol.MAX_REQUEST_BYTES} bytes")
        try:
            chunk = conn.recv(4096)
        except socket.timeout:
            return None, b""
        if not chunk:
            return None, b""
        buffer += chunk
    line, _, rest = buffer.partition(b"\n")
    return line, rest
