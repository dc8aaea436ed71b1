"""The failover policy as tables of (t, event) -> actions.

Settings are small so that the tables stay readable: 3 failures in a row and 0.5 s without an answer make
"down", 2 answers make it up again, the hold-down is 5 s. Probe events carry their send time; `now` is when the
result is known (a failure: at its timeout).
"""
from __future__ import annotations

import math

import pytest

from tests import tables
from agent.config import FailoverConfig
from agent.failover.policy import (CheckRoute, Emit, LinkLayer, Prefer, Probe, ProbeRate, RouteChecked, SetMode,
                                   Settings, Standby, StartDrill, Tick, decide, drill_refusal, initial)

CFG = FailoverConfig(min_failures=3, max_failures=12, down_window_s=0.5, false_down_probability=1e-3,
                     recover_successes=2, hold_down_s=5.0, hold_down_max_s=40.0, flap_window_s=60.0,
                     flap_decay_s=100.0, degraded_window_s=5.0, degraded_loss_pct=20.0, degraded_rtt_ms=200.0)
TARGETS = ("a", "b", "c")


def ok(t, target="a", link="primary", rtt=5.0):
    return Probe(link, target, True, t, rtt)


def lost(t, target="a", link="primary"):
    return Probe(link, target, False, t)


def E(kind, **data):
    return Emit(kind, data)


def same(got, want) -> bool:
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, abs_tol=1e-6)
    if isinstance(want, dict) and isinstance(got, dict):
        return got.keys() == want.keys() and all(same(got[k], want[k]) for k in want)
    return got == want


def run_table(rows, cfg=CFG, start=None):
    st, _ = initial(Settings(cfg), 0.0) if start is None else (start, [])
    return tables.run_table(decide, st, rows, same)


def healthy(until=3.0, step=0.1, link="primary", rtt=5.0):
    """Rows of answered probes, round-robin over the targets, every `step` s up to `until`."""
    rows, i = [], 0
    t = 0.0
    while t <= until + 1e-9:
        rows.append((round(t + rtt / 1000, 6), ok(round(t, 6), TARGETS[i % 3], link, rtt), []))
        t += step
        i += 1
    rows[0] = (rows[0][0], rows[0][1], [])
    return rows


def up_from_start():
    """Both links known up: the primary healthy for 3 s, the backup answered twice."""
    rows = [(0.0, LinkLayer("primary", True), []), (0.0, LinkLayer("backup", True), [])]
    rows += healthy(3.0)
    rows += [(1.05, ok(1.0, "a", "backup", 50.0), []), (2.05, ok(2.0, "b", "backup", 50.0), [])]
    rows.sort(key=lambda r: r[0])
    return run_table(rows)


# ---- start --------------------------------------------------------------------------------------------------

def test_start_hot_prefers_primary_keeps_cellular_up_and_trickles():
    _, actions = initial(Settings(CFG), 0.0)
    assert actions == [Standby("backup", True), Prefer("primary"), ProbeRate("primary", "fast"),
                       ProbeRate("backup", "trickle")]


def test_start_cold_switches_cellular_off_and_does_not_probe_it():
    _, actions = initial(Settings(FailoverConfig(standby="cold")), 0.0)
    assert actions == [Standby("backup", False), Prefer("primary"), ProbeRate("primary", "fast"),
                       ProbeRate("backup", "off")]


# ---- going down ---------------------------------------------------------------------------------------------

def test_blackhole_fails_over_after_three_failures_and_half_a_second():
    st = up_from_start()
    assert (st.phase, st.primary.status, st.backup.status) == ("primary", "up", "up")
    run_table([
        (3.6, lost(3.1, "b"), []),
        (3.7, lost(3.2, "c"), []),
        (3.8, lost(3.3, "a"), [                  # 3 failures, and the last answer (sent 3.0) is 0.8 s old
            E("link_down", link="primary", reason="no_answer", started_mono=3.1, detect_s=0.7),
            Prefer("backup"), ProbeRate("backup", "active"),
            E("failover", **{"from": "primary", "to": "backup", "reason": "no_answer", "started_mono": 3.1,
                             "detect_s": 0.7, "standby": "hot", "hold_down_s": 5.0})]),
        (3.9, lost(3.4, "b"), []),
        (4.0, Tick(), []),
    ], start=st)


