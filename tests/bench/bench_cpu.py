"""The agent's CPU per hour of operation (make bench-cpu; BENCHMARKS.md, "Agent CPU").

A router's steady work is probing: every uplink probed every 0.2-1 s, every result through the core thread into
the failover policy, and the reporter's state tick. This runs the whole agent (tests/faults/virtual_agent.py: the
simulated modem and uplinks, the real core, failover, cellular, ledger and reporter; MQTT's network side not
started) in virtual time at the default [probes] and [failover] configuration, with 2 and with 3 [[uplinks]],
and measures the process's CPU seconds for one virtual hour of healthy operation: median of 5 runs. Per probe
result: the same CPU divided by the probe results the core received in that hour. The figures include the
virtual-time rig (scheduler, in-process modem simulator); the last lines time the failover policy alone on a
fixed schedule of probe results and ticks, which a busy machine disturbs less.

    python -m tests.bench.bench_cpu [--hours 1] [--runs 5] [--uplinks 2 3]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from agent.linkmon.schedule import Intervals
from agent.linkmon.simulated import SimulatedRouteCheck, SimulatedUplinks, SimulatedWatcher
from tests.cellular.agent_rig import VirtualProber
from tests.faults.virtual_agent import WholeAgent

TARGETS = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
UPLINKS = {   # as a site would write them: a fixed line first, the modem last
    2: [{"name": "fiber", "interface": "eth0", "kind": "ethernet", "priority": 10},
        {"name": "lte", "kind": "cellular", "priority": 30}],
    3: [{"name": "fiber", "interface": "eth0", "kind": "ethernet", "priority": 10},
        {"name": "starlink", "interface": "eth1", "kind": "starlink", "priority": 20},
        {"name": "lte", "kind": "cellular", "priority": 30}],
}


class UplinksAgent(WholeAgent):
    """The whole agent with every [[uplinks]] entry probed (the rig it extends wires primary and backup only)."""

    def _simulated_links(self, routes):
        p = self.config.probes
        specs = self.config.effective_uplinks()
        interfaces = {u.name: u.interface for u in specs}
        uplinks = SimulatedUplinks(seed=0, names=tuple(interfaces))
        intervals = Intervals(p.interval_s, p.backup_interval_s, p.trickle_interval_s)
        probers = {u.name: VirtualProber(u.name, u.interface, uplinks, list(u.targets or p.targets), intervals,
                                         self.core.post, self.clock, timeout_s=p.timeout_s)
                   for u in specs}
        watcher = SimulatedWatcher(uplinks, interfaces, self.core.post, clock=self.clock)
        return uplinks, probers, watcher, SimulatedRouteCheck(uplinks, routes, interfaces)


def one_run(n_uplinks: int, hours: float, workdir: Path) -> tuple[float, int]:
    """(CPU seconds, probe results) for `hours` of virtual operation once the agent is up and healthy."""
    extra = {"device": {"id": "bench-cpu"}, "probes": {"targets": TARGETS}, "failover": {},
             "uplinks": UPLINKS[n_uplinks]}
    a = UplinksAgent(workdir, extra=extra)
    try:
        best = UPLINKS[n_uplinks][0]["name"]
        assert a.pump(lambda: a.registered() and a.state("failover").get("state") == "primary"
                      and a.state("failover").get("active_uplink") == best, 300), "the agent did not come up"
        probers = a.failover.probers
        sent0 = sum(p.sent for p in probers.values())
        cpu0 = time.process_time()
        for _ in range(int(hours * 60)):
            a.advance(60)
            a.status_times.clear()
        cpu = time.process_time() - cpu0
        probes = sum(p.sent for p in probers.values()) - sent0
        assert a.state("failover").get("state") == "primary", "a healthy hour must stay on the best uplink"
        return cpu, probes
    finally:
        a.close()


def policy_only(n_uplinks: int, minutes: float = 10.0) -> float:
    """µs of CPU per probe result in the failover policy alone (decide: observe, assess, route), the tick's share
    included: the same probe and tick schedule as the agent's fixed lines (every link answering), no harness."""
    from agent.config import FailoverConfig
    from agent.failover import policy
    specs = tuple(policy.UplinkSpec(u["name"], u["priority"], u["kind"] == "cellular") for u in UPLINKS[n_uplinks])
    st, _ = policy.initial(policy.Settings(FailoverConfig(), 60.0, specs), 0.0)
    events: list[tuple[float, object]] = []
    for i in range(int(minutes * 600)):            # every 0.1 s a tick; every 0.2 s a probe result per uplink
        now = i / 10
        events.append((now, policy.Tick()))
        if i % 2 == 0:
            for spec in specs:
                events.append((now, policy.Probe(spec.name, TARGETS[(i // 2) % 3], True, now - 0.015, 15.0 + i % 7)))
    probes = sum(isinstance(e, policy.Probe) for _, e in events)
    cpu0 = time.process_time()
    for now, event in events:
        st, _ = policy.decide(st, event, now)
    return (time.process_time() - cpu0) / probes * 1e6


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.bench.bench_cpu")
    ap.add_argument("--hours", type=float, default=1.0, help="virtual hours per run (default 1)")
    ap.add_argument("--runs", type=int, default=5, help="runs per configuration; the median is reported")
    ap.add_argument("--uplinks", type=int, nargs="+", default=[2, 3], choices=sorted(UPLINKS))
    args = ap.parse_args(argv)
    print(f"agent CPU, default [probes]/[failover], {args.hours:g} virtual h per run, median of {args.runs}")
    for n in args.uplinks:
        cpus, per_probe = [], []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="relais-bench-cpu-") as tmp:
                cpu, probes = one_run(n, args.hours, Path(tmp))
            cpus.append(cpu / args.hours)
            per_probe.append(cpu / probes * 1e6)
        print(f"{n} uplinks: {median(cpus):.2f} CPU s per hour (runs {', '.join(f'{c:.2f}' for c in cpus)}), "
              f"{median(per_probe):.0f} µs per probe result ({probes / args.hours:.0f} results per hour)")
    for n in args.uplinks:
        us = [policy_only(n) for _ in range(args.runs)]
        print(f"{n} uplinks, the policy alone: {median(us):.1f} µs per probe result (runs "
              f"{', '.join(f'{u:.1f}' for u in us)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
