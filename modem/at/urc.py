"""Unsolicited result codes: which lines are URCs, and who wants them.

Like ModemManager's port pipeline: a list of (pattern, handler) checked in order; vendor plugins *prepend* more
specific patterns; a pattern without handler means "known, ignore". A line that matches no pattern while no
command is waiting is still delivered, to the catch-all, as an unknown URC: a new firmware's new URC must not
be mistaken for part of the next command's answer, nor lost.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

UrcHandler = Callable[[str], None]

# Lines that only ever come unsolicited (3GPP 27.007/27.005 plus the vendors we support).
DEFAULT_URC_PREFIXES = (
    "+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CPIN:", "+CFUN:", "+CMTI:", "+CMT:", "+CDS:", "+CBM:",
    "RING", "+CRING:", "+CLIP:", "+CCWA:", "+CUSD:", "+CGEV:", "+CTZV:", "+CTZE:", "+CTZEU:", "+CIEV:", "+CSCON:",
    "RDY", "+QIND:", "+QUSIM:", "+QNETDEVSTATUS:", "+QSIMSTAT:", "POWERED DOWN", "SMS DONE", "PB DONE",
    "+SIMCARD:", "+CPSI:", "^MODE:", "^RSSI:", "^HCSQ:", "^SYSSTART", "^SRVST:", "^SIMST:", "^NDISSTAT:",
    "^BOOT:", "^DSFLOWRPT:", "#QSS:", "+PBREADY", "+UUSIMSTAT:", "+UUPSDA:", "+UUPSDD:", "+XCESQI:",
    "+NITZ", "+QNITZ:", "!PCINFO:",
)

# Lines by which a modem says it has just (re)started. "+CFUN: 1" alone is not enough: it also follows a
# radio-on that we asked for, so the engine treats it as a boot only when no AT+CFUN command is in flight.
BOOT_LINES = re.compile(r"^(RDY|\^SYSSTART|\+PBREADY|START|\+CFUN: 1)$")


@dataclass
class _Entry:
    pattern: re.Pattern
    handler: UrcHandler | None


class UrcRegistry:
    def __init__(self, prefixes: tuple[str, ...] = DEFAULT_URC_PREFIXES):
        self._entries: list[_Entry] = [_Entry(re.compile(re.escape(p)), None) for p in prefixes]
        self.catch_all: UrcHandler | None = None

    def add(self, pattern: str, handler: UrcHandler | None = None, *, regex: bool = False,
            first: bool = True) -> None:
        """Register a URC. `pattern` is a line prefix unless regex=True. Prepended by default: the newest, most
        specific registration wins over the generic defaults."""
        entry = _Entry(re.compile(pattern if regex else re.escape(pattern)), handler)
        if first:
            self._entries.insert(0, entry)
        else:
            self._entries.append(entry)

    def match(self, line: str) -> _Entry | None:
        for entry in self._entries:
            if entry.pattern.match(line):
                return entry
        return None

    def is_urc(self, line: str) -> bool:
        return self.match(line) is not None

    def dispatch(self, line: str) -> UrcHandler | None:
        """The handler for an unsolicited line: the first matching pattern's, else the catch-all."""
        entry = self.match(line)
        if entry is not None and entry.handler is not None:
            return entry.handler
        return self.catch_all
