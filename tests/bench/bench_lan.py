"""LAN flows: how soon a LAN desk phone's existing UDP flow is answered again after a switch, with and without
relais's conntrack flush, under the two kinds of NAT a router may have.

    make bench-lan                 (root: namespaces, nftables)
    .venv/bin/python -m tests.bench.bench_lan [--runs 10] [--dead-cap-s 5] [--watch-s 30]

The real agent runs against tests/lab/lan.py: a LAN namespace behind the lab router, which NATs the LAN out of
whichever uplink carries traffic, `masquerade` or `snat` (see that file for why both). The phone sends one
datagram every 20 ms from one fixed port to an echo server in "internet", which answers with the address it
saw (so the phone knows the uplink). Times are CLOCK_MONOTONIC, shared by the bench and the agent.

Per NAT mode and flush on/off, --runs cycles on one agent (hold-down 1 s, flap dampening off so the cycles fit
in a minute): blackhole the primary's ISP → `failover`; restore it → `failback`. Measured for each switch:
- switch_to_answer_s: the switch event (emitted after the route change) → the first answer through the new
  uplink to a datagram sent after the event. Capped at --dead-cap-s: beyond it the flow counts as dead.
- fault_to_answer_s (failover): the blackhole → that answer, which adds the detection time.
- the flush: entries deleted and how long it took (board/routes/conntrack.py NatForgetter results).
Then, for snat without the flush, one longer watch (--watch-s): the flow stays dead and its conntrack entry's
timeout is refreshed by the phone's own datagrams, so "until its conntrack timeout" means as long as it talks.
Prints a table, then one JSON object as the last line.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.lan import PHONE_PORT, UPLINK_ADDRESS, LanLab
from tests.routes.netlab import sh

QUICK_CYCLE = {"hold_down_s": 1.0, "flap_window_s": 0.1}


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def answered_after(agent, phone, since: float, via: str, cap_s: float) -> float | None:
    """Seconds from `since` to the phone's first answer through `via`, None if none within cap_s."""
    try:
        return agent.wait_for(lambda: phone.first_answer(since, via), cap_s, "an answer") - since
    except AssertionError:
        return None


def cycles(nat: str, flush: bool, runs: int, cap_s: float, watch_s: float) -> dict:
    out: dict = {"failover": [], "failback": [], "fault_to_answer": [], "flushes": [], "watch": None}
    with LanLab(nat) as lab, AgentUnderTest(lab, lab_config(lab, failover=QUICK_CYCLE)) as agent:
        routes = agent.controller.routes
        if not flush:
            routes.forget_nat = lambda addresses: None
        agent.wait_healthy()
        phone = lab.phone()
        agent.wait_for(lambda: phone.first_answer(0, "primary"), 5, "the phone")
        for _ in range(runs):
            t0 = time.monotonic()
            lab.blackhole("primary", True)
            switched, _ = agent.wait_event("failover", t0, 10)
            took = answered_after(agent, phone, switched, "backup", cap_s)
            out["failover"].append(took)
            out["fault_to_answer"].append(None if took is None else switched + took - t0)
            t1 = time.monotonic()
            lab.blackhole("primary", False)
            switched, _ = agent.wait_event("failback", t1, 15)
            out["failback"].append(answered_after(agent, phone, switched, "primary", cap_s))
            agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "primary again")
            time.sleep(0.5)
        out["flushes"] = [(r.deleted, r.took_s, r.error) for r in routes.nat.results]
        if nat == "snat" and not flush and watch_s > 0:
            t0 = time.monotonic()
            lab.blackhole("primary", True)
            switched, _ = agent.wait_event("failover", t0, 10)
            time.sleep(watch_s)   # a stretch observed, reported as measured
            out["watch"] = {"seconds": round(time.monotonic() - switched, 1),
                            "answers": phone.answered_since(switched),
                            "sent": sum(1 for t in list(phone.sent_at) if t >= switched),
                            "entry": entry(lab)}
    return out


def entry(lab: LanLab) -> dict | None:
    """The phone's conntrack entry in the router: its NAT address and remaining timeout (s), from /proc."""
    text = sh("ip", "netns", "exec", lab.router, "cat", "/proc/net/nf_conntrack", check=False)
    for line in text.splitlines():
        words = line.split()
        if f"sport={PHONE_PORT}" in words and "udp" in words:
            dst = [w[4:] for w in words if w.startswith("dst=")]
            return {"nat_address": dst[1], "timeout_s": int(words[4]),
                    "uplink": next((u for u, a in UPLINK_ADDRESS.items() if a == dst[1]), "?")}
    return None


def summary(xs: list[float | None], cap_s: float) -> str:
    """The median of the runs answered, and how many were not (dead beyond cap_s)."""
    ok = [x for x in xs if x is not None]
    dead = len(xs) - len(ok)
    if not ok:
        return f"dead > {cap_s:g} s"
    return f"{median(ok):.3f}" + (f" ({dead} dead)" if dead else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--dead-cap-s", type=float, default=5.0)
    p.add_argument("--watch-s", type=float, default=30.0)
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        print("bench-lan needs root (network namespaces, nftables)", file=sys.stderr)
        return 1
    started = time.monotonic()
    results = {}
    for nat in ("masquerade", "snat"):
        for flush in (True, False):
            results[(nat, flush)] = cycles(nat, flush, args.runs, args.dead_cap_s, args.watch_s)

    print(f"{'NAT':<11} {'flush':<5} {'failover→answer s':>20} {'failback→answer s':>20} {'fault→answer s':>16}"
          f"  flush: entries, ms (median)")
    report = {}
    for (nat, flush), r in results.items():
        deleted = [d for d, _, e in r["flushes"] if e is None]
        ms = [t * 1000 for _, t, e in r["flushes"] if e is None]
        errors = [e for _, _, e in r["flushes"] if e]
        flush_text = (f"{median(deleted):.0f}, {median(ms):.1f}" if deleted else "-") + \
            (f"; errors: {errors[0]}" if errors else "")
        print(f"{nat:<11} {'on' if flush else 'off':<5} {summary(r['failover'], args.dead_cap_s):>20} "
              f"{summary(r['failback'], args.dead_cap_s):>20} {summary(r['fault_to_answer'], args.dead_cap_s):>16}"
              f"  {flush_text}")
        print(f"{'':<17} failover runs: {', '.join('dead' if x is None else f'{x:.2f}' for x in r['failover'])}")
        print(f"{'':<17} failback runs: {', '.join('dead' if x is None else f'{x:.2f}' for x in r['failback'])}")
        key = f"{nat}_{'flush' if flush else 'no_flush'}"
        report[key] = {"failover_s": r["failover"], "failback_s": r["failback"],
                       "fault_to_answer_s": r["fault_to_answer"], "flush_entries": deleted,
                       "flush_ms": [round(x, 2) for x in ms]}
        if r["watch"]:
            w = r["watch"]
            print(f"{'':<17} watched {w['seconds']} s after a failover: {w['answers']} answers to {w['sent']} "
                  f"datagrams; the entry still NATs to {w['entry'] and w['entry']['nat_address']} "
                  f"({w['entry'] and w['entry']['uplink']}), timeout {w['entry'] and w['entry']['timeout_s']} s")
            report[key]["watch"] = w
    print(f"(took {time.monotonic() - started:.0f} s; runs {args.runs}, dead cap {args.dead_cap_s:g} s)")
    print(json.dumps({k: {kk: ([None if x is None else round(x, 3) for x in vv] if isinstance(vv, list) else vv)
                          for kk, vv in v.items()} for k, v in report.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
