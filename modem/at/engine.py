"""The AT engine's core: commands in, bytes out, lines in, results out. No IO, no threads, no clock reads.

One command is in flight at a time (a modem answers in order and has no request ids); others wait in a FIFO.
While a command is in flight each line is, in this order:
  1. its echo (the command text itself)                         -> dropped
  2. a final result (OK, ERROR, +CME ERROR: n, NO CARRIER, ...) -> completes the command
  3. a line starting with the command's expected prefix          -> part of the answer
  4. a known URC (+CREG:, RDY, +QIND: ...)                       -> unsolicited, never part of the answer
  5. anything else                                               -> the answer if the command's answer is raw
                                                                    (ATI, AT+CGSN), else unsolicited
With nothing in flight every line is unsolicited, and a stray final (a late OK after a timeout) is dropped.

Time is passed in (`now`) so that timeouts are tested without sleeping.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Callable

from modem.at import commands, results
from modem.at.errors import AtTimeout, BusyError, ModemError, ModemRestarted, redact
from modem.at.framing import PROMPT, LineFramer
from modem.at.urc import BOOT_LINES, UrcRegistry

CTRL_Z = b"\x1a"
ESC = b"\x1b"


@dataclass
class Request:
    command: str                         # "AT+CSQ"
    timeout: float
    expect: tuple[str, ...] | None       # answer line prefixes; None = raw lines
    body: bytes | None = None            # sent after the "> " prompt (SMS text); Ctrl-Z is appended
    token: Any = None                    # the caller's handle, returned in the outcome
    deadline: float = 0.0
    lines: list[str] = field(default_factory=list)
    body_sent: bool = False


@dataclass(frozen=True)
class Response:
    command: str
    lines: list[str]                     # the answer without echo, URCs or the final result
    final: str                           # "OK", "CONNECT 150000000"


# ---- what the engine asks its driver to do --------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Done:
    token: Any
    response: Response


@dataclass(frozen=True)
class Failed:
    token: Any
    error: ModemError


@dataclass(frozen=True)
class Unsolicited:
    line: str


@dataclass(frozen=True)
class Rebooted:
    reason: str                          # the boot line seen, e.g. "RDY"


class AtEngine:
    MAX_QUEUE = 32                       # behind a hung modem, refusing is better than piling up

    def __init__(self, urcs: UrcRegistry | None = None, timeout_for: Callable[[str], float] | None = None):
        self.urcs = urcs or UrcRegistry()
        # How long each command may take: the modem's vendor plugin knows (set by modem.device); the engine
        # itself knows no vendor.
        self.timeout_for: Callable[[str], float] = timeout_for or commands.no_policy
        self.framer = LineFramer()
        self._queue: collections.deque[Request] = collections.deque()
        self.current: Request | None = None

    # ---- commands ---------------------------------------------------------------------------------------
    def make_request(self, command: str, *, timeout: float | None = None, expect=commands, body: bytes | None = None,
                     token: Any = None) -> Request:
        """A request with the defaults for `command`. expect: a prefix, a tuple of prefixes, None for raw lines,
        or left out to derive it from the command."""
        command = command.strip()
        if expect is commands:
            prefixes = commands.expected_prefixes(command)
        elif isinstance(expect, str):
            prefixes = (expect,)
        else:
            prefixes = tuple(expect) if expect else None
        return Request(command=command, timeout=timeout if timeout is not None else self.timeout_for(command),
                       expect=prefixes, body=body, token=token)

    def submit(self, request: Request, now: float) -> list:
        if len(self._queue) >= self.MAX_QUEUE:
            raise BusyError(f"{len(self._queue)} AT commands already waiting")
        self._queue.append(request)
        return self._start_next(now)

    def busy(self) -> bool:
        return self.current is not None

    def pending(self) -> int:
        return len(self._queue) + (1 if self.current else 0)

    def next_deadline(self) -> float | None:
        return self.current.deadline if self.current else None

    def _start_next(self, now: float) -> list:
        if self.current is not None or not self._queue:
            return []
        req = self._queue.popleft()
        req.deadline = now + req.timeout
        self.current = req
        return [Send(req.command.encode("ascii", errors="replace") + b"\r")]

    # ---- input ------------------------------------------------------------------------------------------
    def feed(self, data: bytes, now: float) -> list:
        out: list = []
        for line in self.framer.feed(data):
            out.extend(self._line(line, now))
        return out

    def _line(self, line: str, now: float) -> list:
        req = self.current
        if line == PROMPT:
            if req is not None and req.body is not None and not req.body_sent:
                req.body_sent = True
                return [Send(req.body + CTRL_Z)]
            return []
        if req is None:
            if results.is_final(line):
                return []                # late answer to a command that timed out
            return self._unsolicited(line, now)
        if line.upper().endswith(req.command.upper()):
            return []                    # echo (ATE1), possibly behind line noise that had no line end
        if results.is_final(line):
            self.current = None
            if results.is_success(line):
                outcome = Done(req.token, Response(req.command, req.lines, line))
            else:
                outcome = Failed(req.token, results.to_error(req.command, line, req.lines))
            return [outcome, *self._start_next(now)]
        if req.expect is not None:
            upper = line.upper()
            if upper.startswith(req.expect):
                req.lines.append(line)
                return []
            # Line noise glued in front of the answer ("x#9+CSQ: 20,99"): a modem never sends that prefix
            # mid-line, so from the prefix on it is the answer.
            cut = min((i for i in (upper.find(p) for p in req.expect) if i > 0), default=-1)
            if cut > 0 and not self.urcs.is_urc(line):
                req.lines.append(line[cut:])
                return []
        if self.urcs.is_urc(line) or BOOT_LINES.match(line):
            return self._unsolicited(line, now)
        if req.expect is None:
            req.lines.append(line)
            return []
        return self._unsolicited(line, now)

    def _unsolicited(self, line: str, now: float) -> list:
        out: list = [Unsolicited(line)]
        if not BOOT_LINES.match(line):
            return out
        req = self.current
        if line.startswith("+CFUN") and req is not None and req.command.upper().startswith("AT+CFUN=1") \
                and ",1" not in req.command:
            return out                   # the radio-on we asked for, not a restart
        out.append(Rebooted(line))
        if req is not None:
            # A restarted modem has forgotten the command in flight: fail it now, not at its timeout, and go on
            # with the queue (the modem that says RDY takes commands).
            self.current = None
            out.append(Failed(req.token, ModemRestarted(f"{redact(req.command)}: modem restarted ({line})")))
            out.extend(self._start_next(now))
        return out

    # ---- time -------------------------------------------------------------------------------------------
    def poll(self, now: float) -> list:
        """Fail the command in flight if its deadline has passed, and start the next one."""
        req = self.current
        if req is None or now < req.deadline:
            return []
        self.current = None
        out: list = []
        if req.body is not None and req.body_sent is False:
            out.append(Send(ESC))        # leave the prompt, or the next command becomes the SMS text
        out.append(Failed(req.token, AtTimeout(req.command, req.timeout, req.lines)))
        return out + self._start_next(now)

    # ---- the port went away -----------------------------------------------------------------------------
    def fail_all(self, error: ModemError) -> list:
        out = []
        if self.current is not None:
            out.append(Failed(self.current.token, error))
            self.current = None
        while self._queue:
            out.append(Failed(self._queue.popleft().token, error))
        self.framer.reset()
        return out

