"""The failover policy: `decide(state, event, now) -> (state, actions)`, pure — no clock, no sleeps, no IO.

N uplinks, each with a priority (agent/config/uplinks.py; without [[uplinks]]: "primary" then "backup", the
modem). Traffic goes to the healthiest uplink of best priority:
- it leaves the uplink it is on when that one is down (assess.py decides "down"), for the best-priority uplink
  not known down — one that answers before one not heard yet (a cold modem, switched off, is not known down);
  a worse uplink is used only when every better one is down;
- it returns to a better uplink once that one has been healthy for its hold-down; each flap of an uplink (lost
  again within `flap_window_s` of getting the traffic back, or lost during its hold-down) doubles its hold-down
  up to `hold_down_max_s`, and each `flap_decay_s` without a flap forgives one — per uplink;
- uplinks of equal priority: traffic stays where it is.
A switch to a worse uplink is a `failover`, to a better one a `failback`; both name `from` and `to`.

Phases (where traffic is, and why):
    primary     on the best uplink, healthy          degraded    on the best uplink, which is degraded
    backup      on a worse uplink, better ones down  recovering  on a worse uplink, a better one in its hold-down
    outage      the uplink in use is down and no other can take over (routes left as they are)
    drill       moved off the best uplink to the next one for a failover drill
Cellular uplinks are uplinks like the others, but metered: hot standby keeps them up and probes them at a
trickle, cold standby brings them up only to carry traffic. Modes: auto, force_<uplink name> (manual override;
force_primary / force_backup name the best uplink and the cellular one when no uplink has that name).

Times are the agent's monotonic clock; events carry them as `*_mono` keys, the controller adds wall-clock times.
"""
from __future__ import annotations

from dataclasses import replace

from agent.failover.assess import LinkView, Status, Transition, assess, evolve, observe, set_layer
from agent.failover.vocabulary import (  # noqa: F401  (re-exported: the policy's words are reached as policy.X)
    FORCE, LINKS, MAX_PENALTY, TWO_UPLINKS, Away, CheckRoute, Drill, Flaps, LinkLayer, Mode, Phase, PolicyState,
    Prefer, Probe, ProbeRate, RouteChecked, SetMode, Settings, Standby, StartDrill, Uplink, UplinkSpec,
    effective_penalty, modes, resolve_mode)
from agent.linkmon.health import Sample
from agent.linkmon.schedule import Rate
from common.decider import Emit, Tick  # noqa: F401  (the shared decider types, also reached as policy.Emit)


def initial(settings: Settings, now: float) -> tuple[PolicyState, list]:
    hot = settings.failover.standby == "hot"
    best = settings.uplinks[0].name
    standby_up = {u.name: hot or u.name == best for u in settings.uplinks if u.cellular}
    st = PolicyState(settings=settings, since=now, active=best, links={n: LinkView() for n in settings.names},
                     standby_up=standby_up)
    actions: list = [Standby(n, up) for n, up in standby_up.items()]
    actions.append(Prefer(best))
    actions += [ProbeRate(u.name, _rate(st, u.name)) for u in settings.uplinks]
    return st, actions


def _rate(st: PolicyState, name: str) -> Rate:
    """Fixed lines are watched closely all the time; a cellular link closely only while it carries traffic."""
    if not st.settings.spec(name).cellular:
        return Rate.FAST
    if name == st.active:
        return Rate.ACTIVE
    return Rate.TRICKLE if st.standby_up.get(name, True) else Rate.OFF


def drill_target(st: PolicyState) -> str | None:
    """A drill moves traffic off the best uplink to the next one."""
    names = st.settings.names
    return names[1] if len(names) > 1 else None


def drill_refusal(st: PolicyState) -> str | None:
    """Why a drill cannot start now, or None."""
    if st.drill is not None:
        return "a drill is already running"
    if st.mode != Mode.AUTO:
        return f"mode is {st.mode}; set it back to auto first"
    if st.active != st.best or st.phase != Phase.PRIMARY:
        return f"the primary is not healthy and active (state {st.phase}): no drill during trouble"
    to = drill_target(st)
    if to is None:
        return "there is no other uplink to drill"
    if status(st, to) == Status.DOWN:
        return "the backup is down" if to == st.cellular or to == Uplink.BACKUP else f"{to} is down"
    return None


