"""compute(): the report's figures, on ledger periods built by hand (every record kind)."""
import pytest

from agent.ledger.records import DEGRADED, NOT_OBSERVED, TOTAL, Drill, Period, Speed, Switch
from agent.report.compute import Contract, ReportSettings, compute
from tests.report.periods import PARIS, at, down

NOV = (at(2026, 11, 1), at(2026, 12, 1))          # 30 days, no DST change
SHOP = "Mon-Sat 08:00-19:00"


def settings(**kw) -> ReportSettings:
    return ReportSettings(**{"zone": PARIS, "display_zone": PARIS, "hours": SHOP, **kw})


def report(*incidents, period=NOV, observed_since=None, drills=(), speeds=(), switches=(), **kw):
    since, until = period
    p = Period(since, until, tuple(incidents), tuple(drills), tuple(speeds), tuple(switches),
               observed_since=since if observed_since is None else observed_since)
    return compute(p, settings(**kw))


def test_availability_counts_downtime_and_leaves_out_planned_and_degraded():
    r = report(down(at(2026, 11, 3, 10), 60, id=1),
               down(at(2026, 11, 4, 10), 30, planned=True, cause="drill", id=2),
               down(at(2026, 11, 5, 10), 20, kind=DEGRADED, cause="loss", id=3,
                    evidence={"loss_pct": 31.0, "latency_ms": 420.0}))
    u = r["uplinks"]["primary"]
    assert u["count"] == 1 and u["downtime_s"] == 3600 and u["longest_s"] == 3600 and u["mttr_s"] == 3600
    assert u["availability_pct"] == pytest.approx(100 * (1 - 3600 / (30 * 86400)), abs=1e-6)
    assert (u["degraded_count"], u["degraded_s"], u["planned_count"], u["planned_s"]) == (1, 1200, 1, 1800)
    assert r["uplinks"]["backup"]["availability_pct"] == 100.0
    assert [i["counted"] for i in r["incidents"]] == [True, False, False]
    assert r["incidents"][2]["evidence"]["loss_pct"] == 31.0
    assert r["totals"]["count"] == 1 and r["totals"]["downtime_s"] == 3600
    # Tuesday 10:00-11:00 is all in business hours: 1 h of the month's 25 x 11 h (5 Sundays)
    assert u["availability_business_pct"] == pytest.approx(100 * (1 - 1 / (25 * 11)), abs=1e-6)


def test_time_not_observed_is_neither_up_nor_down():
    """The agent was off for 2 h (NOT_OBSERVED) and started on the 2nd: neither counts for or against the link."""
    r = report(down(at(2026, 11, 10, 2), 120, link="all", kind=NOT_OBSERVED, cause="power_or_crash"),
               down(at(2026, 11, 11, 10), 60),
               observed_since=at(2026, 11, 2))
    observed = 29 * 86400 - 2 * 3600
    assert r["period"]["observed_s"] == observed
    assert r["period"]["not_observed_s"] == 86400 + 2 * 3600
    assert r["uplinks"]["primary"]["availability_pct"] == pytest.approx(100 * (1 - 3600 / observed), abs=1e-6)
    assert r["uplinks"]["backup"]["availability_pct"] == 100.0
    assert r["totals"]["not_observed"] == 1 and r["totals"]["count"] == 1
    no = [i for i in r["incidents"] if i["kind"] == NOT_OBSERVED][0]
    assert not no["counted"] and no["exceeds_repair_time"] is None


def test_an_outage_during_time_not_observed_is_only_counted_while_observed():
    r = report(down(at(2026, 11, 10, 1), 180),
               down(at(2026, 11, 10, 2), 60, link="all", kind=NOT_OBSERVED, cause="power_or_crash"))
    assert r["uplinks"]["primary"]["downtime_s"] == 2 * 3600


def test_business_hours_over_a_weekend_and_the_dst_night():
    """Down from Saturday 24 October 18:00 to Monday 09:00: 40 real hours (the night gains one), 2 of them in
    business hours (Saturday 18-19, Monday 08-09)."""
    start, end = at(2026, 10, 24, 18), at(2026, 10, 26, 9)
    assert end - start == 40 * 3600
    r = report(down(start, (end - start) / 60, basis="wall"), period=(at(2026, 10, 1), at(2026, 11, 1)))
    u = r["uplinks"]["primary"]
    assert u["downtime_s"] == 40 * 3600 and u["downtime_business_s"] == 2 * 3600
    assert r["incidents"][0]["business_hours_s"] == 2 * 3600
    business = 27 * 11 * 3600       # October 2026: 27 days Monday to Saturday
    assert r["period"]["business_hours_s"] == business
    assert u["availability_business_pct"] == pytest.approx(100 * (1 - 2 * 3600 / business), abs=1e-6)


