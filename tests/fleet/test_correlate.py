"""Provider incidents (fleet/correlate.py): tables of (t, event) → actions, properties over arbitrary sequences, and
the monthly availability per provider."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.correlate import (Group, IncidentClosed, IncidentOpened, IncidentUpdated, Link, Lost, Outage,
                             Recovered, Settings, Site, SuggestSimSwitch, Tick, decide, describe, from_event, initial,
                             next_due, provider_availability)

T0 = datetime(2026, 12, 3, 7, 45, tzinfo=timezone.utc).timestamp()    # 08:45 in Paris
ORANGE = "Orange fibre"
P = Link.PRIMARY
C = Link.CELLULAR


def lost(site, at, provider=ORANGE, area="69003", link=P):
    return Lost(site, link, provider, area, at=T0 + at)


def rec(site, at, link=P):
    return Recovered(site, link, at=T0 + at)


def run(events, cfg=Settings()):
    """(t, event) in order; returns the state and [(t, action)]."""
    state = initial(cfg)
    out = []
    for t, event in events:
        state, actions = decide(state, event, T0 + t)
        out += [(t, a) for a in actions]
    return state, out


def kinds(out):
    return [(t, type(a).__name__, a.incident.down if hasattr(a, "incident") else None) for t, a in out]


def test_three_sites_within_the_window_open_one_incident_listing_them():
    _, out = run([(0, lost("a", 0)), (120, lost("b", 120)), (300, lost("c", 300))])
    assert kinds(out) == [(300, "IncidentOpened", ("a", "b", "c"))]
    incident = out[0][1].incident
    assert incident.group == Group(P, ORANGE, "69003")
    assert incident.since == T0 and incident.opened_at == T0 + 300
    assert describe(incident, ZoneInfo("Europe/Paris")) == "Orange fibre, 3 sites in 69003, since 08:45"


@pytest.mark.parametrize("name, events", [
    ("two sites are not a provider's outage", [(0, lost("a", 0)), (60, lost("b", 60))]),
    ("spread over more than the window", [(0, lost("a", 0)), (400, lost("b", 400)), (601, lost("c", 601))]),
    ("three providers", [(0, lost("a", 0)), (1, lost("b", 1, "Free")), (2, lost("c", 2, "SFR fibre"))]),
    ("three areas", [(0, lost("a", 0)), (1, lost("b", 1, area="69002")), (2, lost("c", 2, area="75011"))]),
    ("one recovered before the third", [(0, lost("a", 0)), (1, lost("b", 1)), (2, rec("a", 2)), (3, lost("c", 3))]),
    ("one site lost three times", [(0, lost("a", 0)), (1, lost("a", 1)), (2, lost("a", 2))]),
    ("primary and cellular of one area", [(0, lost("a", 0)), (1, lost("b", 1)),
                                          (2, lost("c", 2, "Orange", link=C))]),
])
def test_no_incident(name, events):
    state, out = run(events)
    assert out == [] and not state.open, name


def test_the_window_holds_the_losses_not_their_arrival():
    """A site reports its loss late (its outbox waited for the backup): the loss time counts, so the window is
    judged on the sites' times whatever order they arrive in."""
    _, out = run([(0, lost("a", 500)), (1, lost("b", 0)), (900, lost("c", 550))])
    assert kinds(out) == [(900, "IncidentOpened", ("b", "a", "c"))]
    _, out = run([(0, lost("a", 700)), (1, lost("b", 0)), (900, lost("c", 750))])
    assert out == []                      # b is 750 s before c: only a and c fit one window


def test_sites_join_while_open_and_the_incident_closes_when_all_recover():
    events = [(0, lost("a", 0)), (60, lost("b", 60)), (120, lost("c", 120)),
              (3000, lost("d", 3000)),                    # long after the window: joins the open incident
              (3600, rec("a", 3600)), (3601, rec("b", 3601)), (3602, rec("c", 3602)), (3603, rec("d", 3603))]
    state, out = run(events)
    assert kinds(out) == [(120, "IncidentOpened", ("a", "b", "c")),
                          (3000, "IncidentUpdated", ("a", "b", "c", "d")),
                          (3600, "IncidentUpdated", ("b", "c", "d")),
                          (3601, "IncidentUpdated", ("c", "d")),
                          (3602, "IncidentUpdated", ("d",)),
                          (3603, "IncidentClosed", ())]
    closed = out[-1][1].incident
    assert closed.closed_at == T0 + 3603 and [s.recovered_at - T0 for s in closed.sites] == [3600, 3601, 3602, 3603]
    assert not state.open and not state.lost
    assert describe(closed) == "Orange fibre, 4 sites in 69003, since 07:45, closed at 08:45"


