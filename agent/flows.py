"""LAN flows across a switch ([traffic] nat6, sticky, pin_critical; docs/ipv6.md, docs/routes.md), for every
uplink of the site (config.effective_uplinks(): "primary" and "backup" without [[uplinks]]): NAT66 so the LAN's
IPv6 follows the active uplink, flows begun on an uplink other than the preferred one kept there while it is up
(a failback does not cut a VPN), and class critical through the most stable other uplink while the active one is
only degraded.

`wanted_flows()` is pure: the plan for the config, the uplinks and the core's failover state. The part re-decides
on every failover event and on a slow tick and hands a changed plan to its own thread (nft, ip and ctnetlink never
run on the core thread). That thread also moves the flows a change concerns (board/routes/conntrack.py; sticky
flows never): after a switch, the LAN's IPv6 flows NAT66-ed to the uplink left (the IPv4 flush is the route
backend's); when NAT66 comes into force, the LAN's IPv6 flows begun without it (while relais was stopped, say);
when critical is pinned, moved or unpinned, the critical flows NATed to the uplink they leave. The table and
rules go when the agent stops.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent.config import Config
from agent.config.traffic import TrafficConfig
from agent.core import Core, Event
from board.traffic import FlowPlan, FlowRules, TrafficError
from board.traffic.flows import STICKY_POSITIONS, StickyUplink, sticky_mark
from board.traffic.ruleset import CLASS_MASK, MARKS

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0
EVENTS = frozenset({"failover", "failback", "link_degraded", "link_down", "link_restored", "drill_started",
                    "drill_result"})
UP = ("up", "degraded")
_STOP = object()


def _link(state: dict[str, Any], name: str) -> dict[str, Any]:
    return _links(state).get(name) or {}


def _links(state: dict[str, Any]) -> dict[str, Any]:
    return (state.get("failover") or {}).get("links") or {}


def critical_pin(state: dict[str, Any]) -> str | None:
    """The uplink class critical goes through now, or None (it follows the routes). Pinned while the active uplink
    is only degraded (it still carries traffic but loses or delays packets) to the best other uplink whose status
    is `up` (a degraded one is no more stable), among those not preferred to the active one: a better uplink that
    answers is in its hold-down (flap dampening: not trusted yet), and traffic returns to it when that ends. Never
    during a drill (traffic was moved on purpose) and never while no uplink carries traffic."""
    failover = state.get("failover") or {}
    active = failover.get("active_uplink")
    links = _links(state)
    if failover.get("state") in ("drill", "outage") or _link(state, active).get("status") != "degraded":
        return None
    ranked = sorted(links, key=lambda name: _priority(links[name]))    # stable: the published (priority) order
    after = ranked[ranked.index(active) + 1:]
    equal = [n for n in ranked[:ranked.index(active)] if _priority(links[n]) == _priority(links[active])]
    return next((n for n in [*equal, *after] if _link(state, n).get("status") == "up"), None)


def _priority(link: Any) -> int:
    priority = link.get("priority") if isinstance(link, dict) else None
    return priority if isinstance(priority, int) else 0


def pin_critical_now(state: dict[str, Any]) -> bool:
    """Whether class critical is pinned to an uplink now (critical_pin() names it)."""
    return critical_pin(state) is not None


def sticky_active(state: dict[str, Any], name: str) -> bool:
    """Flows begun on `name` are held on it while it is up (or only degraded); never on a dead one."""
    return _link(state, name).get("status") in UP


def wanted_flows(cfg: TrafficConfig, uplinks: Sequence[Any], state: dict[str, Any]) -> FlowPlan:
    """`uplinks`: the site's, in priority order (config.effective_uplinks(): name, interface, table); the first is
    the preferred one, whose flows need no holding. Sticky marks go by position: the 17th uplink on has none
    (STICKY_POSITIONS)."""
    tables = {u.name: (u.interface, u.table) for u in uplinks}
    pin = critical_pin(state) if cfg.pin_critical else None
    pin_interface, pin_table = tables.get(pin, ("", 0))
    sticky = () if cfg.sticky == "none" else tuple(
        StickyUplink(u.interface, sticky_mark(i), u.table, sticky_active(state, u.name))
        for i, u in enumerate(uplinks) if 1 <= i <= STICKY_POSITIONS)
    return FlowPlan(
        lan_interface=cfg.lan_interface,
        uplink_interfaces=tuple(u.interface for u in uplinks) if cfg.nat6 else (),
        sticky=cfg.sticky,
        sticky_uplinks=sticky,
        pin_table=pin_table,
        pin_interface=pin_interface)


@dataclass(frozen=True)
class FlowsApplied:
    """From the worker: the plan now in force, or why it is not."""
    plan: FlowPlan
    error: str = ""
    pinned_from: str = ""     # the interface critical flows were pinned away from (the active uplink's then)


@dataclass(frozen=True)
class _Apply:
    plan: FlowPlan
    pinned_from: str


@dataclass(frozen=True)
class _Forget6:
    interface: str


class LanFlows:
    def __init__(self, core: Core, config: Config, rules: FlowRules | None = None, conntrack=None) -> None:
        self.core = core
        self.cfg = config.traffic
        board = config.board
        self.uplinks = config.effective_uplinks()     # in priority order, each with its interface and table
        self.interfaces = {u.name: u.interface for u in self.uplinks}
        self.netns = board.netns
        self.backend = rules if rules is not None else FlowRules(board.netns)
        self._conntrack = conntrack   # forget_nat / forget_untranslated; None: board.routes.conntrack, lazily
        self.requested: FlowPlan | None = None
        self._in_force: FlowPlan | None = None   # the worker's: the plan last applied
        self._active: str | None = None
        self._pinned_from = ""     # the active uplink's interface when critical was pinned away from it
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        core.add_sink(self._on_event)
        core.subscribe(FlowsApplied, self._on_applied)
        core.state["flows"] = {"nat6": self.cfg.nat6, "sticky": self.cfg.sticky, "applied": False, "sticky_held": False,
                               "critical_pinned": False, "critical_pinned_to": None, "error": None}

    # ---- core thread -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="lan-flows", daemon=True)
        self._thread.start()
        self.core.call_later(0, self.check)     # the table at once, replacing whatever a crashed agent left
        self.core.call_every(CHECK_EVERY_S, self.check)

    def check(self, now: float) -> None:
        state = self.core.state
        plan = wanted_flows(self.cfg, self.uplinks, state)
        active = (state.get("failover") or {}).get("active_uplink")
        if plan != self.requested:
            if plan.pin_critical and not (self.requested and self.requested.pin_critical):
                self._pinned_from = self.interfaces.get(active, "")
            self.requested = plan
            self._todo.put(_Apply(plan, self._pinned_from))
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
                                    "critical_pinned": pinned,
                                    "critical_pinned_to": done.plan.pin_interface if pinned else None,
                                    "error": done.error or None}
        if done.error:
            self.core.emit("flows_error", error=done.error)
        elif pinned and previous.get("critical_pinned_to") != done.plan.pin_interface:    # pinned, or moved
            self.core.emit("critical_pinned", interface=done.plan.pin_interface)
        elif previous.get("critical_pinned") and not pinned:    # back from the uplink it was pinned away from
            self.core.emit("critical_unpinned", interface=done.pinned_from)

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
            plan = item.plan
            try:
                self.backend.apply(plan)
            except TrafficError as e:
                log.error("LAN flows: %s", e)
                self.core.post(FlowsApplied(plan, str(e), item.pinned_from))
                continue
            self.core.post(FlowsApplied(plan, pinned_from=item.pinned_from))
            self._move_flows(self._in_force, plan, item.pinned_from)
            self._in_force = plan

    def _move_flows(self, before: FlowPlan | None, now: FlowPlan, pinned_from: str) -> None:
        if now.uplink_interfaces and (before is None or not before.uplink_interfaces):
            lan = [f"{a}/{n}" for a, n in self.backend.addresses(now.lan_interface, "-6")]
            self._forget("the LAN's IPv6 flows begun without NAT66", "forget_untranslated", lan)
        # an uplink down: its rule went, and the NAT of the flows it held must go too (SNAT would keep them dead)
        still = {u.mark for u in now.sticky_uplinks if u.held}
        released = [u for u in (before.sticky_uplinks if before else ()) if u.held and u.mark not in still]
        if released:
            self._forget("sticky flows held on " + ", ".join(u.interface for u in released), "forget_sticky",
                         [u.mark for u in released])
        was = before.pin_interface if before is not None else ""
        if now.pin_interface != was:
            # pinned: they leave the active uplink; moved or unpinned: the uplink they were pinned to
            left = was or pinned_from
            if not left:
                return
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
