"""A UPS that speaks NUT, for `relais demo`: what modem/simulator is to the modem, for the site's power.

It answers `LIST VAR <name>` on a local TCP port the way Debian's upsd answers for its dummy-ups driver (the lines
tests/power/test_nut_protocol.py holds), from a status the caller sets: `set("OB", charge=80)`. The agent reads it
with its own NUT client, so the demo's power cut goes through the same path as a real one: NutClient, the
decider, the events, the ledger's writer. Nothing else: no LOGIN, no INSTCMD, no second request per connection.
"""
from __future__ import annotations

import socket
import threading


class SimulatedUps:
    def __init__(self, name: str = "ups", host: str = "127.0.0.1"):
        self.name = name
        self._lock = threading.Lock()
        self._values = {"ups.status": "OL", "battery.charge": "100", "battery.runtime": "2400",
                        "device.mfr": "relais", "device.model": "simulated UPS"}
        self._sock = socket.create_server((host, 0))
        self.host, self.port = host, self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="ups-simulator", daemon=True)

    @property
    def address(self) -> str:
        """As [power] ups takes it."""
        return f"{self.name}@{self.host}:{self.port}"

    def start(self) -> "SimulatedUps":
        self._thread.start()
        return self

    def stop(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)      # wakes the accept() that close() alone would leave blocked
        except OSError:
            pass
        self._sock.close()
        if self._thread.is_alive():
            self._thread.join(2)

    def set(self, status: str, charge: float | None = None, runtime_s: float | None = None) -> None:
        """What the UPS says from now on: "OL", "OB", "OB LB" ..., its charge (%) and runtime left (s)."""
        with self._lock:
            self._values["ups.status"] = status
            if charge is not None:
                self._values["battery.charge"] = f"{charge:g}"
            if runtime_s is not None:
                self._values["battery.runtime"] = f"{runtime_s:g}"

    def answer(self, request: str) -> str:
        """The server's answer to one request line (pure: the tests call it without a socket)."""
        words = request.split()
        if words[:2] != ["LIST", "VAR"] or len(words) != 3:
            return "ERR UNKNOWN-COMMAND\n"
        if words[2] != self.name:
            return "ERR UNKNOWN-UPS\n"
        with self._lock:
            lines = [f'VAR {self.name} {key} "{value}"' for key, value in sorted(self._values.items())]
        return "\n".join([f"BEGIN LIST VAR {self.name}", *lines, f"END LIST VAR {self.name}"]) + "\n"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:          # closed: stop() was called
                return
            with conn:
                try:
                    conn.settimeout(2.0)
                    request = conn.recv(1024).decode("ascii", "replace").strip()
                    conn.sendall(self.answer(request).encode("ascii"))
                except OSError:      # the client went away: its reading fails on its side, said there
                    pass
