"""Failover in the network lab: real namespaces, veth links, nftables loss, the iproute2 backend, the real
probers and netlink watcher. Behaviour is asserted (it fails over, traffic takes the backup, it comes back, it
does not move on loss); how fast is measured by `make bench-failover`, not here: waits are generous.

No test here sleeps to prove that something does not happen: each waits for the event or state that shows the
decision was taken, then asserts. Claims that need long stretches of time (ten minutes of a lossy line, two
minutes of flapping, the trickle over 15 minutes) are proven in virtual time by tests/failover/test_simulated.py."""
from __future__ import annotations

import threading
import time

import pytest

from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe
from agent.linkmon.targets import parse_target
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import DNS_HOST, HTTP_HOST, in_netns

pytestmark = [pytest.mark.root, pytest.mark.slow]
QUICK = {"hold_down_s": 2.0}   # failback tests need not wait the default 10 s


def test_carrier_loss_moves_a_flow_to_the_backup_and_back(lab):
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK)) as agent:
        agent.wait_healthy()
        flow = lab.flow()
        agent.wait_for(lambda: flow.first_through("primary", 0), 5, "the flow on the primary")
        assert lab.exit_taken() == "primary"

        cut = time.monotonic()
        lab.carrier("primary", False)
        _, failover = agent.wait_event("failover", cut, 10)
        assert failover.data["reason"] == "carrier_lost" and failover.data["to"] == "backup"
        assert failover.data["started_at"] is not None
        agent.wait_for(lambda: flow.first_through("backup", cut), 5, "the flow through the backup")
        assert lab.exit_taken() == "backup"
        assert agent.state["active_uplink"] == "backup"

        back = time.monotonic()
        lab.carrier("primary", True)
        _, failback = agent.wait_event("failback", back, 20)
        assert failback.data["reason"] == "recovered" and failback.data["outage_s"] > 0
        agent.wait_for(lambda: flow.first_through("primary", back), 5, "the flow back on the primary")
        assert lab.exit_taken() == "primary"
        assert agent.kinds(cut) == ["link_down", "failover", "link_restored", "failback"]


def test_cold_standby_brings_cellular_up_for_the_outage_only(lab):
    with AgentUnderTest(lab, lab_config(lab, failover={**QUICK, "standby": "cold"})) as agent:
        agent.wait_for(lambda: agent.state.get("links", {}).get("primary", {}).get("status") == "up", 15,
                       "the primary up")
        assert "UP" not in lab.ip("-o", "link", "show", "wwan0").split(">")[0]   # cellular switched off
        flow = lab.flow()
        cut = time.monotonic()
        lab.carrier("primary", False)
        agent.wait_event("failover", cut, 10)
        agent.wait_for(lambda: flow.first_through("backup", cut), 10, "the flow through the backup")
        assert agent.state["links"]["backup"]["probe_rate"] == "active"
        back = time.monotonic()
        lab.carrier("primary", True)
        agent.wait_event("failback", back, 20)
        agent.wait_for(lambda: flow.first_through("primary", back), 5, "the flow back on the primary")
        agent.wait_for(lambda: "UP" not in lab.ip("-o", "link", "show", "wwan0").split(">")[0], 5,
                       "cellular switched off again")
        assert agent.state["links"]["backup"]["probe_rate"] == "off"


def test_blackhole_beyond_the_first_hop_is_detected_by_probes(lab):
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK)) as agent:
        agent.wait_healthy()
        cut = time.monotonic()
        lab.blackhole("primary", True)   # wan0 keeps its carrier: only probes can tell
        _, failover = agent.wait_event("failover", cut, 10)
        assert failover.data["reason"] == "no_answer"
        assert 0 < failover.data["detect_s"] < 10
        assert agent.state["links"]["primary"]["carrier"] is True
        assert lab.exit_taken() == "backup"
        back = time.monotonic()
        lab.blackhole("primary", False)
        agent.wait_event("failback", back, 20)
        assert lab.exit_taken() == "primary"


