"""The SIM rules as tables of (t, input) -> actions, then scenarios against a small model of two SIMs.

Settings are small and round so that the tables stay readable: dwell 100 s (doubling up to 800 s), a switched-to
SIM must register within 30 s, return to the preferred SIM after 1000 s (trial: 20 s).
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from tests import tables
from agent.config import DataPathRule, SimRule, SimRules, WeakSignalRule
from agent.cellular.rules import (Emit, Hold, ManualSwitch, ModemLost, ProbeSeen, Seen, Settings, SwitchRefused,
                                  SwitchSim, Tick, evaluate, initial, view)

RULES = SimRules(sim_failure=SimRule(duration_s=10), registration_denied=SimRule(duration_s=10),
                 no_registration=SimRule(duration_s=30), data_cap=SimRule(duration_s=0),
                 roaming=SimRule(duration_s=20), data_failing=DataPathRule(failures=3, duration_s=10),
                 weak_signal=WeakSignalRule(rsrp_dbm=-115, sinr_db=-3, duration_s=60))
S = Settings(slots=(1, 2), rules=RULES, min_dwell_s=100, backoff_max_s=800, switch_timeout_s=30,
             return_after_s=1000, return_check_s=20)


def seen(slot=1, sim_state="READY", registration="home", rsrp=-90.0, sinr=10.0, capped=()):
    return Seen(slot, sim_state, registration, rsrp, sinr, frozenset(capped))


def E(kind, **data):
    return Emit(kind, data)


def run_table(rows, settings=S, state=None):
    return tables.run_table(evaluate, state or initial(settings), rows)


# ---- each rule: its condition, its duration, then a switch ---------------------------------------------------

BAD = {
    "sim_failure": [seen(sim_state="NOT INSERTED", registration="not_registered")],
    "registration_denied": [seen(registration="denied")],
    "no_registration": [seen(registration="searching")],
    "data_cap": [seen(capped=[1])],
    "roaming": [seen(registration="roaming")],
    "weak_signal": [seen(rsrp=-118.0)],
    "data_failing": [ProbeSeen(False, 1.0), ProbeSeen(False, 1.0), ProbeSeen(False, 1.0)],
}
DURATION = {"sim_failure": 10, "registration_denied": 10, "no_registration": 30, "data_cap": 0, "roaming": 20,
            "weak_signal": 60, "data_failing": 10}


@pytest.mark.parametrize("rule", sorted(BAD))
def test_each_rule_switches_after_its_duration_then_reports_the_switch(rule):
    d = DURATION[rule]
    rows = [(0.0, seen(), [])] + [(1.0, ev, []) for ev in BAD[rule][:-1]]
    rows.append((1.0, BAD[rule][-1], [SwitchSim(2, rule, rule)] if d == 0 else []))
    if d:
        rows += [(1.0 + d - 0.5, Tick(), []),
                 (1.0 + d, Tick(), [SwitchSim(2, rule, rule)])]
    t = 1.0 + d
    rows += [(t + 2, seen(slot=2, registration="not_registered"), []),      # the other SIM is being read
             (t + 4.5, seen(slot=2), [E("sim_switch", from_slot=1, to_slot=2, reason=rule, rule=rule, took_s=4.5)])]
    st = run_table(rows)
    assert st.active == 2 and st.switching is None


@pytest.mark.parametrize("rule", sorted(r for r in BAD if DURATION[r] > 0))    # data_cap: 0 s, nothing to clear
def test_a_condition_that_clears_before_its_duration_does_not_switch(rule):
    d = DURATION[rule]
    clear = ProbeSeen(True, 2.0) if rule == "data_failing" else seen()
    run_table([(0.0, seen(), [])] + [(1.0, ev, []) for ev in BAD[rule]]
              + [(d, clear, []), (d + 1.0, Tick(), []), (5 * d + 100, Tick(), [])])


@pytest.mark.parametrize("rule", sorted(BAD))
def test_a_disabled_rule_never_switches(rule):
    kind = type(getattr(RULES, rule))
    disabled = Settings(**{**S.__dict__, "rules": SimRules(**{**RULES.__dict__,
                                                               rule: kind(**{**getattr(RULES, rule).__dict__,
                                                                             "enabled": False})})})
    run_table([(0.0, seen(), [])] + [(1.0, ev, []) for ev in BAD[rule]] + [(500.0, Tick(), [])], settings=disabled)


@pytest.mark.parametrize("sim_state", ["NOT INSERTED", "SIM FAILURE", "SIM PUK", "SIM PIN", "SIM WRONG", "NOT READY"])
def test_every_unusable_sim_state_is_a_sim_failure(sim_state):
    st = run_table([(0.0, seen(sim_state=sim_state, registration=None), [])])
    assert set(st.onsets) == {"sim_failure"}


def test_a_sim_being_read_or_a_silent_modem_is_no_failure():
    st = run_table([(0.0, seen(sim_state="SIM BUSY", registration="not_registered"), []),
                    (1.0, seen(sim_state=None, registration=None), [])])
    assert dict(st.onsets) == {}


@pytest.mark.parametrize("rsrp,sinr,weak", [(-115.0, 10.0, False), (-115.1, 10.0, True), (-90.0, -3.0, False),
                                            (-90.0, -3.5, True), (None, None, False), (None, -4.0, True)])
def test_weak_signal_threshold_is_strictly_below(rsrp, sinr, weak):
    st = run_table([(0.0, seen(rsrp=rsrp, sinr=sinr), [])])
    assert ("weak_signal" in st.onsets) is weak


def test_roaming_on_a_sim_allowed_to_roam_is_fine():
    allowed = Settings(**{**S.__dict__, "roaming_allowed": frozenset({1})})
    run_table([(0.0, seen(registration="roaming"), []), (500.0, Tick(), [])], settings=allowed)


def test_data_failing_needs_the_failures_in_a_row_and_is_reset_by_one_answer():
    run_table([(0.0, seen(), []),
               (1.0, ProbeSeen(False, 1.0), []), (2.0, ProbeSeen(False, 2.0), []),
               (3.0, ProbeSeen(True, 3.0), []),                          # an answer: the run starts again
               (4.0, ProbeSeen(False, 4.0), []), (5.0, ProbeSeen(False, 5.0), []), (6.0, ProbeSeen(False, 6.0), []),
               (13.9, Tick(), []),
               (14.0, Tick(), [SwitchSim(2, "data_failing", "data_failing")])])


def test_the_worst_firing_rule_names_the_switch():
    run_table([(0.0, seen(rsrp=-120.0), []),                               # weak from t=0 (60 s)
               (50.0, seen(registration="denied", rsrp=-120.0), []),       # denied from t=50 (10 s)
               (60.0, Tick(), [SwitchSim(2, "registration_denied", "registration_denied")])])


def test_modem_lost_makes_what_it_said_stale():
    run_table([(0.0, seen(registration="denied"), []),
               (5.0, ModemLost(), []),
               (11.0, Tick(), []),                                          # the 10 s started over
               (12.0, seen(registration="denied"), []),
               (21.9, Tick(), []),
               (22.0, Tick(), [SwitchSim(2, "registration_denied", "registration_denied")])])


# ---- never ping-pong ---------------------------------------------------------------------------------------------

def switched(t0=0.0, rule="registration_denied"):
    """Slot 1 denied at t0, switched to slot 2 at t0+10, registered there at t0+12."""
    return [(t0, seen(registration="denied"), []),
            (t0 + 10, Tick(), [SwitchSim(2, rule, rule)]),
            (t0 + 12, seen(slot=2), [E("sim_switch", to_slot=2)])]


def test_min_dwell_after_a_switch():
    run_table(switched() + [
        (13.0, seen(slot=2, registration="roaming"), []),                 # slot 2 roams: 20 s, but the dwell ...
        (111.9, Tick(), []),                                               # ... runs from the arrival at t=12
        (112.0, Tick(), []),                                               # slot 1 is remembered denied: stay
        (209.0, Tick(), []),                                               # ... for twice the dwell (until 210)
        (210.0, Tick(), [SwitchSim(1, "roaming", "roaming")])])            # then looked at again


def test_stay_on_the_better_slot_then_look_again_when_its_memory_expires():
    st = run_table(switched() + [
        (13.0, seen(slot=2, rsrp=-120.0), []),                             # weak on slot 2 from t=13
        (112.0, Tick(), []),                                               # dwell over, weak held 99 s, but slot 1
        (209.9, Tick(), [])])                                              # is known denied until 10 + 2 x 100
    assert st.failed_switches == 0 and st.known[1].until == 210.0
    run_table([(210.0, Tick(), [SwitchSim(1, "weak_signal", "weak_signal")])], state=st)


def test_a_switch_that_does_not_register_goes_back_when_the_old_slot_was_better():
    run_table([(0.0, seen(rsrp=-120.0), []),
               (60.0, Tick(), [SwitchSim(2, "weak_signal", "weak_signal")]),
               (62.0, seen(slot=2, sim_state="NOT INSERTED", registration=None), []),
               (90.0, Tick(), [E("sim_switch_failed", from_slot=1, to_slot=2, error="slot 2 not registered within 30 s"),
                               SwitchSim(1, "switch_back", "weak_signal")]),
               (93.0, seen(rsrp=-120.0), [E("sim_switch", from_slot=2, to_slot=1, reason="switch_back")]),
               (200.0, Tick(), [])])                                       # slot 2 known missing: stay on weak slot 1


def test_a_switch_that_does_not_register_stays_when_the_old_slot_was_worse():
    st = run_table([(0.0, seen(registration="denied"), []),
                    (10.0, Tick(), [SwitchSim(2, "registration_denied", "registration_denied")]),
                    (12.0, seen(slot=2, registration="searching"), []),
                    (40.0, Tick(), [E("sim_switch_failed", to_slot=2)])])
    assert st.active == 2 and st.switching is None and st.failed_switches == 1


def test_both_slots_denied_the_retries_slow_down():
    """A small world: both SIMs denied. Switches happen, but each gap is at least twice the one before (up to the
    cap) — never a ping-pong."""
    starts = simulate(lambda slot, t: "denied", until=6000)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert len(starts) >= 4
    assert all(g >= 100 for g in gaps)
    assert all(b >= min(2 * a, 800) * 0.9 for a, b in zip(gaps, gaps[1:])), gaps


def test_a_working_slot_resets_the_backoff():
    st = run_table(switched() + [(12.0 + t, seen(slot=2), []) for t in range(0, 101, 10)])
    assert st.failed_switches == 0 and st.proven


# ---- return to the preferred slot --------------------------------------------------------------------------------

def test_return_to_the_preferred_slot_after_return_after_s():
    run_table(switched() + [
        (500.0, seen(slot=2), []),
        (1011.9, Tick(), []),
        (1012.0, Tick(), [SwitchSim(1, "return_to_preferred", None)]),
        (1015.0, seen(slot=1), [E("sim_switch", from_slot=2, to_slot=1, reason="return_to_preferred", took_s=3.0)])])


def test_a_preferred_slot_that_does_not_register_in_the_trial_is_left_again_and_retried_later():
    st = run_table(switched() + [
        (1012.0, Tick(), [SwitchSim(1, "return_to_preferred", None)]),
        (1014.0, seen(slot=1, registration="denied"), []),
        (1032.0, Tick(), [E("sim_switch_failed", to_slot=1, reason="return_to_preferred"),
                          SwitchSim(2, "switch_back", None)]),
        (1034.0, seen(slot=2), [E("sim_switch", to_slot=2, reason="switch_back")])])
    assert st.next_return_at == 1034.0 + 1000


def test_no_return_to_a_preferred_slot_whose_cap_is_reached():
    run_table([(0.0, seen(capped=[1]), [SwitchSim(2, "data_cap", "data_cap")]),
               (2.0, seen(slot=2, capped=[1]), [E("sim_switch", to_slot=2)]),
               (1002.0, seen(slot=2, capped=[1]), []),
               (3000.0, seen(slot=2, capped=[1]), [])])


# ---- commands, refusals, holds -----------------------------------------------------------------------------------

def test_a_manual_switch_ignores_the_dwell_and_does_not_bounce():
    st = run_table(switched() + [
        (20.0, ManualSwitch(1), [SwitchSim(1, "command", None)]),
        (51.0, Tick(), [E("sim_switch_failed", to_slot=1, reason="command")])])   # denied: it stays there anyway
    assert st.switching is None


def test_a_refused_switch_is_reported_and_not_retried_before_the_dwell():
    st = run_table([(0.0, seen(registration="denied"), []),
                    (10.0, Tick(), [SwitchSim(2, "registration_denied", "registration_denied")]),
                    (10.5, SwitchRefused(2, "AT+QUIMSLOT=2: +CME ERROR: 3"),
                     [E("sim_switch_failed", to_slot=2, error="AT+QUIMSLOT=2: +CME ERROR: 3")]),
                    (11.0, seen(registration="denied"), []),
                    (100.0, Tick(), [])])
    assert st.active == 1 and st.known[2].rule == "switch_refused"


def test_held_while_the_ladder_works_then_acts():
    run_table([(0.0, Hold(True), []),
               (0.0, seen(registration="denied"), []),
               (50.0, Tick(), []),
               (51.0, Hold(False), [SwitchSim(2, "registration_denied", "registration_denied")])])


def test_a_single_slot_never_switches():
    single = Settings(**{**S.__dict__, "slots": (1,)})
    run_table([(0.0, seen(registration="denied"), []), (5000.0, Tick(), [])], settings=single)


def test_a_modem_found_on_another_slot_returns_after_a_dwell():
    run_table([(0.0, seen(slot=2), []),
               (99.0, Tick(), []),
               (100.0, Tick(), [SwitchSim(1, "return_to_preferred", None)])])


def test_view_is_plain_data():
    st = run_table(switched())
    v = view(st, 20.0)
    assert v["active_slot"] == 2 and v["known_bad"] == {"1": {"rule": "registration_denied", "for_s": 190.0}}
    assert v["dwell_left_s"] == 92.0 and v["return_in_s"] == 992.0


# ---- a small world of two SIMs -----------------------------------------------------------------------------------

def simulate(condition, until: float, step: float = 5.0, settings=S) -> list[float]:
    """Poll a model modem every `step` s. condition(slot, t) -> 'ok' | a registration | 'missing' | 'weak'.
    A switch takes one step. Returns the times switches started."""
    st, slot, pending, starts = initial(settings), 1, None, []
    t = 0.0
    while t <= until:
        if pending is not None:
            slot, pending = pending, None
        c = condition(slot, t)
        ev = {"ok": seen(slot), "missing": seen(slot, "NOT INSERTED", None), "weak": seen(slot, rsrp=-130.0)}.get(
            c, seen(slot, registration=c))
        st, actions = evaluate(st, ev, t)
        for a in actions:
            if isinstance(a, SwitchSim):
                pending = a.slot
                starts.append(t)
        t += step
    return starts


CONDITIONS = ["ok", "denied", "searching", "missing", "weak", "roaming"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(CONDITIONS), st.sampled_from(CONDITIONS)), min_size=1, max_size=12),
       st.sampled_from([5.0, 7.0, 13.0]))
def test_any_world_switches_never_faster_than_the_dwell(phases, step):
    """Whatever both SIMs do (phases of 500 s each), two switches are min_dwell_s apart, except a switch back right
    after a switch that failed to register."""
    def condition(slot, t):
        return phases[min(int(t // 500), len(phases) - 1)][slot - 1]

    st_, slot, pending, log = initial(S), 1, None, []
    t = 0.0
    while t <= 500 * len(phases) + 1000:
        if pending is not None:
            slot, pending = pending, None
        c = condition(slot, t)
        ev = {"ok": seen(slot), "missing": seen(slot, "NOT INSERTED", None), "weak": seen(slot, rsrp=-130.0)}.get(
            c, seen(slot, registration=c))
        st_, actions = evaluate(st_, ev, t)
        for a in actions:
            if isinstance(a, SwitchSim):
                pending = a.slot
                log.append((t, a.reason))
        t += step
    for (t1, _), (t2, reason) in zip(log, log[1:]):
        if reason != "switch_back":
            assert t2 - t1 >= S.min_dwell_s, log
