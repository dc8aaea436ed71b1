"""board/usb.py and board/gpio.py against FAKE sysfs trees in tmp_path, and the ladder's board steps.

These are fake trees with the kernel's layout (/sys/class/tty/<tty>/device -> .../<usb dev>/<intf>/<tty>,
/sys/bus/usb/drivers/usb/{unbind,bind}, /sys/class/gpio/{export,gpioN/{direction,active_low,value}}): they check
which files are written with what, in which order. That a real kernel then drops and re-probes the modem, or
toggles the pin, needs the hardware and is not tested here (no USB modem, no GPIO chip on these machines).
"""
from __future__ import annotations

import errno
import os
import sys

import pytest

from agent.cellular.recovery import board_step
from board import usb as usbmod
from board.gpio import CallablePower, GpioError, GpiodPower, PowerSpec, SysfsPower, open_power, parse_spec
from board.usb import NotUsbDevice, UsbError, UsbRebind, usb_device_for_tty


@pytest.fixture
def sysfs(tmp_path):
    root = tmp_path / "sys"
    dev = root / "devices/platform/scb/fd500000.pcie/usb1/1-1"
    (dev / "1-1.3/1-1.3:1.2/ttyUSB2/tty/ttyUSB2").mkdir(parents=True)
    for d in (dev, dev / "1-1.3"):
        (d / "idVendor").write_text("2c7c\n")
    (root / "class/tty/ttyUSB2").mkdir(parents=True)
    os.symlink(dev / "1-1.3/1-1.3:1.2/ttyUSB2", root / "class/tty/ttyUSB2/device")
    drivers = root / "bus/usb/drivers/usb"
    drivers.mkdir(parents=True)
    (drivers / "bind").write_text("")
    (drivers / "unbind").write_text("")
    (tmp_path / "dev/serial/by-id").mkdir(parents=True)
    os.symlink("../../ttyUSB2", tmp_path / "dev/serial/by-id/usb-Quectel_RM500Q-GL-if02-port0")
    return root


def test_usb_device_of_a_tty_through_a_by_id_link(sysfs, tmp_path):
    link = str(tmp_path / "dev/serial/by-id/usb-Quectel_RM500Q-GL-if02-port0")
    assert usb_device_for_tty(link, str(sysfs)) == "1-1.3"      # the modem, not its hub 1-1, not the interface


def test_rebind_writes_the_device_to_unbind_then_to_bind(sysfs, tmp_path):
    drivers = sysfs / "bus/usb/drivers/usb"
    seen = []

    def settle(s):   # between the two writes: unbind done, bind not yet
        seen.append(((drivers / "unbind").read_text(), (drivers / "bind").read_text(), s))
    out = UsbRebind(str(sysfs), settle_s=2.0, sleep=settle).rebind(str(tmp_path / "dev/ttyUSB2"))
    assert seen == [("1-1.3", "", 2.0)]
    assert (drivers / "bind").read_text() == "1-1.3"
    assert out == "USB device 1-1.3 unbound and bound again"


def test_rebind_uses_the_known_device_when_the_tty_is_gone(sysfs, tmp_path):
    os.unlink(sysfs / "class/tty/ttyUSB2/device")
    with pytest.raises(UsbError, match="no .*device"):
        UsbRebind(str(sysfs), sleep=lambda s: None).rebind(str(tmp_path / "dev/ttyUSB2"))
    UsbRebind(str(sysfs), sleep=lambda s: None).rebind(str(tmp_path / "dev/ttyUSB2"), known_device="1-1.3")
    assert (sysfs / "bus/usb/drivers/usb/bind").read_text() == "1-1.3"


def test_rebind_binds_a_device_left_unbound(sysfs, tmp_path, monkeypatch):
    real = usbmod._write

    def write(path, value):
        if path.name == "unbind":
            raise OSError(errno.ENODEV, "No such device")
        real(path, value)
    monkeypatch.setattr(usbmod, "_write", write)
    UsbRebind(str(sysfs), sleep=lambda s: None).rebind(str(tmp_path / "dev/ttyUSB2"))
    assert (sysfs / "bus/usb/drivers/usb/bind").read_text() == "1-1.3"


def test_rebind_without_permission_is_a_clear_error(sysfs, tmp_path, monkeypatch):
    monkeypatch.setattr(usbmod, "_write", lambda p, v: (_ for _ in ()).throw(OSError(errno.EACCES, "Permission denied")))
    with pytest.raises(UsbError, match="cannot write 1-1.3 to .*unbind: Permission denied"):
        UsbRebind(str(sysfs), sleep=lambda s: None).rebind(str(tmp_path / "dev/ttyUSB2"))


def test_a_pty_is_not_a_usb_device():
    master, slave = os.openpty()
    try:
        with pytest.raises(NotUsbDevice, match="pseudo-terminal"):
            usb_device_for_tty(os.ttyname(slave))
    finally:
        os.close(master)
        os.close(slave)


def test_a_tty_not_below_usb(sysfs, tmp_path):
    (sysfs / "devices/platform/serial8250/tty/ttyS0").mkdir(parents=True)
    (sysfs / "class/tty/ttyS0").mkdir(parents=True)
    os.symlink(sysfs / "devices/platform/serial8250/tty/ttyS0", sysfs / "class/tty/ttyS0/device")
    with pytest.raises(NotUsbDevice, match="not below a USB device"):
        usb_device_for_tty(str(tmp_path / "dev/ttyS0"), str(sysfs))