def test_failures_must_also_span_the_down_window():
    st = up_from_start()
    # three failures known at 3.25 s, but the last answer was sent at 3.0: only 0.25 s without one
    st = run_table([
        (3.21, lost(3.01, "b"), []),
        (3.23, lost(3.02, "c"), []),
        (3.25, lost(3.03, "a"), []),
        (3.45, Tick(), []),
    ], start=st)
    assert st.active == "primary"
    run_table([(3.5, Tick(), [E("link_down", reason="no_answer"), Prefer("backup"), ProbeRate("backup", "active"),
                              E("failover", reason="no_answer")])], start=st)


def test_one_answer_breaks_the_run():
    st = up_from_start()
    st = run_table([
        (3.6, lost(3.1, "b"), []),
        (3.7, lost(3.2, "c"), []),
        (3.31, ok(3.3, "a"), []),
        (3.9, lost(3.4, "b"), []),
        (4.0, lost(3.5, "c"), []),
        (4.5, Tick(), []),
    ], start=st)
    assert st.active == "primary" and st.primary.status == "up"


def test_results_are_ordered_by_send_time_not_arrival():
    st = up_from_start()
    # the answer to a probe sent at 3.2 arrives before the failure of the one sent at 3.1 is known
    st = run_table([
        (3.205, ok(3.2, "c"), []),
        (3.6, lost(3.1, "b"), []),
        (3.8, lost(3.3, "a"), []),
        (3.9, lost(3.4, "b"), []),
    ], start=st)
    assert st.active == "primary"          # only 2 failures after the last answer (sent 3.2)
    run_table([(4.0, lost(3.5, "c"), [E("link_down", started_mono=3.3), Prefer("backup"),
                                     ProbeRate("backup", "active"), E("failover")])], start=st)


def test_carrier_loss_fails_over_at_once():
    st = up_from_start()
    run_table([
        (3.05, LinkLayer("primary", False, "carrier_lost"), [
            E("link_down", link="primary", reason="carrier_lost", started_mono=3.05, detect_s=0.0),
            Prefer("backup"), ProbeRate("backup", "active"),
            E("failover", reason="carrier_lost", detect_s=0.0)]),
    ], start=st)


def test_address_gone_is_down_with_that_reason():
    st = up_from_start()
    st = run_table([(3.05, LinkLayer("primary", False, "no_address"),
                     [E("link_down", reason="no_address"), Prefer("backup"), ProbeRate("backup", "active"),
                      E("failover", reason="no_address")])], start=st)
    assert st.outage_reason == "no_address"


def test_no_failover_to_a_backup_known_down():
    st = up_from_start()
    st = run_table([
        (3.0, LinkLayer("backup", False, "carrier_lost"), [E("link_down", link="backup", reason="carrier_lost")]),
        (3.1, LinkLayer("primary", False, "carrier_lost"), [E("link_down", link="primary")]),
    ], start=st)
    assert (st.phase, st.active) == ("outage", "primary")
    # the backup comes back (carrier, then answers): now it takes over, with the outage's start and reason
    run_table([
        (5.0, LinkLayer("backup", True), []),
        (5.05, ok(5.0, "a", "backup", 50), []),
        (5.15, ok(5.1, "b", "backup", 50), [
            E("link_restored", link="backup", was="down"), Prefer("backup"), ProbeRate("backup", "active"),
            E("failover", reason="carrier_lost", started_mono=3.1, detect_s=2.05)]),
    ], start=st)


