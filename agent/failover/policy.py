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

from dataclasses import dataclass, replace
from enum import StrEnum

from agent.config import FailoverConfig
from agent.failover.assess import LinkView, Status, Transition, assess, observe, set_layer
from agent.linkmon.health import Sample
from agent.linkmon.schedule import Rate
from common.decider import Emit, Tick  # noqa: F401  (the shared decider types, also reached as policy.Emit)


class Uplink(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class Mode(StrEnum):
    AUTO = "auto"
    FORCE_PRIMARY = "force_primary"
    FORCE_BACKUP = "force_backup"


class Phase(StrEnum):
    PRIMARY = "primary"
    DEGRADED = "degraded"
    BACKUP = "backup"
    RECOVERING = "recovering"
    OUTAGE = "outage"
    DRILL = "drill"


LINKS = tuple(Uplink)
MODES = tuple(Mode)
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
    uplink: Uplink


@dataclass(frozen=True)
class Standby:
    uplink: Uplink
    up: bool


@dataclass(frozen=True)
class ProbeRate:
    link: str
    rate: Rate


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
    mode: Mode = Mode.AUTO
    phase: Phase = Phase.PRIMARY
    active: Uplink = Uplink.PRIMARY
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
        return self.primary if name == Uplink.PRIMARY else self.backup

    def hold_down_s(self, now: float) -> float:
        cfg = self.settings.failover
        return min(cfg.hold_down_s * 2 ** effective_penalty(self, now), cfg.hold_down_max_s)


def effective_penalty(st: PolicyState, now: float) -> int:
    forgiven = int(max(0.0, now - st.penalty_at) // st.settings.failover.flap_decay_s)
    return max(0, st.penalty - forgiven)


def initial(settings: Settings, now: float) -> tuple[PolicyState, list]:
    hot = settings.failover.standby == "hot"
    st = PolicyState(settings=settings, since=now, backup_standby_up=hot)
    return st, [Standby(Uplink.BACKUP, hot), Prefer(Uplink.PRIMARY), ProbeRate(Uplink.PRIMARY, Rate.FAST),
                ProbeRate(Uplink.BACKUP, Rate.TRICKLE if hot else Rate.OFF)]


def drill_refusal(st: PolicyState) -> str | None:
    """Why a drill cannot start now, or None."""
    if st.drill is not None:
        return "a drill is already running"
    if st.mode != Mode.AUTO:
        return f"mode is {st.mode}; set it back to auto first"
    if st.active != Uplink.PRIMARY or st.phase != Phase.PRIMARY:
        return f"the primary is not healthy and active (state {st.phase}): no drill during trouble"
    if backup_status(st) == Status.DOWN:
        return "the backup is down"
    return None


def backup_status(st: PolicyState) -> str:
    """The backup's status as far as decisions go: a cold backup that is switched off is not known down."""
    return st.backup.status if st.backup_standby_up else Status.UNKNOWN


# ---- decide ---------------------------------------------------------------------------------------------------

def decide(st: PolicyState, event: object, now: float) -> tuple[PolicyState, list]:
    actions: list = []
    if isinstance(event, Probe):
        if event.link == Uplink.BACKUP and not st.backup_standby_up:
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
        st = replace(st, mode=Mode(event.mode))
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
    return replace(st, primary=view) if name == Uplink.PRIMARY else replace(st, backup=view)


def _assess(st: PolicyState, name: str, now: float, actions: list) -> PolicyState:
    if name == Uplink.BACKUP and not st.backup_standby_up:
        return st
    view, change = assess(st.link(name), now, st.settings.failover)
    st = _with_link(st, name, view)
    if change is not None:
        _report(name, view, change, now, actions)
        if name == Uplink.PRIMARY and change.new == Status.DOWN and st.phase == Phase.RECOVERING and st.mode == Mode.AUTO:
            st = _flap(st, now)
    return st


def _report(name: str, view: LinkView, change: Transition, now: float, actions: list) -> None:
    if change.new == Status.DOWN:
        actions.append(Emit("link_down", {"link": name, "reason": view.reason, "started_mono": view.down_started,
                                          "detect_s": _since(now, view.down_started)}))
    elif change.new == Status.DEGRADED:
        actions.append(Emit("link_degraded", {"link": name, "reason": view.reason}))
    elif change.new == Status.UP and change.old in (Status.DOWN, Status.DEGRADED):
        data = {"link": name, "was": change.old}
        if change.old == Status.DOWN:
            data["down_s"] = _since(now, view.down_started)
        actions.append(Emit("link_restored", data))


def _flap(st: PolicyState, now: float) -> PolicyState:
    return replace(st, penalty=min(MAX_PENALTY, effective_penalty(st, now) + 1), penalty_at=now)


def _route(st: PolicyState, now: float, actions: list) -> tuple[PolicyState, list]:
    p, b = st.primary.status, backup_status(st)
    if st.drill is not None:
        if p == Status.DOWN:   # a real outage during the drill: stay on the backup, as a failover
            st = _end_drill(st, now, actions, ok=False, reason="primary lost during the drill", stay=True)
            return _failover(st, now, actions, st.primary.reason, st.primary.down_started), actions
        if b == Status.DOWN:
            return _end_drill(st, now, actions, ok=False, reason="backup down"), actions
        if now >= st.drill.until:
            return _end_drill(st, now, actions, ok=None, reason="completed"), actions
        if not st.drill.checking and b == Status.UP:
            actions.append(CheckRoute())
            st = replace(st, drill=replace(st.drill, checking=True))
        return st, actions
    if st.mode == Mode.FORCE_BACKUP:
        if st.active != Uplink.BACKUP:
            st = _failover(st, now, actions, "manual", now)
        return _phase(st, Phase.BACKUP, now), actions
    if st.mode == Mode.FORCE_PRIMARY:
        if st.active != Uplink.PRIMARY:
            st = _failback(st, now, actions, "manual")
        return _phase(st, _primary_phase(p), now), actions
    if st.active == Uplink.PRIMARY:
        if p == Status.DOWN and b != Status.DOWN:
            return _failover(st, now, actions, st.primary.reason, st.primary.down_started), actions
        if p == Status.DEGRADED and st.settings.failover.failover_when_degraded and b == Status.UP:
            return _failover(st, now, actions, "degraded", st.primary.since), actions
        phase = Phase.OUTAGE if p == Status.DOWN else _primary_phase(p)
        return _phase(st, phase, now), actions
    if p == Status.UP and st.primary.healthy_since is not None and now - st.primary.healthy_since >= st.hold_down_s(now):
        return _failback(st, now, actions, "recovered"), actions
    if p == Status.UP:
        return _phase(st, Phase.RECOVERING, now), actions
    if b == Status.DOWN and p == Status.DEGRADED:
        return _failback(st, now, actions, "backup_down"), actions
    return _phase(st, Phase.OUTAGE if b == Status.DOWN else Phase.BACKUP, now), actions


def _primary_phase(p: str) -> str:
    return {Status.DEGRADED: Phase.DEGRADED, Status.DOWN: Phase.OUTAGE}.get(p, Phase.PRIMARY)


def _phase(st: PolicyState, phase: str, now: float) -> PolicyState:
    return st if st.phase == phase else replace(st, phase=phase, since=now)


def _switch_to_backup(st: PolicyState, actions: list) -> PolicyState:
    if not st.backup_standby_up:
        actions.append(Standby(Uplink.BACKUP, True))
        st = replace(st, backup_standby_up=True, backup=LinkView())
    actions += [Prefer(Uplink.BACKUP), ProbeRate(Uplink.BACKUP, Rate.ACTIVE)]
    return replace(st, active=Uplink.BACKUP)


def _switch_to_primary(st: PolicyState, actions: list) -> PolicyState:
    actions.append(Prefer(Uplink.PRIMARY))
    if st.settings.failover.standby == "cold":
        actions += [ProbeRate(Uplink.BACKUP, Rate.OFF), Standby(Uplink.BACKUP, False)]
        st = replace(st, backup_standby_up=False)
    else:
        actions.append(ProbeRate(Uplink.BACKUP, Rate.TRICKLE))
    return replace(st, active=Uplink.PRIMARY)


def _failover(st: PolicyState, now: float, actions: list, reason: str, started: float | None) -> PolicyState:
    automatic = reason != "manual"
    if automatic and st.last_failback_at is not None and now - st.last_failback_at <= st.settings.failover.flap_window_s:
        st = _flap(st, now)
    was_on_backup = st.active == Uplink.BACKUP
    if not was_on_backup:
        st = _switch_to_backup(st, actions)
    actions.append(Emit("failover", {
        "from": "primary", "to": "backup", "reason": reason, "started_mono": started,
        "detect_s": _since(now, started) if automatic else None, "standby": st.settings.failover.standby,
        "hold_down_s": st.hold_down_s(now)}))
    return replace(st, phase=Phase.BACKUP, since=now, failover_at=now, outage_started=started, outage_reason=reason)


def _failback(st: PolicyState, now: float, actions: list, reason: str) -> PolicyState:
    healthy = st.primary.healthy_since
    outage_s = None   # how long the primary was out; none for a manual switch or a primary still not healthy
    if st.outage_reason != "manual" and healthy is not None and st.outage_started is not None and \
            st.primary.status == Status.UP:
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
    ready = backup_status(st) == Status.UP
    if ready:
        actions.append(CheckRoute())
    actions.append(Emit("drill_started", {"duration_s": duration_s}))
    drill = Drill(started=now, until=now + duration_s, checking=ready)
    return replace(st, phase=Phase.DRILL, since=now, drill=drill), actions


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
