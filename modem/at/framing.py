"""Serial bytes -> AT lines. IO-free: feed it chunks as they come, split anywhere.

Why it is this forgiving: a modem's serial output is not clean. Chunks end in the middle of a line, line ends
are `\\r\\n` or a bare `\\r` or `\\n` depending on ATS3/ATS4 and vendor, USB re-enumeration leaves NULs and half
lines in the buffer, and a rebooting modem prints binary junk at its bootloader's baud rate. None of that may
break the next command. The SMS prompt `> ` is the one token that comes without a line end: it is reported as
PROMPT when it is all that is buffered.
"""
from __future__ import annotations

import re

PROMPT = "> "          # sentinel line: the modem waits for a message body (AT+CMGS, AT+QISEND ...)
MAX_LINE = 4096        # longer runs without a line end are junk: emit what we have rather than grow forever

_EOL = re.compile(rb"[\r\n]+")
# Control characters other than tab are never part of a valid response line.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class LineFramer:
    def __init__(self, max_line: int = MAX_LINE):
        self._buf = b""
        self._max_line = max_line

    def reset(self) -> None:
        """Forget a half line (after the port was lost: what remains belongs to a modem that is gone)."""
        self._buf = b""

    def feed(self, data: bytes) -> list[str]:
        if not data:
            return []
        if b"\x00" in data:
            data = data.replace(b"\x00", b"")
        buf = self._buf + data
        parts = _EOL.split(buf)
        self._buf = parts.pop()          # the unterminated tail ("" when buf ended on a line end)
        lines = [line for line in map(_clean, parts) if line]
        tail = self._buf
        if tail.rstrip(b" ") == b">" and tail.endswith(b"> ") and len(tail) <= 3:
            lines.append(PROMPT)
            self._buf = b""
        elif len(tail) > self._max_line:
            line = _clean(tail)
            if line:
                lines.append(line)
            self._buf = b""
        return lines


def _clean(raw: bytes) -> str:
    # Modems speak ASCII; anything else is junk (or UCS2 names, which come hex-encoded anyway).
    text = raw.decode("ascii", errors="replace").replace("\ufffd", "")
    if _CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return text.strip()
