"""The failover policy over three uplinks — fiber, a second operator's line, cellular — as tables of
(t, event) -> actions: the sequences of issue 13's "Done when" and what a multi-WAN site expects around them.

Same small settings as test_policy.py: 3 failures and 0.5 s without an answer make "down", 2 answers make it up
again, the hold-down is 5 s.
"""
from __future__ import annotations

import pytest

from agent.config import FailoverConfig
from agent.failover.policy import (CheckRoute, LinkLayer, Prefer, Probe, ProbeRate, RouteChecked, SetMode,
                                   Settings, Standby, StartDrill, Tick, UplinkSpec, decide, drill_refusal, initial,
                                   modes)
from tests.failover.test_policy import CFG, E, run_table as run_two

UPLINKS = (UplinkSpec("fiber", 1), UplinkSpec("second", 2), UplinkSpec("lte", 3, cellular=True))
TARGETS = ("a", "b", "c")


def settings(cfg=CFG, uplinks=UPLINKS):
    return Settings(cfg, uplinks=uplinks)


def run(rows, st=None, cfg=CFG, uplinks=UPLINKS):
    if st is None:
        st, _ = initial(settings(cfg, uplinks), 0.0)
    return run_two(rows, cfg, start=st)


def ok(t, link, target="a", rtt=5.0):
    return Probe(link, target, True, t, rtt)


def answers(link, t, n=2):
    """n answered probes from `link`, sent 0.01 s apart from t, each known 5 ms later."""
    return [(round(t + 0.01 * i + 0.005, 6), ok(round(t + 0.01 * i, 6), link, TARGETS[i % 3]))
            for i in range(n)]


def all_up(cfg=CFG, uplinks=UPLINKS):
    """Every uplink known up at t = 0.1 s, traffic on the fiber."""
    st, _ = initial(settings(cfg, uplinks), 0.0)
    for u in uplinks:
        st, _ = decide(st, LinkLayer(u.name, True), 0.0)
        for now, event in answers(u.name, 0.0):
            st, _ = decide(st, event, now)
    assert (st.active, st.phase) == ("fiber", "primary")
    return st


def cut(link, t):
    return LinkLayer(link, False, "carrier_lost")


def restore(st, link, t):
    st, _ = decide(st, LinkLayer(link, True), t)
    for now, event in answers(link, t):
        st, _ = decide(st, event, now)
    return st


# ---- start --------------------------------------------------------------------------------------------------

def test_start_prefers_the_best_priority_and_watches_fixed_lines_closely():
    _, actions = initial(settings(), 0.0)
    assert actions == [Standby("lte", True), Prefer("fiber"), ProbeRate("fiber", "fast"),
                       ProbeRate("second", "fast"), ProbeRate("lte", "trickle")]


def test_priority_not_the_order_written_decides():
    shuffled = (UPLINKS[2], UPLINKS[0], UPLINKS[1])
    _, actions = initial(settings(uplinks=shuffled), 0.0)
    assert [a for a in actions if isinstance(a, Prefer)] == [Prefer("fiber")]


# ---- the sequence -----------------------------------------------------------------------------------

def test_fiber_lost_goes_to_the_second_operator_not_to_cellular():
    st = run([(1.0, cut("fiber", 1.0), [
        E("link_down", link="fiber", reason="carrier_lost"), Prefer("second"),
        E("failover", **{"from": "fiber", "to": "second", "reason": "carrier_lost", "started_mono": 1.0,
                         "detect_s": 0.0, "standby": "hot", "hold_down_s": 5.0})])], st=all_up())
    assert (st.active, st.phase) == ("second", "backup")


