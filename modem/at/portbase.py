"""What both AT ports share, whatever carries their bytes (a pty or serial device in port.py, an in-process
simulator in loopback.py): the settings their owner makes on the engine, and how the engine's results reach
callers, URC handlers and the port's event handler."""
from __future__ import annotations

import logging
from typing import Callable

from modem.at.engine import AtEngine, Done, Failed, Rebooted, Unsolicited
from modem.at.errors import AtTimeout, TransportError

log = logging.getLogger("modem.at.port")
traffic = logging.getLogger("relais.at")    # the AT trace (DEBUG), secrets redacted

EventHandler = Callable[[str, str], None]  # (kind, detail); kinds: port_opened, port_lost, rebooted, unresponsive

UNRESPONSIVE_AFTER = 3  # consecutive timeouts before the modem is reported unresponsive


class PortBase:
    engine: AtEngine
    path: str
    on_event: EventHandler
    _timeouts_in_row: int

    def on_urc(self, pattern: str, handler: Callable[[str], None] | None, *, regex: bool = False) -> None:
        self.engine.urcs.add(pattern, handler, regex=regex)

    def set_timeout_policy(self, timeout_for: Callable[[str], float]) -> None:
        """Who says how long a command may take (a vendor plugin's timeout_for): used when command() gets none."""
        self.engine.timeout_for = timeout_for

    def set_vendor_urcs(self, prefixes: tuple[str, ...]) -> None:
        """The unsolicited line prefixes of this modem's vendor, checked before the 3GPP ones."""
        self.engine.urcs.set_vendor_prefixes(prefixes)

    def set_catch_all(self, handler: Callable[[str], None] | None) -> None:
        self.engine.urcs.catch_all = handler

    def _deliver(self, outs: list) -> None:
        """Called without any lock held: wakes callers and runs URC handlers."""
        for out in outs:
            if isinstance(out, (Done, Failed)):
                out.token.set(out.response if isinstance(out, Done) else out.error)
                self._count_timeouts(out)
            elif isinstance(out, Unsolicited):
                handler = self.engine.urcs.dispatch(out.line)
                if handler is not None:
                    try:
                        handler(out.line)
                    except Exception:
                        log.exception("URC handler failed on %r", out.line)
            elif isinstance(out, Rebooted):
                log.warning("%s: modem restarted (%s)", self.path, out.reason)
                self.on_event("rebooted", out.reason)

    def _count_timeouts(self, out) -> None:
        if isinstance(out, Failed) and isinstance(out.error, AtTimeout):
            self._timeouts_in_row += 1
            if self._timeouts_in_row == UNRESPONSIVE_AFTER:
                self.on_event("unresponsive", f"{UNRESPONSIVE_AFTER} commands in a row timed out")
        elif isinstance(out, Done) or (isinstance(out, Failed) and not isinstance(out.error, TransportError)):
            self._timeouts_in_row = 0
