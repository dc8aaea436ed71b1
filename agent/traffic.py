"""Traffic classes follow the active uplink (README "Traffic classes"): on cellular, bulk blocked or held to its
rate and critical first; on a fixed line, flows only marked; `normal` tightened too once the data budget is
nearly spent.

`wanted()` is pure: the plan for the config and the core's state (failover: which uplink carries traffic and on
which interface; cellular.usage: the share of the budget used). The part re-decides on every failover, failback
and data-cap event and on a slow tick (a budget crossing its threshold between events), and hands a changed plan
to its own thread: `nft` and `tc` never run on the core thread. It applies the plan at start (replacing whatever
an agent that crashed left) and removes the table and its qdisc at stop.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from agent.config import Config
from agent.config.traffic import TrafficConfig, TrafficRule, dscp_value, network, port_range
from agent.core import Core, Event
from board.traffic import ClassRule, Limit, Match, Plan, TrafficError, TrafficRules

log = logging.getLogger(__name__)

CHECK_EVERY_S = 30.0
EVENTS = frozenset({"failover", "failback", "data_cap_warning", "data_cap_reached", "data_cap_cleared"})
_STOP = object()


def board_rules(cfg: TrafficConfig) -> tuple[ClassRule, ...]:
    return tuple(ClassRule(rule.name, klass, _match(rule)) for klass, rule in cfg.rules())


def _match(rule: TrafficRule) -> Match:
    return Match(dscp=None if rule.dscp == "" else dscp_value(rule.dscp),
                 dst=network(rule.dst) if rule.dst else None,
                 ports=None if rule.port == "" else port_range(rule.port),
                 proto=rule.proto, src=network(rule.src) if rule.src else None, mac=rule.mac)


def on_cellular(state: dict[str, Any], cellular_interface: str) -> str:
    """The cellular interface when the active uplink is cellular, else ""."""
    failover = state.get("failover") or {}
    active = failover.get("active_uplink")
    link = (failover.get("links") or {}).get(active) or {}
    interface = link.get("interface") or (cellular_interface if active == "backup" else "")
    return interface if interface == cellular_interface else ""


def budget_share(state: dict[str, Any]) -> float | None:
    """The share (0..1+) of the SIM's data budget used this period, None without a budget."""
    usage = (state.get("cellular") or {}).get("usage") or {}
    used, cap = usage.get("total_bytes"), usage.get("cap_bytes")
    if not isinstance(used, int) or not isinstance(cap, int) or cap <= 0:
        return None
    return used / cap


def wanted(cfg: TrafficConfig, rules: tuple[ClassRule, ...], state: dict[str, Any], cellular_interface: str) -> Plan:
    iface = on_cellular(state, cellular_interface)
    if not iface:
        return Plan(rules)
    limits = [("bulk", Limit(cfg.bulk_on_cellular, cfg.bulk_rate_kbit))]
    share = budget_share(state)
    if cfg.budget_pct and share is not None and share * 100 >= cfg.budget_pct:
        limits.append(("normal", Limit(cfg.normal_over_budget, cfg.normal_rate_kbit)))
    return Plan(rules, iface, tuple(limits), cfg.cellular_upload_kbit)


@dataclass(frozen=True)
class Applied:
    """From the worker: the plan that is now in force, or why it is not."""
    plan: Plan
    error: str = ""


class TrafficClasses:
    def __init__(self, core: Core, config: Config, rules: TrafficRules | None = None) -> None:
        self.core = core
        self.cfg = config.traffic
        self.cellular_interface = config.board.cellular_interface
        self.rules = board_rules(self.cfg)
        self.backend = rules if rules is not None else TrafficRules(config.board.netns)
        self.requested: Plan | None = None
        self._todo: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        core.add_sink(self._on_event)
        core.subscribe(Applied, self._on_applied)
        core.state["traffic"] = {"mode": "off", "error": None}

    # ---- core thread -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="traffic", daemon=True)
        self._thread.start()
        self.core.call_every(CHECK_EVERY_S, self.check)

    def check(self, now: float) -> None:
        plan = wanted(self.cfg, self.rules, self.core.state, self.cellular_interface)
        if plan != self.requested:
            self.requested = plan
            self._todo.put(plan)

    def _on_event(self, event: Event) -> None:
        if event.kind in EVENTS:     # after every sink has seen it: the failover state is published by then
            self.core.call_later(0, self.check)

    def _on_applied(self, done: Applied, now: float) -> None:
        mode = _mode(done.plan)
        previous = self.core.state["traffic"]
        self.core.state["traffic"] = {"mode": mode, "error": done.error or None}
        if done.error:
            self.core.emit("traffic_error", mode=mode, error=done.error)
        elif previous.get("mode") != mode or previous.get("error"):
            self.core.emit("traffic_classes", mode=mode, interface=done.plan.cellular_interface or None)

    # ---- worker thread -----------------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._todo.get()
            while not self._todo.empty():       # only the newest plan matters
                item = self._todo.get()
            if item is _STOP:
                return
            try:
                self.backend.apply(item)
                self.core.post(Applied(item))
            except TrafficError as e:
                log.error("traffic classes: %s", e)
                self.core.post(Applied(item, str(e)))

    def stop(self) -> None:
        if self._thread is not None:
            self._todo.put(_STOP)
            self._thread.join(timeout=15)
            self._thread = None
        try:
            self.backend.remove()
        except TrafficError as e:
            log.error("traffic classes: not removed: %s", e)


def _mode(plan: Plan) -> str:
    if not plan.cellular_interface:
        return "marks"
    return "cellular " + ", ".join(f"{klass} {limit.action}" for klass, limit in plan.limits)


def attach(core: Core, config: Config, rules: TrafficRules | None = None) -> TrafficClasses | None:
    if rules is None and config.board.backend in ("simulated", "sim") and not config.board.netns:
        # the simulator's uplinks are not this machine's interfaces: its firewall is not relais's to change
        log.warning("traffic classes: not applied on the simulated board")
        return None
    return TrafficClasses(core, config, rules)
