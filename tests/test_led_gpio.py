"""The status LED on a plain GPIO line (board/led_gpio.py): the blink timing on a fake clock, the thread that
drives it, the legacy sysfs interface on a fake /sys tree, libgpiod's real v2 binding (pip `gpiod`) up to the
chip, and the agent's one-line answer when the LED cannot be used.

Against a GPIO chip itself: tests/test_led_gpio_sim.py (the kernel's gpio-sim)."""
from __future__ import annotations

import logging
import math
import sys
import threading
import types

import pytest

from agent.config import from_dict
from agent.led_status import LedStatus, open_status_led
from board.gpio import GpioError, import_gpiod, request_output
from board.led import PATTERNS, NoLed
from board.led_gpio import Blinker, GpioLed, level_at, open_gpio_led, sysfs_number
from tests.virtual import FakeClock


class RecordingLine:
    """An output line that remembers each level written, with the fake clock's time."""
    what = "recording line"

    def __init__(self, clock=None, fail: Exception | None = None):
        self.clock, self.fail = clock, fail
        self.writes: list[tuple[float | None, bool]] = []
        self.closed = False
        self.written = threading.Condition()

    def set(self, lit: bool) -> None:
        if self.fail is not None:
            raise self.fail
        with self.written:
            self.writes.append((self.clock() if self.clock else None, lit))
            self.written.notify_all()

    def close(self) -> None:
        self.closed = True


def run(blinker: Blinker, clock: FakeClock, until: float) -> None:
    """Step the blinker as its thread would: at each instant it asks for, up to `until`."""
    while True:
        wait = blinker.step(clock())
        if clock.now + wait > until:
            return
        clock.now += wait


# ---- timing, on a fake clock ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, elapsed, lit, left", [
    ("on", 0.0, True, math.inf),
    ("on", 1e6, True, math.inf),
    ("off", 3.0, False, math.inf),
    ("slow_blink", 0.0, True, 0.5),
    ("slow_blink", 0.499, True, 0.001),
    ("slow_blink", 0.5, False, 0.5),
    ("slow_blink", 7.25, True, 0.25),        # periods later, same phase: no drift
    ("fast_blink", 0.125, False, 0.125),
    ("fast_blink", 0.3, True, 0.075),
    ("double", 0.1, True, 0.05),             # a 150 ms flash ...
    ("double", 0.2, False, 0.8),             # ... then dark until the next second
])
def test_level_at(pattern, elapsed, lit, left):
    got_lit, got_left = level_at(pattern, elapsed)
    assert got_lit is lit
    assert got_left == pytest.approx(left)


@pytest.mark.parametrize("pattern", [p for p, timing in PATTERNS.items() if timing is not None])
def test_a_blinking_line_changes_at_the_patterns_edges(pattern):
    clock = FakeClock(start=100.0)
    line = RecordingLine(clock)
    blinker = Blinker(line, clock())
    blinker.show(pattern, clock())
    run(blinker, clock, until=103.0)
    on_s, off_s = (ms / 1000 for ms in PATTERNS[pattern])
    expected, t, lit = [], 100.0, True
    while t <= 103.0 + 1e-9:
        expected.append((t, lit))
        t, lit = t + (on_s if lit else off_s), not lit
    assert [(round(t, 6), lit) for t, lit in line.writes] == [(round(t, 6), lit) for t, lit in expected]


def test_a_new_pattern_starts_lit_at_once_and_a_repeated_one_changes_nothing():
    clock = FakeClock(start=0.0)
    line = RecordingLine(clock)
    blinker = Blinker(line, clock())
    blinker.show("slow_blink", clock())
    run(blinker, clock, until=0.7)                    # on at 0, off at 0.5
    clock.now = 0.7
    assert blinker.show("slow_blink", clock()) is False
    assert blinker.step(clock()) == pytest.approx(0.3)   # still the old phase: off until 1.0
    assert blinker.show("fast_blink", clock()) is True
    blinker.step(clock())
    assert line.writes == [(0.0, True), (0.5, False), (0.7, True)]
    blinker.show("on", clock())
    assert blinker.step(clock()) == math.inf and line.writes[-1] == (0.7, True)   # already lit: no write


def test_a_failing_line_is_logged_once_not_at_every_edge(caplog):
    clock = FakeClock(start=0.0)
    blinker = Blinker(RecordingLine(fail=GpioError("/dev/gpiochip0 line 17: gone")), clock())
    blinker.show("fast_blink", clock())
    with caplog.at_level(logging.ERROR, logger="board.led_gpio"):
        run(blinker, clock, until=2.0)
    assert [r.getMessage() for r in caplog.records] == ["status LED recording line: /dev/gpiochip0 line 17: gone"]


# ---- the thread ----------------------------------------------------------------------------------------------

