"""The power decider on virtual time: tables of (t, ups.status) -> the events it says, and when they happened."""
from __future__ import annotations

import pytest

from agent.power.decide import Mains, PowerState, decide
from agent.power.nut import Reading

CONFIRM_S = 10.0
POLL_S = 5.0


def run(readings: list[tuple[float, str]], confirm_s: float = CONFIRM_S, low_charge_pct: float = 0,
        charge: float | None = 90.0) -> tuple[PowerState, list[tuple[float, str, float, dict]]]:
    """Feed (t, status) readings; returns the final state and (t seen, kind, at, data) of every event."""
    state, out = PowerState(), []
    for t, status in readings:
        state, events = decide(state, Reading(tuple(status.split()), charge, 600.0), t, confirm_s, low_charge_pct)
        out += [(t, e.kind, e.at, e.data) for e in events]
    return state, out


def every(status: str, start: float, end: float, step: float = POLL_S) -> list[tuple[float, str]]:
    n = int((end - start) / step)
    return [(start + k * step, status) for k in range(n)]


def test_a_two_minute_cut_is_one_power_lost_and_one_power_restored_dated_from_the_first_reading():
    readings = every("OL", 0, 60) + every("OB", 60, 180) + every("OL CHRG", 180, 240)
    state, events = run(readings)
    assert [(kind, at) for _, kind, at, _ in events] == [("power_lost", 60), ("power_restored", 180)]
    seen = [t for t, *_ in events]
    assert seen == [60 + CONFIRM_S, 180 + CONFIRM_S]     # said once it lasted confirm_s, not before
    assert events[1][3]["duration_s"] == 120
    assert events[0][3]["at_start"] is False and events[0][3]["charge_pct"] == 90.0
    assert state.mains == Mains.ON_LINE


def test_a_status_flapping_faster_than_confirm_s_says_nothing():
    flaps = [(t, "OB" if (t // POLL_S) % 2 else "OL") for t in range(0, 300, int(POLL_S))]
    _, events = run([(0, "OL")] + flaps)
    assert events == []


def test_one_on_line_reading_in_the_middle_of_a_cut_does_not_split_it():
    readings = [(0, "OL")] + every("OB", 5, 60) + [(60, "OL")] + every("OB", 65, 120) + every("OL", 120, 150)
    _, events = run(readings)
    assert [(kind, at) for _, kind, at, _ in events] == [("power_lost", 5), ("power_restored", 120)]
    assert events[1][3]["duration_s"] == 115


def test_low_battery_does_not_wait_and_is_said_once_per_cut():
    readings = (every("OL", 0, 10) + [(10, "OB"), (15, "OB LB"), (20, "OB LB"), (25, "OB LB")]
                + every("OL", 30, 60) + every("OB", 60, 80) + [(80, "OB LB")])
    _, events = run(readings)
    assert [(t, kind) for t, kind, _, _ in events] == [
        (15, "power_lost"), (15, "battery_low"), (40, "power_restored"), (70, "power_lost"), (80, "battery_low")]
    assert events[0][2] == 10      # the cut began at the first on-battery reading


def test_low_battery_straight_from_on_line_is_a_cut_and_a_low_battery_at_once():
    _, events = run([(0, "OL"), (5, "OB LB")])
    assert [(t, kind, at) for t, kind, at, _ in events] == [(5, "power_lost", 5), (5, "battery_low", 5)]


def test_the_charge_threshold_is_a_low_battery_too_when_set():
    _, events = run([(0, "OL"), (5, "OB"), (15, "OB")], low_charge_pct=95, charge=90.0)
    assert [kind for _, kind, _, _ in events] == ["power_lost", "battery_low"]
    _, events = run([(0, "OL"), (5, "OB"), (15, "OB")], low_charge_pct=0, charge=1.0)
    assert [kind for _, kind, _, _ in events] == ["power_lost"]


def test_on_line_at_the_start_is_no_news_and_on_battery_at_the_start_is_a_cut_of_unknown_beginning():
    _, events = run(every("OL", 0, 60))
    assert events == []
    state, events = run(every("OB", 0, 30))
    assert [(kind, at) for _, kind, at, _ in events] == [("power_lost", 0)]
    assert events[0][3]["at_start"] is True and state.mains == Mains.ON_BATTERY


@pytest.mark.parametrize("status", ["OFF", "BYPASS", "CAL", "LB"])
def test_a_status_that_says_neither_on_line_nor_on_battery_changes_nothing(status):
    readings = every("OL", 0, 20) + every(status, 20, 100) + every("OL", 100, 120)
    state, events = run(readings)
    assert events == [] and state.mains == Mains.ON_LINE
    readings = every("OB", 0, 30) + every(status, 30, 100)
    state, events = run(readings)
    assert [kind for _, kind, _, _ in events] == ["power_lost"] and state.mains == Mains.ON_BATTERY
