"""How long a route switch takes: prefer() wall time per backend, medians over many switches.

    sudo .venv/bin/python -m tests.bench.bench_routes [--switches N]

- iproute2: in the test lab (tests/routes/netlab.py: router namespace, two veth uplinks), alternating
  prefer("backup") / prefer("primary"); each call re-reads links, addresses, routes and rules from the kernel
  and re-points the two metric slots. Also: an idempotent prefer() (nothing to change) and status().
- networkmanager: against python-dbusmock's NetworkManager on a private bus: measures the D-Bus round trips
  (device lookup, GetAppliedConnection, Reapply) only; the real daemon then rewrites routes, not measured here.
Prints medians, p90 and ratios; record them in BENCHMARKS.md with the machine and load.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from typing import Callable

from board.routes import open_backend


def timed(fn: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p90 = statistics.quantiles(samples, n=10)[-1]
    print(f"{name:<44} median {median:7.3f} ms   p90 {p90:7.3f} ms   n={len(samples)}")
    return median


def bench_iproute2(n: int) -> dict[str, float]:
    from tests.routes.netlab import Lab
    with Lab() as lab:
        routes = open_backend("iproute2", primary_interface="wan0", cellular_interface="wwan0",
                              primary_gateway="100.64.1.1", backup_gateway="100.64.2.1", netns=lab.router)
        try:
            routes.prefer("primary")
            turn = iter(["backup", "primary"] * n)
            results = {
                "iproute2 prefer() switching": report("iproute2 prefer() switching uplink",
                                                      timed(lambda: routes.prefer(next(turn)), 2 * n)),
                "iproute2 prefer() unchanged": report("iproute2 prefer() already preferred",
                                                      timed(lambda: routes.prefer("primary"), n)),
                "iproute2 status()": report("iproute2 status()", timed(routes.status, n)),
            }
        finally:
            routes.close()
    return results


def bench_networkmanager(n: int) -> dict[str, float]:
    from dbusmock import SpawnedMock
    from dbusmock.testcase import BusType, PrivateDBus

    from tests.routes.test_networkmanager import TEMPLATE, FakeNetworkManager
    saved = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS")
    try:
        with PrivateDBus(BusType.SYSTEM) as bus, SpawnedMock.spawn_with_template(TEMPLATE, stdout=subprocess.DEVNULL) as mock:
            nm = FakeNetworkManager(mock, bus.address)
            eth0 = str(nm.control.AddEthernetDevice("eth0", "eth0", 30))
            modem = str(nm.control.AddModemDevice("modem0", "cdc-wdm0", "wwan0"))
            for device, conn in ((eth0, nm.connection("wired", "802-3-ethernet")),
                                 (modem, nm.connection("cellular", "gsm", ipv6="ignore"))):
                nm.control.MakeAvailable(device, conn)
                nm.activate(conn, device)
            routes = open_backend("networkmanager", primary_interface="eth0", cellular_interface="wwan0")
            turn = iter(["backup", "primary"] * n)
            return {
                "networkmanager prefer() switching": report("networkmanager (dbusmock) prefer() switching",
                                                            timed(lambda: routes.prefer(next(turn)), 2 * n)),
                "networkmanager status()": report("networkmanager (dbusmock) status()", timed(routes.status, n)),
            }
    finally:
        if saved is None:
            os.environ.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=200)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    results = bench_iproute2(args.switches)
    results |= bench_networkmanager(args.switches)
    print(f"ratio iproute2 switching / unchanged: "
          f"{results['iproute2 prefer() switching'] / results['iproute2 prefer() unchanged']:.2f}")


if __name__ == "__main__":
    main()
