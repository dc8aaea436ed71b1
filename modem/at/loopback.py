"""AtPort's API over an in-process wire, for tests that run the agent in virtual time.

zigpy-znp tests its client against a fake device over an in-process transport; this is the same seam for relais:
the AtEngine, framing, URC dispatch and port events are the real ones, only the bytes travel through a `Wire`
(a Python object, e.g. the modem simulator's engine) instead of a tty.

No thread and no clock of its own. Whoever drives time (a test's scheduler) calls service() whenever something may
have arrived or become due, and hands in `wait(done, timeout_s)`: command() calls it to wait for its answer, and the
scheduler advances its fake clock, running the device, the port and everything else, until done() or the timeout.
The real pty transport (port.py) keeps tests of its own (tests/at/).
"""
from __future__ import annotations

import logging
from typing import Callable, Protocol

from modem.at.engine import AtEngine, Response, Send
from modem.at.errors import AtTimeout, ModemError, TransportError, redact_bytes as _redact
from modem.at.portbase import EventHandler, PortBase, traffic
from modem.at.urc import UrcRegistry

log = logging.getLogger(__name__)

REOPEN_S = 0.1          # how often a lost port is tried again (AtPort backs off from 0.05 s; tests need no backoff)
ANSWER_MARGIN_S = 2.0   # as AtPort: the engine fails a command at its deadline, the margin only catches a stuck wait

Wait = Callable[[Callable[[], bool], float], bool]


class Wire(Protocol):
    """The device end. Every method raises OSError when the device is gone (unplugged, restarting)."""
    name: str

    def open(self) -> None: ...

    def write(self, data: bytes) -> None: ...

    def read(self) -> bytes: ...          # all bytes that arrived since the last read; b"" for none

    def close(self) -> None: ...


class _Answer:
    __slots__ = ("result", "done")

    def __init__(self) -> None:
        self.result: Response | ModemError | None = None
        self.done = False

    def set(self, result) -> None:
        self.result, self.done = result, True


class LoopbackPort(PortBase):
    def __init__(self, wire: Wire, *, clock: Callable[[], float], wait: Wait, urcs: UrcRegistry | None = None,
                 on_event: EventHandler | None = None):
        self.wire = wire
        self.configured_path = self.path = wire.name
        self.engine = AtEngine(urcs)
        self.on_event = on_event or (lambda kind, detail: None)
        self._clock = clock
        self._wait = wait
        self._started = False
        self._open = False
        self._next_open = 0.0
        self._timeouts_in_row = 0

    # ---- lifecycle (AtPort's API) ---------------------------------------------------------------------------
    def start(self, wait_open_s: float | None = None) -> "LoopbackPort":
        self._started = True
        self._try_open(self._clock())
        if wait_open_s is not None and not self.wait_connected(wait_open_s):
            raise TransportError(f"{self.path}: could not open within {wait_open_s:g} s")
        return self

    def close(self) -> None:
        self._started = False
        if self._open:
            self._open = False
            self.wire.close()
        self._deliver(self.engine.fail_all(TransportError(f"{self.path}: port closed")))

    def __enter__(self) -> "LoopbackPort":
        return self.start(wait_open_s=10)

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._open

    def wait_connected(self, timeout: float) -> bool:
        return self._open or self._wait(lambda: self._open, timeout)

    def command(self, command: str, timeout: float | None = None, **kwargs) -> Response:
        """As AtPort.command: the answer, or AtError, AtTimeout, TransportError, BusyError."""
        if not self._open:
            raise TransportError(f"{self.path}: port not open")
        if not self.engine.busy():
            self.service()      # bytes that came before the command (a late answer, noise) are no part of its answer
            if not self._open:
                raise TransportError(f"{self.path}: port not open")
        answer = _Answer()
        req = self.engine.make_request(command, timeout=timeout, token=answer, **kwargs)
        self._act(self.engine.submit(req, self._clock()))
        if not self._wait(lambda: answer.done, req.timeout + ANSWER_MARGIN_S):
            raise AtTimeout(req.command, req.timeout)
        if isinstance(answer.result, ModemError):
            raise answer.result
        return answer.result

    # ---- for the driver of time -------------------------------------------------------------------------------
    def service(self) -> bool:
        """Take what the wire brought, fail commands past their deadline, reopen a lost port. True if anything
        happened (the driver calls it again until nothing does)."""
        if not self._started:
            return False
        now = self._clock()
        if not self._open:
            return now >= self._next_open and self._try_open(now)
        try:
            data = self.wire.read()
        except OSError as e:
            self._lost(f"read failed: {e}")
            return True
        if data and traffic.isEnabledFor(logging.DEBUG):
            traffic.debug("%s <- %r", self.path, _redact(data))
        outs = (self.engine.feed(data, now) if data else []) + self.engine.poll(now)
        self._act(outs)
        return bool(data or outs)

    def next_deadline(self) -> float | None:
        """When service() has something to do that no byte will announce: a command deadline, a reopen."""
        if not self._started:
            return None
        return self.engine.next_deadline() if self._open else self._next_open

    # ---- internals ----------------------------------------------------------------------------------------------
    def _try_open(self, now: float) -> bool:
        try:
            self.wire.open()
        except OSError as e:
            log.debug("%s: cannot open (%s), retrying", self.path, e)
            self._next_open = now + REOPEN_S
            return False
        self._open = True
        log.info("%s: open", self.path)
        self.on_event("port_opened", self.path)
        return True

    def _lost(self, why: str) -> None:
        self._open = False
        self._next_open = self._clock() + REOPEN_S
        self._deliver(self.engine.fail_all(TransportError(f"{self.path}: port lost ({why})")))
        if self._started:
            log.warning("%s: port lost (%s)", self.path, why)
            self.on_event("port_lost", why)

    def _act(self, outs: list) -> None:
        for out in outs:
            if isinstance(out, Send) and self._open:
                if traffic.isEnabledFor(logging.DEBUG):
                    traffic.debug("%s -> %r", self.path, _redact(out.data))
                try:
                    self.wire.write(out.data)
                except OSError as e:
                    self._lost(f"write failed: {e}")
        self._deliver(outs)