def test_one_site_left_down_closes_after_the_hold_not_never():
    cfg = Settings(close_hold_s=600)
    state, out = run([(0, lost("a", 0)), (1, lost("b", 1)), (2, lost("c", 2)),
                      (100, rec("a", 100)), (200, rec("b", 200))], cfg)
    assert kinds(out)[-1] == (200, "IncidentUpdated", ("c",))
    assert next_due(state) == T0 + 700           # fewer than 3 down since a recovered at 100
    state, actions = decide(state, Tick(), T0 + 699)
    assert actions == []
    state, actions = decide(state, Tick(), T0 + 700)
    assert [type(a) for a in actions] == [IncidentClosed] and actions[0].incident.down == ("c",)
    assert not state.open and ("c", P) in state.lost and next_due(state) is None


def test_sites_lost_again_during_the_hold_keep_it_open():
    state, out = run([(0, lost("a", 0)), (1, lost("b", 1)), (2, lost("c", 2)),
                      (100, rec("a", 100)), (200, lost("a", 200))], Settings(close_hold_s=600))
    assert kinds(out)[-1] == (200, "IncidentUpdated", ("a", "b", "c"))
    assert next_due(state) is None
    state, actions = decide(state, Tick(), T0 + 5000)
    assert actions == [] and len(state.open) == 1


def test_a_new_burst_after_a_close_opens_a_second_incident():
    events = [(0, lost("a", 0)), (1, lost("b", 1)), (2, lost("c", 2)),
              (10, rec("a", 10)), (11, rec("b", 11)), (12, rec("c", 12)),
              (900, lost("a", 900)), (901, lost("b", 901)), (902, lost("c", 902))]
    _, out = run(events)
    opened = [a.incident.id for _, a in out if isinstance(a, IncidentOpened)]
    assert opened == ["primary-orange-fibre-69003-20261203T074500Z", "primary-orange-fibre-69003-20261203T080000Z"]


def test_incident_ids_are_made_of_what_it_is_and_stay_unique_when_reopened():
    events = [(0, lost("a", 0, "Bouygues Télécom", "Lyon 3e")), (1, lost("b", 1, "Bouygues Télécom", "Lyon 3e")),
              (2, lost("c", 2, "Bouygues Télécom", "Lyon 3e"))]
    again = [(10, rec("a", 10)), (11, rec("b", 11)), (12, rec("c", 12))]
    _, out = run(events + again + events + again + events)   # the same losses reported again (a replay)
    opened = [a.incident.id for _, a in out if isinstance(a, IncidentOpened)]
    assert opened == ["primary-bouygues-telecom-lyon-3e-20261203T074500Z",
                      "primary-bouygues-telecom-lyon-3e-20261203T074500Z.2",
                      "primary-bouygues-telecom-lyon-3e-20261203T074500Z.3"]
    _, cellular = run([(i, lost(s, i, "Orange", "", link=C)) for i, s in enumerate("abc")], Settings(by_area=False))
    assert cellular[0][1].incident.id == "cellular-orange-20261203T074500Z"


def test_a_regional_mobile_outage_suggests_a_sim_switch():
    _, out = run([(0, lost("a", 0, "Orange", link=C)), (5, lost("b", 5, "Orange", link=C)),
                  (9, lost("c", 9, "Orange", link=C))])
    assert [type(a) for _, a in out] == [IncidentOpened, SuggestSimSwitch]
    suggestion = out[1][1]
    assert (suggestion.operator, suggestion.area) == ("Orange", "69003")
    assert describe(suggestion.incident) == "Orange mobile, 3 sites in 69003, since 07:45"


def test_fixed_line_incidents_suggest_nothing_of_the_sim():
    _, out = run([(0, lost("a", 0)), (5, lost("b", 5)), (9, lost("c", 9))])
    assert not any(isinstance(a, SuggestSimSwitch) for _, a in out)


def test_across_areas_when_by_area_is_off():
    events = [(0, lost("a", 0, area="69003")), (1, lost("b", 1, area="75011")), (2, lost("c", 2, area=""))]
    assert run(events)[1] == []
    _, out = run(events, Settings(by_area=False))
    assert kinds(out) == [(2, "IncidentOpened", ("a", "b", "c"))]
    assert describe(out[0][1].incident) == "Orange fibre, 3 sites, since 07:45"


def test_names_are_compared_without_stray_spaces():
    _, out = run([(0, lost("a", 0, "Orange fibre")), (1, lost("b", 1, " Orange  fibre ")),
                  (2, lost("c", 2, "Orange fibre", area=" 69003"))])
    assert kinds(out) == [(2, "IncidentOpened", ("a", "b", "c"))]


