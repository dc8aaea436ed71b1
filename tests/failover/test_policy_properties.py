"""Properties of decide() over arbitrary event sequences: it never crashes, and what it says is consistent."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import FailoverConfig
from agent.failover.policy import (Emit, LinkLayer, Prefer, Probe, RouteChecked, SetMode, Settings, Standby,
                                   StartDrill, Tick, decide, drill_refusal, initial)

CFG = FailoverConfig(min_failures=3, max_failures=10, down_window_s=0.3, hold_down_s=2.0, hold_down_max_s=16.0,
                     recover_successes=2, flap_window_s=20.0, flap_decay_s=30.0)

link = st.sampled_from(["primary", "backup"])
event = st.one_of(
    st.builds(lambda l, t, ok, rtt: ("probe", l, t, ok, rtt), link, st.sampled_from("abc"), st.booleans(),
              st.floats(0.1, 900.0)),
    st.builds(lambda l, up: ("layer", l, up), link, st.booleans()),
    st.just(("tick",)),
    st.builds(lambda m: ("mode", m), st.sampled_from(["auto", "force_primary", "force_backup"])),
    st.builds(lambda d: ("drill", d), st.floats(1.0, 30.0)),
    st.builds(lambda u, ok: ("checked", u, ok), st.sampled_from(["primary", "backup", None]), st.booleans()),
)
PRIMARY_PHASES = {"primary", "degraded", "outage"}
BACKUP_PHASES = {"backup", "recovering", "outage", "drill"}


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.0, 3.0), event), max_size=120),
       standby=st.sampled_from(["hot", "cold"]), auto_only=st.booleans())
def test_decide_is_consistent(steps, standby, auto_only):
    cfg = FailoverConfig(**{**CFG.__dict__, "standby": standby})
    state, actions = initial(Settings(cfg, history_s=30.0), 0.0)
    now = 0.0
    preferred = [a.uplink for a in actions if isinstance(a, Prefer)][-1]
    backup_up = standby == "hot"
    for dt, e in steps:
        now += dt
        if e[0] == "probe":
            _, l, target, ok, rtt = e
            ev = Probe(l, target, ok, now - (rtt / 1000 if ok else 0.5), rtt if ok else None)
        elif e[0] == "layer":
            ev = LinkLayer(e[1], e[2], "" if e[2] else "carrier_lost")
        elif e[0] == "tick":
            ev = Tick()
        elif e[0] == "mode":
            if auto_only:
                continue
            ev = SetMode(e[1])
        elif e[0] == "drill":
            if auto_only or drill_refusal(state):
                continue
            ev = StartDrill(e[1])
        else:
            ev = RouteChecked(e[1], e[2])
        state, actions = decide(state, ev, now)
        for a in actions:
            if isinstance(a, Prefer):
                preferred = a.uplink
            elif isinstance(a, Standby):
                assert a.uplink == "backup"
                assert not (a.up is False and preferred == "backup"), "cellular switched off while in use"
                assert standby == "cold" or a.up, "hot standby never switches cellular off"
                backup_up = a.up
            elif isinstance(a, Emit) and a.kind == "failover" and auto_only:
                assert a.data["reason"] in ("carrier_lost", "no_answer"), a.data
        assert preferred == state.active
        assert state.phase in (PRIMARY_PHASES if state.active == "primary" else BACKUP_PHASES), state.phase
        assert backup_up == state.backup_standby_up
        if state.active == "backup":
            assert backup_up, "traffic on a cellular link that is switched off"
        assert CFG.hold_down_s <= state.hold_down_s(now) <= CFG.hold_down_max_s
        if auto_only and state.active == "backup" and state.phase == "backup":
            assert state.primary.status != "up" or state.primary.healthy_since is not None
