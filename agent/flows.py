"""LAN flows across a switch ([traffic] nat6, sticky, pin_critical; docs/ipv6.md, docs/routes.md): NAT66 so the
LAN's IPv6 follows the active uplink, flows begun on the backup kept there after a failback, and class critical
through the backup while the primary is only degraded.

`wanted_flows()` is pure: the plan for the config and the core's failover state. The part re-decides on every
failover event and on a slow tick and hands a changed plan to its own thread (nft, ip and ctnetlink never run on
the core thread). That thread also moves the flows a change concerns (board/routes/conntrack.py; sticky flows
never): after a switch, the LAN's IPv6 flows NAT66-ed to the uplink left (the IPv4 flush is the route backend's);
when NAT66 comes into force, the LAN's IPv6 flows begun without it (while relais was stopped, say); when critical
is pinned or unpinned, the critical flows NATed to the uplink they leave. The table and rules go when the agent
stops.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from agent.config import Config
from agent.config.traffic import TrafficConfig
from agent.core import Core, Event
from board.traffic import FlowPlan, FlowRules, TrafficError
from board.traffic.ruleset import CLASS_MASK, MARKS

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0
EVENTS = frozenset({"failover", "failback", "link_degraded", "link_down", "link_restored", "drill_started",
                    "drill_result"})
UP = ("up", "degraded")
_STOP = object()


def _link(state: dict[str, Any], name: str) -> dict[str, Any]:
    return ((state.get("failover") or {}).get("links") or {}).get(name) or {}


def pin_critical_now(state: dict[str, Any]) -> bool:
    """Critical through the backup: the policy is in its `degraded` phase (traffic on a degraded primary) and the
    backup answers well (status up: a degraded backup is no more stable than the primary)."""
    return (state.get("failover") or {}).get("state") == "degraded" and _link(state, "backup").get("status") == "up"


def sticky_active(state: dict[str, Any]) -> bool:
    """Sticky flows are held on the backup while it is up (or only degraded); never on a dead one."""
    return _link(state, "backup").get("status") in UP


def wanted_flows(cfg: TrafficConfig, primary_interface: str, backup_interface: str, backup_table: int,
                 state: dict[str, Any]) -> FlowPlan:
    return FlowPlan(
        lan_interface=cfg.lan_interface,
        uplink_interfaces=(primary_interface, backup_interface) if cfg.nat6 else (),
        backup_interface=backup_interface if cfg.sticky != "none" else "",
        backup_table=backup_table,
        sticky=cfg.sticky,
        sticky_active=cfg.sticky != "none" and sticky_active(state),
        pin_critical=cfg.pin_critical and pin_critical_now(state))


@dataclass(frozen=True)
class FlowsApplied:
    """From the worker: the plan now in force, or why it is not."""
    plan: FlowPlan
    error: str = ""


@dataclass(frozen=True)
class _Forget6:
    interface: str


class LanFlows:
    def __init__(self, core: Core, config: Config, rules: FlowRules | None = None, conntrack=None) -> None:
        self.core = core
        self.cfg = config.traffic
        board = config.board
        self.interfaces = {"primary": board.primary_interface, "backup": board.cellular_interface}
        self.backup_table = board.backup_table
        self.netns = board.netns
        self.backend = rules if rules is not None else FlowRules(board.netns)
        self._conntrack = conntrack   # forget_nat / forget_untranslated; None: board.routes.conntrack, lazily
        self.requested: FlowPlan | None = None
        self._in_force: FlowPlan | None = None   # the worker's: the plan last applied
        self._active: str | None = None
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        core.add_sink(self._on_event)
        core.subscribe(FlowsApplied, self._on_applied)
        core.state["flows"] = {"nat6": self.cfg.nat6, "sticky": self.cfg.sticky, "applied": False, "sticky_held": False,
                               "critical_pinned": False, "error": None}

    # ---- core thread -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="lan-flows", daemon=True)
        self._thread.start()
        self.core.call_later(0, self.check)     # the table at once, replacing whatever a crashed agent left
        self.core.call_every(CHECK_EVERY_S, self.check)

    def check(self, now: float) -> None:
        state = self.core.state
        plan = wanted_flows(self.cfg, self.interfaces["primary"], self.interfaces["backup"], self.backup_table,
                            state)
        active = (state.get("failover") or {}).get("active_uplink")
        if plan != self.requested:
            self.requested = plan
            self._todo.put(plan)
        if self.cfg.nat6 and active in self.interfaces and self._active in self.interfaces and active != self._active:
            self._todo.put(_Forget6(self.interfaces[self._active]))
        if active in self.interfaces:
            self._active = active

    def _on_event(self, event: Event) -> None:
        if event.kind in EVENTS:     # after every sink has seen it: the failover state is published by then
            self.core.call_later(0, self.check)

    def _on_applied(self, done: FlowsApplied, now: float) -> None:
        previous = self.core.state["flows"]
        pinned = done.plan.pin_critical and not done.error
        self.core.state["flows"] = {**previous, "applied": not done.error,
                                    "sticky_held": done.plan.sticky_active and not done.error,
                                    "critical_pinned": pinned, "error": done.error or None}
        if done.error:
            self.core.emit("flows_error", error=done.error)
        elif previous.get("critical_pinned") != pinned:
            self.core.emit("critical_pinned" if pinned else "critical_unpinned",
                           interface=self.interfaces["backup"] if pinned else self.interfaces["primary"])

    # ---- worker thread -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._todo.get()
            if item is _STOP:
                return
            if isinstance(item, _Forget6):
                self._forget(f"IPv6 flows NATed through {item.interface}", "forget_nat",
                             [a for a, _ in self.backend.addresses(item.interface, "-6")])
                continue
            try:
                self.backend.apply(item)
            except TrafficError as e:
                log.error("LAN flows: %s", e)
                self.core.post(FlowsApplied(item, str(e)))
                continue
            self.core.post(FlowsApplied(item))
            self._move_flows(self._in_force, item)
            self._in_force = item

    def _move_flows(self, before: FlowPlan | None, now: FlowPlan) -> None:
        if now.uplink_interfaces and (before is None or not before.uplink_interfaces):
            lan = [f"{a}/{n}" for a, n in self.backend.addresses(now.lan_interface, "-6")]
            self._forget("the LAN's IPv6 flows begun without NAT66", "forget_untranslated", lan)
        if now.pin_critical != (before is not None and before.pin_critical):
            left = self.interfaces["primary" if now.pin_critical else "backup"]
            addresses = [a for family in ("-4", "-6") for a, _ in self.backend.addresses(left, family)]
            self._forget(f"critical flows NATed through {left}", "forget_nat", addresses,
                         mark=(MARKS["critical"], CLASS_MASK))

    def _forget(self, what: str, how: str, addresses: list[str], **options) -> None:
        from board.routes import RouteError
        if not addresses:
            return
        conntrack = self._conntrack
        if conntrack is None:
            import board.routes.conntrack as conntrack
        try:
            done = getattr(conntrack, how)(addresses, self.netns, **options)
            log.info("forgot %d conntrack entries: %s", done.deleted, what)
        except RouteError as e:
            log.warning("%s not moved: %s", what, e)

    def stop(self) -> None:
        if self._thread is not None:
            self._todo.put(_STOP)
            self._thread.join(timeout=15)
            self._thread = None
        try:
            self.backend.remove()
        except TrafficError as e:
            log.error("LAN flows: not removed: %s", e)


def attach(core: Core, config: Config, rules: FlowRules | None = None) -> LanFlows | None:
    if rules is None and config.board.backend in ("simulated", "sim") and not config.board.netns:
        log.warning("LAN flows: not applied on the simulated board")   # not this machine's firewall
        return None
    return LanFlows(core, config, rules)
