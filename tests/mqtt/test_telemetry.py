import copy
import random

import pytest

from agent.mqtt.telemetry import (STATE_MAX_HOLD_S, Deadbands, StateGate, TelemetryGate, crossed, extract,
                                  fingerprint)


def state(rsrp=-95.0, rtt=12.0, loss=0.0, rx=0):
    """The shapes kept by agent/modem_service.py, agent/failover and agent/cellular/usage.py."""
    return {"modem": {"model": "RM500Q-GL", "signal": {"rsrp_dbm": rsrp, "sinr_db": 13, "cell_id": "1A2B"}},
            "failover": {"active_uplink": "primary", "since": 1_700_000_000.123,
                         "links": {"primary": {"status": "up", "rtt_ms": rtt, "loss": loss / 100,
                                               "probes_sent": 4711}}},
            "cellular": {"usage": {"rx_bytes": rx}}}


def gate(**kw):
    args = dict(heartbeat_s=900, min_interval_s=60, max_per_hour=6, smoothing_s=0)
    args.update(kw)
    return TelemetryGate(Deadbands(3.0, 20.0, 5.0), **args)


def test_extract_reads_known_paths_and_skips_missing_or_bad_values():
    assert extract(state()) == {"rsrp_dbm": -95.0, "sinr_db": 13.0, "primary_rtt_ms": 12.0,
                                "primary_loss_pct": 0.0, "rx_bytes": 0.0}
    assert extract({"modem": {"signal": {"rsrp_dbm": None, "sinr_db": True}}, "failover": "weird"}) == {}


def test_deadbands():
    b = Deadbands(3.0, 20.0, 5.0)
    assert not crossed("signal", -95, -97.5, b) and crossed("signal", -95, -98, b)
    assert not crossed("rtt", 100, 119, b) and crossed("rtt", 100, 121, b)
    assert not crossed("rtt", 2, 6, b)            # +200 % but within the 5 ms floor
    assert crossed("loss", 0, 5, b) and not crossed("loss", 0, 4.9, b)
    assert not crossed("counter", 0, 10**9, b)
    assert crossed("signal", None, -95, b) and crossed("signal", -95, None, b)


def test_first_then_quiet_then_change_then_heartbeat():
    g = gate()
    assert g.observe(extract(state()), 0)[0] == "first"
    assert g.observe(extract(state(rsrp=-96, rx=5000)), 10) is None        # within deadband; counters never trigger
    assert g.observe(extract(state(rsrp=-99)), 30) is None                 # crossed but min interval not over
    why, values = g.observe(extract(state(rsrp=-99, rx=7000)), 60)
    assert (why, values) == ("change", {"rsrp_dbm": -99})       # only what moved
    assert g.observe(extract(state(rsrp=-99)), 900) is None
    why, values = g.observe(extract(state(rsrp=-99, rx=9000)), 960)
    assert why == "heartbeat" and values == {"rsrp_dbm": -99, "sinr_db": 13, "primary_rtt_ms": 12,
                                             "primary_loss_pct": 0, "rx_bytes": 9000}


def test_each_metric_is_compared_with_its_own_last_sent_value():
    g = gate()
    g.observe(extract(state(rsrp=-95, rtt=12)), 0)
    assert g.observe(extract(state(rsrp=-98, rtt=13)), 60) == ("change", {"rsrp_dbm": -98})
    # rtt drifted 12 -> 13 -> 18: 18 is 6 ms (50 %) from the 12 last sent, though only 5 from 13
    assert g.observe(extract(state(rsrp=-98, rtt=18)), 120) == ("change", {"primary_rtt_ms": 18})
    s = state(rsrp=-98, rtt=18)
    del s["modem"]["signal"]["sinr_db"]
    assert g.observe(extract(s), 180) == ("change", {"sinr_db": None})     # gone


def test_the_token_bucket_caps_exception_messages():
    g = gate(max_per_hour=6)
    g.observe(extract(state()), 0)
    sent = 0
    for i in range(1, 8640):                   # a day of wild swings every 10 s
        out = g.observe(extract(state(rsrp=-80 if i % 2 else -110)), i * 10)
        sent += out is not None and out[0] == "change"
    assert 6 * 23 <= sent <= 6 * 24 + 6        # the rate, plus one initial burst of 6


def test_smoothing_ignores_reading_noise_but_follows_a_real_step():
    rng = random.Random(1)
    g = gate(smoothing_s=60, max_per_hour=1000)
    g.observe(extract(state()), 0)
    noisy = [g.observe(extract(state(rsrp=-95 + rng.gauss(0, 1.5))), t) for t in range(10, 3600, 10)]
    assert sum(o is not None and o[0] == "change" for o in noisy) <= 1
    raw = gate(smoothing_s=0, max_per_hour=1000)
    raw.observe(extract(state()), 0)
    rng = random.Random(1)
    noisy_raw = [raw.observe(extract(state(rsrp=-95 + rng.gauss(0, 1.5))), t) for t in range(10, 3600, 10)]
    assert sum(o is not None and o[0] == "change" for o in noisy_raw) > 5   # what smoothing saves
    step = [g.observe(extract(state(rsrp=-105)), t) for t in range(3600, 3900, 10)]
    assert any(o is not None and o[0] == "change" for o in step)


