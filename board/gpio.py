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

import errno
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


def import_gpiod():
    """libgpiod's Python binding, v2 (request_lines, LineSettings), imported on first use: most boards never load
    it. GpioError, saying what to install, when it is missing or is the v1 binding (Debian 12's python3-libgpiod
    is 1.6, whose API is different)."""
    try:
        import gpiod
    except ImportError:
        raise GpioError("libgpiod's Python binding v2 is not installed (Debian 13: apt install python3-libgpiod; "
                        "Debian 12: pip install gpiod; OpenWrt: opkg install python3-gpiod)") from None
    if not hasattr(gpiod, "request_lines"):
        raise GpioError(f"libgpiod's Python binding is version {getattr(gpiod, '__version__', '1.x')}, relais "
                        "needs v2 (Debian 12's python3-libgpiod is 1.6: pip install gpiod instead)")
    return gpiod


def chip_path(chip: str) -> str:
    """`gpiochip0` or `/dev/gpiochip0` -> /dev/gpiochip0."""
    return chip if chip.startswith("/") else f"/dev/{chip}"


def request_output(chip: str, line: int | str, *, active_low: bool, consumer: str, active: bool):
    """Request one line of a GPIO character device as an output through libgpiod v2, starting `active` or not.
    `line` is an offset on the chip or the line's name. Returns the gpiod LineRequest; GpioError with one line
    naming the chip, the line and what is wrong."""
    gpiod = import_gpiod()
    from gpiod.line import Direction, Value
    path = chip_path(chip)
    # the settings are made before the chip is opened: a binding that does not accept them fails here, on any
    # machine, rather than only on the board
    settings = gpiod.LineSettings(direction=Direction.OUTPUT, active_low=active_low,
                                  output_value=Value.ACTIVE if active else Value.INACTIVE)
    try:
        chip_handle = gpiod.Chip(path)
    except FileNotFoundError:
        raise GpioError(f"{path}: no such GPIO chip (see `ls /dev/gpiochip*`, `gpiodetect`)") from None
    except OSError as e:
        if e.errno in (errno.ENODEV, errno.ENOTTY):
            raise GpioError(f"{path}: not a GPIO character device") from None
        raise GpioError(f"{path}: {e.strerror or e}") from None
    try:
        with chip_handle:      # the request outlives the chip's handle
            return chip_handle.request_lines(config={line: settings}, consumer=consumer)
    except FileNotFoundError:  # the binding's answer to a name no line has
        raise GpioError(f"{path} line {line}: the chip has no line of that name (see `gpioinfo "
                        f"{Path(path).name}`)") from None
    except OSError as e:
        if e.errno == errno.EBUSY:
            raise GpioError(f"{path} line {line}: in use by another consumer (see `gpioinfo`)") from None
        raise GpioError(f"{path} line {line}: {e.strerror or e}") from None
    except ValueError as e:    # an offset past the chip's last line
        raise GpioError(f"{path} line {line}: {e}") from None


class PowerSwitch(ABC):
    name = "abstract"

    @abstractmethod
    def power_cycle(self, off_s: float) -> str:
        """Cut the modem's power for off_s, then restore it. Blocking; returns what was done, GpioError if not."""

    def close(self) -> None:
        pass


class SysfsLine:
    """One line of the legacy /sys/class/gpio interface, by its global number, as an output.

    The interface is deprecated (since Linux 4.8) and absent from kernels built without CONFIG_GPIO_SYSFS, which
    new distributions and OpenWrt targets increasingly are; it stays because it is still the common one on older
    Raspberry Pi OS and OpenWrt images."""

    def __init__(self, number: int, active_low: bool = False, root: str = SYSFS_GPIO,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.number, self.active_low = number, active_low
        self.root = Path(root)
        self._sleep, self._clock = sleep, clock
        self._ready = False

    @property
    def dir(self) -> Path:
        return self.root / f"gpio{self.number}"

    def prepare(self, active: bool) -> None:
        """Export the line (once) and make it an output that starts `active` or not."""
        if self._ready:
            return
        if not self.dir.exists():
            _write(self.root / "export", str(self.number))
            deadline = self._clock() + EXPORT_WAIT_S
            while not (self.dir / "value").exists():
                if self._clock() >= deadline:
                    raise GpioError(f"GPIO {self.number}: {self.dir} did not appear after the export")
                self._sleep(0.05)
        # "high"/"low" make it an output that starts at that *physical* level, so exporting the line never makes
        # it glitch through the other level (for the modem's power: never cuts it by itself).
        _write(self.dir / "direction", "high" if active != self.active_low else "low")
        _write(self.dir / "active_low", "1" if self.active_low else "0")
        self._ready = True

    def set(self, active: bool) -> None:
        _write(self.dir / "value", "1" if active else "0")


class SysfsPower(PowerSwitch):
    """The legacy /sys/class/gpio interface (still the common one on Raspberry Pi OS and OpenWrt)."""
    name = "sysfs"

    def __init__(self, line: int, active_low: bool = False, root: str = SYSFS_GPIO,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.line, self.active_low = line, active_low
        self._sysfs = SysfsLine(line, active_low, root, sleep, clock)
        self._sleep = sleep

    def power_cycle(self, off_s: float) -> str:
        self._sysfs.prepare(active=True)        # the level that keeps the modem powered
        self._sysfs.set(False)
        try:
            self._sleep(off_s)
        finally:
            self._sysfs.set(True)               # whatever happened, the modem gets its power back
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
        if self._request is None:
            self._request = request_output(self.chip, self.line, active_low=self.active_low,
                                           consumer="relais-modem-power", active=True)
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
