"""The AT engine: IO-free framing, matching and URC dispatch (engine.py), driven over pyserial by port.py.

Names are loaded on first use (PEP 562): modem.decoder and the vendor plugins need only the IO-free command
tables of this package, and should not pay for pyserial and the port thread on a small router.
"""
from __future__ import annotations

import importlib

_HOME = {"AtEngine": "engine", "Response": "engine", "AtPort": "port", "UrcRegistry": "urc",
         "AtError": "errors", "AtTimeout": "errors", "BusyError": "errors", "ModemError": "errors",
         "ModemRestarted": "errors", "TransportError": "errors"}

__all__ = ["AtEngine", "AtPort", "Response", "UrcRegistry", "AtError", "AtTimeout", "TransportError",
           "ModemError", "ModemRestarted", "BusyError"]


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module 'modem.at' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"modem.at.{_HOME[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