def test_a_dead_target_is_not_a_dead_link():
    rows = [(0.0, LinkLayer("primary", True), [])]
    t = 0.0
    for i in range(60):   # target "c" never answers; "a" and "b" always do
        target = TARGETS[i % 3]
        rows.append((t + (0.5 if target == "c" else 0.005),
                     lost(t, "c") if target == "c" else ok(t, target), []))
        t += 0.1
    rows.sort(key=lambda r: r[0])
    st = run_table(rows)
    assert st.primary.health.dead_targets() == {"c"}
    assert (st.active, st.primary.status) == ("primary", "up")  # and not degraded by c's 33% "loss"
    st, actions = decide(st, Tick(), 7.0)
    assert st.primary.status == "up" and actions == []


# ---- lossy lines --------------------------------------------------------------------------------------------

def lossy_history(loss_every=2, until=20.0):
    """Half the probes lost (every second one), for `until` seconds, every 0.1 s."""
    rows, t, i = [(0.0, LinkLayer("primary", True))], 0.0, 0
    while i <= until * 10:   # ends with an answer
        target = TARGETS[i % 3]
        rows.append((t + 0.5, lost(t, target)) if i % loss_every else (t + 0.005, ok(t, target)))
        t = round(t + 0.1, 6)
        i += 1
    rows.sort(key=lambda r: r[0])
    st, _ = initial(Settings(CFG), 0.0)
    for now, event in rows:
        st, _ = decide(st, event, now)
    return st, t


def failures_until_failover(st, t):
    for k in range(100):
        st, actions = decide(st, lost(t + 0.1 * k, TARGETS[k % 3]), t + 0.1 * k + 0.5)
        if Prefer("backup") in actions:
            return k + 1, st
    raise AssertionError("never failed over")


def test_lossy_line_needs_a_longer_run_than_a_clean_one():
    st, t = lossy_history()
    assert st.primary.status == "degraded" and st.active == "primary"
    assert math.ceil(math.log(1e-3) / math.log(st.primary.health.loss_estimate())) == 10   # 0.5^10 < 1e-3
    n, st = failures_until_failover(st, t)
    assert 10 <= n <= CFG.max_failures
    n_clean, _ = failures_until_failover(up_from_start(), 3.1)
    assert n_clean == CFG.min_failures


def test_degraded_is_reported_not_failed_over_by_default():
    st, _ = lossy_history()
    assert st.active == "primary" and st.phase == "degraded"


def test_failover_when_degraded_if_configured_and_backup_up():
    cfg = FailoverConfig(**{**CFG.__dict__, "failover_when_degraded": True})
    st, _ = initial(Settings(cfg), 0.0)
    rows = [(0.0, LinkLayer("primary", True), []), (0.0, LinkLayer("backup", True), []),
            (0.05, ok(0.0, "a", "backup", 40), [])]
    for i in range(60):   # 40% loss on the primary
        t = round(0.1 * i, 6)
        rows.append((t + 0.5, lost(t, TARGETS[i % 3])) if i % 5 in (1, 3) else (t + 0.005, ok(t, TARGETS[i % 3])))
    rows.sort(key=lambda r: r[0])
    kinds = []
    for now, event, *_ in rows:
        st, actions = decide(st, event, now)
        kinds += [a.kind for a in actions if isinstance(a, Emit)]
    assert kinds == ["link_degraded", "failover"]
    assert st.outage_reason == "degraded" and st.active == "backup"


