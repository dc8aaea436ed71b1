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


IPERF3_HOST = "192.0.2.91"
IPERF3_PORT = 5201
BINDINGS = {"primary": ("wan0", "100.64.1.2"), "backup": ("wwan0", "100.64.2.2")}


class SpeedInternet:
    """Routes on both uplinks (the primary preferred), an HTTP speed server on SPEED_HOST:80, an HTTPS one on
    SPEED_HOST:443 (certificate `tls`), an iperf3 server on IPERF3_HOST:5201, all in the lab's "internet"."""

    def __init__(self, lab, tls: tuple | None = None):
        from tests.routes.netlab import in_netns
        from tests.speedtest.servers import SpeedServer, wait_listening
        import subprocess
        self.lab = lab
        lab.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan0")
        lab.ip("route", "add", "default", "via", "100.64.2.1", "dev", "wwan0", "metric", "20")
        for host in (SPEED_HOST, IPERF3_HOST):
            sh("ip", "-n", lab.net, "addr", "add", f"{host}/32", "dev", "lo")
        self.http = in_netns(lab.net, lambda: SpeedServer(SPEED_HOST, 80))
        self.https = in_netns(lab.net, lambda: SpeedServer(SPEED_HOST, 443, tls=tls)) if tls else None
        self.iperf3 = subprocess.Popen(["ip", "netns", "exec", lab.net, "iperf3", "-s", "-B", IPERF3_HOST, "-p",
                                        str(IPERF3_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(IPERF3_PORT, lab.net)

    def close(self) -> None:
        for server in (self.http, self.https):
            if server is not None:
                server.close()
        self.iperf3.terminate()
        self.iperf3.wait(5)


def from_router(lab, plan, link: str):
    """One measurement from the router namespace through `link` (its interface and address)."""
    from agent.linkmon.methods import Binding
    from agent.speedtest.measure import measure
    from tests.routes.netlab import in_netns
    return in_netns(lab.router, lambda: measure(plan, Binding(*BINDINGS[link])))