def test_repair_time_is_flagged_against_the_contract():
    c = Contract("primary", "Orange Pro", "FTTO-1", repair_hours=4)
    r = report(down(at(2026, 11, 3, 10), 180, id=1), down(at(2026, 11, 4, 10), 300, id=2),
               down(at(2026, 11, 5, 10), 300, planned=True, id=3), down(at(2026, 11, 6, 10), 300, link="backup", id=4),
               down(at(2026, 11, 20, 10), 0, ongoing=True, id=5),
               contracts=(c,), now=at(2026, 11, 20, 15))
    flags = {i["id"]: i["exceeds_repair_time"] for i in r["incidents"]}
    assert flags == {1: False, 2: True, 3: None, 4: None, 5: True}
    assert r["incidents"][4]["duration_s"] == 5 * 3600 and r["incidents"][4]["ongoing"]
    assert r["totals"]["exceeds_repair_time"] == 2


def test_repair_time_in_business_hours():
    """Friday 18:00 to Saturday 10:00 is 16 hours, 3 of them business hours: within "4 h ouvrées"."""
    outage = down(at(2026, 11, 6, 18), 16 * 60, id=1)
    within = report(outage, contracts=(Contract("primary", repair_hours=4, repair_in_business_hours=True),))
    assert within["incidents"][0]["repair_s"] == 3 * 3600 and within["incidents"][0]["exceeds_repair_time"] is False
    clock = report(outage, contracts=(Contract("primary", repair_hours=4),))
    assert clock["incidents"][0]["exceeds_repair_time"] is True


def test_months_under_the_promised_availability_are_flagged():
    c = Contract("primary", availability_pct=99.9)
    r = report(down(at(2026, 10, 5, 10), 60), down(at(2026, 11, 5, 10), 10),
               period=(at(2026, 10, 1), at(2026, 12, 1)), contracts=(c,))
    (con,) = r["contracts"]
    oct_, nov = con["months"]
    assert oct_["month"] == "2026-10" and oct_["under_promise"] and not oct_["partial"]
    assert oct_["availability_pct"] == pytest.approx(100 * (1 - 3600 / (31 * 86400 + 3600)), abs=1e-6)
    assert nov["month"] == "2026-11" and not nov["under_promise"]
    assert con["months_under_promise"] == ["2026-10"]


def test_a_period_cutting_a_month_marks_it_partial():
    r = report(period=(at(2026, 11, 10), at(2026, 11, 20)), contracts=(Contract("primary", availability_pct=99),))
    assert r["contracts"][0]["months"][0]["partial"] is True


def test_cost_is_downtime_in_business_hours_times_the_rate():
    r = report(down(at(2026, 11, 3, 18, 30), 60, link="all", kind=TOTAL, cause="all_down"),     # 30 min in hours
               down(at(2026, 11, 3, 10), 120),                                                  # 2 h in hours
               down(at(2026, 11, 4, 2), 120),                                                   # night: free
               cost_per_hour=60.0, currency="EUR")
    cost = r["cost"]
    assert cost["offline_s"] == 1800 and cost["offline_cost"] == 30.0
    assert cost["primary_down_s"] == 7200 and cost["primary_down_cost"] == 120.0
    assert r["totals"]["total_outages"] == 1 and r["totals"]["offline_s"] == 3600
    assert r["totals"]["offline_business_s"] == 1800
    assert report(cost_per_hour=0.0)["cost"] is None


def test_availability_per_cellular_operator_from_the_switches():
    mid = at(2026, 11, 16)
    r = report(down(at(2026, 11, 5, 10), 60, link="backup"),                 # the backup down under Orange
               down(at(2026, 11, 20, 10), 120),                              # SFR carries the primary's outage
               switches=[Switch(1, NOV[0], "ntp", "operator_changed", 1, "Orange F"),
                         Switch(2, mid, "ntp", "sim_switch", 2, "SFR", "registration_denied")])
    ops = {o["operator"]: o for o in r["operators"]}
    assert set(ops) == {"Orange F", "SFR"}
    assert ops["Orange F"]["downtime_s"] == 3600 and ops["SFR"]["downtime_s"] == 0
    assert ops["Orange F"]["observed_s"] == mid - NOV[0] and ops["SFR"]["carried_s"] == 7200
    assert ops["Orange F"]["availability_pct"] == pytest.approx(100 * (1 - 3600 / (mid - NOV[0])), abs=1e-6)


