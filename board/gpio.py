"""Power-cycling the modem through a GPIO line: the recovery ladder's last step, for a modem that hangs until its
power is cut.

A power spec ([board] power_gpio) names the line:
    ""                   no power control
    sysfs:17             /sys/class/gpio/gpio17, the legacy interface (exported on first use)
    gpiod:gpiochip0:17   the GPIO character device through libgpiod's Python binding (Debian python3-libgpiod, v2)
    simulator:<link>     the modem simulator linked at <link>; board/ knows no simulator, so the caller turns the
                         target into a callable (see open_power's `simulator_factory`)

The line drives the modem's power *enable*: active = powered. `active_low` is for boards wired the other way.
A power cycle holds the line inactive for `off_s` (long enough for the modem's capacitors to drain; 3 s suits
M.2 / mPCIe cards on a Raspberry Pi HAT) and then active again.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SYSFS_GPIO = "/sys/class/gpio"
EXPORT_WAIT_S = 1.0      # udev makes gpioN/ writable a moment after the export


class GpioError(RuntimeError):
    """The power line cannot be used; the message says which and why."""


@dataclass(frozen=True)
class PowerSpec:
    kind: str            # sysfs | gpiod | simulator
    line: int = 0
    chip: str = ""
    target: str = ""     # simulator: the simulator's link


def parse_spec(text: str) -> PowerSpec | None:
    """None for "" (no power control); GpioError for anything that is not a valid spec."""
    text = (text or "").strip()
    if not text:
        return None
    kind, _, rest = text.partition(":")
    if kind == "sysfs":
        return PowerSpec("sysfs", line=_line(rest, text))
    if kind == "gpiod":
        chip, _, line = rest.rpartition(":")
        if not chip or "/" in chip.replace("/dev/", "", 1) or any(c.isspace() for c in chip):
            raise GpioError(f"power_gpio {text!r}: expected gpiod:CHIP:LINE, e.g. gpiod:gpiochip0:17")
        return PowerSpec("gpiod", line=_line(line, text), chip=chip)
    if kind in ("simulator", "sim"):    # "sim:" is the name configurations used before "sim" meant the card only
        if not rest:
            raise GpioError(f"power_gpio {text!r}: expected simulator:<simulator link path>")
        return PowerSpec("simulator", target=rest)
    raise GpioError(f"power_gpio {text!r}: expected sysfs:N, gpiod:CHIP:LINE or simulator:LINK (or \"\" for none)")


def _line(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) > 4095:
        raise GpioError(f"power_gpio {spec!r}: the line must be a number from 0 to 4095")
    return int(text)


class PowerSwitch(ABC):
    name = "abstract"

    @abstractmethod
    def power_cycle(self, off_s: float) -> str:
        """Cut the modem's power for off_s, then restore it. Blocking; returns what was done, GpioError if not."""

    def close(self) -> None:
        pass


class SysfsPower(PowerSwitch):
    """The legacy /sys/class/gpio interface (still the common one on Raspberry Pi OS and OpenWrt)."""
    name = "sysfs"

    def __init__(self, line: int, active_low: bool = False, root: str = SYSFS_GPIO,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.line, self.active_low = line, active_low
        self.root = Path(root)
        self._sleep, self._clock = sleep, clock
        self._ready = False

    @property
    def _dir(self) -> Path:
        return self.root / f"gpio{self.line}"

    def _prepare(self) -> None:
        if self._ready:
            return
        if not self._dir.exists():
            _write(self.root / "export", str(self.line))
            deadline = self._clock() + EXPORT_WAIT_S
            while not (self._dir / "value").exists():
                if self._clock() >= deadline:
                    raise GpioError(f"GPIO {self.line}: {self._dir} did not appear after the export")
                self._sleep(0.05)
        # "high"/"low" make it an output that starts at that *physical* level: the level that keeps the modem
        # powered, so exporting the line never cuts the power by itself.
        on_level = "low" if self.active_low else "high"
        _write(self._dir / "direction", on_level)
        _write(self._dir / "active_low", "1" if self.active_low else "0")
        self._ready = True

    def power_cycle(self, off_s: float) -> str:
        self._prepare()
        _write(self._dir / "value", "0")
        try:
            self._sleep(off_s)
        finally:
            _write(self._dir / "value", "1")      # whatever happened, the modem gets its power back
        return f"GPIO {self.line} (sysfs) off for {off_s:g} s, then on"


class GpiodPower(PowerSwitch):
    """The GPIO character device through libgpiod's v2 Python binding. The line stays requested (and driven to
    "powered") for the agent's lifetime: a released line may float and cut the modem."""
    name = "gpiod"

    def __init__(self, chip: str, line: int, active_low: bool = False, sleep: Callable[[float], None] = time.sleep):
        self.chip = chip if chip.startswith("/") else f"/dev/{chip}"
        self.line, self.active_low = line, active_low
        self._sleep = sleep
        self._request = None

    def _prepare(self):
        if self._request is not None:
            return self._request
        try:
            import gpiod
            from gpiod.line import Direction, Value
        except ImportError:
            raise GpioError("gpiod power control needs libgpiod's Python binding v2 (Debian: python3-libgpiod)") \
                from None
        try:
            self._request = gpiod.request_lines(
                self.chip, consumer="relais-modem-power",
                config={self.line: gpiod.LineSettings(direction=Direction.OUTPUT, output_value=Value.ACTIVE,
                                                      active_low=self.active_low)})
        except (OSError, ValueError) as e:
            raise GpioError(f"{self.chip} line {self.line}: {e}") from None
        return self._request

    def power_cycle(self, off_s: float) -> str:
        request = self._prepare()
        from gpiod.line import Value   # _prepare() checked that it imports
        try:
            request.set_value(self.line, Value.INACTIVE)
            try:
                self._sleep(off_s)
            finally:
                request.set_value(self.line, Value.ACTIVE)
        except OSError as e:
            raise GpioError(f"{self.chip} line {self.line}: {e}") from None
        return f"{self.chip} line {self.line} off for {off_s:g} s, then on"

    def close(self) -> None:
        if self._request is not None:
            self._request.release()
            self._request = None


class CallablePower(PowerSwitch):
    """Power control handed in as a function: the simulator in tests and the demo."""
    name = "simulator"

    def __init__(self, cycle: Callable[[], object], what: str = "simulated power switch"):
        self._cycle, self.what = cycle, what

    def power_cycle(self, off_s: float) -> str:
        try:
            answer = self._cycle()
        except (OSError, RuntimeError, ValueError) as e:
            raise GpioError(f"{self.what}: {e}") from None
        return f"{self.what}: {answer}" if answer else f"{self.what} power cycled"


def open_power(text: str, *, active_low: bool = False, sysfs_root: str = SYSFS_GPIO,
               simulator_factory: Callable[[str], Callable[[], object]] | None = None) -> PowerSwitch | None:
    """The power switch a spec names; None for no power control. Opening touches no hardware (first use does)."""
    spec = parse_spec(text)
    if spec is None:
        return None
    if spec.kind == "sysfs":
        return SysfsPower(spec.line, active_low, root=sysfs_root)
    if spec.kind == "gpiod":
        return GpiodPower(spec.chip, spec.line, active_low)
    if simulator_factory is None:
        raise GpioError(f"power_gpio {text!r}: no simulator control was provided")
    return CallablePower(simulator_factory(spec.target), f"simulator at {spec.target}")


def _write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise GpioError(f"cannot write {value!r} to {path}: {e.strerror or e}") from None
