"""Three uplinks — fiber, a second operator's line, cellular — as issue 13's "Done when" asks, IPv4 and IPv6.

    make bench-failover            (runs this after the two-uplink LAN part)
    .venv/bin/python -m tests.bench.bench_failover_uplinks [--runs 10]     (this part alone; root)
    .venv/bin/python -m tests.bench.bench_failover --only-uplinks [--uplinks-runs 10]

The real agent (core, failover controller over [[uplinks]] fiber / second / lte by priority, probers, netlink
watcher, iproute2 backend, the LAN flows part with NAT66) runs against tests/lab/lan.py with third=True and IPv6:
the router NATs the LAN's IPv4 with `snat` (the mapping stays on the old uplink's address unless relais flushes
it: the harder case), its ULA IPv6 by relais's NAT66. Two LAN flows at once, one UDP datagram every 20 ms each to
an echo server in "internet" that answers with the uplink it saw: a desk phone over IPv4, a flow over IPv6.

One cycle, four switches; a fault blackholes both families' defaults at the ISP (the router's link stays up, only
the probes can tell):
    fiber blackholed          → failover fiber → second   (never cellular: counted if it happens)
    second blackholed too     → failover second → lte
    second restored           → failback lte → second
    fiber restored            → failback second → fiber
--runs cycles on one agent per case (hold-down 1 s, flap dampening off so that they fit in a minute; detection
does not depend on either). Cases: probes over IPv4 (3 x ICMP) and over IPv6 (3 x ICMPv6). Times are
CLOCK_MONOTONIC, shared by the bench and the agent; a fault is timed before its first `ip` command.
- fault → switch: the fault (or its repair) → the switch event (emitted after the routes of both families moved).
- switch → answer v4 / v6: the switch event → the first answer, through the new uplink, to a datagram sent after
  the event. Capped at --dead-cap-s: beyond it the flow counts as dead.
Prints a table, then one JSON object as the last line.
"""
from __future__ import annotations

import sys
import time

from agent.config import from_dict
from tests.bench.bench_failover_lan import bench_main, summary
from tests.bench.bench_lan import answered_after
from tests.lab.netlab import GATEWAYS, INTERFACES, TARGETS
from tests.lab.netlab6 import TARGETS6
from tests.routes.netlab6 import GATEWAY6, blackhole6

ISP = {"fiber": "primary", "second": "second", "lte": "backup"}   # uplink name -> the lab ISP it goes through
STEPS = (   # (event, from, to, the ISP faulted or repaired, blackholed)
    ("failover", "fiber", "second", "primary", True),
    ("failover", "second", "lte", "second", True),
    ("failback", "lte", "second", "second", False),
    ("failback", "second", "fiber", "primary", False),
)
CASES = ("ipv4", "ipv6")


def uplinks_config(lab, probes: str = "ipv4"):
    """[[uplinks]] fiber, second, lte (cellular, hot standby) over the lab's three ISPs, each with its IPv6
    gateway; NAT66 for the LAN."""
    uplinks = [{"name": name, "interface": INTERFACES[isp], "gateway": GATEWAYS[isp], "gateway6": GATEWAY6,
                "priority": i + 1, **({"kind": "cellular", "interface": ""} if isp == "backup" else {})}
               for i, (name, isp) in enumerate(ISP.items())]
    return from_dict({"board": {"backend": "iproute2", "cellular_interface": INTERFACES["backup"],
                                "netns": lab.router},
                      "uplinks": uplinks,
                      "probes": {"targets": list(TARGETS6 if probes == "ipv6" else TARGETS)},
                      "failover": {"hold_down_s": 1.0, "flap_window_s": 0.1},
                      "traffic": {"lan_interface": "lan0", "nat6": True}}, source="<bench>")


def fault(lab, isp: str, on: bool) -> None:
    lab.blackhole(isp, on)
    blackhole6(lab, isp, on)


def cycles(probes: str, runs: int, cap_s: float) -> dict:
    from agent.flows import LanFlows
    from tests.lab.agent import AgentUnderTest
    from tests.lab.lan import LanLab
    out: dict = {"wrong_switches": [], **{f"{frm}->{to}": {"switch": [], "v4": [], "v6": []}
                                          for _, frm, to, _, _ in STEPS}}
    with LanLab("snat", ipv6=True, third=True) as lab:
        parts = []

        def attach_flows(core, cfg) -> None:
            parts.append(LanFlows(core, cfg))
            parts[0].start()
        with AgentUnderTest(lab, uplinks_config(lab, probes), attach_more=attach_flows) as agent:
            try:
                agent.wait_for(lambda: agent.state.get("state") == "primary" and all(
                    agent.state["links"][u]["status"] == "up" for u in ISP)
                    and agent.core.state["flows"].get("applied"), 20, "every uplink up, the flows table applied")
                phones = {"v4": lab.phone(), "v6": lab.phone(ipv6=True)}
                for phone in phones.values():
                    agent.wait_for(lambda: phone.first_answer(0, "primary"), 5, "the phones via the fiber")
                for _ in range(runs):
                    for kind, frm, to, isp, on in STEPS:
                        t0 = time.monotonic()
                        fault(lab, isp, on)
                        switched, event = agent.wait_event(kind, t0, 20)
                        if (event.data["from"], event.data["to"]) != (frm, to):
                            out["wrong_switches"].append((kind, event.data["from"], event.data["to"]))
                        row = out[f"{frm}->{to}"]
                        row["switch"].append(switched - t0)
                        for family, phone in phones.items():
                            row[family].append(answered_after(agent, phone, switched, ISP[to], cap_s))
                    agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "the fiber again")
                    time.sleep(0.5)
            finally:
                for part in parts:
                    part.stop()
    return out


def run(runs: int, cap_s: float) -> dict:
    """Both cases; prints the table and returns what the JSON line holds."""
    results = {probes: cycles(probes, runs, cap_s) for probes in CASES}
    print(f"Three uplinks (fiber, second operator, cellular), medians of {runs} (max)")
    head = ("probes", "switch", "fault→switch s", "switch→v4 answer", "switch→v6 answer")
    print("  ".join(f"{h:>24}" for h in head))
    report: dict = {}
    for probes, r in results.items():
        for kind, frm, to, _, _ in STEPS:
            row = r[f"{frm}->{to}"]
            print("  ".join(f"{c:>24}" for c in (probes, f"{kind} {frm}→{to}", summary(row["switch"], cap_s),
                                                  summary(row["v4"], cap_s), summary(row["v6"], cap_s))))
        print(f"{probes:>24}  wrong switches: {len(r['wrong_switches'])} {r['wrong_switches'] or ''}")
        report[f"{probes}_probes"] = {k: v if k == "wrong_switches" else
                                      {m: [None if x is None else round(x, 3) for x in xs] for m, xs in v.items()}
                                      for k, v in r.items()}
    return report


def main(argv: list[str] | None = None) -> int:
    return bench_main(__doc__, "three uplinks", run, argv)


if __name__ == "__main__":
    sys.exit(main())
