"""The speed lab: the failover lab (tests/lab/netlab.py) with a speed server in the "internet" namespace and
links shaped by tc tbf (no netem on this kernel; tbf is there, /work/shared/LAB.md)."""
from __future__ import annotations

from tests.routes.netlab import sh

SPEED_HOST = "192.0.2.90"
ROUTER_SIDE = {"primary": "wan0", "backup": "wwan0"}


def shape_down(lab, link: str, mbit: float) -> None:
    """What reaches the router through `link`'s ISP, at most `mbit` Mbit/s (tbf on the ISP's side of the veth)."""
    _tbf(lab.isp[link], "down0", mbit)


def shape_up(lab, link: str, mbit: float) -> None:
    """What the router sends through `link`, at most `mbit` Mbit/s (tbf on the router's interface)."""
    _tbf(lab.router, ROUTER_SIDE[link], mbit)


def _tbf(ns: str, dev: str, mbit: float) -> None:
    # burst: one 10 ms worth of bytes, at least a 64 KiB GSO packet (else tbf has to split every one of them)
    burst = max(int(mbit * 1e6 / 8 / 100), 65536)
    sh("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate", f"{mbit}mbit",
       "burst", str(burst), "latency", "50ms")