def test_high_latency_is_degraded_and_restored_with_hysteresis():
    st, _ = initial(Settings(CFG), 0.0)
    st, _ = decide(st, LinkLayer("primary", True), 0.0)
    kinds = []
    for i in range(200):
        t = round(0.1 * i, 6)
        rtt = 250.0 if 40 <= i < 100 else 170.0 if 100 <= i < 140 else 20.0   # 170: below 200, above 0.8 * 200
        st, actions = decide(st, ok(t, TARGETS[i % 3], rtt=rtt), t + rtt / 1000)
        kinds += [(round(t), a.kind, a.data.get("reason")) for a in actions if isinstance(a, Emit)]
    assert [k[1:] for k in kinds] == [("link_degraded", "rtt 250 ms"), ("link_restored", None)]
    assert kinds[1][0] >= 14   # 170 ms is not enough to restore: only once back at 20 ms


# ---- failback and flaps -------------------------------------------------------------------------------------

def failed_over():
    st = up_from_start()
    return run_table([(3.05, LinkLayer("primary", False, "carrier_lost"),
                       [E("link_down"), Prefer("backup"), ProbeRate("backup", "active"), E("failover")])], start=st)


def test_failback_only_after_the_hold_down():
    st = failed_over()
    st = run_table([
        (10.0, LinkLayer("primary", True), []),
        (10.01, ok(10.0, "a"), []),
        (10.11, ok(10.1, "b"), [E("link_restored", link="primary", was="down", down_s=7.06)]),
        (12.0, Tick(), []),
        (15.0, Tick(), []),
    ], start=st)
    assert st.phase == "recovering"
    run_table([
        (15.11, Tick(), [Prefer("primary"), ProbeRate("backup", "trickle"),
                         E("failback", **{"from": "backup", "to": "primary", "reason": "recovered",
                                          "started_mono": 3.05, "outage_s": 7.06, "on_backup_s": 12.06,
                                          "outage_reason": "carrier_lost", "held_s": 5.0})]),
    ], start=st)


def recover(st, t):
    st = run_table([(t, LinkLayer("primary", True), []), (t + 0.01, ok(t, "a"), []),
                    (t + 0.02, ok(t + 0.01, "b"), [E("link_restored")])], start=st)
    return st


def cut(st, t, expected):
    return run_table([(t, LinkLayer("primary", False, "carrier_lost"), expected)], start=st)


def test_flaps_double_the_hold_down_and_are_forgiven_slowly():
    st = failed_over()
    assert st.hold_down_s(3.05) == 5.0
    # the primary comes back and goes again during the hold-down: a flap
    st = recover(st, 5.0)
    st = cut(st, 7.0, [E("link_down")])
    assert st.penalty == 1 and st.hold_down_s(7.0) == 10.0
    st = recover(st, 8.0)
    st = cut(st, 9.0, [E("link_down")])
    assert st.hold_down_s(9.0) == 20.0
    # stable again: failback only after the doubled-twice hold-down
    st = recover(st, 10.0)
    st, actions = decide(st, Tick(), 29.9)
    assert actions == []
    st, actions = decide(st, Tick(), 30.03)
    assert Prefer("primary") in actions
    # lost again soon after failback: a flap, counted on failover
    st = cut(st, 35.0, [E("link_down"), Prefer("backup"), ProbeRate("backup", "active"),
                        E("failover", hold_down_s=40.0)])
    assert st.penalty == 3
    # forgiven one step per flap_decay_s (100 s), never below the configured hold-down
    assert st.hold_down_s(35.0 + 100) == 20.0
    assert st.hold_down_s(35.0 + 1000) == 5.0


def test_hold_down_is_capped():
    st = failed_over()
    for k in range(6):
        st = recover(st, 5.0 + 2 * k)
        st = cut(st, 6.0 + 2 * k, [E("link_down")])
    assert st.hold_down_s(20.0) == CFG.hold_down_max_s


def test_degraded_primary_is_not_failed_back_to():
    st = failed_over()
    st = recover(st, 5.0)
    for i in range(100):   # answers, but half lost
        t = 5.1 + 0.1 * i
        st, _ = decide(st, ok(t) if i % 2 else lost(t, "b"), t + 0.5)
    assert st.primary.status == "degraded" and st.active == "backup" and st.phase == "backup"


