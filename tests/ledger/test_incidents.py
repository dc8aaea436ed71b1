"""Every incident of every uplink (issue 11 §1): down, degraded, total outages, the time the agent was not running,
with their evidence; a real Core in virtual time fed with the events the failover controller emits."""
from __future__ import annotations

import pytest

from agent.core import Event
from agent.ledger.records import ALL_LINKS, DEGRADED, DOWN, NOT_OBSERVED, TOTAL
from tests.ledger.rig import HEARTBEAT_S, LedgerRig


def approx(x: float):
    """Wall-clock times are ~1.8e9: pytest.approx's default relative tolerance would accept half an hour."""
    return pytest.approx(x, rel=0, abs=1e-3)

TARGETS = ("1.1.1.1", "9.9.9.9")
MODEM = {"operator_name": "Orange F", "mcc": 208, "mnc": 1, "rat": "LTE", "cell_id": "01A2B3C", "lac_tac": "00C1",
         "sim_slot": 1}


def usage(total: int, iccid: str = "8933150000000000001", month: str = "2026-11") -> dict:
    return {"usage": {"iccid": iccid, "month": month, "total_bytes": total}}


def incidents(rig: LedgerRig, kind: str | None = None, link: str | None = None) -> list:
    return [i for i in rig.period().incidents if (kind is None or i.kind == kind) and (link is None or i.link == link)]


