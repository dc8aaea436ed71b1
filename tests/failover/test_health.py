"""Sliding-window link health: send-time order, pruning, dead targets, loss, RTT and jitter."""
from __future__ import annotations

import pytest

from agent.linkmon.health import (DEAD_TARGET_MIN_SAMPLES, KEEP_MIN_SAMPLES, LinkHealth, Sample,
                                  failures_needed)


def build(*samples, now=None, keep_s=60.0):
    h = LinkHealth()
    for s in samples:
        h = h.add(s, now if now is not None else s.at, keep_s)
    return h


def test_samples_are_kept_in_send_order_whatever_the_arrival_order():
    h = build(Sample(1.0, "a", False), Sample(1.2, "b", True, 5.0), Sample(1.1, "c", False), now=2.0)
    assert [s.at for s in h.samples] == [1.0, 1.1, 1.2]
    assert h.failure_run().count == 0   # the answer was sent last


def test_failure_run_counts_failures_after_the_last_answer():
    h = build(Sample(1.0, "a", True, 5.0), Sample(1.1, "b", False), Sample(1.2, "c", False))
    run = h.failure_run()
    assert (run.count, run.first_at, run.last_ok_at) == (2, 1.1, 1.0)
    assert build(Sample(1.0, "a", False)).failure_run().last_ok_at is None


def test_old_samples_are_pruned_but_a_slow_link_keeps_a_few():
    fast = build(*[Sample(t * 0.1, "a", True, 1.0) for t in range(1000)], keep_s=10.0)
    assert fast.samples[0].at >= 99.9 - 10.0 - 1e-9
    slow = build(*[Sample(t * 45.0, "a", True, 1.0) for t in range(40)], keep_s=60.0)
    assert len(slow.samples) == KEEP_MIN_SAMPLES
    assert sum(c[1] for c in slow.counts) == KEEP_MIN_SAMPLES   # counts follow the pruning


def test_a_target_that_never_answers_while_others_do_is_dead():
    samples = []
    for i in range(3 * DEAD_TARGET_MIN_SAMPLES):
        target = "abc"[i % 3]
        samples.append(Sample(i * 0.1, target, target != "c", 1.0 if target != "c" else None))
    h = build(*samples)
    assert h.dead_targets() == {"c"}
    assert h.failure_run(h.dead_targets()).count == 0
    assert h.stats(0.0, h.dead_targets()).lost == 0
    assert h.typical_loss(0.0) == 0.0   # the median target: c's 100% does not count
    everyone_silent = build(*[Sample(i * 0.1, "abc"[i % 3], False) for i in range(60)])
    assert everyone_silent.dead_targets() == frozenset()   # that is a dead link, not three dead targets


def test_loss_estimate_is_smoothed_and_can_leave_out_the_run_in_question():
    assert LinkHealth().loss_estimate() == 0.5   # nothing known
    h = build(*[Sample(i * 0.1, "a", i % 4 != 0, 1.0) for i in range(100)])
    assert h.loss_estimate() == pytest.approx(26 / 102)
    h2 = build(*h.samples, *[Sample(10.0 + i * 0.1, "a", False) for i in range(5)])
    assert h2.loss_estimate(leave_out=5) == pytest.approx(h.loss_estimate())


def test_outage_failures_do_not_count_as_loss():
    working = [Sample(i * 0.1, "a", True, 1.0) for i in range(50)]
    outage = [Sample(5.0 + i * 0.1, "a", False) for i in range(30)]
    h = build(*working, *outage)
    assert h.loss_estimate() == pytest.approx(31 / 82)
    marked = h.mark_outage(5.0)
    assert marked.loss_estimate() == pytest.approx(1 / 52)   # as if the outage had not been
    assert marked.stats(0.0).lost == 30                      # but it is still in the statistics
    assert marked.failure_run().count == 30
    assert marked.mark_outage(5.0) is marked                 # idempotent
    later = marked.add(Sample(20.0, "a", False), 20.0, keep_s=60.0)
    assert later.loss_estimate() == pytest.approx(2 / 53)     # a failure after the outage counts again


def test_stats_rtt_median_and_jitter_per_target():
    h = build(Sample(0.0, "a", True, 10.0), Sample(0.1, "b", True, 50.0), Sample(0.2, "a", True, 14.0),
              Sample(0.3, "b", True, 44.0), Sample(0.4, "a", False))
    st = h.stats(0.0)
    assert (st.sent, st.lost, st.loss) == (5, 1, 0.2)
    assert st.rtt_ms == pytest.approx(29.0)   # median of 10, 14, 44, 50
    assert st.jitter_ms == pytest.approx((4.0 + 6.0) / 2)   # a: 10→14, b: 50→44; never across targets
    assert h.stats(0.35).sent == 1
    targets = h.target_stats(0.0)
    assert targets["a"].as_dict() == {"sent": 3, "lost": 1, "rtt_ms": 12.0, "alive": True}


@pytest.mark.parametrize("loss, expected", [(0.0, 8), (0.02, 8), (0.3, 18), (0.51, 31), (0.9, 40)])
def test_failures_needed_grows_with_loss(loss, expected):
    assert failures_needed(loss, 1e-9, 8, 40) == expected
    if 8 < expected < 40:
        assert loss ** expected <= 1e-9 < loss ** (expected - 1)