def test_recovery_of_an_unknown_site_and_unknown_events_change_nothing():
    state = initial()
    for event in (rec("nobody", 0), Tick(), object()):
        assert decide(state, event, T0) == (state, [])


@pytest.mark.parametrize("kwargs", [{"min_sites": 1}, {"window_s": 0}, {"close_hold_s": -1}])
def test_bad_settings_say_which(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Settings(**kwargs)


# ---- properties -------------------------------------------------------------------------------------------------

SITES = [f"s{i}" for i in range(7)]
step = st.tuples(
    st.floats(0.0, 400.0),                                              # time since the previous step
    st.one_of(
        st.tuples(st.just("lost"), st.sampled_from(SITES), st.sampled_from([P, C]),
                  st.sampled_from(["Orange", "Free"]), st.sampled_from(["69003", "75011"]),
                  st.floats(-300.0, 0.0)),                             # the loss may be reported late
        st.tuples(st.just("rec"), st.sampled_from(SITES), st.sampled_from([P, C])),
        st.just(("tick",))))


@settings(max_examples=400, deadline=None)
@given(steps=st.lists(step, max_size=80), min_sites=st.integers(2, 4), hold=st.sampled_from([0.0, 300.0, 600.0]))
def test_incidents_have_enough_sites_and_all_close_once_everyone_recovers(steps, min_sites, hold):
    cfg = Settings(min_sites=min_sites, close_hold_s=hold)
    state = initial(cfg)
    now = T0
    opened, closed = {}, set()
    for dt, ev in steps:
        now += dt
        if ev[0] == "lost":
            event = Lost(ev[1], ev[2], ev[3], ev[4], at=now + ev[5])
        elif ev[0] == "rec":
            event = Recovered(ev[1], ev[2], at=now)
        else:
            event = Tick()
        state, actions = decide(state, event, now)
        for a in actions:
            inc = a.incident
            assert len(inc.sites) >= min_sites                       # never an incident of fewer sites
            assert len({s.site for s in inc.sites}) == len(inc.sites)
            if isinstance(a, IncidentOpened):
                assert inc.id not in opened and len(inc.down) >= min_sites
                losses = sorted(s.lost_at for s in inc.sites)
                assert losses[-1] - losses[0] <= cfg.window_s
                opened[inc.id] = inc
            elif isinstance(a, IncidentClosed):
                assert inc.id in opened and inc.id not in closed
                closed.add(inc.id)
            else:
                assert isinstance(a, (IncidentUpdated, SuggestSimSwitch)) and inc.id in opened
                assert inc.id not in closed
        assert {i.id for i in state.open.values()} == set(opened) - closed
        assert {(s, g) for g, members in state.groups.items() for s in members} == \
            {(s, loss.group) for (s, _), loss in state.lost.items()}            # the index agrees with the losses
    # everyone recovers: every incident still open closes, and nothing new opens
    for site, link in list(state.lost):
        now += 1
        state, actions = decide(state, Recovered(site, link, at=now), now)
        for a in actions:
            assert not isinstance(a, IncidentOpened)
            if isinstance(a, IncidentClosed):
                closed.add(a.incident.id)
    state, _ = decide(state, Tick(), now + hold)
    assert not state.open and closed == set(opened)


# ---- availability per provider ------------------------------------------------------------------------------------

DEC = datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()
JAN = datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()
MONTH = JAN - DEC
H = 3600.0


def test_availability_across_sites_counts_sites_without_outages():
    sites = {"a": ORANGE, "b": ORANGE, "c": ORANGE, "d": ORANGE, "e": "Free"}
    outages = [Outage("a", ORANGE, DEC + 10 * H, DEC + 16 * H),      # 6 h, past a 4 h repair time
               Outage("b", ORANGE, DEC + 10 * H, DEC + 12 * H),      # 2 h
               Outage("e", "Free", DEC - 2 * H, DEC + 1 * H)]        # began in November: 1 h in December
    report = {r.provider: r for r in provider_availability(outages, sites, DEC, JAN, {ORANGE: 4 * H, "Free": 4 * H})}
    orange = report[ORANGE]
    assert (orange.sites, orange.outages, orange.downtime_s) == (4, 2, 8 * H)
    assert orange.availability_pct == pytest.approx(100 * (1 - 8 * H / (4 * MONTH)))
    assert orange.beyond_repair_time == (outages[0],)
    free = report["Free"]
    assert (free.sites, free.downtime_s, free.beyond_repair_time) == (1, H, ())   # 3 h in all, under 4 h
    assert free.availability_pct == pytest.approx(100 * (1 - H / MONTH))


def test_overlapping_reports_of_one_site_count_once_and_open_ones_run_to_the_end():
    outages = [Outage("a", ORANGE, DEC + H, DEC + 3 * H), Outage("a", ORANGE, DEC + 2 * H, DEC + 4 * H),
               Outage("a", ORANGE, JAN - H, None)]
    (r,) = provider_availability(outages, {"a": ORANGE}, DEC, JAN, {ORANGE: 2 * H})
    assert r.downtime_s == 4 * H
    assert r.beyond_repair_time == ()      # each under the 2 h ... the open one has run 1 h so far
    (r,) = provider_availability(outages, {"a": ORANGE}, DEC, JAN + 5 * H, {ORANGE: 2 * H})
    assert r.beyond_repair_time == (outages[2],)


def test_a_provider_with_no_outage_is_at_100_and_an_empty_period_is_refused():
    (r,) = provider_availability([], {"a": ORANGE}, DEC, JAN)
    assert r.availability_pct == 100.0 and r.outages == 0
    with pytest.raises(ValueError, match="must end after"):
        provider_availability([], {"a": ORANGE}, JAN, DEC)


# ---- from the devices' events -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, data, expected", [
    ("link_down", {"link": "primary", "reason": "no_answer", "started_at": T0 - 20},
     Lost("a", P, ORANGE, "69003", T0 - 20)),
    ("link_down", {"link": "backup", "started_at": T0 - 20}, Lost("a", C, "SFR", "69003", T0 - 20)),
    ("failover", {"from": "primary", "to": "backup", "reason": "no_answer", "started_at": T0 - 5},
     Lost("a", P, ORANGE, "69003", T0 - 5)),
    ("failover", {"from": "primary", "to": "backup", "reason": "manual"}, None),       # an operator's choice
    ("link_restored", {"link": "primary", "was": "down"}, Recovered("a", P, T0)),
    ("link_restored", {"link": "backup", "was": "down"}, Recovered("a", C, T0)),
    ("failback", {"reason": "recovered"}, Recovered("a", P, T0)),
    ("failback", {"reason": "manual"}, None),
    ("link_down", {"link": "primary", "started_at": "yesterday"}, Lost("a", P, ORANGE, "69003", T0)),
    ("link_down", {"link": "primary", "started_at": T0 + 999}, Lost("a", P, ORANGE, "69003", T0)),   # future
    ("link_down", {"link": "primary", "started_at": float("nan")}, Lost("a", P, ORANGE, "69003", T0)),
    ("link_down", {"link": "primary", "started_at": float("-inf")}, Lost("a", P, ORANGE, "69003", T0)),
    ("link_down", {"link": "primary", "started_at": True}, Lost("a", P, ORANGE, "69003", T0)),
    ("link_down", {"link": "wifi"}, None),
    ("link_down", ["not", "a", "map"], None),
    ("drill_result", {"ok": False}, None),
])
def test_device_events_become_losses_and_recoveries(kind, data, expected):
    site = Site("a", ORANGE, "69003", "SFR")
    assert from_event(site, kind, data, T0) == expected


