"""The route-control interface every backend implements.

N uplinks, each named (agent/config/uplinks.py), in priority order; without a list, the two of old: "primary"
(fiber/DSL/cable, usually eth) and "backup" (the cellular modem's data interface). Failover is a route change,
not an interface teardown: the uplinks not preferred keep routes with higher metrics (standby_metric, +1, +2...
in priority order), so connections already on them are not cut needlessly and their probes keep working.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterable

UPLINKS = ("primary", "backup")


@dataclass(frozen=True)
class UplinkRoute:
    """What a backend needs to know of one uplink. Options a backend does not use are ignored by it."""
    name: str
    interface: str
    cellular: bool = False
    gateway: str = ""        # iproute2: "" = found in the interface's routes
    gateway6: str = ""
    table: int = 0           # iproute2 policy routing table
    connection: str = ""     # networkmanager: connection id or uuid


class UplinkSet:
    """The uplinks of a backend, in priority order, looked up by name (a name may come from an MQTT command)."""

    def __init__(self, routes: Iterable[UplinkRoute | dict]):
        self.routes = tuple(r if isinstance(r, UplinkRoute) else UplinkRoute(**r) for r in routes)
        self.names = tuple(r.name for r in self.routes)
        self._by_name = {r.name: r for r in self.routes}
        if len(self._by_name) != len(self.routes) or not self.routes:
            raise RouteError(f"uplinks must have distinct names, and there must be one: {list(self.names)}")
        interfaces = [r.interface for r in self.routes]
        if len(set(interfaces)) != len(interfaces):
            raise RouteError(f"uplinks must have distinct interfaces: {interfaces}")

    @classmethod
    def of(cls, uplinks: Iterable[UplinkRoute | dict] | None, *legacy: UplinkRoute) -> "UplinkSet":
        """The given uplinks, else the backend's two legacy ones (built from its primary_* / backup_* options)."""
        return cls(uplinks or legacy)

    def __getitem__(self, name: str) -> UplinkRoute:
        return self._by_name[self.check(name)]

    def check(self, name: str) -> str:
        if name not in self._by_name:
            raise RouteError(f"unknown uplink {name!r} (known: {', '.join(self.names)})")
        return name

    def config_key(self, name: str, key: str) -> str:
        """Where the operator sets `key` of uplink `name`, for messages: [board] primary_gateway for the two of old,
        else the [[uplinks]] table's key."""
        return f"[board] {name}_{key}" if self.names == UPLINKS else f"[[uplinks]] {name}'s {key}"

    def others(self, name: str) -> list[str]:
        """Every uplink but `name`, in priority order: the standby routes' order."""
        return [n for n in self.names if n != name]

    def metric(self, name: str, intent: str, preferred_metric: int, standby_metric: int) -> int:
        """The default-route metric of `name` while `intent` is preferred."""
        return preferred_metric if name == intent else standby_metric + self.others(intent).index(name)


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
