"""The status LED against a real GPIO chip: the kernel's gpio-sim (Linux 5.17+, CONFIG_GPIO_SIM), a simulated
chip made through configfs whose line levels read back from sysfs (sim_gpioN/value); documented at
https://docs.kernel.org/admin-guide/gpio/gpio-sim.html. The tests load the module and mount configfs themselves
(root).

On a kernel without gpio-sim (Debian does not build it; a Firecracker VM has no GPIO support at all) the same
tests run in a QEMU guest instead: tests/gpio_sim_vm.sh boots Debian's kernel with gpio-sim built from its
source. Either way they run; without root they skip, and under CI=true that skip fails the run."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.config import from_dict
from agent.led_status import open_status_led
from board.gpio import GpiodPower, GpioError
from board.led_gpio import Blinker, GpiodLine, open_gpio_led
from tests.virtual import FakeClock

pytestmark = pytest.mark.gpio_sim

CONFIGFS = Path("/sys/kernel/config")
NUM_LINES = 8
NAMED = (5, "RELAIS_TEST_LED")      # a line with a name, as a board's device tree gives them


def gpio_sim_missing() -> str | None:
    """Why gpio-sim cannot be used here, after trying to make it usable; None when it can."""
    if os.geteuid() != 0:
        return "gpio-sim needs root (configfs, modprobe)"
    if CONFIGFS.is_dir() and not os.path.ismount(CONFIGFS):
        subprocess.run(["mount", "-t", "configfs", "none", str(CONFIGFS)], capture_output=True)
    if not (CONFIGFS / "gpio-sim").is_dir():
        modprobe = shutil.which("modprobe") or "/sbin/modprobe"
        if not os.path.exists(modprobe):
            return "no modprobe (Debian: apt install kmod) to load gpio-sim"
        r = subprocess.run([modprobe, "gpio-sim"], capture_output=True, text=True)
        if r.returncode != 0:
            return f"modprobe gpio-sim: {(r.stderr or r.stdout).strip() or r.returncode}"
    if not (CONFIGFS / "gpio-sim").is_dir():
        return f"no {CONFIGFS / 'gpio-sim'} after loading gpio-sim (configfs not available?)"
    return None


@dataclass
class SimChip:
    name: str            # gpiochipN, as /dev names it
    device: str          # gpio-sim.N, the platform device

    def level(self, offset: int) -> int:
        """The line's physical level, as the simulated chip sees it."""
        return int(Path(f"/sys/devices/platform/{self.device}/{self.name}/sim_gpio{offset}/value").read_text())


@pytest.fixture
def chip():
    why = gpio_sim_missing()
    if why:
        pytest.skip(why)
    dev = CONFIGFS / "gpio-sim" / f"relais-led-{os.getpid()}"
    bank = dev / "gpio-bank0"
    bank.mkdir(parents=True)                     # configfs: one directory at a time, as mkdir -p does
    (bank / "num_lines").write_text(str(NUM_LINES))
    (bank / f"line{NAMED[0]}").mkdir()
    (bank / f"line{NAMED[0]}" / "name").write_text(NAMED[1])
    (dev / "live").write_text("1")
    try:
        yield SimChip((bank / "chip_name").read_text().strip(), (dev / "dev_name").read_text().strip())
    finally:
        (dev / "live").write_text("0")
        (bank / f"line{NAMED[0]}").rmdir()
        bank.rmdir()
        dev.rmdir()


def blink(line, chip: SimChip, offset: int, pattern: str, edges: int) -> list[int]:
    """The chip's level at each of the pattern's first edges, stepping on a fake clock."""
    clock = FakeClock(start=0.0)
    blinker = Blinker(line, clock())
    blinker.show(pattern, clock())
    levels = []
    for _ in range(edges):
        clock.now += blinker.step(clock())
        levels.append(chip.level(offset))
    return levels


