"""The failover policy: `decide(state, event, now) -> (state, actions)`, pure — no clock, no sleeps, no IO.

Phases (which uplink carries traffic, and why):
    primary     on the primary, healthy              degraded    on the primary, which is degraded
    backup      on the backup, primary down          recovering  on the backup, primary healthy, hold-down running
    outage      both uplinks down (routes left as they are)      drill  on the backup for a failover drill
Failover when the primary is down (assess.py decides "down") unless the backup is known down. Failback after the
primary has been healthy for the hold-down; each flap (the primary lost again within `flap_window_s` of coming
back, or lost during the hold-down) doubles the hold-down up to `hold_down_max_s`, and each `flap_decay_s`
without a flap forgives one. Hot standby keeps the cellular link up and probes it at a trickle; cold standby
brings it up only to fail over. Modes: auto, force_primary, force_backup (manual override).

Times are the agent's monotonic clock; events carry them as `*_mono` keys, the controller adds wall-clock times.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from agent.config import FailoverConfig
from agent.failover.assess import LinkView, Transition, assess, observe, set_layer
from agent.linkmon.health import Sample

LINKS = ("primary", "backup")
MODES = ("auto", "force_primary", "force_backup")
MAX_PENALTY = 10


# ---- events ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Probe:
    link: str
    target: str
    ok: bool
    at: float                    # send time
    rtt_ms: float | None = None


@dataclass(frozen=True)
class LinkLayer:
    link: str
    up: bool                     # carrier, admin up and an address
    reason: str = ""             # when down: carrier_lost | admin_down | no_address | no_interface


@dataclass(frozen=True)
class Tick:
    pass


@dataclass(frozen=True)
class SetMode:
    mode: str


@dataclass(frozen=True)
class StartDrill:
    duration_s: float


@dataclass(frozen=True)
class RouteChecked:
    uplink: str | None           # the uplink the routing table sends traffic through
    probe_ok: bool               # an unbound probe (following the routing table) was answered
    rtt_ms: float | None = None
    error: str = ""


# ---- actions --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Prefer:
    uplink: str


@dataclass(frozen=True)
class Standby:
    uplink: str
    up: bool


@dataclass(frozen=True)
class ProbeRate:
    link: str
    rate: str                    # fast | active | trickle | off


@dataclass(frozen=True)
class Emit:
    kind: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True)
class CheckRoute:
    pass


# ---- state ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    failover: FailoverConfig = FailoverConfig()
    history_s: float = 60.0      # ProbesConfig.history_s


@dataclass(frozen=True)
class Drill:
    started: float
    until: float
    checking: bool = False               # the route check was asked for (once the backup is up)
    route: RouteChecked | None = None


@dataclass(frozen=True)
class PolicyState:
    settings: Settings
    since: float
    mode: str = "auto"
    phase: str = "primary"
    active: str = "primary"
    primary: LinkView = LinkView()
    backup: LinkView = LinkView()
    backup_standby_up: bool = True
    outage_started: float | None = None   # the primary outage being covered by the backup
    outage_reason: str = ""
    failover_at: float | None = None
    last_failback_at: float | None = None
    penalty: int = 0
    penalty_at: float = 0.0
    drill: Drill | None = None

    def link(self, name: str) -> LinkView:
        return self.primary if name == "primary" else self.backup

    def hold_down_s(self, now: float) -> float:
        cfg = self.settings.failover
        return min(cfg.hold_down_s * 2 ** effective_penalty(self, now), cfg.hold_down_max_s)


def effective_penalty(st: PolicyState, now: float) -> int:
    forgiven = int(max(0.0, now - st.penalty_at) // st.settings.failover.flap_decay_s)
    return max(0, st.penalty - forgiven)


def initial(settings: Settings, now: float) -> tuple[PolicyState, list]:
    hot = settings.failover.standby == "hot"
    st = PolicyState(settings=settings, since=now, backup_standby_up=hot)
    return st, [Standby("backup", hot), Prefer("primary"), ProbeRate("primary", "fast"),
                ProbeRate("backup", "trickle" if hot else "off")]


def drill_refusal(st: PolicyState) -> str | None:
    """Why a drill cannot start now, or None."""
    if st.drill is not None:
        return "a drill is already running"
    if st.mode != "auto":
        return f"mode is {st.mode}; set it back to auto first"
    if st.active != "primary" or st.phase != "primary":
        return f"the primary is not healthy and active (state {st.phase}): no drill during trouble"
    if backup_status(st) == "down":
        return "the backup is down"
    return None


def backup_status(st: PolicyState) -> str:
    """The backup's status as far as decisions go: a cold backup that is switched off is not known down."""
    return st.backup.status if st.backup_standby_up else "unknown"


# ---- decide ---------------------------------------------------------------------------------------------------

