"""Failover in the network lab: how fast it moves, and that it does not move by mistake.

    make bench-failover            (root: namespaces, nftables)
    .venv/bin/python -m tests.bench.bench_failover [--cuts 10] [--loss-s 120] [--flap-s 120] [--seeds 20]

The real agent (core, controller, probers, netlink watcher, iproute2 backend) runs against tests/lab/netlab.py.
Times are CLOCK_MONOTONIC, shared by the bench and the agent: a fault is timed just before the `ip`/`nft` command
that makes it (so the command's own few ms count against us), an event when the agent emits it (after its route
change), a flow packet when it arrives in the "internet" namespace.

- detect_carrier_s: the ISP side of the primary veth set down → `failover` emitted. Median of --cuts cuts.
- detect_blackhole_s: the primary ISP's default route replaced by a blackhole (the router's link stays up, only
  probes can tell) → `failover`. Median of --cuts.
  Both with hold_down_s = 1 and flap dampening off (flap_window_s = 0.1) so the cuts fit in a minute;
  neither setting plays any part in detection. Cuts are spaced by a random 1-2 s so they fall anywhere in the
  probe cycle.
- traffic_restored_s: during the carrier cuts, a flow of one UDP datagram every 5 ms from the router (unbound,
  each send follows the routing table) to 203.0.113.10: cut → first datagram that arrives through the backup
  ISP (its masquerade address). Hot standby.
- failback_s: default config (hold-down 10 s), a fresh agent per run (dampening would stretch repeated runs):
  carrier restored → first flow datagram through the primary again. Median of 3.
- false_failovers: (a) replay: the real decide() and ProbeSchedule at simulated time, 10 minutes of agent time
  per seed, --seeds seeds, each probe lost with 1 - 0.7^2 = 51% (30% loss each way); (b) the lab: nftables
  `numgen random mod 100 < 30 drop` on the primary ISP's forward path (both directions) for --loss-s seconds
  with the real probers. Reported: failovers in (a)'s first 10-minute run + (b); all runs in the table.
- flaps: the lab, default config: the primary's carrier down 3 s / up 3 s for --flap-s seconds → route changes
  (failover + failback events) in that window. The hold-down (10 s, doubled per flap) outlasts every 3 s
  up-phase, so the bound is 1. Also replayed with hold_down_s = 1 s: damped vs undamped.
- cellular trickle: bytes the router exchanged through the cellular ISP (nftables counters) while on the
  primary during the lossy run, extrapolated to a day.
- LAN flows (tests/bench/bench_failover_lan.py, --lan-runs cycles; --only-lan runs just that): an existing LAN
  flow's first answer after each switch, IPv4 and IPv6 (NAT66), with IPv4 or IPv6 probes.
- Three uplinks (tests/bench/bench_failover_uplinks.py, --uplinks-runs cycles; --only-uplinks runs just that):
  fiber -> second operator -> cellular and back in order, fault -> switch and switch -> first answer of an
  existing IPv4 and IPv6 LAN flow, with IPv4 or IPv6 probes.
Prints a table, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

from agent.config import FailoverConfig
from agent.failover.policy import Settings
from tests.bench import bench_failover_lan, bench_failover_uplinks
from tests.failover.simulated_lab import Fault, SimLab, World
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import FailoverLab

QUICK_CYCLE = {"hold_down_s": 1.0, "flap_window_s": 0.1}
FLOW_PERIOD_S = 0.005
LOSS_EACH_WAY = 0.30


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def cuts(lab: FailoverLab, n: int, kind: str, rng: random.Random) -> tuple[list[float], list[float]]:
    """n cuts of the primary (carrier or blackhole): detection times and traffic-restored times."""
    detect, restored = [], []
    with AgentUnderTest(lab, lab_config(lab, failover=QUICK_CYCLE)) as agent:
        agent.wait_healthy()
        flow = lab.flow(FLOW_PERIOD_S)
        agent.wait_for(lambda: flow.first_through("primary", 0), 5, "the flow")
        for _ in range(n):
            time.sleep(rng.uniform(1.0, 2.0))
            t0 = time.monotonic()
            (lab.carrier if kind == "carrier" else lab.blackhole)("primary", kind != "carrier")
            t_failover, _ = agent.wait_event("failover", t0, 10)
            detect.append(t_failover - t0)
            restored.append(agent.wait_for(lambda: flow.first_through("backup", t0), 5, "flow via backup") - t0)
            t1 = time.monotonic()
            (lab.carrier if kind == "carrier" else lab.blackhole)("primary", kind == "carrier")
            agent.wait_event("failback", t1, 15)
            agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "primary again")
    return detect, restored


def failbacks(lab: FailoverLab, n: int) -> list[float]:
    out = []
    for _ in range(n):
        with AgentUnderTest(lab, lab_config(lab)) as agent:
            agent.wait_healthy()
            flow = lab.flow(FLOW_PERIOD_S)
            agent.wait_for(lambda: flow.first_through("primary", 0), 5, "the flow")
            t0 = time.monotonic()
            lab.carrier("primary", False)
            agent.wait_event("failover", t0, 10)
            time.sleep(2.0)
            t1 = time.monotonic()
            lab.carrier("primary", True)
            out.append(agent.wait_for(lambda: flow.first_through("primary", t1), 60, "flow via primary") - t1)
            flow.close()
    return out


def lossy_lab(lab: FailoverLab, seconds: float) -> dict:
    with AgentUnderTest(lab, lab_config(lab)) as agent:
        agent.wait_healthy()
        t0 = time.monotonic()
        bytes0 = lab.bytes_through("backup")
        lab.loss("primary", int(LOSS_EACH_WAY * 100))
        time.sleep(seconds)
        cellular_bytes = lab.bytes_through("backup") - bytes0
        elapsed = time.monotonic() - t0
        lab.loss("primary", 0)
        kinds = agent.kinds(t0)
        primary = agent.state["links"]["primary"]
        return {"failovers": kinds.count("failover"), "degraded": "link_degraded" in kinds,
                "probe_loss": primary["loss"], "probes": primary["probes_sent"],
                "cellular_bytes": cellular_bytes, "seconds": elapsed}


def flapping_lab(lab: FailoverLab, seconds: float) -> dict:
    with AgentUnderTest(lab, lab_config(lab)) as agent:
        agent.wait_healthy()
        t0 = time.monotonic()
        up = True
        while time.monotonic() - t0 < seconds:
            up = not up
            lab.carrier("primary", up)
            time.sleep(3.0)
        lab.carrier("primary", True)
        kinds = agent.kinds(t0)
        return {"route_changes": kinds.count("failover") + kinds.count("failback"),
                "failovers": kinds.count("failover"), "hold_down_s": agent.state["hold_down_s"],
                "flap_penalty": agent.state["flap_penalty"]}


def replay_loss(seeds: int, minutes: float) -> list[int]:
    world = World(loss={"primary": 1 - (1 - LOSS_EACH_WAY) ** 2})
    return [len(SimLab(world=world, seed=seed).run(minutes * 60).route_changes()) for seed in range(1, seeds + 1)]


def replay_flaps(seconds: float, hold_down_s: float, hold_down_max_s: float) -> int:
    faults = [Fault("primary", 60.0 + k * 6.0, 63.0 + k * 6.0, "carrier") for k in range(int(seconds // 6))]
    cfg = FailoverConfig(hold_down_s=hold_down_s, hold_down_max_s=hold_down_max_s)
    lab = SimLab(Settings(cfg), World(faults=faults)).run(60 + seconds)
    return len([c for c in lab.route_changes() if 60.0 <= c[0] < 60.0 + seconds])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cuts", type=int, default=10)
    p.add_argument("--failbacks", type=int, default=3)
    p.add_argument("--loss-s", type=float, default=120.0)
    p.add_argument("--flap-s", type=float, default=120.0)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--lan-runs", type=int, default=10)
    p.add_argument("--only-lan", action="store_true")
    p.add_argument("--uplinks-runs", type=int, default=10)
    p.add_argument("--only-uplinks", action="store_true")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-failover needs root (network namespaces, nftables)", file=sys.stderr)
        return 1
    if args.only_lan:
        return bench_failover_lan.main(["--runs", str(args.lan_runs)])
    if args.only_uplinks:
        return bench_failover_uplinks.main(["--runs", str(args.uplinks_runs)])
    rng = random.Random(2026)
    started = time.monotonic()

    with FailoverLab() as lab:
        carrier_detect, carrier_restored = cuts(lab, args.cuts, "carrier", rng)
        blackhole_detect, blackhole_restored = cuts(lab, args.cuts, "blackhole", rng)
        failback = failbacks(lab, args.failbacks)
        lossy = lossy_lab(lab, args.loss_s)
        flapping = flapping_lab(lab, args.flap_s)
    replays = replay_loss(args.seeds, 10)
    flaps_damped = replay_flaps(args.flap_s, 1.0, FailoverConfig().hold_down_max_s)
    flaps_undamped = replay_flaps(args.flap_s, 1.0, 1.0)
    flaps_default_sim = replay_flaps(args.flap_s, FailoverConfig().hold_down_s, FailoverConfig().hold_down_max_s)
    trickle_per_day = lossy["cellular_bytes"] / lossy["seconds"] * 86400

    rows = [
        ("detect_carrier_s", f"{median(carrier_detect):.3f}", f"min {min(carrier_detect):.3f} max "
         f"{max(carrier_detect):.3f}, n={len(carrier_detect)}", "<= 0.5"),
        ("detect_blackhole_s", f"{median(blackhole_detect):.3f}", f"min {min(blackhole_detect):.3f} max "
         f"{max(blackhole_detect):.3f}, n={len(blackhole_detect)}", "<= 2"),
        ("traffic_restored_s (carrier)", f"{median(carrier_restored):.3f}",
         f"max {max(carrier_restored):.3f}, flow every {FLOW_PERIOD_S * 1000:.0f} ms", "<= 3"),
        ("traffic_restored_s (blackhole)", f"{median(blackhole_restored):.3f}", f"max {max(blackhole_restored):.3f}",
         ""),
        ("failback_s", f"{median(failback):.3f}", f"{', '.join(f'{x:.2f}' for x in failback)} (hold-down 10 s)",
         "<= 30"),
        ("false_failovers, replay", f"{replays[0]}", f"first 10 min; all {len(replays)} x 10 min: {sum(replays)}",
         "= 0"),
        ("false_failovers, lab", f"{lossy['failovers']}", f"{lossy['seconds']:.0f} s of nftables 30% each way, "
         f"probe loss {lossy['probe_loss']}", "= 0"),
        ("flaps, lab", f"{flapping['route_changes']}", f"{args.flap_s:.0f} s toggling every 3 s; hold-down now "
         f"{flapping['hold_down_s']:.0f} s", "bound 1"),
        ("flaps, replay default / 1 s damped / 1 s undamped", f"{flaps_default_sim} / {flaps_damped} / "
         f"{flaps_undamped}", "route changes in the same toggling", ""),
        ("cellular trickle while on primary", f"{trickle_per_day / 1e3:.0f} kB/day",
         f"{lossy['cellular_bytes']} B in {lossy['seconds']:.0f} s (nftables counters)", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'value':>12}  {'goal':>8}  detail")
    for name, value, detail, goal in rows:
        print(f"{name:<{width}}  {value:>12}  {goal:>8}  {detail}")
    print(f"(lab and replay took {time.monotonic() - started:.0f} s)")
    lan = bench_failover_lan.run(args.lan_runs, 5.0) if args.lan_runs else None
    uplinks = bench_failover_uplinks.run(args.uplinks_runs, 5.0) if args.uplinks_runs else None
    print(json.dumps({
        "detect_carrier_s": round(median(carrier_detect), 4),
        "detect_blackhole_s": round(median(blackhole_detect), 4),
        "traffic_restored_s": round(median(carrier_restored), 4),
        "failback_s": round(median(failback), 3),
        "false_failovers": replays[0] + lossy["failovers"],
        "flaps": flapping["route_changes"],
        "detect_blackhole_max_s": round(max(blackhole_detect), 4),
        "traffic_restored_blackhole_s": round(median(blackhole_restored), 4),
        "false_failovers_replay_all": sum(replays),
        "replay_minutes": 10 * len(replays),
        "lab_loss_s": round(lossy["seconds"]),
        "flaps_replay_1s_damped": flaps_damped,
        "flaps_replay_1s_undamped": flaps_undamped,
        "cellular_trickle_bytes_per_day": round(trickle_per_day),
        "cuts": args.cuts,
        "lan": lan,
        "uplinks": uplinks,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
