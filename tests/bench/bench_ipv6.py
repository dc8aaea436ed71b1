"""Failover with IPv6-only probes against IPv4-only probes, in the same lab (root).

    make bench-ipv6        .venv/bin/python -m tests.bench.bench_ipv6 [--cuts 10]

The real agent (tests/lab/agent.py) on the failover lab with IPv6 added (tests/lab/netlab6.py: documentation
prefixes, link-local gateways, the iproute2 backend installing the IPv6 defaults and rules). For each family, one
agent probing only that family's three targets (ICMP echo / ICMPv6 echo, 0.2 s per target, 0.5 s timeout) and
--cuts cuts of the primary on that family's path only (the ISP's IPv4 or IPv6 default replaced by a blackhole:
the other family keeps working, so only the probes of the family cut can see it), spaced by a random 1-2 s:
- detect_s: blackhole → `failover` emitted (after the IPv4 and IPv6 route switch);
- restored_s: blackhole → first datagram *sent after the cut* of a flow of that family (one every 5 ms from the
  router, unbound, following the routing table) that arrives through the backup ISP;
- failback_s: blackhole removed → first flow datagram through the primary again (hold_down_s = 1 and flap
  dampening off, as in bench-failover's cuts).
Medians; the last line is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import TARGETS, FailoverLab
from tests.lab.netlab6 import TARGETS6, add_ipv6_services, flow6, with_ipv6_gateways
from tests.routes.netlab6 import blackhole6

QUICK_CYCLE = {"hold_down_s": 1.0, "flap_window_s": 0.1}
FLOW_PERIOD_S = 0.005


def runs(lab: FailoverLab, family: str, n: int, rng: random.Random) -> dict[str, list[float]]:
    targets = TARGETS6 if family == "ipv6" else TARGETS
    cut = (lambda on: blackhole6(lab, "primary", on)) if family == "ipv6" else \
        (lambda on: lab.blackhole("primary", on))
    config = with_ipv6_gateways(lab_config(lab, probes={"targets": list(targets)}, failover=QUICK_CYCLE))
    out: dict[str, list[float]] = {"detect_s": [], "restored_s": [], "failback_s": []}
    with AgentUnderTest(lab, config) as agent:
        agent.wait_healthy()
        flow = flow6(lab, FLOW_PERIOD_S) if family == "ipv6" else lab.flow(FLOW_PERIOD_S)
        agent.wait_for(lambda: flow.first_through("primary", 0), 5, "the flow")
        for _ in range(n):
            time.sleep(rng.uniform(1.0, 2.0))
            t0 = time.monotonic()
            cut(True)
            t_failover, _ = agent.wait_event("failover", t0, 10)
            out["detect_s"].append(t_failover - t0)
            out["restored_s"].append(agent.wait_for(lambda: flow.first_through("backup", t0), 5, "via backup") - t0)
            t1 = time.monotonic()
            cut(False)
            agent.wait_event("failback", t1, 15)
            out["failback_s"].append(agent.wait_for(lambda: flow.first_through("primary", t1), 15, "via primary")
                                     - t1)
            agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "primary again")
        flow.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cuts", type=int, default=10)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-ipv6 needs root (network namespaces)", file=sys.stderr)
        return 1
    rng = random.Random(2026)
    results = {}
    with FailoverLab() as lab:
        add_ipv6_services(lab)
        for family in ("ipv4", "ipv6"):
            results[family] = runs(lab, family, args.cuts, rng)
    print(f"{'probes':<10} {'metric':<12} {'median':>8} {'min':>8} {'max':>8}  n")
    summary = {}
    for family, measured in results.items():
        for name, xs in measured.items():
            summary[f"{family}_{name}"] = round(statistics.median(xs), 4)
            print(f"{family:<10} {name:<12} {statistics.median(xs):8.3f} {min(xs):8.3f} {max(xs):8.3f}  {len(xs)}")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
