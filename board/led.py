"""The status LED: what a technician in front of the rack sees without a laptop.

Patterns (the agent chooses, the LED only shows; the README's legend says the same, tests/test_cli_led_legend.py
checks it):
    on          solid: primary link carries traffic, backup ready
    slow_blink  1 Hz: on backup (the fiber is down), traffic flows over cellular
    double      a short flash every second: primary fine but the backup is NOT ready (no SIM, not registered, the
                modem not answering or rebooting)
    on_battery  0.5 Hz: the site's power is cut, the router runs on its UPS (agent/power)
    fast_blink  4 Hz: both links down (the fiber down and no backup ready, or on cellular and it carries nothing)
    off         the agent is not running

Backends: `sysfs:NAME` drives /sys/class/leds/NAME with the kernel's `timer` trigger (the kernel blinks it: no
thread of ours, and it keeps blinking if the agent hangs, which is why "agent hung" cannot look like "fine" —
systemd's watchdog restarts a hung agent); `gpio` is an LED on a plain GPIO line, blinked by a thread of ours with
the same timings (board/led_gpio.py: libgpiod or the legacy sysfs GPIO); `console` logs the pattern; `none` does
nothing.
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

PATTERNS = {            # name -> (delay_on_ms, delay_off_ms); None = steady
    "on": None,
    "slow_blink": (500, 500),
    "double": (150, 850),    # the timer trigger has one on/off pair: a short flash at 1 Hz stands for it
    "fast_blink": (125, 125),
    "on_battery": (1000, 1000),   # 0.5 Hz: the site's power is cut, the router runs on its UPS
    "off": None,
}


class Led:
    def show(self, pattern: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Give back what the LED holds (a GPIO line, a thread); after show("off")."""


class NoLed(Led):
    def show(self, pattern: str) -> None:
        pass


class ConsoleLed(Led):
    def __init__(self) -> None:
        self.pattern: str | None = None

    def show(self, pattern: str) -> None:
        _check(pattern)
        if pattern != self.pattern:
            log.warning("status LED: %s", pattern)
            self.pattern = pattern


class SysfsLed(Led):
    def __init__(self, name: str, root: Path = Path("/sys/class/leds")):
        self.dir = root / name
        self.pattern: str | None = None
        if not self.dir.is_dir():
            raise FileNotFoundError(f"no LED {name!r} in {root} (see `ls {root}`)")

    def show(self, pattern: str) -> None:
        _check(pattern)
        if pattern == self.pattern:
            return
        timing = PATTERNS[pattern]
        try:
            if timing is None:
                self._write("trigger", "none")
                self._write("brightness", self._max() if pattern == "on" else "0")
            else:
                self._write("trigger", "timer")          # creates delay_on / delay_off
                self._write("delay_on", str(timing[0]))
                self._write("delay_off", str(timing[1]))
            self.pattern = pattern
        except OSError as e:
            log.error("status LED %s: %s", self.dir.name, e)

    def _max(self) -> str:
        try:
            return (self.dir / "max_brightness").read_text().strip() or "1"
        except OSError:
            return "1"

    def _write(self, name: str, value: str) -> None:
        (self.dir / name).write_text(value)


def open_led(spec: str, root: Path = Path("/sys/class/leds")) -> Led:
    """`console`, `none` or `sysfs:NAME`."""
    if spec == "none":
        return NoLed()
    if spec == "console":
        return ConsoleLed()
    if spec.startswith("sysfs:") and spec[6:]:
        return SysfsLed(spec[6:], root)
    raise ValueError(f"led: expected console, none or sysfs:NAME, got {spec!r}")


def _check(pattern: str) -> None:
    if pattern not in PATTERNS:
        raise ValueError(f"unknown LED pattern {pattern!r}")