def test_backup_dying_while_primary_degraded_goes_back_to_primary():
    st = failed_over()
    st = recover(st, 5.0)
    for i in range(60):
        t = 5.1 + 0.1 * i
        st, _ = decide(st, ok(t) if i % 2 else lost(t, "b"), t + 0.5)
    assert st.primary.status == "degraded"
    st, actions = decide(st, LinkLayer("backup", False, "carrier_lost"), 12.0)
    assert Prefer("primary") in actions
    assert [a.data["reason"] for a in actions if isinstance(a, Emit) and a.kind == "failback"] == ["backup_down"]


# ---- cold standby -------------------------------------------------------------------------------------------

def test_cold_standby_brings_cellular_up_to_fail_over_and_down_after():
    cfg = FailoverConfig(**{**CFG.__dict__, "standby": "cold"})
    st, _ = initial(Settings(cfg), 0.0)
    st = run_table([(0.0, LinkLayer("primary", True), []),
                    (0.0, LinkLayer("backup", False, "admin_down"), [])]   # switched off: not "down"
                   + healthy(2.0), cfg, start=st)
    st = run_table([
        (2.5, LinkLayer("primary", False, "carrier_lost"), [
            E("link_down"), Standby("backup", True), Prefer("backup"), ProbeRate("backup", "active"),
            E("failover", standby="cold")]),
        (2.6, LinkLayer("backup", True), []),
        (2.75, ok(2.7, "a", "backup", 60), []),
        (10.0, LinkLayer("primary", True), []),
        (10.01, ok(10.0, "a"), []),
        (10.02, ok(10.01, "b"), [E("link_restored")]),
        (15.03, Tick(), [Prefer("primary"), ProbeRate("backup", "off"), Standby("backup", False), E("failback")]),
        (15.04, LinkLayer("backup", False, "admin_down"), []),
    ], cfg, start=st)
    late, _ = decide(st, ok(15.0, "a", "backup", 60), 15.1)   # a result from before the switch-off: ignored
    assert late == st


# ---- manual override ----------------------------------------------------------------------------------------

def test_force_backup_then_auto_fails_back_at_once_when_primary_healthy():
    st = up_from_start()
    st = run_table([
        (3.1, SetMode("force_backup"), [Prefer("backup"), ProbeRate("backup", "active"),
                                        E("failover", reason="manual", detect_s=None)]),
        (20.0, Tick(), []),
        (21.0, SetMode("auto"), [Prefer("primary"), ProbeRate("backup", "trickle"),
                                 E("failback", reason="recovered")]),
    ], start=st)
    assert (st.mode, st.active, st.phase) == ("auto", "primary", "primary")


def test_force_primary_stays_on_a_dead_primary():
    st = failed_over()
    st = run_table([
        (4.0, SetMode("force_primary"), [Prefer("primary"), ProbeRate("backup", "trickle"),
                                         E("failback", reason="manual")]),
        (5.0, Tick(), []),
    ], start=st)
    assert (st.active, st.phase) == ("primary", "outage")
    run_table([(6.0, SetMode("auto"), [Prefer("backup"), ProbeRate("backup", "active"),
                                       E("failover", reason="carrier_lost")])], start=st)


def test_unknown_mode_and_unknown_event_are_refused():
    st, _ = initial(Settings(CFG), 0.0)
    with pytest.raises(ValueError, match="unknown mode"):
        decide(st, SetMode("sideways"), 1.0)
    with pytest.raises(TypeError):
        decide(st, object(), 1.0)


# ---- drill --------------------------------------------------------------------------------------------------

