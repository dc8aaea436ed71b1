"""USB unbind/rebind of the modem: the recovery ladder's step between a modem reset and a power cycle.

A modem whose firmware still runs but whose USB side is wedged (no answer on any port, or the ports gone without
coming back) often returns when the host drops the USB device and probes it again. That is two writes of the
device's bus id ("1-1.3") to /sys/bus/usb/drivers/usb/unbind and then .../bind.

The bus id comes from the tty: /sys/class/tty/ttyUSB2/device is a symlink into the device tree, e.g.
    /sys/devices/platform/scb/fd500000.pcie/.../usb1/1-1/1-1.3/1-1.3:1.2/ttyUSB2
whose nearest ancestor named like a USB device (bus-port[.port...]) with an idVendor file is the modem.
A pty (the simulator) has no such entry: that is a clear "not a USB device", not an error to retry.
"""
from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path
from typing import Callable

_USB_DEVICE = re.compile(r"\d+-\d+(?:\.\d+)*")


class UsbError(RuntimeError):
    """The modem's USB device cannot be found or rebound; the message says why."""


class NotUsbDevice(UsbError):
    """The port is not a USB device (a pty, a built-in UART): the step does not apply, it did not fail."""


def usb_device_for_tty(tty_path: str, sysfs: str = "/sys") -> str:
    """The USB bus id ("1-1.3") of the device a tty belongs to; UsbError when it is not on USB."""
    real = os.path.realpath(tty_path)
    name = os.path.basename(real)
    if real.startswith("/dev/pts/") or name == "ptmx":
        raise NotUsbDevice(f"{tty_path} is a pseudo-terminal ({real}), not a USB device")
    link = Path(sysfs, "class", "tty", name, "device")
    if not os.path.lexists(link):
        raise UsbError(f"{tty_path}: no {link} (the tty is gone, or it is not a USB serial device)")
    device = Path(os.path.realpath(link))
    top = Path(os.path.realpath(sysfs))
    for candidate in (device, *device.parents):
        if candidate == top or candidate == candidate.parent:
            break
        if _USB_DEVICE.fullmatch(candidate.name) and (candidate / "idVendor").exists():
            return candidate.name
    raise NotUsbDevice(f"{tty_path}: {device} is not below a USB device")


class UsbRebind:
    def __init__(self, sysfs: str = "/sys", settle_s: float = 2.0, sleep: Callable[[float], None] = time.sleep):
        self.sysfs = sysfs
        self.settle_s = settle_s
        self._sleep = sleep

    def device_for(self, tty_path: str) -> str:
        return usb_device_for_tty(tty_path, self.sysfs)

    def rebind(self, tty_path: str, known_device: str | None = None) -> str:
        """Unbind and bind the tty's USB device. `known_device`: the bus id found while the tty still existed,
        used when it is gone now (a wedged modem often drops its ports)."""
        try:
            device = self.device_for(tty_path)
        except UsbError:
            if known_device is None or not _USB_DEVICE.fullmatch(known_device):
                raise
            device = known_device
        driver = Path(self.sysfs, "bus", "usb", "drivers", "usb")
        try:
            _write(driver / "unbind", device)
        except OSError as e:
            if e.errno != errno.ENODEV:     # ENODEV: not bound (a previous attempt got half way): just bind
                raise UsbError(f"cannot write {device} to {driver / 'unbind'}: {e.strerror or e}") from None
        self._sleep(self.settle_s)          # let the ttys and the network interface go before probing again
        try:
            _write(driver / "bind", device)
        except OSError as e:
            raise UsbError(f"cannot write {device} to {driver / 'bind'}: {e.strerror or e}") from None
        return f"USB device {device} unbound and bound again"


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)
