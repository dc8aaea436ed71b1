"""Operator selection as tables: which PLMN to ask for, when to scan, what a scan's answer picks."""
from __future__ import annotations

from agent.cellular.operators import (SETTLE_S, OperatorSeen, OperatorState, Scan, Select, choose, commanded, plan)

RETRY = 900.0


def step(st, plmn, now, preferred=(), forbidden=(), name=None):
    return plan(st, OperatorSeen(plmn, name, tuple(preferred), tuple(forbidden)), now, RETRY)


def test_no_lists_means_automatic_and_nothing_to_do():
    st, action, events = step(OperatorState(), "20801", 0.0)
    assert action is None and st.plmn == "20801" and st.mode == "auto"


def test_a_change_of_network_is_an_event_with_both_ends():
    st, _, _ = step(OperatorState(), "20801", 0.0, name="Orange F")
    st, _, events = step(st, "20810", 5.0, name="SFR")
    assert events == [("operator_changed", {"from_plmn": "20801", "to_plmn": "20810", "operator_name": "SFR",
                                            "mode": "auto", "wanted": None})]
    st, _, events = step(st, None, 6.0)                        # deregistered: no event, the last one is kept
    assert events == [] and st.plmn == "20810"


def test_preferred_plmns_are_asked_for_in_order_settle_apart_then_again_after_retry_s():
    pref = ("20810", "20820")
    st, action, _ = step(OperatorState(), "20801", 0.0, pref)
    assert action == Select("20810", "preferred") and st.mode == "manual"
    st, action, _ = step(st, "20801", SETTLE_S - 1, pref)       # still on 20801: wait for the modem
    assert action is None
    st, action, _ = step(st, "20801", SETTLE_S, pref)           # 20810 not there: the next one
    assert action == Select("20820", "preferred")
    st, action, _ = step(st, "20801", 2 * SETTLE_S, pref)       # all tried: until retry_s
    assert action is None
    st, action, _ = step(st, "20801", RETRY, pref)
    assert action == Select("20810", "preferred")


def test_on_the_first_preferred_plmn_nothing_more_to_do():
    st, action, _ = step(OperatorState(), "20810", 0.0, ("20810", "20801"))
    assert action is None


def test_on_the_second_preferred_only_the_first_is_better():
    st, action, _ = step(OperatorState(), "20801", 0.0, ("20810", "20801"))
    assert action == Select("20810", "preferred")
    st, action, _ = step(st, "20801", SETTLE_S, ("20810", "20801"))
    assert action is None


def test_a_forbidden_plmn_is_left_for_a_preferred_one_else_through_a_scan():
    st, action, _ = step(OperatorState(), "20820", 0.0, ("20801",), ("20820",))
    assert action == Select("20801", "forbidden")
    st, action, _ = step(st, "20820", SETTLE_S, ("20801",), ("20820",))
    assert action == Scan("forbidden")
    st, action, _ = step(st, "20820", 2 * SETTLE_S, ("20801",), ("20820",))
    assert action is None                                       # one scan per retry_s


def test_a_forbidden_preferred_plmn_is_never_asked_for():
    st, action, _ = step(OperatorState(), "20801", 0.0, ("20820", "20810"), ("20820",))
    assert action == Select("20810", "preferred")


def test_a_commanded_operator_is_left_alone_until_auto():
    st = commanded(OperatorState(plmn="20801"), "20820")
    st, action, _ = step(st, "20801", 0.0, ("20810",))
    assert action is None and st.pinned and st.mode == "manual"
    st = commanded(st, None)
    st, action, _ = step(st, "20801", 1.0, ("20810",))
    assert action == Select("20810", "preferred")


SCAN = [{"availability": "current", "operator_name": "Orange F", "mcc": "208", "mnc": "01", "rat": "LTE"},
        {"availability": "available", "operator_name": "SFR", "mcc": "208", "mnc": "10", "rat": "LTE"},
        {"availability": "available", "operator_name": "SFR", "mcc": "208", "mnc": "10", "rat": "NR5G-SA"},
        {"availability": "forbidden", "operator_name": "Bouygues Telecom", "mcc": "208", "mnc": "20", "rat": "LTE"},
        {"availability": "available", "operator_name": "?", "mcc": None, "mnc": None}]


def test_choose_from_a_scan():
    assert choose(SCAN, (), ()) == "20801"
    assert choose(SCAN, ("20810",), ()) == "20810"
    assert choose(SCAN, (), ("20801",)) == "20810"
    assert choose(SCAN, ("20820",), ("20801", "20810")) is None      # 20820 is forbidden by the SIM itself
    assert choose([], (), ()) is None