def test_drill_switches_checks_traffic_and_returns():
    st = up_from_start()
    assert drill_refusal(st) is None
    st = run_table([
        (3.0, StartDrill(10.0), [Prefer("backup"), ProbeRate("backup", "active"), CheckRoute(),
                                 E("drill_started", duration_s=10.0)]),
        (3.1, RouteChecked("backup", True, 48.0), []),
        (3.06, ok(3.0, "a", "backup", 50.0), []),
        (5.06, ok(5.0, "b", "backup", 52.0), []),
        (7.5, lost(7.0, "c", "backup"), []),
        (12.0, Tick(), []),
    ], start=st)
    assert st.phase == "drill" and drill_refusal(st) == "a drill is already running"
    run_table([(13.0, Tick(), [
        E("drill_result", ok=True, reason="completed", duration_s=10.0,
          backup={"sent": 3, "lost": 1, "loss": 1 / 3, "rtt_ms": 51.0, "jitter_ms": None, "first_answer_s": 0.05},
          route={"uplink": "backup", "probe_ok": True, "rtt_ms": 48.0, "error": ""}),
        Prefer("primary"), ProbeRate("backup", "trickle")])], start=st)


def test_drill_fails_when_traffic_does_not_take_the_backup():
    st = up_from_start()
    st = run_table([(3.0, StartDrill(5.0), [Prefer("backup"), ProbeRate("backup", "active"), CheckRoute(),
                                            E("drill_started")]),
                    (3.1, RouteChecked("primary", True, 8.0), []),
                    (3.06, ok(3.0, "a", "backup"), [])], start=st)
    run_table([(8.0, Tick(), [E("drill_result", ok=False, reason="traffic still left through primary"),
                              Prefer("primary"), ProbeRate("backup", "trickle")])], start=st)


def test_drill_turns_into_a_failover_when_the_primary_dies_during_it():
    st = up_from_start()
    st = run_table([(3.0, StartDrill(60.0), [Prefer("backup"), ProbeRate("backup", "active"), CheckRoute(),
                                             E("drill_started")]),
                    (4.0, LinkLayer("primary", False, "carrier_lost"), [
                        E("link_down"), E("drill_result", ok=False, reason="primary lost during the drill"),
                        E("failover", reason="carrier_lost", detect_s=0.0)])], start=st)
    assert (st.active, st.phase, st.drill) == ("backup", "backup", None)


def test_cold_drill_checks_the_route_once_cellular_answers():
    cfg = FailoverConfig(**{**CFG.__dict__, "standby": "cold"})
    st, _ = initial(Settings(cfg), 0.0)
    st = run_table([(0.0, LinkLayer("primary", True), []), (0.0, LinkLayer("backup", False, "admin_down"), [])]
                   + healthy(2.0), cfg, start=st)
    assert drill_refusal(st) is None   # a switched-off backup is not known down
    st = run_table([
        (2.5, StartDrill(30.0), [Standby("backup", True), Prefer("backup"), ProbeRate("backup", "active"),
                                 E("drill_started")]),
        (3.0, LinkLayer("backup", True), []),
        (3.5, Tick(), []),
        (3.65, ok(3.6, "a", "backup", 50.0), [CheckRoute()]),   # cellular is up: now check where traffic goes
        (3.75, ok(3.7, "b", "backup", 50.0), []),
    ], cfg, start=st)
    assert st.drill.checking


def test_drill_refused_during_trouble_and_in_manual_mode():
    st = failed_over()
    assert "not healthy" in drill_refusal(st)
    with pytest.raises(ValueError):
        decide(st, StartDrill(10), 4.0)
    st = up_from_start()
    st, _ = decide(st, SetMode("force_primary"), 3.0)
    assert "mode is force_primary" in drill_refusal(st)


def test_manual_override_aborts_a_drill():
    st = up_from_start()
    st, _ = decide(st, StartDrill(60.0), 3.0)
    run_table([(4.0, SetMode("force_backup"), [
        E("drill_result", ok=False, reason="manual override"), Prefer("primary"), ProbeRate("backup", "trickle"),
        Prefer("backup"), ProbeRate("backup", "active"), E("failover", reason="manual")])], start=st)