def test_the_thread_blinks_the_line_and_close_leaves_it_dark_and_released():
    line = RecordingLine()
    led = GpioLed(line)
    led.show("fast_blink")
    with line.written:
        assert line.written.wait_for(lambda: len(line.writes) >= 4, timeout=5), line.writes
    led.close()
    levels = [lit for _, lit in line.writes]
    assert levels[:4] == [True, False, True, False]
    assert all(a != b for a, b in zip(levels, levels[1:])), "a level written twice in a row"
    assert levels[-1] is False and line.closed
    assert not any(t.name == "status-led" and t.is_alive() for t in threading.enumerate())


def test_led_status_stop_shows_off_and_closes():
    from agent.core import Core
    line = RecordingLine()
    status = LedStatus(Core(), GpioLed(line))
    status.led.show("on")
    with line.written:
        assert line.written.wait_for(lambda: line.writes, timeout=5)
    status.stop()
    assert line.writes[-1][1] is False and line.closed


# ---- the legacy sysfs interface, on a fake /sys ----------------------------------------------------------------

def fake_sysfs(tmp_path, base=512, ngpio=8, parented_to_chip=False):
    """/sys laid out as a kernel with CONFIG_GPIO_SYSFS lays it out for one chip, gpiochip0, of a platform
    device: the legacy entry gpiochip<base> hangs under the chip's device or under the chip."""
    sysfs = tmp_path / "sys"
    platform = sysfs / "devices/platform/gpio-sim.0"
    (platform / "gpiochip0").mkdir(parents=True)
    (sysfs / "bus/gpio/devices").mkdir(parents=True)
    (sysfs / "bus/gpio/devices/gpiochip0").symlink_to(platform / "gpiochip0")
    legacy = sysfs / "class/gpio" / f"gpiochip{base}"
    legacy.mkdir(parents=True)
    (legacy / "base").write_text(f"{base}\n")
    (legacy / "ngpio").write_text(f"{ngpio}\n")
    (legacy / "device").symlink_to(platform / "gpiochip0" if parented_to_chip else platform)
    (sysfs / "class/gpio/export").write_text("")
    return sysfs


@pytest.mark.parametrize("parented_to_chip", [False, True])
def test_sysfs_number_is_the_chips_base_plus_the_offset(tmp_path, parented_to_chip):
    sysfs = fake_sysfs(tmp_path, base=512, parented_to_chip=parented_to_chip)
    assert sysfs_number("gpiochip0", 5, str(sysfs)) == 517
    assert sysfs_number("/dev/gpiochip0", 0, str(sysfs)) == 512


def test_sysfs_number_refuses_what_it_cannot_tell(tmp_path):
    with pytest.raises(GpioError, match="no sysfs GPIO interface"):
        sysfs_number("gpiochip0", 1, str(tmp_path))
    sysfs = fake_sysfs(tmp_path, ngpio=8)
    with pytest.raises(GpioError, match="has 8 lines"):
        sysfs_number("gpiochip0", 8, str(sysfs))
    with pytest.raises(GpioError, match="no GPIO chip 'gpiochip3'"):
        sysfs_number("gpiochip3", 1, str(sysfs))
    (sysfs / "devices/platform/gpio-sim.0/gpiochip1").mkdir()     # a second chip of the same device
    with pytest.raises(GpioError, match="provides 2 GPIO chips"):
        sysfs_number("gpiochip0", 1, str(sysfs))


def test_the_sysfs_led_exports_its_line_dark_and_blinks_it(tmp_path):
    sysfs = fake_sysfs(tmp_path, base=512)
    gpio = sysfs / "class/gpio"

    def udev_makes_the_line(_seconds):            # the export's gpioN/ appears a moment later
        if (gpio / "export").read_text() == "515":
            (gpio / "gpio515").mkdir(exist_ok=True)
            (gpio / "gpio515/value").write_text("0")

    from board.led_gpio import SysfsGpioLine
    clock = FakeClock(start=0.0)
    line = SysfsGpioLine("gpiochip0", 3, active_low=True, sysfs=str(sysfs), sleep=udev_makes_the_line, clock=clock)
    # dark from the start: for an active-low LED that is the physical level high
    assert ((gpio / "gpio515/direction").read_text(), (gpio / "gpio515/active_low").read_text()) == ("high", "1")
    values = []
    blinker = Blinker(line, clock())
    blinker.show("slow_blink", clock())
    for _ in range(3):
        clock.now += blinker.step(clock())
        values.append((gpio / "gpio515/value").read_text())
    assert values == ["1", "0", "1"]
    assert "GPIO 515" in line.what


# ---- libgpiod's v2 binding: the real one, up to the chip --------------------------------------------------------

def test_the_installed_binding_is_v2():
    """`make test` installs pip's gpiod 2.x (Debian 12's python3-libgpiod is 1.6): the tests below use it."""
    gpiod = import_gpiod()
    assert int(gpiod.__version__.split(".")[0]) >= 2


def test_a_missing_chip_is_one_line_after_the_binding_accepted_the_settings():
    """request_output builds the LineSettings before it opens the chip: reaching the chip's error proves the real
    binding took them (a wrong keyword or enum would raise TypeError/AttributeError first)."""
    with pytest.raises(GpioError) as e:
        request_output("gpiochip99", 17, active_low=True, consumer="relais-test", active=False)
    assert str(e.value) == "/dev/gpiochip99: no such GPIO chip (see `ls /dev/gpiochip*`, `gpiodetect`)"