class TestOnAGpioSimChip:
    def test_gpiod_drives_the_line_by_offset(self, chip):
        line = GpiodLine(chip.name, 3)
        try:
            assert chip.level(3) == 0                    # requested dark
            assert blink(line, chip, 3, "slow_blink", 4) == [1, 0, 1, 0]
        finally:
            line.close()

    def test_gpiod_finds_the_line_by_name(self, chip):
        line = GpiodLine(f"/dev/{chip.name}", NAMED[1])
        try:
            assert blink(line, chip, NAMED[0], "fast_blink", 3) == [1, 0, 1]
        finally:
            line.close()

    def test_active_low_inverts_the_physical_level(self, chip):
        line = GpiodLine(chip.name, 2, active_low=True)
        try:
            assert chip.level(2) == 1                    # dark = high for an LED wired to the supply
            assert blink(line, chip, 2, "slow_blink", 2) == [0, 1]
        finally:
            line.close()

    def test_the_led_thread_closes_dark_and_gives_the_line_back(self, chip):
        led = open_gpio_led("auto", chip.name, "4")      # auto: the binding imports and the chip exists
        assert led.what == f"/dev/{chip.name} line 4"
        led.show("on")
        led.close()
        assert chip.level(4) == 0
        GpiodLine(chip.name, 4).close()                  # released: it can be requested again

    def test_a_line_in_use_and_a_line_the_chip_lacks_are_one_line(self, chip):
        held = GpiodLine(chip.name, 1)
        try:
            with pytest.raises(GpioError) as e:
                GpiodLine(chip.name, 1)
            assert str(e.value) == f"/dev/{chip.name} line 1: in use by another consumer (see `gpioinfo`)"
        finally:
            held.close()
        for missing in (NUM_LINES, "NO_SUCH_LINE"):
            with pytest.raises(GpioError) as e:
                GpiodLine(chip.name, missing)
            assert str(e.value).startswith(f"/dev/{chip.name} line {missing}: ")
            assert "\n" not in str(e.value)

    def test_the_legacy_sysfs_interface_finds_the_same_line(self, chip):
        """Where the kernel still has /sys/class/gpio (CONFIG_GPIO_SYSFS), the sysfs backend finds the line's
        number from the chip's name and drives the same pin."""
        if not Path("/sys/class/gpio").is_dir():
            pytest.skip("this kernel has no /sys/class/gpio (CONFIG_GPIO_SYSFS)")
        led = open_gpio_led("sysfs", chip.name, "6", active_low=True)
        try:
            assert chip.level(6) == 1                    # exported dark (active low)
            assert blink(led._blinker.line, chip, 6, "double", 2) == [0, 1]
        finally:
            led.close()
            number = int(led.what.split()[1])
            Path("/sys/class/gpio/unexport").write_text(str(number))   # the agent leaves it exported; the test not

    def test_the_agent_opens_the_configured_led(self, chip):
        config = from_dict({"board": {"led": "gpio"},
                            "led": {"backend": "gpiod", "chip": chip.name, "line": NAMED[1]}})
        led = open_status_led(config)
        try:
            led.show("on")
            # The thread writes it: wait for that, not for a fixed time. It notifies nobody when it has (it only
            # waits on the condition), so look, rather than wait_for() a notify that would only come at the timeout.
            deadline = time.monotonic() + 5
            while led._blinker.lit is not True and time.monotonic() < deadline:
                time.sleep(0.01)
            assert led._blinker.lit is True
            assert chip.level(NAMED[0]) == 1
        finally:
            led.close()
        assert chip.level(NAMED[0]) == 0

    def test_the_modem_power_switch_cuts_and_restores_the_line(self, chip):
        seen = []
        power = GpiodPower(chip.name, 7, sleep=lambda s: seen.append((s, chip.level(7))))
        try:
            assert power.power_cycle(3.0) == f"/dev/{chip.name} line 7 off for 3 s, then on"
            assert seen == [(3.0, 0)] and chip.level(7) == 1     # off while it slept, powered after
        finally:
            power.close()


def gpio_sim_in_this_kernel() -> bool:
    """Whether this kernel has gpio-sim: loaded, built in, or a module modprobe finds (-n: nothing is loaded)."""
    if (CONFIGFS / "gpio-sim").is_dir():
        return True
    modprobe = shutil.which("modprobe") or "/sbin/modprobe"
    return os.path.exists(modprobe) and subprocess.run([modprobe, "-n", "gpio-sim"],
                                                       capture_output=True).returncode == 0


@pytest.mark.slow
def test_on_a_gpio_sim_chip_in_a_guest():
    """The class above, run in a QEMU guest whose kernel has gpio-sim (about 15 s; the first run downloads
    Debian's kernel image and source, about 210 MB, into /var/tmp)."""
    if os.geteuid() != 0:
        pytest.skip("the gpio-sim guest needs root (apt, building a kernel module)")
    script = Path(__file__).with_name("gpio_sim_vm.sh")
    r = subprocess.run([str(script)], capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "RELAIS_GPIO_VM_PYTHON": sys.executable})
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert re.search(r"\b\d+ passed\b", r.stdout) and "skipped" not in r.stdout, r.stdout[-4000:]


# Only one of the two is collected: the class where this kernel has gpio-sim (as inside the guest), else the guest.
if gpio_sim_in_this_kernel():
    del test_on_a_gpio_sim_chip_in_a_guest
else:
    del TestOnAGpioSimChip