def test_a_site_without_a_provider_is_not_correlated():
    assert from_event(Site("a", "", "69003", ""), "link_down", {"link": "primary"}, T0) is None
    assert from_event(Site("a", ORANGE, "69003", ""), "link_down", {"link": "backup"}, T0) is None


THREE = Site("a", ORANGE, "69003", "SFR", preferred="fiber", cellular="lte")


@pytest.mark.parametrize("kind, data, expected", [
    ("link_down", {"link": "fiber", "started_at": T0 - 3}, Lost("a", P, ORANGE, "69003", T0 - 3)),
    ("link_down", {"link": "lte"}, Lost("a", C, "SFR", "69003", T0)),
    ("link_down", {"link": "fiber2"}, None),            # the second operator: its provider is not the site's
    ("link_down", {"link": "primary"}, None),           # not a name this site has
    ("failover", {"from": "fiber", "to": "fiber2", "reason": "no_answer"}, Lost("a", P, ORANGE, "69003", T0)),
    ("failover", {"from": "fiber2", "to": "lte", "reason": "no_answer"}, None),
    ("link_restored", {"link": "fiber", "was": "down"}, Recovered("a", P, T0)),
    ("link_restored", {"link": "lte", "was": "down"}, Recovered("a", C, T0)),
    ("failback", {"from": "fiber2", "to": "fiber", "reason": "recovered"}, Recovered("a", P, T0)),
    ("failback", {"from": "lte", "to": "fiber2", "reason": "recovered"}, None),   # the fiber is still down
])
def test_a_three_uplink_sites_events_by_name(kind, data, expected):
    assert from_event(THREE, kind, data, T0) == expected
