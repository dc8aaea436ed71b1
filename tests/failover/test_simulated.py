"""The policy against simulated lines: real probe schedules, scripted faults, random loss, at simulated time.
Deterministic (seeded), so the numbers asserted here are exact consequences of the design, not timings."""
from __future__ import annotations

import pytest

from agent.config import FailoverConfig
from agent.failover.policy import Settings
from tests.failover.simulated_lab import Fault, SimLab, World

ROUND_TRIP_LOSS_30 = 1 - 0.7 * 0.7   # 30% loss each way: a probe and its answer must both get through


@pytest.mark.parametrize("cut", [30.0, 30.013, 30.033, 30.05, 30.061])
def test_blackhole_on_a_clean_line_is_detected_within_about_a_second(cut):
    lab = SimLab(world=World(faults=[Fault("primary", cut, 1e9)])).run(cut + 5)
    ((t, uplink),) = lab.route_changes()
    assert uplink == "backup" and 0.9 <= t - cut <= 1.3
    (failover,) = [d for _, d in lab.events("failover")]
    assert failover["reason"] == "no_answer" and cut <= failover["started_mono"] <= cut + 0.07


def test_repeated_outages_are_each_seen_as_fast_as_the_first():
    cfg = FailoverConfig(hold_down_s=1.0, flap_window_s=0.1)
    faults = [Fault("primary", 20.0 + 6.0 * k, 23.0 + 6.0 * k) for k in range(8)]
    lab = SimLab(Settings(cfg), World(faults=faults)).run(80)
    failovers = [t for t, u in lab.route_changes() if u == "backup"]
    assert len(failovers) == 8
    assert all(0.9 <= t - f.start <= 1.3 for t, f in zip(failovers, faults))


def test_carrier_loss_is_immediate_and_failback_waits_the_hold_down():
    lab = SimLab(world=World(faults=[Fault("primary", 30.0, 40.0, "carrier")])).run(70)
    assert [(round(t, 2), u) for t, u in lab.route_changes()][0] == (30.0, "backup")
    t_back, uplink = lab.route_changes()[1]
    assert uplink == "primary" and 40.0 + 10.0 <= t_back <= 40.0 + 10.5


def test_ten_minutes_of_30pct_loss_each_way_never_fail_over():
    lab = SimLab(world=World(loss={"primary": ROUND_TRIP_LOSS_30}), seed=11).run(600)
    assert lab.route_changes() == []
    assert [d["link"] for _, d in lab.events("link_degraded")] == ["primary"]
    assert lab.st.phase == "degraded"
    assert lab.probes_sent["primary"] == 600 * 15


def test_a_blackhole_on_that_lossy_line_is_still_caught_within_3_seconds():
    lab = SimLab(world=World(loss={"primary": ROUND_TRIP_LOSS_30}, faults=[Fault("primary", 300.0, 1e9)]),
                 seed=5).run(310)
    ((t, uplink),) = lab.route_changes()
    assert uplink == "backup" and t - 300.0 <= 3.0


def test_a_dead_target_for_ten_minutes_changes_nothing():
    lab = SimLab(world=World(faults=[Fault("primary", 0.0, 1e9, "target:192.0.2.2")])).run(600)
    assert lab.route_changes() == [] and lab.events("link_degraded") == []
    assert lab.st.primary.health.dead_targets() == {"192.0.2.2"}


def test_flapping_every_3_s_for_2_minutes_moves_traffic_once():
    faults = [Fault("primary", 60.0 + k * 6.0, 63.0 + k * 6.0, "carrier") for k in range(20)]
    lab = SimLab(world=World(faults=faults)).run(180)
    during = [c for c in lab.route_changes() if 60.0 <= c[0] < 180.0]
    assert during[0][1] == "backup" and len(during) == 1
    assert lab.st.hold_down_s(180.0) == FailoverConfig().hold_down_max_s


def test_flapping_with_a_short_hold_down_is_bounded_by_the_dampening():
    cfg = FailoverConfig(hold_down_s=1.0, hold_down_max_s=60.0)
    faults = [Fault("primary", 60.0 + k * 6.0, 63.0 + k * 6.0, "carrier") for k in range(20)]
    damped = SimLab(Settings(cfg), World(faults=faults)).run(180)
    undamped = SimLab(Settings(FailoverConfig(hold_down_s=1.0, hold_down_max_s=1.0)), World(faults=faults)).run(180)
    assert len(undamped.route_changes()) == 40   # every toggle moves traffic
    assert len(damped.route_changes()) <= 6      # 1 s, 2 s: two failbacks get through, then 4 s > 3 s up


def test_standby_cellular_costs_one_probe_per_trickle_interval():
    lab = SimLab().run(900)
    assert lab.probes_sent["backup"] == 900 // 45 + 1


def test_cold_standby_probes_cellular_only_while_it_carries_traffic():
    lab = SimLab(Settings(FailoverConfig(standby="cold")),
                 World(faults=[Fault("primary", 100.0, 200.0, "carrier")])).run(400)
    assert lab.standby_changes() == [(0.0, False), (100.0, True), (pytest.approx(210.3, abs=0.2), False)]
    assert 150 <= lab.probes_sent["backup"] <= 175   # 110 s on the backup, 3 targets every 2 s, nothing else
