"""Cellular that keeps working: SIM switching rules, operator selection, APN and data session, recovery ladder
(docs/cellular.md). `attach(core, config, modem, routes)` wires it to the core; agent/runtime.py calls it.

Modules: rules.py (which SIM, pure), ladder.py (which recovery step, pure), operators.py (which PLMN, pure),
connection.py (the modem's trouble and the data session, pure), apn.py (APN database), session.py (data session
jobs), recovery.py (ladder steps), manager.py (the wiring), settings.py ([cellular] checks). usage.py is the
data-usage meter; sms.py the SMS service, with sms_commands.py (numbers, PIN, commands, pure) and sms_alerts.py
(alert texts and their queue, pure).
"""
from __future__ import annotations

from typing import Any, Callable


def attach(core, config, modem, routes=None, *, power=None, usb=None, apn_database=None, **options: Any):
    """The CellularManager for this config (start() / stop()). `power`: a board.gpio.PowerSwitch to use instead of
    [board] power_gpio (tests hand in the simulator's power_cycle); `usb`: a board.usb.UsbRebind (a fake sysfs)."""
    from agent.cellular.manager import CellularManager
    from board.gpio import open_power
    if power is None:
        power = open_power(config.board.power_gpio, active_low=config.board.power_gpio_active_low,
                           simulator_factory=simulator_power)
    return CellularManager(core, config, modem, power=power, usb=usb, apn_database=apn_database, **options)


def simulator_power(link: str) -> Callable[[], str]:
    """`[board] power_gpio = "simulator:<link>"`: power-cycle the modem simulator running at <link> (relais sim)."""
    def cycle() -> str:
        from modem.simulator import control
        reply = control.request(link, "power-cycle")
        if not reply.startswith("ok:"):
            raise RuntimeError(reply)
        return reply[3:].strip()
    return cycle
