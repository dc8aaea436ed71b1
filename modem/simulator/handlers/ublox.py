"""u-blox proprietary commands (and the standard ones u-blox answers its own way)."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import GENERIC, Modem, vendor
from modem.simulator.handlers.basic import reset_reply
from modem.simulator.reply import AtError, Reply


@vendor("ublox", "I")
def _ublox_ati(e: Modem, cmd: Command) -> list[str]:
    n = cmd.raw or "0"
    if n == "0":
        return [e.p.fill(x) for x in e.p.ati]
    if n == "9":
        return [f"{e.p.revision},A00.01"]
    raise AtError()


@vendor("ublox", "+CFUN")
def _ublox_cfun(e: Modem, cmd: Command) -> Reply | list[str]:
    """+CFUN=15 (reset) and 16 (reset with SIM reset) besides the 3GPP values."""
    if cmd.kind == "set" and cmd.int_arg(0) in (15, 16):
        return reset_reply(e)
    if cmd.kind == "test":
        return ["+CFUN: (0,1,4,15,16,19,127),(0-1)"]
    return GENERIC["+CFUN"](e, cmd)