# ---- GPIO ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,spec", [
    ("", None), ("  ", None), ("sysfs:17", PowerSpec("sysfs", line=17)),
    ("gpiod:gpiochip0:17", PowerSpec("gpiod", line=17, chip="gpiochip0")),
    ("gpiod:/dev/gpiochip1:5", PowerSpec("gpiod", line=5, chip="/dev/gpiochip1")),
    ("simulator:/tmp/x/modem", PowerSpec("simulator", target="/tmp/x/modem")),
    ("sim:/tmp/x/modem", PowerSpec("simulator", target="/tmp/x/modem")),   # the name before the rename
])
def test_power_specs(text, spec):
    assert parse_spec(text) == spec


@pytest.mark.parametrize("text", ["sysfs:", "sysfs:-1", "sysfs:99999", "gpiod:17", "gpiod::3", "sim:", "simulator:", "relay:1",
                                  "gpiod:chip 0:1", "17"])
def test_bad_power_specs_say_what_is_expected(text):
    with pytest.raises(GpioError, match="power_gpio"):
        parse_spec(text)


@pytest.fixture
def gpio(tmp_path):
    root = tmp_path / "gpio"
    root.mkdir()
    (root / "export").write_text("")
    return root


def exported(root, line=17):
    d = root / f"gpio{line}"
    d.mkdir()
    for name in ("direction", "active_low", "value"):
        (d / name).write_text("")
    return d


def test_sysfs_power_cycle_holds_the_line_off_then_on(gpio):
    d = exported(gpio)
    during = []
    out = SysfsPower(17, root=str(gpio), sleep=lambda s: during.append(((d / "value").read_text(), s))).power_cycle(3)
    assert during == [("0", 3)]
    assert (d / "value").read_text() == "1"
    assert (d / "direction").read_text() == "high"        # an output that starts powered: exporting never cuts
    assert (d / "active_low").read_text() == "0"
    assert out == "GPIO 17 (sysfs) off for 3 s, then on"


def test_sysfs_active_low_wiring(gpio):
    d = exported(gpio)
    SysfsPower(17, active_low=True, root=str(gpio), sleep=lambda s: None).power_cycle(1)
    assert (d / "direction").read_text() == "low" and (d / "active_low").read_text() == "1"


def test_sysfs_exports_the_line_and_waits_for_it(gpio):
    def udev(_s):                               # the kernel and udev make gpio17/ a moment after the export
        if not (gpio / "gpio17").exists():
            exported(gpio)
    SysfsPower(17, root=str(gpio), sleep=udev).power_cycle(1)
    assert (gpio / "export").read_text() == "17"


def test_sysfs_line_that_never_appears(gpio):
    clock = iter(range(0, 100))
    power = SysfsPower(17, root=str(gpio), sleep=lambda s: None, clock=lambda: next(clock) * 0.1)
    with pytest.raises(GpioError, match="did not appear after the export"):
        power.power_cycle(1)


def test_sysfs_restores_the_power_even_when_interrupted(gpio):
    d = exported(gpio)

    def interrupted(_s):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        SysfsPower(17, root=str(gpio), sleep=interrupted).power_cycle(3)
    assert (d / "value").read_text() == "1"


def test_gpiod_without_its_python_binding_says_which_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "gpiod", None)          # as on a machine without python3-libgpiod
    with pytest.raises(GpioError, match="python3-libgpiod"):
        GpiodPower("gpiochip0", 17, sleep=lambda s: None).power_cycle(1)


def test_callable_power_and_its_errors():
    assert CallablePower(lambda: "power cycled", "sim").power_cycle(1) == "sim: power cycled"

    def broken():
        raise RuntimeError("simulator is not running")
    with pytest.raises(GpioError, match="sim: simulator is not running"):
        CallablePower(broken, "sim").power_cycle(1)


def test_open_power(gpio):
    assert open_power("") is None
    assert isinstance(open_power("sysfs:4", sysfs_root=str(gpio)), SysfsPower)
    assert open_power("sim:/x", simulator_factory=lambda target: lambda: target).power_cycle(1) == "simulator at /x: /x"
    with pytest.raises(GpioError, match="no simulator control"):
        open_power("sim:/x")


# ---- the ladder's board steps ----------------------------------------------------------------------------------

def test_board_steps(sysfs, tmp_path, gpio):
    rebind = UsbRebind(str(sysfs), sleep=lambda s: None)
    ok, detail = board_step("usb", usb=rebind, power=None, port_path=str(tmp_path / "dev/ttyUSB2"), usb_device=None,
                            power_off_s=1)
    assert ok and detail == "USB device 1-1.3 unbound and bound again"
    master, slave = os.openpty()
    try:
        ok, detail = board_step("usb", usb=rebind, power=None, port_path=os.ttyname(slave), usb_device=None,
                                power_off_s=1)
    finally:
        os.close(master)
        os.close(slave)
    assert not ok and detail.startswith("skipped: ") and "pseudo-terminal" in detail
    ok, detail = board_step("power", usb=rebind, power=None, port_path="", usb_device=None, power_off_s=1)
    assert (ok, detail) == (False, "skipped: no power control configured ([board] power_gpio)")
    ok, detail = board_step("power", usb=rebind, power=SysfsPower(17, root=str(gpio), sleep=lambda s: None,
                                                                   clock=iter(range(100)).__next__),
                            port_path="", usb_device=None, power_off_s=1)
    assert not ok and "did not appear" in detail