@pytest.mark.parametrize("path", ["/dev/null", "/etc/hostname"])
def test_a_file_that_is_not_a_gpio_chip_is_one_line(path):
    with pytest.raises(GpioError) as e:
        open_gpio_led("gpiod", path, "17")
    assert str(e.value) == f"{path}: not a GPIO character device"


def test_the_v1_binding_and_no_binding_say_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiod", types.SimpleNamespace(__version__="1.6.3"))   # Debian 12's
    with pytest.raises(GpioError, match=r"version 1\.6\.3, relais needs v2 .*pip install gpiod"):
        import_gpiod()
    monkeypatch.setitem(sys.modules, "gpiod", None)       # not installed: import raises ImportError
    with pytest.raises(GpioError, match="python3-libgpiod.*pip install gpiod.*python3-gpiod"):
        import_gpiod()


def test_auto_without_a_chip_or_sysfs_says_both(tmp_path):
    with pytest.raises(GpioError) as e:
        open_gpio_led("auto", "gpiochip99", "17", sysfs=str(tmp_path))
    assert str(e.value) == ("gpiod: no /dev/gpiochip99; sysfs: no " + str(tmp_path / "class/gpio") + ": this "
                            "kernel has no sysfs GPIO interface (CONFIG_GPIO_SYSFS)")


def test_auto_falls_back_to_sysfs_without_the_binding(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiod", None)
    sysfs = fake_sysfs(tmp_path, base=0)
    (sysfs / "class/gpio/gpio4").mkdir()
    (sysfs / "class/gpio/gpio4/value").write_text("0")
    led = open_gpio_led("auto", "gpiochip0", "4", sysfs=str(sysfs))
    assert led.what == "GPIO 4 (gpiochip0 line 4, sysfs)"
    led.close()


def test_a_line_name_needs_gpiod(tmp_path):
    with pytest.raises(GpioError, match="knows lines by number only"):
        open_gpio_led("sysfs", "gpiochip0", "STATUS_LED", sysfs=str(fake_sysfs(tmp_path)))


# ---- the agent: one line, and it runs on without the LED ---------------------------------------------------------

def test_an_unusable_gpio_led_is_one_line_and_the_agent_runs_without_it(caplog):
    config = from_dict({"board": {"led": "gpio"}, "led": {"backend": "gpiod", "chip": "gpiochip99", "line": "17"}},
                       source="relais.toml")
    with caplog.at_level(logging.ERROR):
        led = open_status_led(config)
    assert isinstance(led, NoLed)
    assert [r.getMessage() for r in caplog.records] == [
        "relais.toml: [led] /dev/gpiochip99: no such GPIO chip (see `ls /dev/gpiochip*`, `gpiodetect`); "
        "running without the status LED"]


def test_gpio_without_a_line_is_said(caplog):
    config = from_dict({"board": {"led": "gpio"}}, source="relais.toml")
    with caplog.at_level(logging.ERROR):
        assert isinstance(open_status_led(config), NoLed)
    assert "[led] no line given" in caplog.text


def test_the_led_section_rejects_bad_values_by_name():
    for raw, message in [
        ({"led": {"chip": "/dev/sda"}}, '[led] chip: expected gpiochipN or /dev/gpiochipN, got "/dev/sda"'),
        ({"led": {"backend": "wiringpi"}}, '[led] backend: expected one of "auto", "gpiod", "sysfs", got '
                                           '"wiringpi"'),
        ({"led": {"line": "LED 1"}}, "[led] line: expected an offset (0 to 9999) or a line name of at most 31 "
                                     'characters without spaces, got "LED 1"'),
    ]:
        with pytest.raises(ValueError) as e:
            from_dict(raw, source="relais.toml")
        assert str(e.value) == f"relais.toml: {message}"


def test_the_default_led_loads_no_gpio_binding(tmp_path):
    """gpiod is imported only for [board] led = "gpio" (the memory budget: tests/test_memory_budget.py)."""
    from tests.test_memory_budget import BUILD  # the same build `relais run` does, in a fresh interpreter
    import json
    import subprocess
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    for board, led, loaded in [({}, {}, False),
                               ({"led": "gpio"}, {"backend": "gpiod", "chip": "gpiochip99", "line": "1"}, True)]:
        raw = {"modem": {"port": str(tmp_path / "no-modem")}, "board": {"backend": "simulated", **board},
               "led": led, "storage": {"dir": str(tmp_path / "var")},
               "mqtt": {"host": "127.0.0.1", "port": 1, "payload": "json"}}
        proc = subprocess.run([sys.executable, "-c", BUILD, json.dumps(raw), json.dumps(["gpiod"])], cwd=root,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert (json.loads(proc.stdout.splitlines()[-1]) == ["gpiod"]) is loaded
