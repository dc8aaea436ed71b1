"""The simulated modem, without any IO: bytes and time go in, bytes and port events come out.

    engine.receive(data, now)      bytes the host wrote to the port
    engine.host_opened(now)        a host opened (and flushed) the port
    engine.advance(now)            run what is due (delayed answers, registration, URC storms ...)
    engine.fault(name, args, now)  inject a fault; returns a short reply, ValueError when refused
    engine.power_cycle(now)
    engine.take_actions()          -> [Output(bytes) | PortDown() | PortUp()] for the IO layer to carry out
    engine.next_deadline()         when advance() has something to do next

Time is passed in (seconds on any monotonic scale), never read, so the whole modem can be driven by a test
with a fake clock. Delays of the real modem come from Timing and are multiplied by `speed` (0 = at once).
One thread at a time: the Simulator calls it from its IO thread only.
"""
from __future__ import annotations

import heapq
import itertools
import random
import time
from typing import Callable

from modem.simulator.actions import Output, PortDown, PortUp
from modem.simulator.atparse import Command, SyntaxErrorAT, find_at, parse_line
from modem.simulator.faults import FAULTS, FaultInjection
from modem.simulator.handlers import handlers_for
from modem.simulator.handlers.base import ucs2_decode
from modem.simulator.life import RTC_EPOCH, ModemLife
from modem.simulator.model import REGISTERED_HOME, REGISTERED_ROAMING, ModemModel, SentSms
from modem.simulator.personalities import Personality, Timing
from modem.simulator.reply import AtError, CmeError, CmsError, Reply, SmsPrompt

__all__ = ["Engine", "FAULTS", "Output", "PortDown", "PortUp"]    # the actions' types are the engine's interface

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
MAX_LINE = 1024              # longer command lines are answered ERROR (a real modem's buffer is 1-4 KB)
MAX_INPUT = 64 * 1024        # bytes queued while the modem is busy; beyond, input is lost (UART overrun)