def status(st: PolicyState, name: str) -> str:
    """An uplink's status as far as decisions go: a cold cellular link that is switched off is not known down."""
    return st.links[name].status if st.standby_up.get(name, True) else Status.UNKNOWN


def backup_status(st: PolicyState) -> str:
    return status(st, st.cellular or st.settings.uplinks[-1].name)


# ---- decide ---------------------------------------------------------------------------------------------------

def decide(st: PolicyState, event: object, now: float) -> tuple[PolicyState, list]:
    actions: list = []
    if isinstance(event, Probe):
        if event.link not in st.links or not st.standby_up.get(event.link, True):
            return st, actions   # a late result from before a cold link was switched off
        sample = Sample(event.at, event.target, event.ok, event.rtt_ms)
        st = _with_link(st, event.link, observe(st.links[event.link], sample, now, st.settings.history_s))
        st = _assess(st, event.link, now, actions)
    elif isinstance(event, LinkLayer):
        if event.link not in st.links:
            return st, actions
        st = _with_link(st, event.link, set_layer(st.links[event.link], event.up, event.reason))
        st = _assess(st, event.link, now, actions)
    elif isinstance(event, Tick):
        for name in st.settings.names:
            st = _assess(st, name, now, actions)
    elif isinstance(event, SetMode):
        mode = resolve_mode(st.settings, event.mode)
        if st.drill is not None:
            st = _end_drill(st, now, actions, ok=False, reason="manual override")
        st = replace(st, mode=mode)
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
    if st.links[name] is view:   # assessed, nothing changed (most ticks): the same state
        return st
    return evolve(st, links={**st.links, name: view})


def _assess(st: PolicyState, name: str, now: float, actions: list) -> PolicyState:
    if not st.standby_up.get(name, True):
        return st
    view, change = assess(st.links[name], now, st.settings.failover)
    st = _with_link(st, name, view)
    if change is not None:
        _report(name, view, change, now, actions)
        # lost during its hold-down: a better uplink that was up while traffic waited on a worse one
        if change.new == Status.DOWN and change.old == Status.UP and st.mode == Mode.AUTO and st.drill is None \
                and st.settings.rank(name) < st.settings.rank(st.active):
            st = _flap(st, name, now)
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


def _flap(st: PolicyState, name: str, now: float) -> PolicyState:
    flaps = Flaps(min(MAX_PENALTY, effective_penalty(st, now, name) + 1), now)
    return replace(st, flaps={**st.flaps, name: flaps})


def _held(st: PolicyState, name: str, now: float) -> bool:
    view = st.links[name]
    return status(st, name) == Status.UP and view.healthy_since is not None and \
        now - view.healthy_since >= st.hold_down_s(now, name)


def _route(st: PolicyState, now: float, actions: list) -> tuple[PolicyState, list]:
    if st.drill is not None:
        return _route_drill(st, now, actions), actions
    forced = st.forced
    if forced is not None:
        if st.active != forced:
            st = _switch(st, forced, now, actions, "manual", now)
        return _phase(st, _primary_phase(status(st, forced)) if forced == st.best else Phase.BACKUP, now), actions
    cur, cfg = st.active, st.settings
    better = [n for n in cfg.names if cfg.rank(n) < cfg.rank(cur)]
    ready = [n for n in better if _held(st, n, now)]
    if ready:
        return _switch(st, ready[0], now, actions, "recovered", None), actions
    s = status(st, cur)
    if s == Status.DOWN:
        to = _replacement(st, cur, better)
        if to is None:
            return _phase(st, Phase.OUTAGE, now), actions
        if to in better:
            return _switch(st, to, now, actions, "backup_down", None), actions
        view = st.links[cur]
        return _switch(st, to, now, actions, view.reason, view.down_started), actions
    if s == Status.DEGRADED and cfg.failover.failover_when_degraded:
        to = next((n for n in cfg.names if cfg.rank(n) > cfg.rank(cur) and status(st, n) == Status.UP), None)
        if to is not None:
            return _switch(st, to, now, actions, "degraded", st.links[cur].since), actions
    if cur == st.best:
        return _phase(st, _primary_phase(s), now), actions
    waiting = any(status(st, n) == Status.UP for n in better)
    return _phase(st, Phase.RECOVERING if waiting else Phase.BACKUP, now), actions