def test_extract_turns_the_loss_fraction_into_percent():
    assert extract(state(loss=12.5))["primary_loss_pct"] == 12.5


def test_state_fingerprint_ignores_numbers_and_volatile_subtrees():
    a, b = state(rsrp=-95, rtt=12), state(rsrp=-110, rtt=40, rx=10**6)
    b["failover"]["since"] += 0.004                         # recomputed every second by its owner
    b["failover"]["links"]["primary"]["probes_sent"] += 50
    b["modem"]["signal"]["cell_id"] = "1A2C"
    assert fingerprint(a) == fingerprint(b)
    b["failover"]["links"]["primary"]["rtt_ms"] = None     # no reply in the window: a measurement, missing
    assert fingerprint(a) == fingerprint(b)
    b["modem"]["model"] = None                             # words that disappear are a change
    assert fingerprint(a) != fingerprint(b)
    b["modem"]["model"] = "RM500Q-GL"
    b["failover"]["active_uplink"] = "backup"
    assert fingerprint(a) != fingerprint(b)


def test_the_sim_slot_is_a_significant_number():
    a = {"modem": {"sim_slot": 1, "registration": "home"}, "cellular": {"active_slot": 1, "usage": {"slot": 1}}}
    b = {"modem": {"sim_slot": 2, "registration": "home"}, "cellular": {"active_slot": 1, "usage": {"slot": 1}}}
    assert fingerprint(a["modem"]) != fingerprint(b["modem"])
    b = {"modem": {"sim_slot": 1, "registration": "home"}, "cellular": {"active_slot": 2, "usage": {"slot": 2}}}
    assert fingerprint(a["cellular"]) != fingerprint(b["cellular"])
    b["cellular"]["active_slot"] = 1                       # the usage subtree's own slot is telemetry's business
    assert fingerprint(a["cellular"]) == fingerprint(b["cellular"])


def test_state_gate_debounces_a_burst_per_part():
    g = StateGate(2.0)
    assert g.observe({"modem": "a", "failover": "f"}, 0.0) == []
    assert g.observe({"modem": "a", "failover": "f"}, 2.0) == ["failover", "modem"]
    assert g.observe({"modem": "a", "failover": "f"}, 3.0) == []          # unchanged: nothing to publish
    assert g.observe({"modem": "b", "failover": "f"}, 10.0) == []
    assert g.observe({"modem": "c", "failover": "f"}, 11.0) == []         # still moving
    assert g.observe({"modem": "c", "failover": "f"}, 13.0) == ["modem"]  # only the part that changed


def test_a_part_that_keeps_changing_goes_out_within_the_hold():
    g = StateGate(2.0)
    g.observe({"modem": "start"}, 0.0)
    g.observe({"modem": "start"}, 2.0)
    due_at = None
    for tenth in range(100, 200):                      # a new value every 0.5 s for ever
        t = tenth / 10
        if g.observe({"modem": f"x{tenth // 5}"}, t):
            due_at = t
            break
    assert due_at == 10.0 + STATE_MAX_HOLD_S


def test_a_part_that_leaves_the_state_is_handed_out_once_for_deletion():
    g = StateGate(1.0)
    g.observe({"sms": "s"}, 0.0)
    assert g.observe({"sms": "s"}, 1.0) == ["sms"]
    assert g.observe({}, 5.0) == []
    assert g.observe({}, 6.0) == ["sms"]
    assert g.observe({}, 20.0) == []


def test_a_flapping_part_is_capped_by_its_bucket_and_does_not_hold_back_the_others():
    g = StateGate(2.0, per_hour=4, burst=10)
    counts = {"failover": 0, "modem": 0}
    for t in range(0, 86400):                           # failover flaps every 10 s all day
        parts = {"failover": f"x{(t // 10) % 2}", "modem": "slot1" if t < 50_000 else "slot2"}
        for name in g.observe(parts, float(t)):
            counts[name] += 1
            if name == "modem" and t >= 50_000:
                assert t - 50_000 <= STATE_MAX_HOLD_S
    assert 4 * 24 <= counts["failover"] <= 4 * 24 + 10
    assert counts["modem"] == 2


