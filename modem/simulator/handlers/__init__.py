"""Command handlers of the simulated modem: the 3GPP / V.250 set every personality answers (basic, network, sms)
and each vendor family's proprietary commands (one module per family). handlers_for() merges them for one
personality. Response layouts follow the captures cited in modem/simulator/personalities.py.
"""
from __future__ import annotations

from modem.simulator.handlers import basic, network, sms  # noqa: F401  (importing registers the 3GPP commands)
from modem.simulator.handlers import fibocom, huawei, quectel, sierra, simcom, telit, ublox  # noqa: F401
from modem.simulator.handlers.base import GENERIC, Handler, Modem, vendor_handlers
from modem.simulator.personalities import Personality

__all__ = ["Handler", "Modem", "handlers_for"]


def handlers_for(p: Personality) -> dict[str, Handler]:
    h = dict(GENERIC)
    if p.nr:
        h["+C5GREG"] = network.C5GREG
    for name, fmt in p.iccid_commands:
        h[name] = basic.iccid_handler(fmt)
    h.update(vendor_handlers(p.family, p.features))
    return h
