"""The route-control interface every backend implements.

Two uplinks: "primary" (fiber/DSL/cable, usually eth) and "backup" (the cellular modem's data interface).
Failover is a route change, not an interface teardown: the non-preferred uplink keeps a route with a higher
metric, so connections already on it are not cut needlessly and its probes keep working.
"""
from __future__ import annotations

import inspect
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


def check_metrics(preferred_metric: int, standby_metric: int) -> None:
    if not 0 < preferred_metric < standby_metric < 2**32:
        raise RouteError(f"metrics must satisfy 0 < preferred_metric ({preferred_metric}) < standby_metric "
                         f"({standby_metric}) < 2^32")


class RouteBackend(ABC):
    name: str = "abstract"

    @classmethod
    def check_options(cls, **options: Any) -> dict[str, Any]:
        """Check constructor keyword arguments without opening anything (board.routes.check_options; the config
        loader declares the same constraints on [board], tests/test_config.py keeps them in agreement); RouteError
        if they cannot work. Returns them with the defaults filled in.
        Backends extend it with their own checks and call it from their constructor."""
        try:
            bound = inspect.signature(cls).bind(**options)
        except TypeError as e:
            raise RouteError(f"{cls.name} backend: {e}") from None
        bound.apply_defaults()
        if "preferred_metric" in bound.arguments:
            check_metrics(bound.arguments["preferred_metric"], bound.arguments["standby_metric"])
        return bound.arguments

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

    def forget_nat(self, addresses: list[str]) -> None:
        """After a switch: forget the NAT of LAN flows mapped to these (old uplinks') addresses, so they re-NAT
        through the uplink now preferred (board/routes/conntrack.py). Returns at once; the work is done on a
        thread of its own. Backends that change no kernel's routes do nothing."""

    def close(self) -> None:
        pass