def test_no_failover_on_a_lossy_primary(lab):
    """30% loss each way (about half the probes lost): reported as degraded, traffic stays on the primary.
    (Ten minutes of it never fail over: test_simulated.py, in virtual time.)"""
    with AgentUnderTest(lab, lab_config(lab)) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        lab.loss("primary", 30)
        agent.wait_event("link_degraded", start, 30)
        # the decision on the lossy line: a whole window of half-lost probes judged degraded, not down
        agent.wait_for(lambda: 0.3 < (agent.state["links"]["primary"]["loss"] or 0) < 0.7, 30,
                       "a window of lossy probes")
        assert "failover" not in agent.kinds(start)
        assert agent.state["active_uplink"] == "primary" and agent.state["state"] == "degraded"
        # and a real outage on that lossy line is still caught
        cut = time.monotonic()
        lab.blackhole("primary", True)
        _, failover = agent.wait_event("failover", cut, 15)
        assert failover.data["reason"] == "no_answer"


def test_latency_is_degraded_not_down(lab):
    with AgentUnderTest(lab, lab_config(lab, failover={"degraded_rtt_ms": 150})) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        lab.delay(250, jitter_ms=40)
        _, degraded = agent.wait_event("link_degraded", start, 30)
        assert degraded.data["reason"].startswith("rtt")
        assert "failover" not in agent.kinds(start)
        rtt = agent.state["links"]["primary"]["rtt_ms"]
        assert 180 < rtt < 500 and agent.state["links"]["primary"]["jitter_ms"] > 5


def test_flapping_primary_is_dampened(lab):
    with AgentUnderTest(lab, lab_config(lab, failover={"hold_down_s": 4.0})) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        for _ in range(4):   # down, up again: each seen by the agent, never up for the 4 s hold-down
            down = time.monotonic()
            lab.carrier("primary", False)
            agent.wait_event("link_down", down, 10)
            up = time.monotonic()
            lab.carrier("primary", True)
            agent.wait_event("link_restored", up, 10)
        kinds = agent.kinds(start)
        assert kinds.count("failover") == 1 and "failback" not in kinds
        assert agent.state["hold_down_s"] > 4.0 and agent.state["flap_penalty"] >= 3


def test_drill_proves_traffic_through_the_backup_and_returns(lab):
    with AgentUnderTest(lab, lab_config(lab)) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        reply = agent.command("drill", {"duration_s": 5})
        assert reply["ok"], reply
        agent.wait_for(lambda: agent.state.get("state") == "drill", 5, "the drill")
        assert lab.exit_taken() == "backup"
        _, result = agent.wait_event("drill_result", start, 20)
        assert result.data["ok"] is True, result.data
        assert result.data["route"]["uplink"] == "backup" and result.data["backup"]["sent"] >= 2
        agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "back on the primary")
        assert lab.exit_taken() == "primary"
        assert "failover" not in agent.kinds(start)   # a drill is not an outage
        refused = agent.command("drill", {"duration_s": 1})
        assert not refused["ok"] and "duration_s" in refused["error"]


def test_manual_override(lab):
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK)) as agent:
        agent.wait_healthy()
        assert agent.command("failover", {"mode": "force_backup"})["result"]["active_uplink"] == "backup"
        assert lab.exit_taken() == "backup"
        policy = agent.controller.policy
        agent.wait_for(lambda: agent.core.now() - policy.primary.healthy_since >= QUICK["hold_down_s"], 10,
                       "the primary healthy for the hold-down")
        assert agent.command("failover", {"mode": "auto"})["result"]["active_uplink"] == "primary"
        assert lab.exit_taken() == "primary"
        assert agent.command("failover", {"mode": "force_primary"})["result"]["mode"] == "force_primary"
        lab.carrier("primary", False)
        agent.wait_for(lambda: agent.state["state"] == "outage", 10, "the outage seen")
        assert agent.state["active_uplink"] == "primary"
        bad = agent.command("failover", {"mode": "sideways"})
        assert not bad["ok"] and "auto" in bad["error"]


