"""The `simulated` route backend: routes held in memory, for the demo and for running without privileges.

It behaves like the kernel where the agent can notice: an uplink that is down carries no route, so the
preferred uplink reported by status() is the lowest-metric uplink that is up, not merely the last one asked for.
Every change is recorded with the time it was made (`changes`): the demo prints them and the agent's tests
assert on them. `fail_next()` makes the next operation raise RouteError, to test how the agent copes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from board.routes.base import RouteBackend, RouteError, UplinkRoute, UplinkSet


@dataclass(frozen=True)
class RouteChange:
    t: float         # from the clock given to SimulatedRoutes (the agent passes its monotonic clock)
    op: str          # "prefer" | "standby"
    uplink: str
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in self.detail.items())
        return f"{self.t:.3f} {self.op} {self.uplink} {extra}".rstrip()


class SimulatedRoutes(RouteBackend):
    name = "simulated"

    def __init__(self, primary_interface: str = "eth0", cellular_interface: str = "wwan0",
                 preferred_metric: int = 10, standby_metric: int = 20,
                 clock: Callable[[], float] = time.monotonic,
                 preferred: str | None = "", backup_up: bool = True, uplinks: tuple = ()):
        """`uplinks`: N uplinks (UplinkRoute or dicts), in priority order, the first preferred at the start;
        without them primary and backup. `backup_up`: whether cellular uplinks start up."""
        self.check_options(preferred_metric=preferred_metric, standby_metric=standby_metric)
        self._clock = clock
        self._uplinks = UplinkSet.of(uplinks, UplinkRoute("primary", primary_interface),
                                     UplinkRoute("backup", cellular_interface, cellular=True))
        self._interfaces = {r.name: r.interface for r in self._uplinks.routes}
        self._metrics = (preferred_metric, standby_metric)
        self._up = {r.name: backup_up or not r.cellular for r in self._uplinks.routes}
        if preferred == "":
            preferred = self._uplinks.names[0]
        self._preferred = self._uplinks.check(preferred) if preferred is not None else None
        self._fail: dict[str, str] = {}
        self.changes: list[RouteChange] = []
        self.forgotten: list[list[str]] = []   # forget_nat() calls: the addresses whose NAT a switch flushed

    # ---- RouteBackend ------------------------------------------------------------------------------------
    def prefer(self, uplink: str) -> None:
        self._uplinks.check(uplink)
        self._maybe_fail("prefer", uplink)
        if not self._up[uplink]:
            raise RouteError(f"{uplink} ({self._interfaces[uplink]}): interface is down; bring it up first")
        if self._preferred == uplink:
            return
        self._preferred = uplink
        self._record("prefer", uplink, metric=self._metrics[0])

    def set_standby(self, uplink: str, up: bool) -> None:
        self._uplinks.check(uplink)
        self._maybe_fail("set_standby", uplink)
        if self._up[uplink] == up:
            return
        self._up[uplink] = up
        self._record("standby", uplink, up=up)

    def forget_nat(self, addresses: list[str]) -> None:
        self.forgotten.append(list(addresses))

    def status(self) -> dict[str, Any]:
        uplinks = {}
        for uplink in self._uplinks.names:
            metric = None
            if self._up[uplink] and self._preferred is not None:
                metric = self._uplinks.metric(uplink, self._preferred, *self._metrics)
            uplinks[uplink] = {"interface": self._interfaces[uplink], "up": self._up[uplink], "metric": metric}
        routed = [u for u in uplinks if uplinks[u]["metric"] is not None]
        preferred = min(routed, key=lambda u: uplinks[u]["metric"]) if routed else None
        return {"backend": self.name, "preferred": preferred, "uplinks": uplinks}

    # ---- for the demo and tests --------------------------------------------------------------------------
    def fail_next(self, operation: str, reason: str = "simulated failure") -> None:
        """Make the next `operation` ("prefer" or "set_standby") raise RouteError(reason), once."""
        if operation not in ("prefer", "set_standby"):
            raise ValueError(f"cannot fail {operation!r}")
        self._fail[operation] = reason

    def _maybe_fail(self, operation: str, uplink: str) -> None:
        reason = self._fail.pop(operation, None)
        if reason is not None:
            raise RouteError(f"{uplink} ({self._interfaces[uplink]}): {reason}")

    def _record(self, op: str, uplink: str, **detail: Any) -> None:
        self.changes.append(RouteChange(self._clock(), op, uplink, detail))

