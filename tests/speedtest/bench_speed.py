"""Speed measurement in the netns lab: what one measurement costs on the cellular uplink with the default settings
(bytes on the wire from the backup ISP's nftables counters, against the payload and the budget check's estimate),
and how close the measured speed comes to the rate tc tbf shapes the link to (median of runs, ratio). Needs root.

    python -m tests.speedtest.bench_speed [--runs 5] [--rates 5,20,50]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from agent.config import SpeedtestConfig
from agent.speedtest.measure import Plan
from agent.speedtest.service import cost_estimate
from tests.drills.servers import make_ca, make_server_cert
from tests.lab.netlab import FailoverLab
from tests.speedtest.lab import IPERF3_HOST, SPEED_HOST, SpeedInternet, from_router, shape_down, shape_up

DEFAULTS = SpeedtestConfig()


def cellular_plan(**kw) -> Plan:
    """What the agent measures the cellular uplink with under the default settings."""
    return Plan(max_bytes=DEFAULTS.cellular_max_bytes, timeout_s=DEFAULTS.timeout_s, **kw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rates", default="5,20,50", help="shaped rates, Mbit/s")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as d, FailoverLab() as lab:
        ca = make_ca(Path(d), "bench-ca")
        net = SpeedInternet(lab, tls=make_server_cert(Path(d), ca, SPEED_HOST))
        try:
            http = f"http://{SPEED_HOST}/bytes/1000000000"
            plans = {
                "http download": cellular_plan(url=http),
                "https download": cellular_plan(url=f"https://{SPEED_HOST}/bytes/1000000000", ca_file=str(ca[0])),
                "http download + upload": cellular_plan(url=http, upload_url=f"http://{SPEED_HOST}/upload"),
                "iperf3 down + up": cellular_plan(iperf3=IPERF3_HOST),
            }
            print(f"== one measurement on the cellular uplink, default settings (cellular_max_bytes "
                  f"{DEFAULTS.cellular_max_bytes}, timeout_s {DEFAULTS.timeout_s:g}), backup shaped to 20 Mbit/s down "
                  "and up")
            print("| method | payload bytes | bytes on the wire (nft) | wire / payload | budget estimate | "
                  "estimate covers it |")
            print("|---|---:|---:|---:|---:|---|")
            shape_down(lab, "backup", 20)
            shape_up(lab, "backup", 20)
            for name, plan in plans.items():
                before = lab.bytes_through("backup")
                result = from_router(lab, plan, "backup")
                wire = lab.bytes_through("backup") - before
                assert result.ok and result.error is None, (name, result)
                estimate = cost_estimate(plan)
                print(f"| {name} | {result.bytes} | {wire} | {wire / result.bytes:.3f} | {estimate} | "
                      f"{'yes' if estimate >= wire else 'NO'} |")

            print(f"\n== measured speed / shaped rate through the backup, median of {args.runs} runs, default "
                  "cellular settings")
            print("| shaped Mbit/s | http down | http up | iperf3 down | iperf3 up | http down min-max |")
            print("|---:|---:|---:|---:|---:|---|")
            for rate in rates:
                shape_down(lab, "backup", rate)
                shape_up(lab, "backup", rate)
                ratios: dict[str, list[float]] = {"down": [], "up": [], "i_down": [], "i_up": []}
                for _ in range(args.runs):
                    r = from_router(lab, cellular_plan(url=http, upload_url=f"http://{SPEED_HOST}/upload"), "backup")
                    assert r.ok and r.error is None, r
                    ratios["down"].append(r.down_bps / (rate * 1e6))
                    ratios["up"].append(r.up_bps / (rate * 1e6))
                    i = from_router(lab, cellular_plan(iperf3=IPERF3_HOST), "backup")
                    assert i.ok and i.error is None, i
                    ratios["i_down"].append(i.down_bps / (rate * 1e6))
                    ratios["i_up"].append(i.up_bps / (rate * 1e6))
                med = {k: statistics.median(v) for k, v in ratios.items()}
                print(f"| {rate:g} | {med['down']:.3f} | {med['up']:.3f} | {med['i_down']:.3f} | {med['i_up']:.3f} | "
                      f"{min(ratios['down']):.3f}-{max(ratios['down']):.3f} |")
        finally:
            net.close()


if __name__ == "__main__":
    main()