def test_cellular_costs_only_a_trickle_while_on_the_primary(lab):
    """The bytes a trickle probe costs on the wire; the count over 15 minutes is test_simulated.py's."""
    with AgentUnderTest(lab, lab_config(lab, probes={"trickle_interval_s": 3})) as agent:
        agent.wait_healthy()
        sent, before = agent.state["links"]["backup"]["probes_sent"], lab.bytes_through("backup")
        primary_sent = agent.state["links"]["primary"]["probes_sent"]
        start = time.monotonic()
        agent.wait_for(lambda: agent.state["links"]["backup"]["probes_sent"] >= sent + 2, 15, "two trickle probes")
        took = time.monotonic() - start
        probes = agent.state["links"]["backup"]["probes_sent"] - sent
        # one probe per 3 s (the snapshot lags up to PUBLISH_S = 1 s): not 3 per 2 s (active), nor 3 per 0.2 s
        assert probes == 2 and took > 2.0
        assert agent.state["links"]["primary"]["probes_sent"] - primary_sent >= 10 * took * 0.5
        # each probe: an echo request and its reply, 20 B IP + 8 B ICMP + 24 B payload (one may be in flight at
        # either end of the measurement)
        assert abs(lab.bytes_through("backup") - before - probes * 2 * 52) <= 2 * 52
        assert lab.bytes_through("primary") > 10 * 2 * 52    # the primary is watched closely meanwhile


def test_address_loss_is_a_link_down(lab):
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK)) as agent:
        agent.wait_healthy()
        cut = time.monotonic()
        lab.ip("addr", "del", "100.64.1.2/24", "dev", "wan0")
        _, failover = agent.wait_event("failover", cut, 10)
        assert failover.data["reason"] == "no_address"
        lab.ip("addr", "add", "100.64.1.2/24", "dev", "wan0")
        agent.wait_event("failback", cut, 20)
        assert lab.exit_taken() == "primary"


# ---- probers on their own: each kind, bound to each uplink --------------------------------------------

def probe_in_router(lab, spec: str, interface: str, source: str | None = None) -> float:
    return in_netns(lab.router, lambda: probe(parse_target(spec), Binding(interface, source),
                                              ProbeOptions(timeout_s=1.0, icmp_raw=True)))


@pytest.mark.parametrize("spec", ["192.0.2.1", "tcp:192.0.2.1:443", f"dns:{DNS_HOST}",
                                  f"http://{HTTP_HOST}/generate_204"])
def test_each_probe_kind_tests_the_link_it_is_bound_to(lab, spec):
    # the router has no default route at all: only the interface binding (and per-uplink rules) route probes
    lab.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan0")
    lab.ip("route", "add", "default", "via", "100.64.2.1", "dev", "wwan0", "metric", "20")
    assert probe_in_router(lab, spec, "wan0") >= 0
    assert probe_in_router(lab, spec, "wwan0") >= 0
    lab.blackhole("backup", True)   # the backup dead, the default route (primary) fine
    assert probe_in_router(lab, spec, "wan0") >= 0
    with pytest.raises(ProbeFailed):
        probe_in_router(lab, spec, "wwan0")


def test_a_captive_portal_is_not_an_answer(lab):
    lab.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan0")
    with pytest.raises(ProbeFailed, match="status 200"):
        probe_in_router(lab, f"http://{HTTP_HOST}/login", "wan0")


def test_probers_keep_their_cadence_on_a_dead_link(lab):
    """Every probe waits out its timeout on a dead link; the workers absorb that and the cadence holds."""
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK)) as agent:
        agent.wait_healthy()
        cut = time.monotonic()
        lab.blackhole("primary", True)
        agent.wait_event("failover", cut, 10)     # the dead link seen: from here on every probe times out
        sent = agent.state["links"]["primary"]["probes_sent"]
        time.sleep(4)          # a rate measured over 4 s of real probing, not a wait for nothing to happen
        rate = (agent.state["links"]["primary"]["probes_sent"] - sent) / 4
        assert rate > 15 * 0.5   # 3 targets every 0.2 s; a loaded machine may lag, not halve
        assert threading.active_count() < 60