def decide(st: PolicyState, event: object, now: float) -> tuple[PolicyState, list]:
    actions: list = []
    if isinstance(event, Probe):
        if event.link == "backup" and not st.backup_standby_up:
            return st, actions   # a late result from before the cold backup was switched off
        sample = Sample(event.at, event.target, event.ok, event.rtt_ms)
        st = _with_link(st, event.link, observe(st.link(event.link), sample, now, st.settings.history_s))
        st = _assess(st, event.link, now, actions)
    elif isinstance(event, LinkLayer):
        st = _with_link(st, event.link, set_layer(st.link(event.link), event.up, event.reason))
        st = _assess(st, event.link, now, actions)
    elif isinstance(event, Tick):
        for name in LINKS:
            st = _assess(st, name, now, actions)
    elif isinstance(event, SetMode):
        if event.mode not in MODES:
            raise ValueError(f"unknown mode {event.mode!r} (known: {', '.join(MODES)})")
        if st.drill is not None:
            st = _end_drill(st, now, actions, ok=False, reason="manual override")
        st = replace(st, mode=event.mode)
    elif isinstance(event, StartDrill):
        refusal = drill_refusal(st)
        if refusal:
            raise ValueError(refusal)
        return _start_drill(st, event.duration_s, now)
    elif isinstance(event, RouteChecked):
        if st.drill is not None:
            st = replace(st, drill=replace(st.drill, route=event))
        return st, actions
    else:
        raise TypeError(f"not a policy event: {event!r}")
    return _route(st, now, actions)


def _with_link(st: PolicyState, name: str, view: LinkView) -> PolicyState:
    return replace(st, primary=view) if name == "primary" else replace(st, backup=view)


def _assess(st: PolicyState, name: str, now: float, actions: list) -> PolicyState:
    if name == "backup" and not st.backup_standby_up:
        return st
    view, change = assess(st.link(name), now, st.settings.failover)
    st = _with_link(st, name, view)
    if change is not None:
        _report(name, view, change, now, actions)
        if name == "primary" and change.new == "down" and st.phase == "recovering" and st.mode == "auto":
            st = _flap(st, now)
    return st


def _report(name: str, view: LinkView, change: Transition, now: float, actions: list) -> None:
    if change.new == "down":
        actions.append(Emit("link_down", {"link": name, "reason": view.reason, "started_mono": view.down_started,
                                          "detect_s": _since(now, view.down_started)}))
    elif change.new == "degraded":
        actions.append(Emit("link_degraded", {"link": name, "reason": view.reason}))
    elif change.new == "up" and change.old in ("down", "degraded"):
        data = {"link": name, "was": change.old}
        if change.old == "down":
            data["down_s"] = _since(now, view.down_started)
        actions.append(Emit("link_restored", data))


def _flap(st: PolicyState, now: float) -> PolicyState:
    return replace(st, penalty=min(MAX_PENALTY, effective_penalty(st, now) + 1), penalty_at=now)


def _route(st: PolicyState, now: float, actions: list) -> tuple[PolicyState, list]:
    p, b = st.primary.status, backup_status(st)
    if st.drill is not None:
        if p == "down":   # a real outage during the drill: stay on the backup, as a failover
            st = _end_drill(st, now, actions, ok=False, reason="primary lost during the drill", stay=True)
            return _failover(st, now, actions, st.primary.reason, st.primary.down_started), actions
        if b == "down":
            return _end_drill(st, now, actions, ok=False, reason="backup down"), actions
        if now >= st.drill.until:
            return _end_drill(st, now, actions, ok=None, reason="completed"), actions
        if not st.drill.checking and b == "up":
            actions.append(CheckRoute())
            st = replace(st, drill=replace(st.drill, checking=True))
        return st, actions
    if st.mode == "force_backup":
        if st.active != "backup":
            st = _failover(st, now, actions, "manual", now)
        return _phase(st, "backup", now), actions
    if st.mode == "force_primary":
        if st.active != "primary":
            st = _failback(st, now, actions, "manual")
        return _phase(st, _primary_phase(p), now), actions
    if st.active == "primary":
        if p == "down" and b != "down":
            return _failover(st, now, actions, st.primary.reason, st.primary.down_started), actions
        if p == "degraded" and st.settings.failover.failover_when_degraded and b == "up":
            return _failover(st, now, actions, "degraded", st.primary.since), actions
        phase = "outage" if p == "down" else _primary_phase(p)
        return _phase(st, phase, now), actions
    if p == "up" and st.primary.healthy_since is not None and now - st.primary.healthy_since >= st.hold_down_s(now):
        return _failback(st, now, actions, "recovered"), actions
    if p == "up":
        return _phase(st, "recovering", now), actions
    if b == "down" and p == "degraded":
        return _failback(st, now, actions, "backup_down"), actions
    return _phase(st, "outage" if b == "down" else "backup", now), actions


def _primary_phase(p: str) -> str:
    return {"degraded": "degraded", "down": "outage"}.get(p, "primary")


def _phase(st: PolicyState, phase: str, now: float) -> PolicyState:
    return st if st.phase == phase else replace(st, phase=phase, since=now)