class _Timer:
    __slots__ = ("when", "seq", "fn", "epoch", "cancelled")

    def __init__(self, when: float, seq: int, fn: Callable[[], None], epoch: int):
        self.when, self.seq, self.fn, self.epoch, self.cancelled = when, seq, fn, epoch, False

    def __lt__(self, other: "_Timer") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class Engine(ModemLife, FaultInjection):
    def __init__(self, personality: Personality, *, speed: float = 1.0, seed: int | None = None,
                 timing: Timing | None = None, wallclock: Callable[[], float] = time.time):
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self.p = personality
        self.speed = float(speed)
        self.timing = timing or Timing()
        self.rng = random.Random(seed)
        self.wallclock = wallclock
        self.model = ModemModel.fresh(personality)
        self.now = 0.0
        self._timers: list[_Timer] = []
        self._seq = itertools.count()
        self._epoch = 0                      # bumped by a reboot: the old modem's pending work dies with it
        self._actions: list[object] = []
        self._handlers = handlers_for(personality)
        # line discipline
        self._inq = bytearray()
        self._rx = bytearray()
        self._rx_overflow = False
        self._after_cr = False
        self._busy = False
        self._consuming = False
        self._cmd_gen = 0                    # bumped to abandon the command in progress
        self._prompt: SmsPrompt | None = None
        self._last_line = b""
        # timers worth cancelling
        self._hang_timer: _Timer | None = None
        self._storm_timer: _Timer | None = None
        self._reg_timer: _Timer | None = None
        self._boot_timer: _Timer | None = None
        self._awaiting_host = False
        self._storm_i = 0
        self._sim_gen = 0                    # bumped to abandon a SIM read in progress
        # real time clock: RTC value at _rtc_set_at (engine time)
        self._rtc_value = RTC_EPOCH
        self._rtc_set_at = 0.0
        self._rtc_tz = 0

    # ================================================================ public interface (called by the IO thread)

    def start(self, now: float) -> None:
        """The modem has been running for a while: SIM read, registered, no URCs."""
        self.now = now
        self._rtc_set_at = now
        m = self.model
        m.booted, m.port_present = True, True
        stat, plmn = self._reg_target()
        if stat in (REGISTERED_HOME, REGISTERED_ROAMING):
            m.registration, m.operator_plmn = stat, plmn
            self._nitz(emit=False)
        else:
            m.registration = stat

    def receive(self, data: bytes, now: float) -> None:
        self.advance(now)
        m = self.model
        if not data or not m.port_present or m.hanging or m.powered_off or not m.booted:
            return                              # nobody is listening: the bytes are lost
        room = MAX_INPUT - len(self._inq)
        self._inq += data[:max(0, room)]
        self._consume()
        self.advance(now)

    def host_opened(self, now: float) -> None:
        self.advance(now)
        if self._awaiting_host:
            self._awaiting_host = False
            if self._boot_timer:
                self._boot_timer.cancel()
            self._boot()
            self.advance(now)

    def advance(self, now: float) -> None:
        target = max(self.now, now)
        while self._timers and self._timers[0].when <= target:
            t = heapq.heappop(self._timers)
            if t.cancelled or t.epoch != self._epoch:
                continue
            self.now = max(self.now, t.when)      # chained delays add up exactly, however late we are called
            t.fn()
        self.now = target

    def next_deadline(self) -> float | None:
        while self._timers and (self._timers[0].cancelled or self._timers[0].epoch != self._epoch):
            heapq.heappop(self._timers)
        return self._timers[0].when if self._timers else None

    def recover(self) -> None:
        """After an internal error on some input: drop the command in progress, keep running."""
        self._abort_command()
        self._consuming = False

    def take_actions(self) -> list[object]:
        acts, self._actions = self._actions, []
        return acts

    def power_cycle(self, now: float) -> str:
        """A board's GPIO power cycle: ends every modem fault (even an endless hang or a power-down), the port
        goes away and the modem boots. The environment stays: a pulled SIM is still out, a denial holds."""
        self.advance(now)
        reply = self._fault_power_cycle([])
        self.advance(now)
        return reply

    def fault(self, name: str, args: list[str], now: float) -> str:
        self.advance(now)
        name = name.strip().lower()
        fn = getattr(self, "_fault_" + name.replace("-", "_"), None)
        if fn is None or name not in FAULTS:
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULTS)})")
        reply = fn([str(a) for a in args])
        self.advance(now)
        return reply

    # ================================================================ timers and output

    def d(self, seconds: float) -> float:
        """A real modem's delay scaled by speed."""
        return seconds * self.speed

    def last_words(self) -> float:
        """Between an OK (or POWERED DOWN) and the port going away: long enough for a host that reads to get
        it, even at speed 0, since a closing pty discards what the host has not read yet."""
        return max(self.timing.last_words_floor, self.d(self.timing.last_words))

    def at(self, delay: float, fn: Callable[[], None]) -> _Timer:
        t = _Timer(self.now + max(0.0, delay), next(self._seq), fn, self._epoch)
        heapq.heappush(self._timers, t)
        return t

    def _write(self, data: bytes) -> None:
        m = self.model
        if not data or not m.port_present or m.hanging or m.powered_off:
            return
        if self._actions and isinstance(self._actions[-1], Output):
            self._actions[-1] = Output(self._actions[-1].data + data)
        else:
            self._actions.append(Output(data))

    def _frame(self, line: str) -> bytes:
        text = line.encode("latin-1", "replace")
        return b"\r\n" + text + b"\r\n" if self.model.verbose else text + b"\r\n"

    def urc(self, line: str) -> None:
        if self.model.booted:
            self._write(self._frame(line))

    def _storm_between(self) -> None:
        """During a URC storm, URCs land between the lines of a response too."""
        if self.model.storm_remaining > 0 and self.model.booted:
            self._storm_one()

    def _emit_info(self, lines: list[str]) -> None:
        if not lines:
            return
        if self.model.verbose:
            self._write(b"\r\n")
        for i, line in enumerate(lines):
            if i:
                self._storm_between()
            self._write(line.encode("latin-1", "replace") + b"\r\n")
        self._storm_between()

    def _emit_final(self, final: str) -> None:
        m = self.model
        if m.verbose:
            self._write(b"\r\n" + final.encode("latin-1") + b"\r\n")
        else:
            codes = {"OK": "0", "CONNECT": "1", "RING": "2", "NO CARRIER": "3", "ERROR": "4"}
            self._write((codes.get(final, final) + "\r").encode("latin-1"))

    # ================================================================ line discipline

    def _echo(self, data: bytes) -> None:
        if self.model.echo:
            self._write(data)

    def _consume(self) -> None:
        if self._consuming:                     # a command finished synchronously inside the loop below
            return
        self._consuming = True
        try:
            self._consume_loop()
        finally:
            self._consuming = False

    def _consume_loop(self) -> None:
        i = 0
        q = self._inq
        while i < len(q) and (not self._busy or self._prompt is not None) and not self.model.hanging:
            b = q[i]
            i += 1
            if self._prompt is not None:
                self._prompt_byte(b)
                continue
            if b in (CR, LF):
                if b == LF and self._after_cr:   # CR LF is one terminator
                    self._after_cr = False
                    continue
                self._after_cr = b == CR
                self._echo(bytes([b]))
                line, overflow = bytes(self._rx), self._rx_overflow
                self._rx.clear()
                self._rx_overflow = False
                self._execute_line(line, overflow)
                continue
            self._after_cr = False
            self._echo(bytes([b]))
            if b == BS:
                if self._rx:
                    self._rx.pop()
                continue
            if len(self._rx) >= MAX_LINE:
                self._rx_overflow = True
                continue
            self._rx.append(b)
            if bytes(self._rx).upper() == b"A/":
                self._rx.clear()
                self._execute_line(self._last_line, False, repeat=True)
        del q[:i]

    def _execute_line(self, raw: bytes, overflow: bool, repeat: bool = False) -> None:
        m = self.model
        text = raw.decode("latin-1")
        stripped = text.strip(" \t\x00")
        if not stripped and not overflow:
            return
        m.commands_received += 1
        m.command_log.append(stripped[:200] if not overflow else stripped[:200] + "...")
        del m.command_log[:-500]
        if overflow:
            self._emit_final("ERROR")
            return
        body = find_at(stripped)
        if body is None:
            self._emit_final("ERROR")
            return
        if not repeat:
            self._last_line = raw
        try:
            cmds = parse_line(body)
        except SyntaxErrorAT:
            self._emit_final("ERROR")
            return
        self._busy = True
        self._run(cmds, 0, self._cmd_gen)

    def _run(self, cmds: list[Command], i: int, gen: int) -> None:
        if gen != self._cmd_gen:
            return
        if i == len(cmds):
            self._finish("OK")
            return
        cmd = cmds[i]
        handler = self._handlers.get(cmd.name)
        if handler is None:
            self._finish("ERROR")
            return
        try:
            reply = handler(self, cmd)
        except AtError as e:
            self._finish(e.final(self.model.cmee))
            return
        except (ValueError, IndexError, KeyError, TypeError):
            self._finish(CmeError(50).final(self.model.cmee))
            return
        if isinstance(reply, list):
            reply = Reply(reply)
        delay = self.d(self.timing.query if reply.delay is None else reply.delay)

        def step() -> None:
            if gen != self._cmd_gen:
                return
            try:
                if reply.after is not None:
                    reply.after()
                lines = reply.lines() if callable(reply.lines) else reply.lines
            except AtError as e:
                self._finish(e.final(self.model.cmee))
                return
            except (ValueError, IndexError, KeyError, TypeError):
                self._finish(CmeError(50).final(self.model.cmee))
                return
            self._emit_info(lines)
            if reply.prompt is not None:
                self._prompt = reply.prompt
                self._write(b"\r\n> ")
                if self._inq:               # the text may have come in the same write as the command
                    self._consume()
                return                      # still busy until Ctrl-Z / ESC
            if reply.final is not None:
                self._finish(reply.final)
                return
            self._run(cmds, i + 1, gen)

        self.at(delay, step)

    def _finish(self, final: str) -> None:
        self._emit_final(final)
        self._busy = False
        if self._inq:
            self._consume()

    def _abort_command(self) -> None:
        self._cmd_gen += 1
        self._busy = False
        self._prompt = None
        self._inq.clear()
        self._rx.clear()
        self._rx_overflow = False

    # --- SMS text entry (3GPP TS 27.005 3.5.1) ---
    def _prompt_byte(self, b: int) -> None:
        p = self._prompt
        if b == ESC:
            self._prompt = None
            self._finish("OK")
            return
        if b == CTRL_Z:
            self._prompt = None
            text = "".join(p.text)
            gen = self._cmd_gen
            self.at(self.d(self.timing.sms_send), lambda: self._sms_sent(p.number, text, gen))
            return
        if b == CR:
            p.text.append("\n")
            self._write(b"\r\n> ")
            return
        if b == LF:
            return
        if sum(len(t) for t in p.text) < 1000:
            p.text.append(chr(b))
        self._echo(bytes([b]))

    def _sms_sent(self, number: str, text: str, gen: int) -> None:
        if gen != self._cmd_gen:
            return
        m = self.model
        if not m.registered:
            self._finish(CmsError(331).final(m.cmee))
            return
        if m.cscs == "UCS2":
            text = ucs2_decode(text)
        mr = m.next_mr
        m.next_mr = m.next_mr % 255 + 1
        m.sent_sms.append(SentSms(number=number, text=text, mr=mr, slot=m.active_slot))
        self._emit_info([f"+CMGS: {mr}"])
        self._finish("OK")
