"""The probe schedule: cadence per rate, round-robin, speeding up at once, no burst after a stall."""
from __future__ import annotations

import pytest

from agent.linkmon.schedule import Intervals, ProbeSchedule

IV = Intervals(fast=0.3, active=3.0, trickle=45.0)


def fire(schedule, until, step=0.01, t=0.0):
    shots = []
    while t <= until + 1e-9:
        target = schedule.take(t)
        if target is not None:
            shots.append((round(t, 3), target))
        t = round(t + step, 6)
    return shots


def test_fast_probes_every_target_every_interval_spread_evenly():
    s = ProbeSchedule(["a", "b", "c"], IV, "fast", now=0.0)
    assert fire(s, 0.6) == [(0.0, "a"), (0.1, "b"), (0.2, "c"), (0.3, "a"), (0.4, "b"), (0.5, "c"), (0.6, "a")]


def test_trickle_is_one_probe_per_interval_for_the_whole_link():
    s = ProbeSchedule(["a", "b", "c"], IV, "trickle", now=0.0)
    assert fire(s, 100.0, step=0.5) == [(0.0, "a"), (45.0, "b"), (90.0, "c")]


def test_speeding_up_starts_now_slowing_down_waits_a_new_gap():
    s = ProbeSchedule(["a", "b"], IV, "trickle", now=0.0)
    assert s.take(0.0) == "a" and s.next_at() == 45.0
    s.set_rate("active", 10.0)
    assert s.next_at() == 10.0
    s.take(10.0)
    s.set_rate("trickle", 10.5)
    assert s.next_at() == pytest.approx(55.5)
    s.set_rate("off", 11.0)
    assert s.next_at() is None and s.take(100.0) is None


def test_no_burst_after_a_stall():
    s = ProbeSchedule(["a"], IV, "fast", now=0.0)
    s.take(0.0)
    assert s.take(10.0) == "a" and s.take(10.0) is None and s.next_at() == pytest.approx(10.3)


def test_unknown_rate_and_no_targets_are_refused():
    with pytest.raises(ValueError, match="unknown probe rate"):
        ProbeSchedule(["a"], IV, "warp")
    with pytest.raises(ValueError):
        ProbeSchedule([], IV)
