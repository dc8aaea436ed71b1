"""The status LED on a plain GPIO line: a LED wired to a pin that the kernel does not know as an LED.

An LED the kernel knows (a device-tree `gpio-leds` node, /sys/class/leds/NAME) is blinked by the kernel's timer
trigger (board/led.py, SysfsLed). A plain line has no trigger: a thread of ours blinks it, with the same on/off
timings (board.led.PATTERNS), so the README's legend is true whichever way the LED is wired.

The line is reached through one of:
    gpiod   the GPIO character device (/dev/gpiochipN) through libgpiod's Python binding, v2 API
    sysfs   the legacy /sys/class/gpio: deprecated since Linux 4.8 and gone from kernels built without
            CONFIG_GPIO_SYSFS; only for boards whose image has no libgpiod binding
    auto    gpiod when the binding imports and the chip exists, else sysfs

The blinking thread computes every edge from the moment the pattern started (level_at), so it does not drift
and its timing is tested on a fake clock; the thread itself only sleeps until the next edge. If the agent hangs,
the LED keeps showing its last pattern, as the kernel-blinked one does; systemd's watchdog restarts the agent.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable, Protocol

from board.gpio import GpioError, SysfsLine, chip_path, import_gpiod, request_output
from board.led import PATTERNS, Led, _check

log = logging.getLogger(__name__)

SYSFS = "/sys"
CONSUMER = "relais-status-led"     # what `gpioinfo` shows as the line's user


def level_at(pattern: str, elapsed_s: float) -> tuple[bool, float]:
    """(lit, seconds until that changes) `elapsed_s` after `pattern` started; math.inf when it never changes."""
    timing = PATTERNS[pattern]
    if timing is None:
        return pattern == "on", math.inf
    on_s, off_s = timing[0] / 1000, timing[1] / 1000
    phase = elapsed_s % (on_s + off_s)
    if phase < on_s:
        return True, on_s - phase
    return False, on_s + off_s - phase


class OutputLine(Protocol):
    what: str

    def set(self, lit: bool) -> None: ...

    def close(self) -> None: ...


class Blinker:
    """Which level the line should have now. Not thread-safe by itself: GpioLed calls it under its lock."""

    def __init__(self, line: OutputLine, now: float):
        self.line = line
        self.pattern, self.since = "off", now
        self.lit: bool | None = None       # what was last written; None = nothing yet
        self._failed: str | None = None

    def show(self, pattern: str, now: float) -> bool:
        """Whether the pattern changed (a new one starts lit, at the start of its period)."""
        _check(pattern)
        if pattern == self.pattern:
            return False
        self.pattern, self.since = pattern, now
        return True

    def step(self, now: float) -> float:
        """Drive the line to the level the pattern has at `now`; seconds until the next change."""
        lit, wait = level_at(self.pattern, now - self.since)
        if lit != self.lit:
            try:
                self.line.set(lit)
                self.lit, self._failed = lit, None
            except (GpioError, OSError) as e:
                if str(e) != self._failed:         # said once, not at every edge
                    log.error("status LED %s: %s", self.line.what, e)
                    self._failed = str(e)
        return wait


class GpioLed(Led):
    """An LED on a GPIO line, blinked by a thread of ours (started on the first pattern)."""

    def __init__(self, line: OutputLine, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._blinker = Blinker(line, clock())
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def what(self) -> str:
        return self._blinker.line.what

    def show(self, pattern: str) -> None:
        with self._changed:
            if self._closed:
                return
            if self._blinker.show(pattern, self._clock()) or self._thread is None:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="status-led", daemon=True)
                    self._thread.start()
                self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                wait = self._blinker.step(self._clock())
                self._changed.wait(None if wait == math.inf else wait)

    def close(self) -> None:
        """Stop blinking, leave the LED dark and give the line back."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._blinker.show("off", self._clock())
        self._blinker.step(self._clock())
        self._blinker.line.close()


class GpiodLine:
    """A line of a GPIO character device, requested through libgpiod v2 and held until close()."""

    def __init__(self, chip: str, line: int | str, active_low: bool = False):
        self.what = f"{chip_path(chip)} line {line}"
        self._line = line
        self._request = request_output(chip, line, active_low=active_low, consumer=CONSUMER, active=False)

    def set(self, lit: bool) -> None:
        from gpiod.line import Value      # request_output() imported the binding
        self._request.set_value(self._line, Value.ACTIVE if lit else Value.INACTIVE)

    def close(self) -> None:
        self._request.release()


