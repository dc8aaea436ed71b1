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

# Lines that only ever come unsolicited on any 3GPP modem (27.007 / 27.005), plus a few whose vendor we do not
# know. Each vendor plugin declares its own (modem/vendors), registered in front of these once it is chosen.
DEFAULT_URC_PREFIXES = (
    "+CREG:", "+CGREG:", "+CEREG:", "+C5GREG:", "+CPIN:", "+CFUN:", "+CMTI:", "+CMT:", "+CDS:", "+CBM:",
    "RING", "+CRING:", "+CLIP:", "+CCWA:", "+CUSD:", "+CGEV:", "+CTZV:", "+CTZE:", "+CTZEU:", "+CIEV:", "+CSCON:",
    "^SYSSTART", "+PBREADY", "+NITZ",
)

# Lines by which a modem says it has just (re)started. "+CFUN: 1" alone is not enough: it also follows a
# radio-on that we asked for, so the engine treats it as a boot only when no AT+CFUN command is in flight.
BOOT_LINES = re.compile(r"^(RDY|\^SYSSTART|\+PBREADY|START|\+CFUN: 1)$")


@dataclass
class _Entry:
    pattern: re.Pattern
    handler: UrcHandler | None


class UrcRegistry:
    """Checked in order: registrations made with add() (newest first), the modem vendor's prefixes, the 3GPP
    defaults, then add(first=False) ones. Readers (the IO thread) see a list that is replaced, never edited."""

    def __init__(self, prefixes: tuple[str, ...] = DEFAULT_URC_PREFIXES):
        self._added: list[_Entry] = []
        self._vendor: list[_Entry] = []
        self._defaults: list[_Entry] = [_Entry(re.compile(re.escape(p)), None) for p in prefixes]
        self._appended: list[_Entry] = []
        self._entries: list[_Entry] = list(self._defaults)
        self.catch_all: UrcHandler | None = None

    def add(self, pattern: str, handler: UrcHandler | None = None, *, regex: bool = False,
            first: bool = True) -> None:
        """Register a URC. `pattern` is a line prefix unless regex=True. Prepended by default: the newest, most
        specific registration wins over the vendor's and the generic defaults."""
        entry = _Entry(re.compile(pattern if regex else re.escape(pattern)), handler)
        if first:
            self._added.insert(0, entry)
        else:
            self._appended.append(entry)
        self._rebuild()

    def set_vendor_prefixes(self, prefixes: tuple[str, ...]) -> None:
        """The unsolicited line prefixes of the modem's vendor (its plugin's), in front of the 3GPP defaults;
        replaces the previous vendor's."""
        self._vendor = [_Entry(re.compile(re.escape(p)), None) for p in prefixes]
        self._rebuild()

    def _rebuild(self) -> None:
        self._entries = self._added + self._vendor + self._defaults + self._appended

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