def test_cellular_takes_over_only_when_both_fixed_lines_fail_and_traffic_climbs_back_in_order():
    st = run([
        (1.0, cut("fiber", 1.0), [E("link_down", link="fiber"), Prefer("second"),
                                  E("failover", **{"from": "fiber", "to": "second"})]),
        (2.0, cut("second", 2.0), [E("link_down", link="second"), Prefer("lte"), ProbeRate("lte", "active"),
                                   E("failover", **{"from": "second", "to": "lte", "reason": "carrier_lost"})]),
    ], st=all_up())
    assert (st.active, st.phase) == ("lte", "backup")
    # the second line comes back first: traffic returns to it after its hold-down, not before
    st = restore(st, "second", 10.0)
    assert st.phase == "recovering"
    st = run([(15.0, Tick(), []),
              (15.02, Tick(), [Prefer("second"), ProbeRate("lte", "trickle"),
                               E("failback", **{"from": "lte", "to": "second", "reason": "recovered",
                                                "started_mono": 2.0, "outage_reason": "carrier_lost",
                                                "held_s": 5.005})])], st=st)
    assert (st.active, st.phase) == ("second", "backup")
    # then the fiber: back to it after its own hold-down, with the fiber's outage in the event
    st = restore(st, "fiber", 20.0)
    assert st.phase == "recovering"
    st = run([(25.02, Tick(), [Prefer("fiber"), E("failback", **{
        "from": "second", "to": "fiber", "reason": "recovered", "started_mono": 1.0, "outage_s": 19.015,
        "outage_reason": "carrier_lost"})])], st=st)
    assert (st.active, st.phase, st.away) == ("fiber", "primary", {})


def test_the_fiber_back_first_skips_the_second_line():
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover")]),
              (2.0, cut("second", 2.0), [E("link_down"), Prefer("lte"), ProbeRate("lte", "active"),
                                         E("failover")])], st=all_up())
    st = restore(st, "fiber", 10.0)
    st = run([(15.02, Tick(), [Prefer("fiber"), ProbeRate("lte", "trickle"),
                               E("failback", **{"from": "lte", "to": "fiber", "started_mono": 1.0})])], st=st)
    assert st.away == {}


def test_a_worse_uplink_is_used_only_when_every_better_one_is_down():
    st = all_up()
    # the second line is degraded (half its probes lost): still better than cellular when the fiber goes
    for i in range(60):
        t = round(0.2 + 0.1 * i, 6)
        answer = ok(t, "second", TARGETS[i % 3]) if i % 2 else Probe("second", TARGETS[i % 3], False, t)
        st, _ = decide(st, answer, t + 0.5)
    assert st.links["second"].status == "degraded"
    run([(7.0, cut("fiber", 7.0), [E("link_down"), Prefer("second"), E("failover", to="second")])], st=st)


def test_the_current_dead_uplink_is_left_for_a_better_one_in_its_hold_down():
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover")])], st=all_up())
    st = restore(st, "fiber", 3.0)
    assert st.phase == "recovering"
    run([(4.0, cut("second", 4.0), [E("link_down", link="second"), Prefer("fiber"),
                                    E("failback", **{"from": "second", "to": "fiber", "reason": "backup_down"})])],
        st=st)


def test_every_uplink_down_is_an_outage_on_the_last_one_used():
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover")]),
              (1.5, cut("lte", 1.5), [E("link_down", link="lte")]),
              (2.0, cut("second", 2.0), [E("link_down", link="second")])], st=all_up())
    assert (st.active, st.phase) == ("second", "outage")


# ---- flap dampening, per uplink -----------------------------------------------------------------------------

def test_flaps_of_one_uplink_do_not_lengthen_another_ones_hold_down():
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover")]),
              (2.0, cut("second", 2.0), [E("link_down"), Prefer("lte"), ProbeRate("lte", "active"),
                                         E("failover")])], st=all_up())
    for k in range(2):   # the second line comes back and goes again during its hold-down, twice
        st = restore(st, "second", 3.0 + 2 * k)
        st, _ = decide(st, cut("second", 0), 4.0 + 2 * k)
    assert st.hold_down_s(8.0, "second") == 20.0
    assert st.hold_down_s(8.0, "fiber") == 5.0 and st.hold_down_s(8.0) == 5.0