def test_a_clock_step_during_an_outage_does_not_lengthen_it():
    """Started on an unsynced clock an hour behind, ended on NTP: the monotonic 2 minutes are laid back from the
    trustworthy end, and the entry is marked as weaker evidence."""
    end = at(2026, 11, 3, 10, 2)
    i = down(end - 3720, 62, source="unsynced", duration_s=120.0)
    i = type(i)(**{**i.__dict__, "end": end})
    r = report(i)
    assert r["uplinks"]["primary"]["downtime_s"] == 120
    assert r["incidents"][0]["duration_s"] == 120 and r["incidents"][0]["weak_evidence"]
    assert r["totals"]["weak_evidence"] == 1 and r["totals"]["unsynced_timestamps"]


def test_speed_against_the_guaranteed_speed():
    c = Contract("primary", down_mbps=100, up_mbps=20)
    r = report(speeds=[Speed(1, at(2026, 11, 2, 3), "ntp", "primary", True, 94e6, 21e6, 1000),
                       Speed(2, at(2026, 11, 3, 3), "ntp", "primary", True, 52e6, 19e6, 1000),
                       Speed(3, at(2026, 11, 4, 3), "ntp", "primary", False, error="timeout")],
               contracts=(c,))
    s1, s2, s3 = r["speed"]
    assert (s1["down_mbps"], s1["down_ratio"], s1["below_guarantee"]) == (94.0, 0.94, True)
    assert s2["up_ratio"] == 0.95 and s3["ok"] is False and s3["below_guarantee"] is None
    m = r["contracts"][0]["measured"]
    assert (m["count"], m["down_median_mbps"], m["down_min_mbps"], m["below_guarantee"]) == (2, 73.0, 52.0, 2)


def test_drills_are_listed_with_their_services():
    r = report(drills=[Drill(1, at(2026, 11, 7, 3), "unsynced", "full", False, 4.2,
                             ({"name": "Téléphonie", "check": "sip:192.0.2.1", "ok": False},))])
    (d,) = r["drills"]
    assert d["ok"] is False and d["services"][0]["name"] == "Téléphonie" and d["weak_evidence"]
    assert r["totals"]["drills"] == 1 and r["totals"]["drills_failed"] == 1


def test_an_empty_ledger_says_so_and_observed_nothing():
    p = Period(*NOV)
    r = compute(p, settings())
    assert r["period"]["empty"] and r["incidents"] == [] and r["period"]["observed_s"] == 0
    assert r["uplinks"]["primary"]["availability_pct"] is None and r["totals"]["count"] == 0


def test_nothing_after_now_is_observed():
    r = report(down(at(2026, 11, 10, 10), 60), now=at(2026, 11, 11))
    observed = at(2026, 11, 11) - NOV[0]
    assert r["period"]["observed_s"] == observed
    assert r["uplinks"]["primary"]["availability_pct"] == pytest.approx(100 * (1 - 3600 / observed), abs=1e-6)


def test_local_times_are_in_the_display_zone():
    i = down(at(2026, 11, 3, 10), 5)
    r = compute(Period(*NOV, (i,), observed_since=NOV[0]),
                ReportSettings(zone=PARIS, display_zone=__import__("zoneinfo").ZoneInfo("America/New_York")))
    assert r["incidents"][0]["start_local"] == "2026-11-03T04:00:00-05:00"


def test_three_named_uplinks_the_operators_are_the_cellular_uplinks():
    mid = at(2026, 11, 16)
    r = report(down(at(2026, 11, 5, 10), 60, link="lte"),                    # the cellular uplink down under Orange
               down(at(2026, 11, 6, 10), 30, link="fiber2"),                 # a fixed line: no operator's downtime
               down(at(2026, 11, 20, 10), 120, link="fiber"),                # SFR carries the fiber's outage
               switches=[Switch(1, NOV[0], "ntp", "operator_changed", 1, "Orange F"),
                         Switch(2, mid, "ntp", "sim_switch", 2, "SFR", "registration_denied")],
               uplinks=("fiber", "fiber2", "lte"), cellular="lte")
    assert list(r["uplinks"]) == ["fiber", "fiber2", "lte"] and r["totals"]["uplink"] == "fiber"
    ops = {o["operator"]: o for o in r["operators"]}
    assert ops["Orange F"]["downtime_s"] == 3600 and ops["SFR"]["downtime_s"] == 0 and ops["SFR"]["carried_s"] == 7200


def test_the_cellular_uplink_is_found_by_its_kind_in_the_config():
    from agent.config import from_dict
    config = from_dict({"board": {"cellular_interface": "wwan0"}, "uplinks": [
        {"name": "fiber", "interface": "eth0", "priority": 1}, {"name": "lte", "kind": "cellular", "priority": 3},
        {"name": "fiber2", "interface": "eth1", "priority": 2}]})
    s = ReportSettings.from_config(config)
    assert (s.uplinks, s.cellular) == (("fiber", "fiber2", "lte"), "lte")
    assert ReportSettings.from_config(from_dict({})).cellular == "backup"
