"""A deliberately small AT client for the simulator's tests: raw bytes over pyserial, no modem.at.

The simulator is tested as a device, through a real pty, the way a host sees it; modem.at is tested against the
simulator elsewhere (tests/at), so using it here would make each one's tests depend on the other being right.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import serial

FINAL = re.compile(rb"(?:^|\r\n|\r)(OK|ERROR|NO CARRIER|\+CME ERROR: [^\r\n]*|\+CMS ERROR: [^\r\n]*)\r\n")


def wait_until(pred, timeout: float = 5.0, interval: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while True:
        if pred():
            return True
        if time.monotonic() > end:
            return False
        time.sleep(interval)


def lines_of(data: bytes) -> list[str]:
    return [x.decode("latin-1") for x in re.split(rb"[\r\n]+", data) if x]


@dataclass
class Response:
    raw: bytes
    final: str
    lines: list[str]          # every non-empty line between the echo and the final result


class AtClient:
    def __init__(self, link: str):
        self.link = link
        self.pty = os.path.realpath(link)
        self.ser = serial.Serial(link, timeout=0.02)
        self.buf = bytearray()
        self.echo = True                  # the simulated modems start with ATE1

    def close(self) -> None:
        self.ser.close()

    def __enter__(self) -> "AtClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.ser.write(data)

    def _fill(self) -> None:
        self.buf += self.ser.read(self.ser.in_waiting or 1)

    def read_until(self, pattern: bytes, timeout: float = 5.0) -> bytes:
        """Bytes up to and including the first match of regex `pattern`; AssertionError on timeout."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                out = bytes(self.buf[:m.end()])
                del self.buf[:m.end()]
                return out
            if time.monotonic() > end:
                raise AssertionError(f"timeout waiting for {pattern!r}; got {bytes(self.buf)!r}")
            self._fill()

    def read_for(self, seconds: float) -> bytes:
        """Everything that arrives within `seconds` (for 'the modem says nothing')."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._fill()
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def cmd(self, line: str, timeout: float = 5.0, eol: bytes = b"\r") -> Response:
        """Send a command line, return its answer. With echo on, what arrived before the echo (URCs) is
        dropped; URCs arriving in the middle of the answer stay in `lines` (the URC-storm tests want them)."""
        data = line.encode("latin-1")
        self.send(data + eol)
        if self.echo:
            self.read_until(re.escape(data) + rb"\r", timeout)
        raw = self.read_until(FINAL.pattern, timeout)
        m = FINAL.search(raw)
        if re.fullmatch(r"(?i)ATE[01]?", line) and m.group(1) == b"OK":
            self.echo = line[-1] == "1"
        return Response(raw, m.group(1).decode("latin-1"), lines_of(raw[:m.start()]))

    def ok(self, line: str, timeout: float = 5.0) -> list[str]:
        r = self.cmd(line, timeout)
        assert r.final == "OK", (line, r)
        return r.lines
