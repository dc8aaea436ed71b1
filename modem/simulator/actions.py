"""What the engine asks its IO layer to do (Engine.take_actions())."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Output:
    data: bytes                          # bytes for the host to read


@dataclass(frozen=True)
class PortDown:
    pass                                 # the port goes away (USB re-enumeration, power off)


@dataclass(frozen=True)
class PortUp:
    pass
