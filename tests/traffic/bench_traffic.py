"""Traffic classes in the netns lab: a LAN phone call (DSCP EF, one datagram every 20 ms, echoed) during a bulk
download of 4 TCP streams over the cellular link shaped to 5 Mbit/s (tbf, 200 ms queue, in the operator's
namespace), without classes, with bulk limited to 1000 kbit/s, with bulk blocked; then during an upload of class
normal (2 streams) over an uplink shaped to 2 Mbit/s, without classes and with htb (cellular_upload_kbit 2000).
Medians of runs. Needs root.

    python -m tests.traffic.bench_traffic [--runs 7] [--seconds 5] [--skip-download]
"""
from __future__ import annotations

import argparse
import statistics
import time

from agent.config import from_dict
from agent.traffic import board_rules
from board.traffic import Limit, Plan, TrafficRules
from tests.traffic.lab import BULK_PORT, CellLab

CASES = ("none", "limit", "block")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--skip-download", action="store_true")
    args = parser.parse_args()
    cfg = from_dict({"traffic": {"bulk": [{"name": "downloads", "proto": "tcp", "port": BULK_PORT}]}}).traffic
    rules = board_rules(cfg)
    plans = {"limit": Plan(rules, "wwan0", (("bulk", Limit("limit", 1000)),)),
             "block": Plan(rules, "wwan0", (("bulk", Limit("block")),))}
    results: dict[str, list] = {c: [] for c in CASES}
    with CellLab() as lab:
        idle = lab.phone_call(args.seconds)
        traffic = TrafficRules(lab.router)
        for run in range(0 if args.skip_download else args.runs):
            download = lab.download()
            time.sleep(1.0)
            for case in CASES:
                if case != "none":
                    traffic.apply(plans[case])
                    time.sleep(1.0)
                rate = download.rate_kbit(1.0)
                call = lab.phone_call(args.seconds)
                results[case].append((call, rate))
                print(f"run {run + 1} {case:5}: download {rate:6.0f} kbit/s, loss {call.loss_pct:.2f} %, "
                      f"jitter {call.jitter_ms:.2f} ms, rtt median {call.rtt_median_ms:.1f} ms, "
                      f"p99 {call.rtt_p99_ms:.1f} ms", flush=True)
            traffic.remove()
            download.close()
            time.sleep(1.0)      # the operator's queue drains before the next run
        # htb first, then without: the other way round the modem's queue that "none" filled would drain for
        # seconds under htb (fed at 95 % of its rate) and be counted against htb
        up: dict[str, list] = {"htb": [], "none": []}
        lab.shape_up("2mbit")
        for run in range(args.runs):
            traffic.apply(Plan(rules, "wwan0", (("bulk", Limit("limit", 1000)),), upload_kbit=2000))
            upload = lab.upload()
            time.sleep(1.0)
            for case in up:
                if case == "none":
                    traffic.remove()
                    time.sleep(1.0)
                rate = upload.rate_kbit(1.0)
                call = lab.phone_call(args.seconds)
                up[case].append((call, rate))
                print(f"run {run + 1} upload {case:4}: upload {rate:6.0f} kbit/s, loss {call.loss_pct:.2f} %, "
                      f"jitter {call.jitter_ms:.2f} ms, rtt median {call.rtt_median_ms:.1f} ms, "
                      f"p99 {call.rtt_p99_ms:.1f} ms", flush=True)
            upload.close()
            time.sleep(1.5)      # the modem's queue drains before the next run
    print(f"\nidle link: loss {idle.loss_pct:.2f} %, jitter {idle.jitter_ms:.2f} ms, "
          f"rtt median {idle.rtt_median_ms:.2f} ms")
    _table(results, "bulk download kbit/s", args.runs)
    _table(up, "normal upload kbit/s", args.runs)


def _table(results: dict[str, list], what: str, runs: int) -> None:
    if not any(results.values()):
        return
    print(f"\n| classes (median of {runs}) | phone loss % | jitter ms | RTT median ms | RTT p99 ms | {what} |")
    print("|---|---:|---:|---:|---:|---:|")
    for case in results:
        calls = [c for c, _ in results[case]]
        med = lambda f: statistics.median(f(c) for c in calls)     # noqa: E731
        print(f"| {case} | {med(lambda c: c.loss_pct):.2f} | {med(lambda c: c.jitter_ms):.2f} | "
              f"{med(lambda c: c.rtt_median_ms):.1f} | {med(lambda c: c.rtt_p99_ms):.1f} | "
              f"{statistics.median(r for _, r in results[case]):.0f} |")
        worst = max(calls, key=lambda c: c.jitter_ms)
        print(f"|   worst run | {max(c.loss_pct for c in calls):.2f} | {worst.jitter_ms:.2f} | | "
              f"{max(c.rtt_p99_ms for c in calls):.1f} | |")


if __name__ == "__main__":
    main()
