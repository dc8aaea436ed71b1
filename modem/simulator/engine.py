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
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from modem.simulator import commands, vendors
from modem.simulator.atparse import Command, SyntaxErrorAT, find_at, parse_line
from modem.simulator.model import (DENIED, NOT_REGISTERED, REGISTERED_HOME, REGISTERED_ROAMING, SEARCHING, ModemModel,
                             Sms, SentSms)
from modem.simulator.personalities import OPERATORS, Personality, Timing
from modem.simulator.radio import RSRP_DEFAULT, RSRP_MAX, RSRP_MIN, RSRP_NO_SERVICE
from modem.simulator.reply import AtError, CmeError, CmsError, Reply, SmsPrompt

CR, LF, BS, CTRL_Z, ESC = 0x0D, 0x0A, 0x08, 0x1A, 0x1B
MAX_LINE = 1024              # longer command lines are answered ERROR (a real modem's buffer is 1-4 KB)
MAX_INPUT = 64 * 1024        # bytes queued while the modem is busy; beyond, input is lost (UART overrun)
MAX_SMS = 50                 # SIM storage slots
TZ_QUARTERS = 4              # +04: CET, the network's local time zone
RTC_EPOCH = datetime(1980, 1, 6, tzinfo=timezone.utc)   # Quectel's RTC before any network time

FAULTS = ("hang", "garbage", "urc-storm", "reboot", "sim-remove", "sim-insert", "deny", "allow", "signal",
          "sms-in", "pin", "power-cycle", "clear", "status")


@dataclass(frozen=True)
class Output:
    data: bytes


@dataclass(frozen=True)
class PortDown:
    pass


@dataclass(frozen=True)
class PortUp:
    pass