def test_losing_an_uplink_soon_after_getting_traffic_back_is_a_flap_of_that_uplink():
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover")])], st=all_up())
    st = restore(st, "fiber", 3.0)
    st, actions = decide(st, Tick(), 8.1)
    assert Prefer("fiber") in actions
    run([(9.0, cut("fiber", 9.0), [E("link_down"), Prefer("second"), E("failover", to="second", hold_down_s=10.0)])],
        st=st)


# ---- equal priorities ---------------------------------------------------------------------------------------

def test_uplinks_of_equal_priority_keep_the_traffic_where_it_is():
    twins = (UplinkSpec("fiber", 1), UplinkSpec("second", 1), UplinkSpec("lte", 3, cellular=True))
    st = run([(1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover", to="second")])],
             st=all_up(uplinks=twins), uplinks=twins)
    st = restore(st, "fiber", 2.0)
    st, actions = decide(st, Tick(), 60.0)
    assert actions == [] and (st.active, st.phase) == ("second", "backup")


# ---- cold standby -------------------------------------------------------------------------------------------

def test_cold_cellular_stays_off_while_a_fixed_line_carries_the_traffic():
    cfg = FailoverConfig(**{**CFG.__dict__, "standby": "cold"})
    st, actions = initial(settings(cfg), 0.0)
    assert actions[0] == Standby("lte", False) and ProbeRate("lte", "off") in actions
    for link in ("fiber", "second"):
        st, _ = decide(st, LinkLayer(link, True), 0.0)
        for now, event in answers(link, 0.0):
            st, _ = decide(st, event, now)
    st = run([
        (1.0, cut("fiber", 1.0), [E("link_down"), Prefer("second"), E("failover", to="second", standby="cold")]),
        (2.0, cut("second", 2.0), [E("link_down"), Standby("lte", True), Prefer("lte"), ProbeRate("lte", "active"),
                                   E("failover", to="lte")]),
    ], st=st, cfg=cfg)
    st = restore(st, "second", 3.0)
    run([(8.02, Tick(), [Prefer("second"), ProbeRate("lte", "off"), Standby("lte", False),
                         E("failback", to="second")])], st=st, cfg=cfg)


# ---- modes and drills ---------------------------------------------------------------------------------------

def test_force_names_an_uplink_and_the_two_uplink_modes_are_aliases():
    assert set(modes(settings())) >= {"auto", "force_fiber", "force_second", "force_lte", "force_primary",
                                      "force_backup"}
    st = run([(1.0, SetMode("force_second"), [Prefer("second"), E("failover", to="second", reason="manual")]),
              (2.0, SetMode("force_backup"), [Prefer("lte"), ProbeRate("lte", "active"),
                                              E("failover", **{"from": "second", "to": "lte"})]),
              (3.0, SetMode("force_primary"), [Prefer("fiber"), ProbeRate("lte", "trickle"),
                                               E("failback", to="fiber", reason="manual", outage_s=None)])],
             st=all_up())
    assert (st.mode, st.active, st.phase) == ("force_fiber", "fiber", "primary")
    with pytest.raises(ValueError, match="force_second"):   # the message lists the modes there are
        decide(st, SetMode("force_dsl"), 4.0)


def test_a_drill_moves_traffic_to_the_next_uplink_and_back():
    st = all_up()
    assert drill_refusal(st) is None
    st = run([(1.0, StartDrill(5.0), [Prefer("second"), CheckRoute(), E("drill_started", uplink="second")])],
             st=st)
    st = run([(1.1, RouteChecked("second", True, 6.0), []), (1.205, ok(1.2, "second"), []),
              (6.0, Tick(), [E("drill_result", ok=True, reason="completed", route={
                  "uplink": "second", "probe_ok": True, "rtt_ms": 6.0, "error": ""}), Prefer("fiber")])], st=st)
    assert (st.active, st.phase) == ("fiber", "primary")


def test_no_drill_when_the_next_uplink_is_down():
    st = run([(1.0, cut("second", 1.0), [E("link_down", link="second")])], st=all_up())
    assert drill_refusal(st) == "second is down"