def _replacement(st: PolicyState, cur: str, better: list[str]) -> str | None:
    """Where traffic goes when `cur` is down: the best-priority uplink that answers (a better one may still be in
    its hold-down or degraded: better than none), else the best-priority one not heard yet but not known down (a
    cold modem switched off, a line not probed yet)."""
    names = [n for n in st.settings.names if n != cur]
    answering = [n for n in names if status(st, n) in (Status.UP, Status.DEGRADED)]
    if answering:
        return answering[0]
    unheard = [n for n in names if n not in better and status(st, n) == Status.UNKNOWN]
    return unheard[0] if unheard else None


def _route_drill(st: PolicyState, now: float, actions: list) -> PolicyState:
    drill = st.drill
    assert drill is not None
    best = st.best
    if status(st, best) == Status.DOWN:   # a real outage during the drill: stay where the drill went, as a failover
        st = _end_drill(st, now, actions, ok=False, reason="primary lost during the drill", stay=True)
        view = st.links[best]
        return _switch(st, drill.to, now, actions, view.reason, view.down_started, left=best)
    to = status(st, drill.to)
    if to == Status.DOWN:
        return _end_drill(st, now, actions, ok=False, reason="backup down")
    if now >= drill.until:
        return _end_drill(st, now, actions, ok=None, reason="completed")
    if not drill.checking and to == Status.UP:
        actions.append(CheckRoute())
        st = replace(st, drill=replace(drill, checking=True))
    return st


def _primary_phase(p: str) -> Phase:
    return {Status.DEGRADED: Phase.DEGRADED, Status.DOWN: Phase.OUTAGE}.get(p, Phase.PRIMARY)


def _phase(st: PolicyState, phase: Phase, now: float) -> PolicyState:
    return st if st.phase == phase else replace(st, phase=phase, since=now)


def _move(st: PolicyState, to: str, actions: list) -> PolicyState:
    """The route and standby actions that put traffic on `to`: a cold cellular link is switched on first, and
    one traffic leaves is switched off again (cold) or probed at a trickle (hot)."""
    frm = st.active
    if not st.standby_up.get(to, True):
        actions.append(Standby(to, True))
        st = replace(st, standby_up={**st.standby_up, to: True}, links={**st.links, to: LinkView()})
    actions.append(Prefer(to))
    st = replace(st, active=to)
    if st.settings.spec(to).cellular:
        actions.append(ProbeRate(to, Rate.ACTIVE))
    if frm != to and st.settings.spec(frm).cellular:
        if st.settings.failover.standby == "cold":
            actions += [ProbeRate(frm, Rate.OFF), Standby(frm, False)]
            st = replace(st, standby_up={**st.standby_up, frm: False})
        else:
            actions.append(ProbeRate(frm, Rate.TRICKLE))
    return st


def _switch(st: PolicyState, to: str, now: float, actions: list, reason: str, started: float | None,
            left: str | None = None) -> PolicyState:
    """Traffic from the active uplink (or `left`, when a drill already moved it) to `to`: a failover when `to` is
    worse, a failback when it is better."""
    frm = left or st.active
    if st.settings.rank(to) < st.settings.rank(frm):
        return _failback(st, frm, to, now, actions, reason)
    return _failover(st, frm, to, now, actions, reason, started)


