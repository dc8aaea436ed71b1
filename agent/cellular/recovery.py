"""Carrying out the recovery ladder's steps (agent/cellular/ladder.py decides which).

The AT steps are modem-service jobs (they queue behind the AT traffic, on the modem worker). Each first checks
that the modem answers a bare AT within PING_S: a hung modem fails the step in seconds instead of holding the
worker for a 180 s AT+COPS timeout, and the ladder moves on. The USB and power steps run on a thread of their
own: they are for a modem whose AT side is stuck, so they must not wait in its queue.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from board.gpio import GpioError, PowerSwitch
from board.usb import NotUsbDevice, UsbError, UsbRebind
from modem.device import ModemDevice

log = logging.getLogger(__name__)

PING_S = 3.0


@dataclass(frozen=True)
class StepFinished:
    """Posted to the core by the thread that ran a USB or power step."""
    step: str
    ok: bool
    detail: str


def _reregister(dev: ModemDevice) -> str:
    dev.ping(PING_S)
    dev.set_operator(None)
    return "AT+COPS=0"


def _radio(dev: ModemDevice) -> str:
    dev.ping(PING_S)
    dev.radio(False)
    dev.radio(True)
    return "AT+CFUN=0, AT+CFUN=1"


def _reset(dev: ModemDevice) -> str:
    dev.ping(PING_S)
    dev.reset()
    return "AT+CFUN=1,1"


AT_JOBS: dict[str, Callable[[ModemDevice], str]] = {"reregister": _reregister, "radio": _radio, "reset": _reset}


def board_step(step: str, *, usb: UsbRebind, power: PowerSwitch | None, port_path: str, usb_device: str | None,
               power_off_s: float) -> tuple[bool, str]:
    """Run the usb or power step (blocking). (ok, detail); a step that does not apply here is 'skipped: why'."""
    if step == "usb":
        try:
            return True, usb.rebind(port_path, known_device=usb_device)
        except NotUsbDevice as e:
            return False, f"skipped: {e}"
        except UsbError as e:
            return False, str(e)
    if step == "power":
        if power is None:
            return False, "skipped: no power control configured ([board] power_gpio)"
        try:
            return True, power.power_cycle(power_off_s)
        except GpioError as e:
            return False, str(e)
    raise ValueError(f"not a board step: {step!r}")


def start_board_step(step: str, post: Callable[[object], None], **kwargs) -> threading.Thread:
    def run() -> None:
        try:
            ok, detail = board_step(step, **kwargs)
        except Exception as e:      # a bug here is this step's failure, reported like any other, never lost
            log.exception("recovery step %s failed", step)
            ok, detail = False, f"internal error: {type(e).__name__}"
        post(StepFinished(step, ok, detail))
    thread = threading.Thread(target=run, name=f"recovery-{step}", daemon=True)
    thread.start()
    return thread
