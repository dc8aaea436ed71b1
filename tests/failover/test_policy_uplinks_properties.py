"""Properties of decide() over arbitrary event sequences with three uplinks (fiber, second, cellular): traffic is
where the last Prefer put it, never on a cellular link switched off, never failed over to a worse uplink while a
better one answers, never left on a worse uplink while a better one has been healthy past its hold-down, and a
switch always names where it comes from and goes to."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import FailoverConfig
from agent.failover.policy import (Emit, LinkLayer, Prefer, Probe, SetMode, Settings, Standby, StartDrill, Tick,
                                   UplinkSpec, decide, drill_refusal, initial)

CFG = FailoverConfig(min_failures=3, max_failures=10, down_window_s=0.3, hold_down_s=2.0, hold_down_max_s=16.0,
                     recover_successes=2, flap_window_s=20.0, flap_decay_s=30.0)
UPLINKS = (UplinkSpec("fiber", 1), UplinkSpec("second", 2), UplinkSpec("lte", 3, cellular=True))
RANK = {u.name: u.priority for u in UPLINKS}

link = st.sampled_from([u.name for u in UPLINKS])
event = st.one_of(
    st.builds(lambda l, t, ok, rtt: ("probe", l, t, ok, rtt), link, st.sampled_from("abc"), st.booleans(),
              st.floats(0.1, 900.0)),
    st.builds(lambda l, up: ("layer", l, up), link, st.booleans()),
    # a run of answers (or failures) on one link, 0.1 s apart: long enough to go down, or to outlast a hold-down
    st.builds(lambda l, ok, n: ("burst", l, ok, n), link, st.booleans(), st.integers(1, 40)),
    st.just(("tick",)),
    st.builds(lambda m: ("mode", m), st.sampled_from(["auto", "force_fiber", "force_second", "force_lte",
                                                      "force_primary", "force_backup"])),
    st.builds(lambda d: ("drill", d), st.floats(1.0, 30.0)),
)


def events_of(step, now: float, state, auto_only: bool):
    """The policy events of one generated step at `now`, and the time after it (a burst takes 0.1 s a probe)."""
    kind = step[0]
    if kind == "burst":
        _, l, ok, n = step
        return [(now + 0.1 * i, Probe(l, "abc"[i % 3], ok, now + 0.1 * i - (0.01 if ok else 0.5),
                                      10.0 if ok else None)) for i in range(n)], now + 0.1 * n
    if kind == "probe":
        _, l, target, ok, rtt = step
        return [(now, Probe(l, target, ok, now - (rtt / 1000 if ok else 0.5), rtt if ok else None))], now
    if kind == "layer":
        return [(now, LinkLayer(step[1], step[2], "" if step[2] else "carrier_lost"))], now
    if kind == "tick":
        return [(now, Tick())], now
    if auto_only or (kind == "drill" and drill_refusal(state)):
        return [], now
    return [(now, SetMode(step[1]) if kind == "mode" else StartDrill(step[1]))], now


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(0.0, 3.0), event), max_size=120),
       standby=st.sampled_from(["hot", "cold"]), auto_only=st.booleans())
def test_decide_is_consistent_over_three_uplinks(steps, standby, auto_only):
    cfg = FailoverConfig(**{**CFG.__dict__, "standby": standby})
    state, actions = initial(Settings(cfg, history_s=30.0, uplinks=UPLINKS), 0.0)
    preferred = [a.uplink for a in actions if isinstance(a, Prefer)][-1]
    lte_up = standby == "hot"
    now = 0.0
    healthy_start = [(0.0, ("layer", u, True)) for u in RANK] + [(0.0, ("burst", u, True, 3)) for u in RANK]
    for dt, step in healthy_start + steps:   # from a healthy start, where the better-or-worse choices arise
        events, now = events_of(step, now + dt, state, auto_only)
        for t, ev in events:
            was = state.active
            state, actions = decide(state, ev, t)
            for a in actions:
                if isinstance(a, Prefer):
                    preferred = a.uplink
                elif isinstance(a, Standby):
                    assert a.uplink == "lte" and (standby == "cold" or a.up)
                    assert not (a.up is False and preferred == "lte"), "cellular switched off while in use"
                    lte_up = a.up
                elif isinstance(a, Emit) and a.kind in ("failover", "failback"):
                    frm, to = a.data["from"], a.data["to"]
                    assert frm != to and (RANK[to] > RANK[frm]) == (a.kind == "failover"), a.data
                    if auto_only:
                        assert frm == was
                    if auto_only and a.kind == "failover":   # a worse uplink only when every better one is down
                        assert all(state.links[n].status not in ("up", "degraded") for n in RANK
                                   if n != frm and RANK[n] < RANK[to]), (a.data, state.links)
            assert preferred == state.active
            assert lte_up == state.standby_up["lte"]
            if state.active == "lte":
                assert lte_up, "traffic on a cellular link that is switched off"
            if auto_only:
                for better in (n for n in RANK if RANK[n] < RANK[state.active]):
                    view = state.links[better]
                    assert not (view.status == "up" and view.healthy_since is not None and
                                t - view.healthy_since >= state.hold_down_s(t, better)), \
                        f"on {state.active} while {better} is healthy past its hold-down"
