"""Fault catalogue, links: the whole agent in virtual time on simulated uplinks with the product's default probe and
failover settings (3 targets, 0.2 s, 10 s hold-down). The same faults in real network namespaces are in tests/lab
(and `make bench-failover`); DNS-only failure and captive portal need real probes: test_lab_link_faults.py."""
from __future__ import annotations

import pytest

from tests.faults.catalogue import Outcome, kinds
from tests.faults.virtual_agent import WholeAgent

DEFAULTS = {"probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}, "failover": {}}


@pytest.fixture
def agent(tmp_path):
    a = WholeAgent(tmp_path, extra=DEFAULTS)
    assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 120)
    a.advance(15)                       # a settled history on both links
    yield a
    a.close()


def on(a: WholeAgent, uplink: str) -> bool:
    return a.state("failover").get("active_uplink") == uplink


def record(a: WholeAgent, mark: int, scenario: str, behaviour: str, recovery_s: float | None) -> None:
    assert a.lost() == 0, f"{a.lost()} accepted events not in the outbox"
    Outcome("links", scenario, behaviour, len(a.since(mark)), a.lost(), recovery_s, kinds(a.since(mark))).report()


def test_carrier_lost(agent):
    a = agent
    mark = a.mark()
    a.uplinks.set("primary", carrier=False)
    switched = a.time_until(lambda: on(a, "backup"), 10)
    assert switched is not None and switched < 0.5
    a.advance(60)
    a.uplinks.set("primary", carrier=True)
    back = a.time_until(lambda: on(a, "primary"), 120)
    assert back is not None
    assert kinds(a.since(mark)).count("failover") == 1
    record(a, mark, "fiber carrier lost 60 s", f"failover in {switched:.2f} s; failback {back:.1f} s after repair "
           "(hold-down)", switched)


def test_blackhole(agent):
    a = agent
    mark = a.mark()
    a.uplinks.set("primary", reachable=False)
    switched = a.time_until(lambda: on(a, "backup"), 10)
    assert switched is not None and switched <= 2.0
    a.advance(60)
    a.uplinks.set("primary", reachable=True)
    back = a.time_until(lambda: on(a, "primary"), 120)
    assert back is not None
    record(a, mark, "blackhole beyond the first hop 60 s", f"failover in {switched:.2f} s; failback {back:.1f} s "
           "after repair", switched)


def test_thirty_percent_loss_is_not_an_outage(agent):
    a = agent
    mark = a.mark()
    a.uplinks.set("primary", loss_pct=30.0)
    a.advance(600)
    assert on(a, "primary")
    assert "failover" not in kinds(a.since(mark))
    a.uplinks.set("primary", loss_pct=0.0)
    record(a, mark, "30 % loss for 10 min", "stayed on the fiber (degraded, no false failover)", None)


def test_flapping(agent):
    a = agent
    mark = a.mark()
    for _ in range(20):                  # up 3 s, down 3 s, for 2 minutes
        a.uplinks.set("primary", reachable=False)
        a.advance(3)
        a.uplinks.set("primary", reachable=True)
        a.advance(3)
    failovers = kinds(a.since(mark)).count("failover")
    switches = sum(1 for e in a.since(mark) if e.kind in ("failover", "failback"))
    assert switches <= 3, switches
    back = a.time_until(lambda: on(a, "primary"), 600)
    assert back is not None
    record(a, mark, "fiber flapping (3 s up / 3 s down, 2 min)", f"{switches} switch{'es' if switches != 1 else ''} in 2 min (dampened); "
           f"back on the fiber {back:.0f} s after it settled", back)
    assert failovers >= 1