def _failover(st: PolicyState, frm: str, to: str, now: float, actions: list, reason: str,
              started: float | None) -> PolicyState:
    automatic = reason != "manual"
    last = st.last_failback_at.get(frm)
    if automatic and last is not None and now - last <= st.settings.failover.flap_window_s:
        st = _flap(st, frm, now)   # lost again soon after getting the traffic back
    if st.active != to:
        st = _move(st, to, actions)
    actions.append(Emit("failover", {
        "from": frm, "to": to, "reason": reason, "started_mono": started,
        "detect_s": _since(now, started) if automatic else None, "standby": st.settings.failover.standby,
        "hold_down_s": st.hold_down_s(now, frm)}))
    away = {**st.away, frm: Away(started, reason, now)}
    return replace(st, phase=Phase.BACKUP, since=now, away=away)


def _failback(st: PolicyState, frm: str, to: str, now: float, actions: list, reason: str) -> PolicyState:
    view = st.links[to]
    healthy = view.healthy_since
    left = st.away.get(to)
    outage_s = None   # how long `to` was out; none for a manual switch or an uplink still not healthy
    if left is not None and left.reason != "manual" and healthy is not None and left.started is not None and \
            view.status == Status.UP:
        outage_s = max(0.0, healthy - left.started)
    st = _move(st, to, actions)
    actions.append(Emit("failback", {
        "from": frm, "to": to, "reason": reason, "started_mono": left.started if left else None,
        "outage_s": outage_s, "on_backup_s": _since(now, left.at if left else None),
        "outage_reason": left.reason if left else "",
        "held_s": _since(now, healthy) if reason == "recovered" else None}))
    # back on `to`: the uplinks worse than it no longer matter for the traffic's way back
    rank = st.settings.rank(to)
    away = {n: a for n, a in st.away.items() if st.settings.rank(n) < rank}
    phase = _primary_phase(view.status) if to == st.best else Phase.BACKUP
    return replace(st, phase=phase, since=now, last_failback_at={**st.last_failback_at, to: now}, away=away)


def _start_drill(st: PolicyState, duration_s: float, now: float) -> tuple[PolicyState, list]:
    actions: list = []
    to = drill_target(st)
    assert to is not None
    st = _move(st, to, actions)
    # the route check proves traffic takes the drilled uplink: at once when it is up, else (cold standby, just
    # switched on) as soon as it answers
    ready = status(st, to) == Status.UP
    if ready:
        actions.append(CheckRoute())
    actions.append(Emit("drill_started", {"duration_s": duration_s, "uplink": to}))
    drill = Drill(started=now, until=now + duration_s, to=to, checking=ready)
    return replace(st, phase=Phase.DRILL, since=now, drill=drill), actions


def _end_drill(st: PolicyState, now: float, actions: list, ok: bool | None, reason: str,
               stay: bool = False) -> PolicyState:
    drill = st.drill
    assert drill is not None
    view = st.links[drill.to]
    samples = view.health.since(drill.started)
    stats = view.health.stats(drill.started)
    first = next((s for s in samples if s.ok), None)
    route = drill.route
    traffic_ok = bool(route and route.uplink == drill.to and route.probe_ok and first is not None)
    if ok is None:   # ran its course: it passed if traffic really went through the drilled uplink
        reason = "completed" if traffic_ok else _drill_failure(route, drill.to, first is not None)
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
        st = _move(st, st.best, actions)
        st = replace(st, phase=_primary_phase(status(st, st.best)), since=now)
    return st


def _drill_failure(route: RouteChecked | None, to: str, answered: bool) -> str:
    if route is None:
        return "the route check did not finish"
    if route.uplink != to:
        return f"traffic still left through {route.uplink or 'no uplink'}"
    if not route.probe_ok:
        return f"a probe following the routing table was not answered ({route.error or 'timeout'})"
    assert not answered
    return f"no probe through {'the backup' if to == Uplink.BACKUP else to} was answered"


def _since(now: float, t: float | None) -> float | None:
    return None if t is None else max(0.0, now - t)
