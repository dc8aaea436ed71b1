"""Where the agent's wall-clock time comes from, and how far to trust it: "ntp", "modem" or "unsynced".

Every recorded timestamp (events, the outage ledger, MQTT messages) comes from `core.wall.now() -> (ts, source)`;
attach_time() makes core.wall a TimeSource:
- "ntp": the kernel says the system clock is synchronised; ts is the system clock.
- "modem": it is not, and we have a recent reading of the modem's clock, which the network sets (NITZ, after
  AT+CTZU=1); ts is that reading plus the monotonic time elapsed since. A reading does not depend on the system
  clock afterwards, so a step of the system clock (an admin, a late NTP) does not move our timestamps.
- "unsynced": neither; ts is the system clock, which on a Raspberry Pi without RTC may be the last shutdown's.

How "synchronised" is read: adjtimex(2) with modes = 0 (read-only, no privilege), the test systemd's
ntp_synced() uses for timedatectl's NTPSynchronized: synchronised when the kernel's maximum error is below 16 s.
Not the STA_UNSYNC flag alone: chrony without `rtcsync` keeps it set on a synchronised clock (systemd commit
bca5a0e "improve detection of synchronized clock"). Not /run/systemd/timesync/synchronized: only
systemd-timesyncd writes it, and OpenWrt (busybox ntpd) or chrony do not run it. The call costs a syscall; its
answer is still reused for `ntp_check_s` because now() runs for every event and MQTT message.

Setting the system clock from the modem is opt-in ([time] set_system_clock, needs CAP_SYS_TIME) and only done
while the clock is unsynchronised; the NTP daemon stays in charge once it has synchronised.
"""
from __future__ import annotations

import ctypes
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from agent.config import Config
from agent.core import Core, WallClock
from agent.modem_service import ModemPortEvent, ModemService, ModemUrc

log = logging.getLogger(__name__)

# A modem clock before this was not set by the network: modems start from a firmware epoch (1980-01-06,
# 2000-01-01, 2002-01-01 ...) until NITZ arrives. 2024-01-01T00:00:00Z, older than this code.
PLAUSIBLE_AFTER = 1704067200.0
MAXERROR_SYNCED_US = 16_000_000     # the kernel's NTP_PHASE_LIMIT: a maximum error this large means "unsynced"
RETRY_S = 60.0                      # after a failed or implausible modem reading
TICK_S = 5.0
NITZ_URCS = ("+CTZV:", "+CTZE:", "+CTZEU:")


# ---- the kernel's synchronisation status ---------------------------------------------------------------------

class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex of <sys/timex.h>; the 11 trailing ints are the kernel's reserved padding."""
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
                ("time", _Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long), ("jitter", ctypes.c_long),
                ("shift", ctypes.c_int), ("stabil", ctypes.c_long), ("jitcnt", ctypes.c_long),
                ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long), ("stbcnt", ctypes.c_long),
                ("tai", ctypes.c_int), ("_reserved", ctypes.c_int * 11)]


_libc: Any = None


