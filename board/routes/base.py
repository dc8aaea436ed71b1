"""The route-control interface every backend implements.

Two uplinks: "primary" (fiber/DSL/cable, usually eth) and "backup" (the cellular modem's data interface).
Failover is a route change, not an interface teardown: the non-preferred uplink keeps a route with a higher
metric, so connections already on it are not cut needlessly and its probes keep working.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

UPLINKS = ("primary", "backup")


class RouteError(RuntimeError):
    """A route operation failed; the message says which uplink and why."""


def check_uplink(uplink: str) -> str:
    """The uplink name, or RouteError: names may come from an MQTT command."""
    if uplink not in UPLINKS:
        raise RouteError(f"unknown uplink {uplink!r} (known: {', '.join(UPLINKS)})")
    return uplink


def other_uplink(uplink: str) -> str:
    return UPLINKS[1 - UPLINKS.index(check_uplink(uplink))]


class RouteBackend(ABC):
    name: str = "abstract"

    @abstractmethod
    def prefer(self, uplink: str) -> None:
        """Make `uplink` carry the default route (lowest metric). Idempotent."""

    @abstractmethod
    def set_standby(self, uplink: str, up: bool) -> None:
        """Bring an uplink's connection up or down (cold standby activates cellular only on failover)."""

    @abstractmethod
    def status(self) -> dict[str, Any]:
        """{"preferred": "primary"|"backup"|None,
            "uplinks": {"primary": {"interface": str, "up": bool, ...}, "backup": {...}}}"""

    def close(self) -> None:
        pass