# The list of significant changes, each in the shape its owner keeps (agent/modem_service.py,
# agent/failover/controller.py, agent/cellular/), and the minor ones that must stay telemetry's business.
PARTS = {
    "modem": {"connected": True, "sim_slot": 1, "sim_state": "READY", "registration": "home",
              "operator_name": "Orange F", "mcc": "208", "mnc": "01", "cell_id": "1A2B3C4",
              "signal": {"rsrp_dbm": -95, "sinr_db": 13, "band": "B3"}},
    "failover": {"state": "normal", "active_uplink": "primary", "since": 1.7e9, "hold_down_s": 10.0,
                 "links": {"backup": {"status": "up", "up": True, "rtt_ms": 45.0, "loss": 0.0, "probes_sent": 9,
                                      "probe_rate": "trickle", "reason": "", "targets": {"1.1.1.1": {"sent": 3}}}}},
    "cellular": {"active_slot": 1, "switching": None, "data": {"up": True, "slot": 1, "since": 1.7e9},
                 "usage": {"rx_bytes": 10, "slot": 1}, "dwell_left_s": None},
}


def changed(part: str, path: tuple, value) -> tuple[str, str]:
    new = copy.deepcopy(PARTS[part])
    node = new
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return fingerprint(PARTS[part]), fingerprint(new)


@pytest.mark.parametrize("part, path, value", [
    ("failover", ("active_uplink",), "backup"),
    ("failover", ("state",), "failed_over"),
    ("failover", ("links", "backup", "status"), "down"),
    ("modem", ("sim_slot",), 2),
    ("modem", ("registration",), "not_registered"),
    ("modem", ("operator_name",), "SFR"),
    ("modem", ("mnc",), "10"),
    ("modem", ("connected",), False),
    ("cellular", ("active_slot",), 2),
    ("cellular", ("data", "up"), False),
    ("cellular", ("switching",), {"from_slot": 1, "to_slot": 2, "reason": "registration_denied"}),
])
def test_a_significant_change_changes_its_parts_fingerprint(part, path, value):
    before, after = changed(part, path, value)
    assert before != after


@pytest.mark.parametrize("part, path, value", [
    ("modem", ("signal", "rsrp_dbm"), -97),                 # signal: telemetry, with its deadband
    ("modem", ("signal", "band"), "B7"),
    ("failover", ("since",), 1.7e9 + 0.004),
    ("failover", ("hold_down_s",), 9.5),
    ("failover", ("links", "backup", "rtt_ms"), None),      # no reply in the window of a trickle-probed link
    ("failover", ("links", "backup", "loss"), 0.02),
    ("failover", ("links", "backup", "probes_sent"), 10),
    ("failover", ("links", "backup", "targets"), {}),
    ("cellular", ("usage", "rx_bytes"), 10**6),             # counters
    ("cellular", ("data", "since"), 1.8e9),
    ("cellular", ("dwell_left_s",), 42.0),
])
def test_a_minor_change_leaves_its_parts_fingerprint_alone(part, path, value):
    before, after = changed(part, path, value)
    assert before == after


def three_uplinks(fiber_rtt=8.0, fiber2_rtt=14.0, lte_rtt=45.0, lte_loss=0.0):
    """failover.links as the engine publishes them for [[uplinks]] fiber, fiber2, lte (docs/failover.md)."""
    def link(interface, kind, priority, rtt, loss=0.0):
        return {"interface": interface, "kind": kind, "priority": priority, "status": "up", "rtt_ms": rtt,
                "loss": loss, "probes_sent": 99}
    return {"failover": {"active_uplink": "fiber", "links": {
        "fiber": link("eth0", "ethernet", 1, fiber_rtt), "fiber2": link("eth1", "ethernet", 2, fiber2_rtt),
        "lte": link("wwan0", "cellular", 3, lte_rtt, lte_loss / 100)}}}


def test_every_uplink_has_its_series_by_name():
    assert extract(three_uplinks(lte_loss=2.0)) == {
        "fiber_rtt_ms": 8.0, "fiber_loss_pct": 0.0, "fiber2_rtt_ms": 14.0, "fiber2_loss_pct": 0.0,
        "lte_rtt_ms": 45.0, "lte_loss_pct": 2.0}
    legacy = state()
    legacy["failover"]["links"]["backup"] = {"status": "up", "rtt_ms": 40.0, "loss": 0.01}
    assert {k for k in extract(legacy) if "_rtt_ms" in k or "_loss_pct" in k} == {
        "primary_rtt_ms", "primary_loss_pct", "backup_rtt_ms", "backup_loss_pct"}   # the names of old
    weird = {"failover": {"links": {"x": "down", 3: {"rtt_ms": 1.0}, "y": {"rtt_ms": float("inf"), "loss": True}}}}
    assert extract(weird) == {}


def test_a_named_uplinks_series_keeps_its_deadband():
    g = gate()
    g.observe(extract(three_uplinks()), 0)
    assert g.observe(extract(three_uplinks(fiber2_rtt=18.0)), 60) is None      # 4 ms: under the 5 ms floor
    assert g.observe(extract(three_uplinks(fiber2_rtt=20.0, lte_loss=4.0)), 120) == ("change", {"fiber2_rtt_ms": 20})
    assert g.observe(extract(three_uplinks(fiber2_rtt=20.0, lte_loss=6.0)), 180) == ("change", {"lte_loss_pct": 6})