def kernel_ntp_synced() -> bool:
    """True when the kernel's maximum error is below 16 s (systemd's ntp_synced()); False when it is not or
    adjtimex cannot be called."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()            # modes = 0: read only
        if _libc.adjtimex(ctypes.byref(tx)) < 0:
            return False
    except (OSError, AttributeError):
        return False
    return 0 <= tx.maxerror < MAXERROR_SYNCED_US


def set_system_clock(ts: float) -> None:
    time.clock_settime(time.CLOCK_REALTIME, ts)


# ---- the choice, pure ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModemReading:
    utc: float        # the modem clock, as Unix time
    mono: float       # our monotonic clock when it was read
    system: float     # our system clock when it was read (for the offset shown in the state)


def choose(system_now: float, mono_now: float, ntp_synced: bool, reading: ModemReading | None,
           max_age_s: float) -> tuple[float, str]:
    if ntp_synced:
        return system_now, "ntp"
    if reading is not None and 0 <= mono_now - reading.mono <= max_age_s:
        return reading.utc + (mono_now - reading.mono), "modem"
    return system_now, "unsynced"


def plausible(clock: dict[str, Any]) -> bool:
    utc = clock.get("clock_utc")
    return isinstance(utc, float) and utc >= PLAUSIBLE_AFTER


# ---- the clock the core uses -------------------------------------------------------------------------------

class TimeSource(WallClock):
    """core.wall: now() -> (ts, source). Safe from any thread (the MQTT thread stamps messages too): a reading
    and the cached sync status are immutable values replaced whole."""

    def __init__(self, *, system: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic,
                 ntp_synced: Callable[[], bool] = kernel_ntp_synced, ntp_check_s: float = 5.0,
                 max_age_s: float = 3600.0):
        super().__init__(now=system)
        self.system, self.monotonic = system, monotonic
        self._ntp_synced, self.ntp_check_s, self.max_age_s = ntp_synced, ntp_check_s, max_age_s
        self._ntp: tuple[float, bool] | None = None        # (monotonic when checked, synced)
        self.reading: ModemReading | None = None

    def ntp_synced(self) -> bool:
        mono = self.monotonic()
        cached = self._ntp
        if cached is None or not 0 <= mono - cached[0] < self.ntp_check_s:
            cached = (mono, bool(self._ntp_synced()))
            self._ntp = cached
        return cached[1]

    def now(self) -> tuple[float, str]:
        synced = self.ntp_synced()
        return choose(self.system(), self.monotonic(), synced, self.reading, self.max_age_s)

    def take(self, reading: ModemReading) -> None:
        self.reading = reading


class ModemClock:
    """Reads the modem clock through the modem service while the system clock is unsynchronised and feeds the
    TimeSource; keeps core.state["time"]; emits `time_source` when the source changes."""

    def __init__(self, core: Core, config: Config, modem: ModemService | None, source: TimeSource,
                 set_clock: Callable[[float], None] = set_system_clock):
        self.core, self.cfg, self.modem, self.source = core, config.time, modem, source
        self._set_clock = set_clock
        self._pending = False
        self._nitz_enabled = False
        self._next_read = 0.0          # core monotonic time of the next reading
        self._last_error: str | None = None
        self._set_failed = False
        self._published_source: str | None = None
        self._clock_set_at: float | None = None
        core.wall = source
        if modem is not None and self.cfg.modem_time:
            core.subscribe(ModemUrc, self._on_urc)
            core.subscribe(ModemPortEvent, self._on_port)
        core.call_every(TICK_S, self._tick, first_in=0.0)
        core.register_command("time_status", lambda args: dict(core.state["time"]))
        self._publish()

    # ---- inputs (core thread) ---------------------------------------------------------------------------
    def _on_urc(self, item: ModemUrc, now: float) -> None:
        if item.line.startswith(NITZ_URCS):      # the network just sent its time: read it
            self._next_read = now

    def _on_port(self, item: ModemPortEvent, now: float) -> None:
        if item.kind in ("port_opened", "rebooted"):
            self._nitz_enabled = False           # +CTZR is volatile; and the clock may have been reset
            self._next_read = now

    def _tick(self, now: float) -> None:
        if (self.modem is not None and self.cfg.modem_time and not self._pending and now >= self._next_read
                and not self.source.ntp_synced()):
            self._read(now)
        self._publish()

    # ---- the modem reading ------------------------------------------------------------------------------
    def _read(self, now: float) -> None:
        self._pending = True
        enable = not self._nitz_enabled
        mono, system = self.source.monotonic, self.source.system

        def job(dev) -> tuple[dict[str, Any], ModemReading | None, str | None]:
            ctzu = dev.enable_network_time() if enable else None
            clock = dev.clock()
            taken = ModemReading(clock["clock_utc"], mono(), system()) if plausible(clock) else None
            return clock, taken, ctzu
        self.modem.submit("clock", job, self._on_read)

    def _on_read(self, result, error, now: float) -> None:
        self._pending = False
        if error is not None:
            self._fail(now, f"modem clock unreadable: {error}")
            return
        clock, reading, ctzu = result
        if ctzu is not None:
            self._nitz_enabled = True
        if reading is None:
            self._fail(now, f"modem clock not set by the network yet ({clock.get('clock_local') or 'no answer'})")
            return
        self._last_error = None
        self._next_read = now + self.cfg.modem_poll_s
        self.source.take(reading)
        log.info("modem time taken: %s UTC (system clock %+.1f s off)",
                 time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(reading.utc)), reading.system - reading.utc)
        if self.cfg.set_system_clock:
            self._maybe_set_clock()
        self._publish()

    def _fail(self, now: float, why: str) -> None:
        if why != self._last_error:
            log.warning("%s; retrying every %.0f s", why, RETRY_S)
        self._last_error = why
        self._next_read = now + RETRY_S
        self._publish()

    def _maybe_set_clock(self) -> None:
        if self.source.ntp_synced() or self._set_failed:
            return
        ts, source = self.source.now()
        off = self.source.system() - ts
        if source != "modem" or abs(off) < self.cfg.step_threshold_s:
            return
        try:
            self._set_clock(ts)
        except (PermissionError, OSError) as e:
            self._set_failed = True          # said once: without CAP_SYS_TIME it will not work next time either
            log.error("cannot set the system clock from the modem (%s); timestamps still use modem time", e)
            return
        self._clock_set_at = ts
        log.warning("system clock stepped by %+.1f s to the modem's network time", -off)
        self.core.emit("clock_set", step_s=round(-off, 3), source="modem")

    # ---- state ------------------------------------------------------------------------------------------
    def _publish(self) -> None:
        ts, source = self.source.now()
        reading = self.source.reading
        self.core.state["time"] = {
            "source": source,
            "ntp_synced": self.source.ntp_synced(),
            "modem_time": self.cfg.modem_time,
            "modem_offset_s": None if reading is None else round(reading.utc - reading.system, 3),
            "modem_read_at": None if reading is None else reading.utc,
            "modem_error": self._last_error,
            "set_system_clock": self.cfg.set_system_clock,
            "clock_set_at": self._clock_set_at,
        }
        if source != self._published_source:
            previous, self._published_source = self._published_source, source
            if previous is not None:
                log.warning("time source: %s -> %s", previous, source)
                self.core.emit("time_source", source=source, previous=previous,
                               modem_offset_s=self.core.state["time"]["modem_offset_s"])


def attach_time(core: Core, config: Config, modem: ModemService | None, *,
                source: TimeSource | None = None, set_clock: Callable[[float], None] = set_system_clock
                ) -> ModemClock:
    """Make core.wall a TimeSource fed by the modem clock. `source`/`set_clock` replace the real ones (tests)."""
    t = config.time
    source = source or TimeSource(ntp_check_s=t.ntp_check_s, max_age_s=t.modem_time_max_age_s)
    return ModemClock(core, config, modem, source, set_clock)
