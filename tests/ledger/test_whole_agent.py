"""The ledger in the whole agent (virtual time: the real failover policy and controller on simulated uplinks, the
modem simulator for the cellular network): the events and probe results it records are the ones the agent
really produces, not ones a test wrote."""
from __future__ import annotations

import pytest

from agent.ledger import read_period
from agent.ledger.records import ALL_LINKS, DOWN, TOTAL
from tests.faults.virtual_agent import WholeAgent


def approx(x: float):
    """Wall-clock times are ~1.8e9: pytest.approx's default relative tolerance would accept half an hour."""
    return pytest.approx(x, rel=0, abs=1e-3)

TARGETS = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


@pytest.fixture
def agent(tmp_path):
    a = WholeAgent(tmp_path, extra={"probes": {"targets": TARGETS}, "failover": {}})
    assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 120)
    a.advance(15)
    yield a
    a.close()


def incidents(a: WholeAgent, kind: str | None = None) -> list:
    period = read_period(a.ledger.db.path, 0, 4e9)
    return [i for i in period.incidents if kind is None or i.kind == kind]


def test_a_blackhole_on_the_primary_with_the_agents_own_evidence(agent):
    a = agent
    a.uplinks.set("primary", reachable=False)
    assert a.pump(lambda: a.state("failover").get("active_uplink") == "backup", 10)
    sent_before = a.ledger.open_incidents()[0].tally.sent.copy()
    a.advance(60)
    a.uplinks.set("primary", reachable=True)
    assert a.pump(lambda: a.state("failover").get("active_uplink") == "primary", 120)
    (inc,) = incidents(a, DOWN)
    (failover,) = [e for e in a.events if e.kind == "failover"]
    (closed,) = [e for e in a.events if e.kind == "outage_closed"]
    assert (inc.link, inc.cause, inc.carried_by) == ("primary", "no_answer", "backup")
    assert inc.start == approx(failover.data["started_at"]) and inc.duration_s == approx(closed.data["duration_s"])
    assert 60 <= inc.duration_s <= 65
    ev = inc.evidence
    assert ev["targets"] == TARGETS and ev["first_failed_probe"] == inc.start
    # the run of failures that made it down was counted too, not only what came after
    assert sum(sent_before.values()) >= a.config.failover.min_failures
    lost = sum(p["lost"] for p in ev["probes"].values())
    sent = sum(p["sent"] for p in ev["probes"].values())
    assert lost >= 60 / a.config.probes.interval_s * 0.9 and sent - lost >= a.config.failover.recover_successes
    assert ev["operator"] == a.state("modem")["operator_name"] and ev["cell"]["cell_id"] == a.state("modem")["cell_id"]


def test_both_uplinks_down_is_a_total_outage(agent):
    a = agent
    a.uplinks.set("primary", reachable=False)
    assert a.pump(lambda: a.state("failover").get("active_uplink") == "backup", 10)
    a.advance(5)
    a.uplinks.set("backup", reachable=False)
    assert a.pump(lambda: a.state("failover").get("state") == "outage", 30)
    a.advance(30)
    a.uplinks.set("backup", reachable=True)
    assert a.pump(lambda: a.state("failover").get("state") == "backup", 30)
    (total,) = incidents(a, TOTAL)
    backup = next(i for i in incidents(a, DOWN) if i.link == "backup")
    assert (total.link, total.cause, total.start) == (ALL_LINKS, "all_down", backup.start)
    assert total.end == approx(backup.end) and 30 <= total.duration_s <= 40
    assert total.evidence["links"] == {"primary": "no_answer", "backup": "no_answer"}


def test_killed_during_an_outage_the_restarted_agent_opens_a_new_incident(tmp_path, monkeypatch):
    """The whole agent killed (its files left as they were) while the primary is down, started again an hour later
    with the primary still down: the first incident ends at the last heartbeat, the hour is not observed, and the
    restarted failover controller's own link_down opens the next one."""
    import tests.cellular.agent_rig as rig
    from agent.ledger.records import NOT_OBSERVED
    from tests.virtual import FakeClock
    first = WholeAgent(tmp_path, extra={"probes": {"targets": TARGETS}, "failover": {}})
    try:
        assert first.pump(lambda: first.registered(1) and first.state("failover").get("state") == "primary", 120)
        first.uplinks.set("primary", reachable=False)
        assert first.pump(lambda: first.state("failover").get("active_uplink") == "backup", 10)
        first.advance(150)                                 # two heartbeats during the outage
        (last_beat,), = first.ledger.db.query("SELECT ts FROM heartbeat")
        stopped_at = first.clock.now
    finally:
        first.close()                                      # no clean stop: what a kill leaves
    monkeypatch.setattr(rig, "FakeClock", lambda: FakeClock(start=stopped_at + 3600))
    second = WholeAgent(tmp_path, extra={"probes": {"targets": TARGETS}, "failover": {}})
    try:
        second.uplinks.set("primary", reachable=False)
        assert second.pump(lambda: second.state("failover").get("active_uplink") == "backup", 120)
        closed, reopened = incidents(second, DOWN)
        assert (closed.end, closed.duration_basis) == (approx(last_beat), "wall")
        assert "closed at restart" in closed.evidence["closed"]
        assert reopened.end is None and reopened.cause == "no_answer" and reopened.carried_by == "backup"
        (gap,) = incidents(second, NOT_OBSERVED)
        assert gap.start == approx(last_beat) and 3600 <= gap.duration_s <= 3600 + 60
    finally:
        second.close()