def _switch_to_backup(st: PolicyState, actions: list) -> PolicyState:
    if not st.backup_standby_up:
        actions.append(Standby("backup", True))
        st = replace(st, backup_standby_up=True, backup=LinkView())
    actions += [Prefer("backup"), ProbeRate("backup", "active")]
    return replace(st, active="backup")


def _switch_to_primary(st: PolicyState, actions: list) -> PolicyState:
    actions.append(Prefer("primary"))
    if st.settings.failover.standby == "cold":
        actions += [ProbeRate("backup", "off"), Standby("backup", False)]
        st = replace(st, backup_standby_up=False)
    else:
        actions.append(ProbeRate("backup", "trickle"))
    return replace(st, active="primary")


def _failover(st: PolicyState, now: float, actions: list, reason: str, started: float | None) -> PolicyState:
    automatic = reason != "manual"
    if automatic and st.last_failback_at is not None and now - st.last_failback_at <= st.settings.failover.flap_window_s:
        st = _flap(st, now)
    was_on_backup = st.active == "backup"
    if not was_on_backup:
        st = _switch_to_backup(st, actions)
    actions.append(Emit("failover", {
        "from": "primary", "to": "backup", "reason": reason, "started_mono": started,
        "detect_s": _since(now, started) if automatic else None, "standby": st.settings.failover.standby,
        "hold_down_s": st.hold_down_s(now)}))
    return replace(st, phase="backup", since=now, failover_at=now, outage_started=started, outage_reason=reason)


def _failback(st: PolicyState, now: float, actions: list, reason: str) -> PolicyState:
    healthy = st.primary.healthy_since
    outage_s = None   # how long the primary was out; none for a manual switch or a primary still not healthy
    if st.outage_reason != "manual" and healthy is not None and st.outage_started is not None and \
            st.primary.status == "up":
        outage_s = max(0.0, healthy - st.outage_started)
    st = _switch_to_primary(st, actions)
    actions.append(Emit("failback", {
        "from": "backup", "to": "primary", "reason": reason, "started_mono": st.outage_started,
        "outage_s": outage_s, "on_backup_s": _since(now, st.failover_at), "outage_reason": st.outage_reason,
        "held_s": _since(now, healthy) if reason == "recovered" else None}))
    return replace(st, phase=_primary_phase(st.primary.status), since=now, last_failback_at=now,
                   outage_started=None, outage_reason="", failover_at=None)


def _start_drill(st: PolicyState, duration_s: float, now: float) -> tuple[PolicyState, list]:
    actions: list = []
    st = _switch_to_backup(st, actions)
    # the route check proves traffic takes the backup: at once when it is up, else (cold standby, just switched
    # on) as soon as it answers
    ready = backup_status(st) == "up"
    if ready:
        actions.append(CheckRoute())
    actions.append(Emit("drill_started", {"duration_s": duration_s}))
    drill = Drill(started=now, until=now + duration_s, checking=ready)
    return replace(st, phase="drill", since=now, drill=drill), actions


def _end_drill(st: PolicyState, now: float, actions: list, ok: bool | None, reason: str,
               stay: bool = False) -> PolicyState:
    drill = st.drill
    assert drill is not None
    samples = st.backup.health.since(drill.started)
    stats = st.backup.health.stats(drill.started)
    first = next((s for s in samples if s.ok), None)
    route = drill.route
    traffic_ok = bool(route and route.uplink == "backup" and route.probe_ok and first is not None)
    if ok is None:   # ran its course: it passed if traffic really went through the backup
        reason = "completed" if traffic_ok else _drill_failure(route, first is not None)
    result = {
        "ok": traffic_ok and ok is not False,
        "reason": reason,
        "duration_s": now - drill.started,
        "backup": {"sent": stats.sent, "lost": stats.lost, "loss": stats.loss, "rtt_ms": stats.rtt_ms,
                   "jitter_ms": stats.jitter_ms,
                   "first_answer_s": (first.at + (first.rtt_ms or 0) / 1000 - drill.started) if first else None},
        "route": None if route is None else {"uplink": route.uplink, "probe_ok": route.probe_ok,
                                             "rtt_ms": route.rtt_ms, "error": route.error},
    }
    actions.append(Emit("drill_result", result))
    st = replace(st, drill=None)
    if not stay:
        st = _switch_to_primary(st, actions)
        st = replace(st, phase=_primary_phase(st.primary.status), since=now)
    return st


def _drill_failure(route: RouteChecked | None, answered: bool) -> str:
    if route is None:
        return "the route check did not finish"
    if route.uplink != "backup":
        return f"traffic still left through {route.uplink or 'no uplink'}"
    if not route.probe_ok:
        return f"a probe following the routing table was not answered ({route.error or 'timeout'})"
    assert not answered
    return "no probe through the backup was answered"


def _since(now: float, t: float | None) -> float | None:
    return None if t is None else max(0.0, now - t)