class SysfsGpioLine:
    """A line of the legacy /sys/class/gpio interface, named like a character-device line (chip + offset): its
    number there is the chip's base plus the offset, and the base is not the chip's number (on a Raspberry Pi
    5, gpiochip0's base is 512 or more), so it is looked up."""

    def __init__(self, chip: str, offset: int, active_low: bool = False, sysfs: str = SYSFS,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        number = sysfs_number(chip, offset, sysfs)
        self.what = f"GPIO {number} ({Path(chip).name} line {offset}, sysfs)"
        self._line = SysfsLine(number, active_low, root=str(Path(sysfs) / "class/gpio"), sleep=sleep, clock=clock)
        self._line.prepare(active=False)

    def set(self, lit: bool) -> None:
        self._line.set(lit)

    def close(self) -> None:
        pass      # left exported and dark: unexporting would let the line float


def sysfs_number(chip: str, offset: int, sysfs: str = SYSFS) -> int:
    """The legacy sysfs number of `offset` on `chip` (gpiochipN). The legacy entry /sys/class/gpio/gpiochipBASE
    hangs under the chip's device, or under the device that provides the chip (its parent)."""
    name = Path(chip).name
    device = Path(sysfs) / "bus/gpio/devices" / name
    legacy = Path(sysfs) / "class/gpio"
    if not legacy.is_dir():
        raise GpioError(f"no {legacy}: this kernel has no sysfs GPIO interface (CONFIG_GPIO_SYSFS)")
    if not device.exists():
        raise GpioError(f"no GPIO chip {name!r} (see `ls {device.parent}`)")
    mine = device.resolve()
    entries = sorted(legacy.glob("gpiochip*"))
    owned = [e for e in entries if (e / "device").resolve() == mine]
    if not owned:      # parented to the device that provides the chip: right only if it provides one chip
        owned = [e for e in entries if (e / "device").resolve() == mine.parent]
        siblings = [d for d in mine.parent.iterdir() if d.name.startswith("gpiochip") and d.name[8:].isdigit()]
        if len(siblings) > 1:
            raise GpioError(f"{name}: its device provides {len(siblings)} GPIO chips; cannot tell which "
                            f"{legacy}/gpiochip* is {name}: use the gpiod backend")
    if len(owned) != 1:
        raise GpioError(f"{name}: no entry in {legacy} (the sysfs interface does not list it)")
    base, ngpio = (int((owned[0] / attr).read_text()) for attr in ("base", "ngpio"))
    if offset >= ngpio:
        raise GpioError(f"{name} line {offset}: the chip has {ngpio} lines (0 to {ngpio - 1})")
    return base + offset


def open_gpio_led(backend: str, chip: str, line: str, active_low: bool = False, *, sysfs: str = SYSFS,
                  clock: Callable[[], float] = time.monotonic) -> GpioLed:
    """The LED on `line` (an offset, "17", or a line name) of `chip`, through `backend` (auto, gpiod, sysfs).
    GpioError, one line saying what is wrong, when it cannot be used."""
    line = line.strip()
    if not line:
        raise GpioError("no line given ([led] line: the offset on the chip, or the line's name)")
    target: int | str = int(line) if line.isdigit() else line
    if backend == "auto":
        why_not = _why_not_gpiod(chip)
        if why_not is None:
            return GpioLed(GpiodLine(chip, target, active_low), clock)
        try:
            led = open_gpio_led("sysfs", chip, line, active_low, sysfs=sysfs, clock=clock)
        except GpioError as e:
            raise GpioError(f"gpiod: {why_not}; sysfs: {e}") from None
        log.info("status LED: %s (gpiod: %s)", led.what, why_not)
        return led
    if backend == "gpiod":
        return GpioLed(GpiodLine(chip, target, active_low), clock)
    if backend == "sysfs":
        if not isinstance(target, int):
            raise GpioError(f"line {line!r}: the sysfs interface knows lines by number only (a name needs gpiod)")
        return GpioLed(SysfsGpioLine(chip, target, active_low, sysfs), clock)
    raise GpioError(f"backend {backend!r}: expected auto, gpiod or sysfs")


def _why_not_gpiod(chip: str) -> str | None:
    """None when the binding imports and the chip exists; else why not."""
    try:
        import_gpiod()
    except GpioError as e:
        return str(e)
    path = chip_path(chip)
    return None if os.path.exists(path) else f"no {path}"