def test_a_primary_outage_keeps_its_evidence(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state.update(modem=dict(MODEM), cellular=usage(1_000))
    rig.probes("primary", TARGETS, ok=True, count=5)
    first_fail_wall = rig.wall()
    rig.probes("primary", TARGETS, ok=False, count=6)                  # 12 lost before it is declared down
    rig.emit("link_down", link="primary", reason="no_answer", started_at=first_fail_wall,
             detect_s=rig.wall() - first_fail_wall)
    rig.emit("failover", **{"from": "primary"}, to="backup", reason="no_answer", started_at=first_fail_wall)
    rig.probes("primary", TARGETS, ok=False, count=5)                  # 20 more lost while on the backup
    rig.emit("operator_changed", from_plmn="20801", to_plmn="20810", operator_name="SFR", mode="auto")
    rig.probes("primary", TARGETS, ok=False, count=5)
    rig.core.state["cellular"] = usage(51_000)                         # 50 kB through the backup meanwhile
    rig.probes("primary", TARGETS, ok=True, count=3)                   # back: 6 answered
    healthy_at = rig.wall()
    rig.emit("link_restored", link="primary", was="down", down_s=healthy_at - first_fail_wall)
    rig.advance(30)                                                    # the hold-down
    rig.emit("failback", **{"from": "backup"}, to="primary", reason="recovered",
             outage_s=healthy_at - first_fail_wall)

    (inc,) = incidents(rig)
    assert (inc.link, inc.kind, inc.cause, inc.carried_by, inc.planned) == ("primary", DOWN, "no_answer", "backup",
                                                                            False)
    assert inc.start == approx(first_fail_wall) and inc.end == approx(healthy_at)
    assert inc.duration_basis == "monotonic" and inc.duration_s == approx(healthy_at - first_fail_wall)
    ev = inc.evidence
    assert ev["first_failed_probe"] == approx(first_fail_wall) and ev["first_failed_probe_source"] == "ntp"
    assert ev["targets"] == list(TARGETS)
    assert ev["probes"] == {t: {"sent": 19, "lost": 16} for t in TARGETS}
    assert ev["operator"] == "Orange F" and ev["cell"]["cell_id"] == "01A2B3C" and ev["cell"]["mcc"] == 208
    assert ev["backup_bytes"] == 50_000
    (switch,) = ev["switches"]                                         # the backup's network changed meanwhile
    assert (switch["kind"], switch["operator"], switch["sim"], switch["at_source"]) == \
        ("operator_changed", "SFR", 1, "ntp")
    assert ev["restored_at"] == approx(healthy_at) and ev["restored_at_source"] == "ntp"
    (closed,) = rig.of("outage_closed")                                # the version 0 event, unchanged
    assert closed.data["duration_s"] == approx(healthy_at - first_fail_wall)
    assert closed.data["uplink"] == "backup" and closed.data["cause"] == "no_answer"


def test_probe_counts_do_not_depend_on_who_sees_a_result_first(tmp_path):
    """The result that makes the link down reaches the controller (which emits link_down) and the ledger in either
    order: counted once either way."""
    from agent.linkmon.inputs import ProbeResult
    counts = []
    for ledger_first in (True, False):
        rig = LedgerRig(tmp_path / str(ledger_first))
        start = rig.wall()
        rig.probes("primary", TARGETS, ok=False, count=3)
        trigger = ProbeResult("primary", TARGETS[0], False, rig.clock.now, None, "timeout")

        def down(item, now, rig=rig):
            rig.core.emit("link_down", link="primary", reason="no_answer", started_at=start)
        if ledger_first:
            rig.core.subscribe(ProbeResult, down)          # after the ledger's own handler
            rig.core.post(trigger)
        else:
            rig.core.emit("link_down", link="primary", reason="no_answer", started_at=start)
            rig.core.post(trigger)                          # reaches the ledger after the incident opened
        rig.core.drain()
        rig.ledger.beat()
        counts.append(incidents(rig)[0].evidence["probes"])
    assert counts[0] == counts[1] == {TARGETS[0]: {"sent": 4, "lost": 4}, TARGETS[1]: {"sent": 3, "lost": 3}}


def test_the_backup_down_while_the_primary_carries_the_traffic(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state.update(modem=dict(MODEM), cellular=usage(7_000))
    rig.advance(10)
    rig.emit("link_down", link="backup", reason="carrier_lost", started_at=rig.wall())
    rig.advance(45)
    rig.emit("link_restored", link="backup", was="down", down_s=45.0)
    (inc,) = incidents(rig)
    assert (inc.link, inc.kind, inc.cause, inc.carried_by) == ("backup", DOWN, "carrier_lost", "primary")
    assert inc.duration_s == 45.0 and inc.duration_basis == "monotonic"
    assert "first_sign" in inc.evidence and "first_failed_probe" not in inc.evidence   # a carrier loss, no probe
    assert inc.evidence["operator"] == "Orange F"                   # the network whose link failed
    assert not incidents(rig, TOTAL)


def test_a_degraded_link_keeps_the_loss_and_latency_measured(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state["failover"] = {"links": {"primary": {"loss": 0.25, "rtt_ms": 80.0}}}
    rig.emit("link_degraded", link="primary", reason="loss 25%")
    for _ in range(10):                                   # 1 in 4 lost, answers in 80 ms
        rig.probes("primary", TARGETS[:1], ok=True, count=3, rtt_ms=80.0)
        rig.probes("primary", TARGETS[:1], ok=False, count=1)
    rig.emit("link_restored", link="primary", was="degraded")
    (inc,) = incidents(rig)
    assert (inc.kind, inc.cause, inc.carried_by) == (DEGRADED, "loss", "primary")
    ev = inc.evidence
    assert ev["detected"] == "loss 25%" and ev["loss_pct_at_detection"] == 25.0
    assert ev["latency_ms_at_detection"] == 80.0
    assert ev["loss_pct"] == 25.0 and ev["latency_ms"] == 80.0 and ev["probes"][TARGETS[0]] == {"sent": 40, "lost": 10}
    assert inc.duration_s == approx(8.0) and inc.duration_basis == "monotonic"


def test_degraded_then_down_closes_the_degraded_one(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.emit("link_degraded", link="primary", reason="rtt 900 ms")
    rig.advance(20)
    rig.emit("link_down", link="primary", reason="no_answer", started_at=rig.wall() - 2)
    rig.advance(5)
    rig.emit("link_restored", link="primary", was="down", down_s=7.0)
    degraded, down = incidents(rig)
    assert (degraded.kind, degraded.cause, degraded.duration_s, degraded.evidence["ended_by"]) == \
        (DEGRADED, "rtt", approx(18.0), "down")                       # until the first sign of the outage
    assert degraded.end == down.start
    assert (down.kind, down.duration_s, down.end) == (DOWN, 7.0, approx(rig.wall()))


def test_a_total_outage_when_no_uplink_carries_the_traffic(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.emit("link_down", link="primary", reason="no_answer", started_at=rig.wall() - 1.0)
    rig.emit("failover", to="backup", reason="no_answer", started_at=rig.wall() - 1.0)
    rig.advance(60)
    both_down = rig.wall() - 2.0
    rig.emit("link_down", link="backup", reason="no_answer", started_at=both_down)
    rig.advance(120)
    rig.emit("link_restored", link="backup", was="down", down_s=122.0)
    back = rig.wall()
    rig.advance(100)
    rig.emit("link_restored", link="primary", was="down", down_s=283.0)
    rig.advance(30)
    rig.emit("failback", to="primary", reason="recovered", outage_s=283.0)
    (total,) = incidents(rig, TOTAL)
    assert (total.link, total.cause, total.carried_by) == (ALL_LINKS, "all_down", None)
    assert total.start == approx(both_down) and total.end == approx(back)
    assert total.duration_s == approx(122.0) and total.evidence["links"] == {"primary": "no_answer",
                                                                                   "backup": "no_answer"}
    backup = incidents(rig, DOWN, "backup")[0]
    assert backup.carried_by is None                   # the primary was down: nothing carried its traffic
    assert incidents(rig, DOWN, "primary")[0].duration_s == 283.0


def test_a_planned_switch_is_recorded_and_not_downtime(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.emit("failover", to="backup", reason="manual")
    rig.advance(60)
    rig.emit("link_down", link="primary", reason="carrier_lost")     # a real failure during the manual switch
    rig.advance(30)
    rig.emit("link_restored", link="primary", was="down", down_s=30.0)
    rig.emit("failback", to="primary", reason="manual")
    planned, real = incidents(rig)
    assert (planned.planned, planned.cause, planned.duration_s) == (True, "manual", 90.0)
    assert (real.planned, real.cause, real.duration_s, real.carried_by) == (False, "carrier_lost", 30.0, "backup")
    assert not rig.of("outage_closed")


def test_back_on_the_primary_while_it_is_still_down_goes_on(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.emit("link_down", link="primary", reason="no_answer", started_at=rig.wall())
    rig.emit("failover", to="backup", reason="no_answer", started_at=rig.wall())
    rig.advance(40)
    rig.emit("failback", to="primary", reason="manual", outage_s=None)   # force_primary: no outage_s
    rig.advance(20)
    rig.emit("link_restored", link="primary", was="down", down_s=60.0)
    first, second = incidents(rig, DOWN, "primary")
    assert (first.duration_s, first.carried_by) == (40.0, "backup")
    assert (second.start, second.duration_s, second.carried_by) == (first.end, 20.0, None)


def test_not_observed_after_a_kill_and_the_open_incident_closed_at_the_heartbeat(tmp_path):
    rig = LedgerRig(tmp_path)
    first_start = rig.wall()
    rig.core.state.update(modem=dict(MODEM), cellular=usage(0))
    rig.emit("link_down", link="primary", reason="no_answer", started_at=rig.wall())
    rig.emit("failover", to="backup", reason="no_answer", started_at=rig.wall())
    started = rig.wall()
    rig.probes("primary", TARGETS, ok=False, count=5)
    rig.advance(HEARTBEAT_S * 3 - 1)                  # three heartbeats
    last_beat = started + HEARTBEAT_S * 3
    rig.advance(40)                                   # ... then killed 39 s after the last one
    rig.kill()
    clock = rig.clock
    clock.now += 3600                                 # the router was off for an hour
    rig2 = LedgerRig(tmp_path, clock, source="unsynced")
    restarted = rig2.wall()
    down = incidents(rig2, DOWN)
    (inc,) = down
    assert (inc.end, inc.end_source, inc.duration_basis) == (approx(last_beat), "ntp", "wall")
    assert inc.duration_s == approx(last_beat - started)
    assert "closed at restart" in inc.evidence["closed"]
    assert inc.evidence["probes"][TARGETS[0]]["lost"] == 5          # saved with a heartbeat before the kill
    (gap,) = incidents(rig2, NOT_OBSERVED)
    assert (gap.link, gap.cause, gap.planned, gap.start_source, gap.end_source) == \
        (ALL_LINKS, "agent_not_running", False, "ntp", "unsynced")
    assert gap.start == approx(last_beat) and gap.end == approx(restarted)
    assert gap.duration_s == approx(restarted - last_beat) and "without a clean stop" in gap.evidence["stopped"]
    (event,) = rig2.of("not_observed")
    assert event.data["closed_at_restart"][0]["cause"] == "no_answer" and event.data["clean_stop"] is False
    # the primary still fails: the restarted controller sees it again, a new incident opens
    rig2.emit("link_down", link="primary", reason="no_answer", started_at=rig2.wall())
    assert [i.end is None for i in incidents(rig2, DOWN)] == [False, True]
    assert rig2.period().observed_since == first_start


def test_a_clean_stop_says_so_and_leaves_no_gap_beyond_it(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.advance(100)
    rig.ledger.stop()
    stopped = rig.wall()
    rig.kill()
    rig.clock.now += 5
    rig2 = LedgerRig(tmp_path, rig.clock)
    (gap,) = incidents(rig2, NOT_OBSERVED)
    assert gap.start == approx(stopped) and gap.duration_s == approx(5.0)
    assert gap.evidence["stopped"] == "cleanly"


def test_a_clock_behind_the_last_heartbeat_waits_for_the_right_time(tmp_path):
    """A router without RTC starts in the past: the restart's time is unknown until the clock is set; the gap is
    closed then, from the monotonic time since the start, and the heartbeat never moves back."""
    rig = LedgerRig(tmp_path)
    rig.advance(HEARTBEAT_S)
    last_beat = rig.wall()
    rig.kill()
    rig.clock.now += 600
    rig.clock.wall_step = -1e9                        # 1994
    rig2 = LedgerRig(tmp_path, rig.clock, source="unsynced")
    (gap,) = incidents(rig2, NOT_OBSERVED)
    assert gap.end is None and gap.start == last_beat
    rig2.advance(HEARTBEAT_S * 2)
    assert incidents(rig2, NOT_OBSERVED)[0].end is None
    rig2.clock.wall_step = 0.0                       # NTP sets the clock
    rig2.source = "ntp"
    rig2.advance(HEARTBEAT_S)
    (gap,) = incidents(rig2, NOT_OBSERVED)
    assert gap.end == approx(last_beat + 600) and gap.end_source == "ntp"


def test_switches_speed_and_drills_are_stored_as_they_come(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state["modem"] = dict(MODEM)
    rig.emit("sim_switch", from_slot=1, to_slot=2, reason="no_service", rule="no_service", took_s=12.5)
    rig.emit("operator_changed", from_plmn="20801", to_plmn="20810", operator_name="SFR", mode="auto", wanted=None)
    rig.emit("speed_measured", link="primary", ok=True, down_bps=94.2e6, up_bps=38.1e6, bytes=125_000_000,
             method="https", server="speed.example.net")
    rig.emit("speed_measured", link="backup", ok=False, error="timeout after 30 s", method="iperf3")
    rig.emit("speed_measured", link=None, ok="yes", down_bps=float("nan"), bytes=-5)      # garbage: tolerated
    # Core.emit(kind, **data) cannot take a "kind" in the data until the drills branch makes it positional-only:
    # the event as it will come, handed to the ledger's sink directly
    rig.ledger.on_event(Event("drill_result", rig.wall(), "ntp", {
        "kind": "full", "ok": True, "recovery_s": 1.8,
        "services": [{"name": "Téléphonie", "check": "sip:pbx:5060", "ok": True, "detail": "200 OK", "rtt_ms": 41}]}))
    rig.emit("drill_result", ok=False, reason="backup down")                             # today's policy event
    p = rig.period()
    assert [(s.kind, s.sim, s.operator, s.reason) for s in p.switches] == \
        [("sim_switch", 2, None, "no_service"), ("operator_changed", 1, "SFR", "auto")]
    ok, failed, junk = p.speeds
    assert (ok.link, ok.ok, ok.down_bps, ok.up_bps, ok.bytes, ok.server) == \
        ("primary", True, 94.2e6, 38.1e6, 125_000_000, "speed.example.net")
    assert (failed.ok, failed.error, failed.method, failed.down_bps) == (False, "timeout after 30 s", "iperf3", None)
    assert (junk.link, junk.ok, junk.down_bps, junk.bytes) == ("unknown", False, None, 0)
    full, today = p.drills
    assert (full.kind, full.ok, full.recovery_s, full.services[0]["name"]) == ("full", True, 1.8, "Téléphonie")
    assert (today.kind, today.ok, today.recovery_s, today.data["reason"]) == ("full", False, None, "backup down")


def test_hostile_event_data_never_breaks_the_ledger(tmp_path):
    rig = LedgerRig(tmp_path)
    for kind, data in [("link_down", {"link": None}), ("link_down", {"link": "primary", "started_at": "x"}),
                       ("link_down", {"link": "backup", "started_at": float("inf")}),
                       ("link_restored", {"link": "primary", "down_s": -3}), ("link_degraded", {"link": 7}),
                       ("failover", {"started_at": True}), ("failback", {"outage_s": "long"}),
                       ("sim_switch", {"to_slot": "two"}), ("operator_changed", {"operator_name": "x" * 10_000})]:
        rig.emit(kind, **data)
    p = rig.period()
    assert all(i.start <= rig.wall() for i in p.incidents) and len(p.switches[1].operator) == 100
    assert not [r for r in rig.events if r.kind.startswith("storage")]


def test_the_ledger_knows_the_failover_policys_uplinks():
    """The ledger names the uplinks without importing the failover package (a report reader need not load it)."""
    from agent.failover.policy import LINKS
    from agent.ledger.store import UPLINKS
    assert UPLINKS == tuple(str(link) for link in LINKS)


def test_a_planned_switch_and_a_real_failure_at_the_same_instant_stay_apart(tmp_path):
    rig = LedgerRig(tmp_path)
    t = rig.wall()
    rig.emit("failover", to="backup", reason="manual")
    rig.emit("link_down", link="primary", reason="carrier_lost", started_at=t)
    rig.advance(10)
    rig.emit("link_restored", link="primary", was="down", down_s=10.0)
    rig.advance(10)
    rig.emit("failback", to="primary", reason="manual")
    planned, real = sorted(incidents(rig), key=lambda i: not i.planned)
    assert (planned.start, planned.end, real.start, real.end) == (t, t + 20, t, t + 10)


def test_any_sequence_of_link_events_keeps_the_ledger_consistent(tmp_path):
    """Random link_down / link_restored / link_degraded / failover / failback / restarts, in any order (the
    controller never sends most of these orders; the ledger must not care): nothing raises, nothing is open twice,
    every closed incident ends after it starts with a duration >= 0, and at most one of each (link, kind) is open."""
    import random
    rng = random.Random(11)
    rig = LedgerRig(tmp_path)
    links = ("primary", "backup")
    for step in range(1500):
        rig.advance(rng.choice((0.0, 0.5, 3.0, 40.0, 70.0)))
        kind = rng.choice(("link_down", "link_restored", "link_degraded", "failover", "failback", "restart"))
        link = rng.choice(links)
        if kind == "link_down":
            rig.emit(kind, link=link, reason=rng.choice(("no_answer", "carrier_lost")),
                     started_at=rig.wall() - rng.choice((0.0, 1.5, 1e6, -5.0)))
        elif kind == "link_restored":
            rig.emit(kind, link=link, was=rng.choice(("down", "degraded")), down_s=rng.choice((None, 3.0, -1.0)))
        elif kind == "link_degraded":
            rig.emit(kind, link=link, reason="loss 30%")
        elif kind == "failover":
            rig.emit(kind, to="backup", reason=rng.choice(("no_answer", "manual", "drill", "degraded")))
        elif kind == "failback":
            rig.emit(kind, to="primary", reason="recovered", outage_s=rng.choice((None, 2.0, 500.0)))
        else:
            rig.kill()
            rig.clock.now += rng.choice((1.0, 600.0))
            rig = LedgerRig(tmp_path, rig.clock)
    period = rig.period()
    open_keys = [(i.link, i.kind, i.planned) for i in period.incidents if i.end is None]
    assert len(open_keys) == len(set(open_keys))
    for i in period.incidents:
        if i.end is not None:
            assert i.end >= i.start and i.duration_s >= 0, i
    assert {i.kind for i in period.incidents} >= {DOWN, DEGRADED, TOTAL, NOT_OBSERVED}
