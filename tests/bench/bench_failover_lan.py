"""Failover as a LAN device sees it, IPv4 and IPv6: from a switch to the first answer of an existing LAN flow.

    make bench-failover            (runs this after the router's own figures)
    .venv/bin/python -m tests.bench.bench_failover_lan [--runs 10]      (this part alone; root)

The real agent (core, failover controller, probers, netlink watcher, iproute2 backend, and the LAN flows part
with [traffic] nat6 = true) runs against tests/lab/lan.py with IPv6: a LAN namespace behind the router, IPv4
192.168.50.10 NATed by the router's firewall (masquerade or snat, see lan.py), IPv6 fd00:50::10 (a ULA prefix no
ISP routes) NAT66-ed by relais's own table. Two LAN desk phones talk at once, one UDP datagram every 20 ms each from
one fixed port to an echo server in "internet" (203.0.113.10 and 2001:db8:ff::10), which answers with the uplink
it saw the datagram come through.

Per case, --runs cycles on one agent (hold-down 1 s, flap dampening off so that they fit in a minute): the primary's
ISP loses both families (IPv4 and IPv6 defaults replaced by blackholes) → `failover`; restored → `failback`.
Times are CLOCK_MONOTONIC, shared by the bench and the agent; the fault is timed before its first `ip` command.
- detect_s: fault → `failover` emitted (after both families' default routes moved).
- switch → answer (IPv4 / IPv6): the switch event → the first answer, through the new uplink, to a datagram sent
  after the event. Capped at --dead-cap-s: beyond it the flow counts as dead.
- fault → answer: the same from the fault (detection included); for the failback, from the repair.
Cases: probes over IPv4 (3 x ICMP) or over IPv6 (3 x ICMPv6), the router's IPv4 NAT masquerade or snat.
Prints a table, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from tests.bench.bench_lan import QUICK_CYCLE, answered_after, median
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab6 import TARGETS6, with_ipv6_gateways
from tests.routes.netlab6 import blackhole6

CASES = (("ipv4", "masquerade"), ("ipv6", "masquerade"), ("ipv4", "snat"))


def cycles(probes: str, nat: str, runs: int, cap_s: float) -> dict:
    import dataclasses

    from agent.flows import LanFlows
    from tests.lab.lan import LanLab
    out: dict = {key: [] for key in ("detect", "failover4", "failover6", "fault4", "fault6", "failback4",
                                     "failback6", "repair4", "repair6")}
    with LanLab(nat, ipv6=True) as lab:
        config = with_ipv6_gateways(lab_config(lab, failover=QUICK_CYCLE))
        if probes == "ipv6":
            config = dataclasses.replace(config, probes=dataclasses.replace(config.probes, targets=TARGETS6))
        config = dataclasses.replace(config, traffic=dataclasses.replace(config.traffic, lan_interface="lan0",
                                                                         nat6=True))
        parts = []

        def attach_flows(core, cfg) -> None:
            parts.append(LanFlows(core, cfg))
            parts[0].start()
        with AgentUnderTest(lab, config, attach_more=attach_flows) as agent:
            try:
                agent.wait_healthy()
                agent.wait_for(lambda: agent.core.state["flows"].get("applied"), 5, "the flows table")
                phone4, phone6 = lab.phone(), lab.phone(ipv6=True)
                for phone in (phone4, phone6):
                    agent.wait_for(lambda: phone.first_answer(0, "primary"), 5, "the phones")
                for _ in range(runs):
                    t0 = time.monotonic()
                    lab.blackhole("primary", True)
                    blackhole6(lab, "primary", True)
                    switched, _ = agent.wait_event("failover", t0, 10)
                    out["detect"].append(switched - t0)
                    for family, phone in (("4", phone4), ("6", phone6)):
                        took = answered_after(agent, phone, switched, "backup", cap_s)
                        out["failover" + family].append(took)
                        out["fault" + family].append(None if took is None else switched + took - t0)
                    t1 = time.monotonic()
                    lab.blackhole("primary", False)
                    blackhole6(lab, "primary", False)
                    switched, _ = agent.wait_event("failback", t1, 15)
                    for family, phone in (("4", phone4), ("6", phone6)):
                        took = answered_after(agent, phone, switched, "primary", cap_s)
                        out["failback" + family].append(took)
                        out["repair" + family].append(None if took is None else switched + took - t1)
                    agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "primary again")
                    time.sleep(0.5)
            finally:
                for part in parts:
                    part.stop()
    return out


def summary(xs: list[float | None], cap_s: float) -> str:
    ok = [x for x in xs if x is not None]
    dead = len(xs) - len(ok)
    if not ok:
        return f"dead > {cap_s:g} s"
    return f"{median(ok):.3f} ({max(ok):.2f})" + (f" {dead} dead" if dead else "")


def run(runs: int, cap_s: float) -> dict:
    """Every case; prints the table and returns what the JSON line holds."""
    results = {case: cycles(*case, runs, cap_s) for case in CASES}
    print(f"LAN flows across failover, medians of {runs} (max); switch → first answer of an existing LAN flow")
    head = ("probes", "IPv4 NAT", "detect s", "failover→v4", "failover→v6", "failback→v4", "failback→v6",
            "fault→v4", "fault→v6", "repair→v4", "repair→v6")
    print("  ".join(f"{h:>16}" for h in head))
    report = {}
    for (probes, nat), r in results.items():
        row = (probes, nat, f"{median(r['detect']):.3f}", *(summary(r[k], cap_s) for k in (
            "failover4", "failover6", "failback4", "failback6", "fault4", "fault6", "repair4", "repair6")))
        print("  ".join(f"{c:>16}" for c in row))
        report[f"{probes}_probes_{nat}"] = {k: [None if x is None else round(x, 3) for x in v] for k, v in r.items()}
    return report


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, "LAN", run, argv)


def bench_main(doc: str, what: str, run, argv: list[str] | None) -> int:
    """The command line of a failover lab bench: --runs, --dead-cap-s, root, the table then one JSON line."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--dead-cap-s", type=float, default=5.0)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print(f"bench-failover ({what}) needs root (network namespaces, nftables)", file=sys.stderr)
        return 1
    started = time.monotonic()
    report = run(args.runs, args.dead_cap_s)
    print(f"(took {time.monotonic() - started:.0f} s; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
