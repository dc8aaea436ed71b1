"""IPv6 on the route lab (tests/routes/netlab.py), documentation prefixes only (2001:db8::/32):

    router wan0  2001:db8:1::2/64 ── isp1 down0 2001:db8:1::1/64 + fe80::1 ── up0 2001:db8:11::1 ─┐
    router wwan0 2001:db8:2::2/64 ── isp2 down0 2001:db8:2::1/64 + fe80::1 ── up0 2001:db8:12::1 ─┴─ net
    net: 2001:db8:ff::10 (a TCP server, like 203.0.113.10 for IPv4)

Both ISPs answer at fe80::1, as real ones do: a link-local gateway only means something with its interface.
The ISPs route (no NAT66, as IPv6 ISPs do): `net` routes each uplink's prefix back through its ISP, so the source
address a server sees tells which uplink a flow took. Addresses are added with nodad: no second of DAD
(tentative addresses cannot be used as a source) at every build.
"""
from __future__ import annotations

import socket
import time

from tests.routes.netlab import Lab, RouteMonitor, in_netns, sh

RTMGRP_IPV6_ROUTE = 0x400
GATEWAY6 = "fe80::1"
ADDRESS6 = {"primary": "2001:db8:1::2", "backup": "2001:db8:2::2", "second": "2001:db8:3::2"}
INTERNET_HOST6 = "2001:db8:ff::10"


def seen_as6(peer: str) -> str:
    return {address: uplink for uplink, address in ADDRESS6.items()}.get(peer, peer)


def add_ipv6(lab: Lab) -> None:
    """Give a built lab IPv6 everywhere; the router gets addresses but no IPv6 route beyond its links."""
    for n, isp, dev in lab.isps:   # a third uplink too, when the lab has one
        _addr(lab.router, dev, f"2001:db8:{n}::2/64")
        _addr(isp, "down0", f"2001:db8:{n}::1/64")
        _addr(isp, "down0", f"{GATEWAY6}/64")
        _addr(isp, "up0", f"2001:db8:1{n}::1/64")
        _addr(lab.net, f"n{n}", f"2001:db8:1{n}::2/64")
        sh("ip", "netns", "exec", isp, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        sh("ip", "-n", isp, "-6", "route", "add", "default", "via", f"2001:db8:1{n}::2")
        sh("ip", "-n", lab.net, "-6", "route", "add", f"2001:db8:{n}::/64", "via", f"2001:db8:1{n}::1")
    _addr(lab.net, "lo", f"{INTERNET_HOST6}/128")
    wait_for_dad(lab)


def wait_for_dad(lab: Lab, timeout: float = 10.0) -> None:
    """Until the kernel's own link-local addresses have passed duplicate address detection (about a second
    after the veths came up): before that, neighbour discovery and forwarding use them only partly."""
    deadline = time.monotonic() + timeout
    while any(sh("ip", "-n", ns, "-6", "addr", "show", "tentative").strip() for ns in lab.namespaces):
        if time.monotonic() > deadline:
            raise RuntimeError(f"IPv6 addresses still tentative after {timeout} s")
        time.sleep(0.05)


def _addr(ns: str, dev: str, address: str) -> None:
    sh("ip", "-n", ns, "-6", "addr", "add", address, "dev", dev, "nodad")


def blackhole6(lab: Lab, link: str, on: bool) -> None:
    """The ISP's IPv6 default replaced by a blackhole: the router's link and IPv4 stay as they are."""
    n = {"primary": 1, "backup": 2, "second": 3}[link]     # "second": the third ISP of Lab(third=True)
    isp = getattr(lab, f"isp{n}")
    route = ["blackhole", "default"] if on else ["default", "via", f"2001:db8:1{n}::2"]
    sh("ip", "-n", isp, "-6", "route", "replace", *route)


def exit_taken6(lab: Lab, bind: str | None = None, timeout: float = 5) -> str:
    """Open a TCP connection from the router to the IPv6 internet host; return the uplink it went through."""
    def connect() -> socket.socket:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        if bind:
            s.bind((bind, 0))
        return s
    server = in_netns(lab.net, lambda: socket.create_server((INTERNET_HOST6, 0), family=socket.AF_INET6))
    with server:
        server.settimeout(timeout)
        client = in_netns(lab.router, connect)
        with client:
            client.settimeout(timeout)
            client.connect((INTERNET_HOST6, server.getsockname()[1]))
            conn, peer = server.accept()
            conn.close()
    return seen_as6(peer[0])


def route6_monitor(lab: Lab) -> RouteMonitor:
    """The router's IPv6 route notifications (tests.routes.netlab.RouteMonitor decodes both families)."""
    def open_socket() -> socket.socket:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        s.bind((0, RTMGRP_IPV6_ROUTE))
        s.setblocking(False)
        return s
    return RouteMonitor(in_netns(lab.router, open_socket))