class _Timer:
    __slots__ = ("when", "seq", "fn", "epoch", "cancelled")

    def __init__(self, when: float, seq: int, fn: Callable[[], None], epoch: int):
        self.when, self.seq, self.fn, self.epoch, self.cancelled = when, seq, fn, epoch, False

    def __lt__(self, other: "_Timer") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class Engine:
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
        self._handlers = vendors.handlers_for(personality)
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
            text = commands.ucs2_decode(text)
        mr = m.next_mr
        m.next_mr = m.next_mr % 255 + 1
        m.sent_sms.append(SentSms(number=number, text=text, mr=mr, slot=m.active_slot))
        self._emit_info([f"+CMGS: {mr}"])
        self._finish("OK")

    # ================================================================ boot, reboot, power

    def _reboot(self, down: float) -> None:
        """The port goes away (USB re-enumeration) for `down` seconds, then the modem boots again."""
        m = self.model
        if m.port_present:
            self._actions.append(PortDown())
        self._epoch += 1
        self._abort_command()
        self._hang_timer = self._storm_timer = self._reg_timer = self._boot_timer = None
        self._awaiting_host = False
        m.port_present = False
        m.booted = False
        m.hanging = m.hang_forever = False
        m.storm_remaining = 0
        self._drop_data(urc=False)
        m.registration, m.operator_plmn = NOT_REGISTERED, None
        m.sim_busy = False
        # volatile settings back to their power-on values; NV ones (COPS mode, CTZU, usbnet, slot) stay
        m.echo, m.verbose, m.cmee = True, True, self.p.cmee_default
        m.creg_n = m.cgreg_n = m.cereg_n = m.c5greg_n = 0
        m.cmgf, m.cscs, m.ctzr, m.cgerep = 0, "IRA", self.p.ctzr_default, 0
        m.cfun = 1
        m.nitz_known = False
        self._rtc_value, self._rtc_set_at, self._rtc_tz = RTC_EPOCH, self.now, 0
        if not m.powered_off:
            self.at(down, self._port_up)

    def _port_up(self) -> None:
        m = self.model
        m.port_present = True
        self._actions.append(PortUp())
        # Boot URCs go out once a host has the port open (else pyserial's open-time flush eats them), or after a
        # while anyway, as a real modem that nobody listens to does.
        self._awaiting_host = True
        wait = max(self.timing.boot_urc_fallback, self.d(self.timing.boot_urc))
        self._boot_timer = self.at(wait, self._boot_anyway)

    def _boot_anyway(self) -> None:
        if self._awaiting_host:
            self._awaiting_host = False
            self._boot()

    def _boot(self) -> None:
        def rdy() -> None:
            m = self.model
            m.booted = True
            m.boot_count += 1
            for line in self.p.boot_urcs:
                self.urc(line)
            self._sim_init(self.d(self.timing.sim_read))
        self.at(self.d(self.timing.boot_urc), rdy)

    # ================================================================ SIM

    def sim_status(self) -> str:
        """'absent', 'off' (CFUN=0), 'busy', 'SIM PIN', 'SIM PUK' or 'READY' for the active slot."""
        m = self.model
        s = m.sim
        if not s.inserted:
            return "absent"
        if m.cfun == 0:
            return "off"
        if m.sim_busy:
            return "busy"
        return s.pin_state

    def require_sim(self) -> None:
        """Raise the +CME ERROR a real modem gives when the SIM cannot be used."""
        st = self.sim_status()
        code = {"absent": 10, "off": 13, "busy": 14, "SIM PIN": 11, "SIM PUK": 12}.get(st)
        if code is not None:
            raise CmeError(code)

    def _sim_init(self, delay: float) -> None:
        """(Re)read the card in the active slot: busy for `delay`, then the vendor's SIM URCs, then register."""
        m = self.model
        self._sim_gen += 1
        gen = self._sim_gen
        if not m.sim.inserted:
            m.sim_busy = False

            def absent() -> None:
                if gen != self._sim_gen:
                    return
                for line in self.p.sim_absent_urcs:
                    self.urc(line)
                self.update_registration()
            self.at(delay, absent)
            return
        m.sim_busy = True
        m.sim.lock()

        def ready() -> None:
            if gen != self._sim_gen:            # pulled out, or another slot chosen, while being read
                return
            m.sim_busy = False
            urcs = self.p.sim_ready_urcs if m.sim.pin_state == "READY" else self.p.sim_pin_urcs
            self._urc_sequence(list(urcs))
            self.update_registration()
        self.at(delay, ready)

    def _urc_sequence(self, lines: list[str], gap: float = 0.3) -> None:
        """The first at once, the others spaced out (+CPIN: READY, then SMS DONE, PB DONE ...)."""
        for n, line in enumerate(lines):
            if n == 0:
                self.urc(line)
            else:
                self.at(self.d(gap * n), lambda line=line: self.urc(line))

    def sim_unlocked(self) -> None:
        """The PIN (or PUK) was accepted: the card is read, then the modem registers."""
        self._urc_sequence([u for u in self.p.sim_ready_urcs if not u.startswith("+CPIN")])
        self.update_registration()

    def select_slot(self, slot: int) -> None:
        """Dual SIM switch: deregister, power the other card, read it, register on its network."""
        m = self.model
        if slot == m.active_slot:
            return
        self._set_reg(NOT_REGISTERED, None)
        if self._reg_timer:
            self._reg_timer.cancel()
            self._reg_timer = None
        m.active_slot = slot
        m.sim_busy = True
        self._sim_gen += 1
        gen = self._sim_gen

        def read() -> None:
            if gen == self._sim_gen:
                self._sim_init(self.d(self.timing.sim_read))
        self.at(self.d(self.timing.slot_switch), read)

    # ================================================================ registration

    def _reg_target(self) -> tuple[int, str | None]:
        m = self.model
        if m.cfun != 1 or not m.booted or m.powered_off:
            return NOT_REGISTERED, None
        s = m.sim
        if not s.inserted or m.sim_busy or s.pin_state != "READY" or m.cops_mode == 2:
            return NOT_REGISTERED, None
        if s.denied:
            return DENIED, None
        if m.rsrp <= RSRP_NO_SERVICE:
            return SEARCHING, None
        plmn = m.manual_plmn if m.cops_mode == 1 and m.manual_plmn else s.home_plmn
        if plmn not in OPERATORS:
            return SEARCHING, None
        if plmn in s.card.forbidden:
            return DENIED, None
        return (REGISTERED_HOME if plmn == s.home_plmn else REGISTERED_ROAMING), plmn

    def update_registration(self, delay: float | None = None) -> None:
        """Move towards what the network would give now; registering takes a while (searching first)."""
        m = self.model
        stat, plmn = self._reg_target()
        if stat in (REGISTERED_HOME, REGISTERED_ROAMING):
            if m.registration == stat and m.operator_plmn == plmn:
                return
            if m.registered:                       # registered elsewhere (manual selection): leave it first
                self._set_reg(SEARCHING, None)
            elif m.registration != SEARCHING:
                self._set_reg(SEARCHING, None)
            if self._reg_timer is not None and not self._reg_timer.cancelled:
                return
            self._reg_timer = self.at(self.d(self.timing.register) if delay is None else delay,
                                      self._registration_done)
            return
        if self._reg_timer is not None:
            self._reg_timer.cancel()
            self._reg_timer = None
        self._set_reg(stat, None)

    def _registration_done(self) -> None:
        self._reg_timer = None
        stat, plmn = self._reg_target()
        if stat in (REGISTERED_HOME, REGISTERED_ROAMING):
            self._set_reg(stat, plmn)
        else:
            self.update_registration()

    def _set_reg(self, stat: int, plmn: str | None) -> None:
        m = self.model
        if m.registration == stat and m.operator_plmn == plmn:
            return
        was = m.registered
        m.registration, m.operator_plmn = stat, plmn
        if was and not m.registered:
            self._drop_data()
        for name, n in (("+CREG", m.creg_n), ("+CGREG", m.cgreg_n), ("+CEREG", m.cereg_n),
                        ("+C5GREG", m.c5greg_n if self.p.nr else 0)):
            if n:
                self.urc(commands.registration_line(self, name, n, urc=True))
        if m.registered and not was:
            self._nitz(emit=True)

    def _drop_data(self, urc: bool = True) -> None:
        m = self.model
        for slot in m.slots.values():
            for ctx in slot.pdp.values():
                if ctx.active:
                    ctx.active, ctx.address = False, ""
                    if urc and m.cgerep and slot.slot == m.active_slot:
                        self.urc(f"+CGEV: NW PDN DEACT {ctx.cid}")
        m.data_call = False

    # ================================================================ time

    def _network_time(self) -> datetime:
        return datetime.fromtimestamp(self.wallclock(), timezone.utc)

    def _nitz(self, emit: bool) -> None:
        """Network time arrives with the registration (NITZ); +CTZU=1 sets the RTC from it."""
        m = self.model
        m.nitz_known = True
        utc = self._network_time()
        if m.ctzu:
            self._set_rtc(utc + timedelta(minutes=15 * TZ_QUARTERS), TZ_QUARTERS)
        if not emit:
            return
        if m.ctzr == 1:
            self.urc(f'+CTZV: "{TZ_QUARTERS:+03d}"')
        elif m.ctzr == 2:
            self.urc(f'+CTZE: "{TZ_QUARTERS:+03d}",0,"{utc:%Y/%m/%d,%H:%M:%S}"')

    def ctzu_enabled(self) -> None:
        if self.model.nitz_known:               # the modem kept the last NITZ
            self._set_rtc(self._network_time() + timedelta(minutes=15 * TZ_QUARTERS), TZ_QUARTERS)

    def _set_rtc(self, local: datetime, tz: int) -> None:
        self._rtc_value, self._rtc_set_at, self._rtc_tz = local, self.now, tz

    def set_rtc(self, local: datetime, tz: int) -> None:
        self._set_rtc(local, tz)

    def rtc(self) -> tuple[datetime, int]:
        return self._rtc_value + timedelta(seconds=self.now - self._rtc_set_at), self._rtc_tz

    def network_timestamp(self) -> str:
        local = self._network_time() + timedelta(minutes=15 * TZ_QUARTERS)
        return f"{local:%y/%m/%d,%H:%M:%S}{TZ_QUARTERS:+03d}"

    # ================================================================ URC storm

    def _storm_one(self) -> None:
        m = self.model
        if m.storm_remaining <= 0:
            return
        urcs = self.p.storm_urcs
        line = urcs[self._storm_i % len(urcs)]
        self._storm_i += 1
        m.storm_remaining -= 1
        self.urc(line)

    def _storm_tick(self) -> None:
        self._storm_one()
        if self.model.storm_remaining > 0:
            interval = max(self.timing.urc_storm_floor, self.d(self.timing.urc_storm_interval))
            self._storm_timer = self.at(interval, self._storm_tick)
        else:
            self._storm_timer = None

    # ================================================================ faults

    def _slot_arg(self, args: list[str], fault: str) -> int:
        if len(args) != 1:
            raise ValueError(f"{fault} takes one argument: SLOT (1..{self.p.slots})")
        try:
            slot = int(args[0])
        except ValueError:
            raise ValueError(f"{fault}: slot must be a number, not {args[0]!r}") from None
        if slot not in self.model.slots:
            raise ValueError(f"{fault}: {self.p.name} has slot(s) 1..{self.p.slots}, not {slot}")
        return slot

    @staticmethod
    def _seconds(args: list[str], fault: str, allow_forever: bool = False) -> float | None:
        if len(args) != 1:
            raise ValueError(f"{fault} takes one argument: SECONDS" + (" or 'forever'" if allow_forever else ""))
        if allow_forever and args[0].lower() == "forever":
            return None
        try:
            s = float(args[0])
        except ValueError:
            raise ValueError(f"{fault}: {args[0]!r} is not a number of seconds") from None
        if not 0 <= s <= 86400:
            raise ValueError(f"{fault}: seconds must be between 0 and 86400")
        return s

    def _fault_hang(self, args: list[str]) -> str:
        secs = self._seconds(args, "hang", allow_forever=True)
        m = self.model
        if self._hang_timer:
            self._hang_timer.cancel()
            self._hang_timer = None
        self._abort_command()
        m.hanging = True
        m.hang_forever = secs is None
        if secs is None:
            return "hanging until power cycle"

        def end() -> None:
            m.hanging = False
            self._hang_timer = None
        self._hang_timer = self.at(secs, end)
        return f"hanging for {secs:g} s"

    def _fault_garbage(self, args: list[str]) -> str:
        n = _count_arg("garbage", args, "BYTES", 256, 65536)
        pieces = [b"\x00\x00", b"\xff\xfe\xc3\x28", b"\r\n+CRE", b"OK", b"\r\n\r\n+CME ERR", b"\xe2\x82",
                  b"\x1b[0m", b"\r\r\n"]
        out = bytearray()
        while len(out) < n:
            if self.rng.random() < 0.3:
                out += self.rng.choice(pieces)
            else:
                out += bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 12)))
        out = out[:n]
        while out and out[-1] in (CR, LF):       # end mid-line: the next real line must resynchronise
            out[-1] = ord("#")
        self._write(bytes(out))
        return f"sent {len(out)} bytes of garbage"

    def _fault_urc_storm(self, args: list[str]) -> str:
        n = _count_arg("urc-storm", args, "N", 200, 100000)
        self.model.storm_remaining += n
        if self._storm_timer is None:
            self._storm_tick()
        return f"storm of {n} URCs"

    def _fault_reboot(self, args: list[str]) -> str:
        secs = self._seconds(args, "reboot")
        self._reboot(secs)
        return f"port gone for {secs:g} s, then boot"

    def _fault_sim_remove(self, args: list[str]) -> str:
        slot = self._slot_arg(args, "sim-remove")
        m = self.model
        s = m.slots[slot]
        if not s.inserted:
            return f"slot {slot} already empty"
        s.inserted = False
        if slot == m.active_slot:
            m.sim_busy = False
            self._sim_gen += 1
            for line in self.p.sim_removed_urcs:
                self.urc(line)
            self.update_registration()
        return f"SIM removed from slot {slot}"

    def _fault_sim_insert(self, args: list[str]) -> str:
        slot = self._slot_arg(args, "sim-insert")
        m = self.model
        s = m.slots[slot]
        if s.inserted:
            return f"slot {slot} already has its SIM"
        s.inserted = True
        s.lock()
        if slot == m.active_slot and m.booted and m.cfun != 0:
            self._sim_init(self.d(self.timing.sim_read))
        return f"SIM inserted in slot {slot}"

    def _fault_deny(self, args: list[str]) -> str:
        return self._set_denied(self._slot_arg(args, "deny"), True)

    def _fault_allow(self, args: list[str]) -> str:
        return self._set_denied(self._slot_arg(args, "allow"), False)

    def _set_denied(self, slot: int, denied: bool) -> str:
        self.model.slots[slot].denied = denied
        if slot == self.model.active_slot:
            self.update_registration()
        return f"registration {'denied' if denied else 'allowed'} on slot {slot}"

    def _fault_signal(self, args: list[str]) -> str:
        if len(args) != 1:
            raise ValueError("signal takes one argument: RSRP_DBM")
        try:
            rsrp = int(float(args[0]))
        except ValueError:
            raise ValueError(f"signal: {args[0]!r} is not a number of dBm") from None
        if not RSRP_MIN <= rsrp <= RSRP_MAX:
            raise ValueError(f"signal: RSRP must be between {RSRP_MIN} and {RSRP_MAX} dBm")
        self.model.rsrp = rsrp
        self.update_registration()
        sig = self.model.signal
        return f"RSRP {sig.rsrp} dBm, RSSI {sig.rssi} dBm, RSRQ {sig.rsrq:g} dB, SINR {sig.sinr:g} dB"

    def _fault_sms_in(self, args: list[str]) -> str:
        if len(args) < 2:
            raise ValueError("sms-in takes NUMBER TEXT...")
        number, text = args[0], " ".join(args[1:])
        if not number.lstrip("+").isdigit() or len(number) > 20:
            raise ValueError(f"sms-in: {number!r} is not a phone number")
        m = self.model
        if self.sim_status() != "READY":
            raise ValueError("sms-in: no usable SIM in the active slot")
        if not m.registered:
            raise ValueError("sms-in: the modem is not registered, the network cannot deliver")
        used = {s.index for s in m.sim.sms}
        free = [i for i in range(self.p.sms_first_index, self.p.sms_first_index + MAX_SMS) if i not in used]
        if not free:
            raise ValueError("sms-in: SIM storage full")
        sms = Sms(index=free[0], status="REC UNREAD", sender=number, text=text, timestamp=self.network_timestamp())
        m.sim.sms.append(sms)
        m.sim.sms.sort(key=lambda s: s.index)
        self.urc(f'+CMTI: "SM",{sms.index}')
        return f"SMS from {number} stored at index {sms.index}"

    def _fault_pin(self, args: list[str]) -> str:
        if len(args) != 2:
            raise ValueError("pin takes SLOT and PIN (4-8 digits) or 'none'")
        slot = self._slot_arg(args[:1], "pin")
        pin = None if args[1].lower() == "none" else args[1]
        if pin is not None and not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("pin: a PIN is 4 to 8 digits")
        s = self.model.slots[slot]
        s.pin, s.pin_attempts = pin, 3
        if pin is None:
            s.pin_state = "READY"
            return f"PIN disabled on slot {slot}"
        return f"PIN {pin} on slot {slot}, asked at the next SIM read"

    def _fault_power_cycle(self, args: list[str]) -> str:
        if args:
            raise ValueError("power-cycle takes no argument")
        self.model.powered_off = False
        self._reboot(self.d(self.timing.power_cycle_down))          # also ends hangs and storms
        return "power cycled"

    def _fault_clear(self, args: list[str]) -> str:
        if args:
            raise ValueError("clear takes no argument")
        m = self.model
        if self._hang_timer:
            self._hang_timer.cancel()
            self._hang_timer = None
        m.hanging = m.hang_forever = False
        m.storm_remaining = 0
        m.rsrp = RSRP_DEFAULT
        for slot in m.slots.values():
            slot.denied = False
            if not slot.inserted:
                slot.inserted = True
                slot.lock()
                if slot.slot == m.active_slot and m.booted and m.cfun != 0:
                    self._sim_init(self.d(self.timing.sim_read))
        if m.booted:
            self.update_registration()
        return "all faults cleared"

    def _fault_status(self, args: list[str]) -> str:
        m = self.model
        reg = {0: "not registered", 1: "registered (home)", 2: "searching", 3: "denied", 5: "roaming"}
        op = m.operator.long_name if m.operator else "-"
        state = ("powered off" if m.powered_off else "port gone" if not m.port_present else
                 "hanging" if m.hanging else "booting" if not m.booted else "up")
        return (f"{self.p.name} {state}, slot {m.active_slot} SIM {self.sim_status()}, "
                f"{reg.get(m.registration, m.registration)} on {op}, RSRP {m.rsrp} dBm, "
                f"data {'up' if m.data_active else 'down'}, {m.commands_received} commands")


def _count_arg(fault: str, args: list[str], name: str, default: int, most: int) -> int:
    """The optional count argument of a fault (`garbage [BYTES]`, `urc-storm [N]`): 1..most, with a clear error."""
    if len(args) > 1:
        raise ValueError(f"{fault} takes at most one argument: {name}")
    try:
        n = int(args[0]) if args else default
    except ValueError:
        raise ValueError(f"{fault}: {args[0]!r} is not a number") from None
    if not 1 <= n <= most:
        raise ValueError(f"{fault}: {name} must be between 1 and {most}")
    return n
