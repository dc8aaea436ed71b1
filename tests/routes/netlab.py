"""A small network lab for the route backends: a router namespace with two uplinks through two ISPs to an
"internet" namespace, built from real namespaces and veth pairs (see /work/shared/LAB.md).

    router ── wan0 ─── isp1 ─┐
           └─ wwan0 ── isp2 ─┴── net (203.0.113.10 on lo, a TCP server)

Each ISP masquerades towards the internet, so the address a server in `net` sees tells which ISP a flow took:
100.64.11.1 = through isp1 (primary), 100.64.12.1 = through isp2 (backup). `Lab(third=True)` adds a third uplink,
wan1 (100.64.3.2, gateway 100.64.3.1) through isp3, seen as 100.64.13.1 ("second": a second operator's line).
"""
from __future__ import annotations

import ctypes
import itertools
import os
import socket
import struct
import subprocess
import threading
from typing import Callable, TypeVar

from pyroute2.netlink.rtnl.rtmsg import rtmsg

PREFIX = "rlr-"
INTERNET_HOST = "203.0.113.10"
SEEN_AS = {"100.64.11.1": "primary", "100.64.12.1": "backup", "100.64.13.1": "second"}
CLONE_NEWNET = 0x40000000
RTMGRP_IPV4_ROUTE = 0x40
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
_counter = itertools.count()
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def sh(*args: str, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _no_dad() -> None:
    """In the calling thread's network namespace (in_netns): /proc/sys/net is the namespace's own."""
    for scope in ("all", "default"):
        with open(f"/proc/sys/net/ipv6/conf/{scope}/accept_dad", "w") as f:
            f.write("0")


def in_netns(ns: str, fn: Callable[[], T]) -> T:
    """Run fn in a thread that has entered `ns`: sockets it creates belong to that namespace for good."""
    result: dict[str, object] = {}

    def run() -> None:
        try:
            fd = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {ns}")
            finally:
                os.close(fd)
            result["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


class Lab:
    def __init__(self, third: bool = False) -> None:
        tag = f"{os.getpid() % 100000}{next(_counter)}"
        self.router, self.isp1, self.isp2, self.net = (f"{PREFIX}{tag}-{n}" for n in ("r", "i1", "i2", "net"))
        self.namespaces = [self.router, self.isp1, self.isp2, self.net]
        self.third = third
        if third:
            self.isp3 = f"{PREFIX}{tag}-i3"
            self.namespaces.append(self.isp3)
        self._server: socket.socket | None = None

    @property
    def isps(self) -> list[tuple[int, str, str]]:
        """(n, ISP namespace, the router's device) of each uplink: 100.64.<n>.2 on the router's side."""
        isps = [(1, self.isp1, "wan0"), (2, self.isp2, "wwan0")]
        return isps + [(3, self.isp3, "wan1")] if self.third else isps

    def __enter__(self) -> "Lab":
        try:
            self.build()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()

    def build(self) -> None:
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            # No duplicate address detection in the lab, whose addresses are unique by construction: the kernel's
            # link-local addresses are usable at once, not a second or two later at every IPv6 build (netlab6.py
            # waits for that). Set before any veth exists: a new interface takes the namespace's default.
            in_netns(ns, _no_dad)
        for n, isp, dev in self.isps:
            self.veth(self.router, dev, f"100.64.{n}.2/24", isp, "down0", f"100.64.{n}.1/24")
            self.veth(isp, "up0", f"100.64.1{n}.1/30", self.net, f"n{n}", f"100.64.1{n}.2/30")
            sh("ip", "-n", isp, "route", "add", "default", "via", f"100.64.1{n}.2")
            sh("ip", "netns", "exec", isp, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            subprocess.run(["ip", "netns", "exec", isp, "nft", "-f", "-"], check=True, text=True, input=(
                "table ip nat {\n chain post {\n  type nat hook postrouting priority 100;\n"
                '  oifname "up0" masquerade\n }\n}\n'))
        sh("ip", "-n", self.net, "addr", "add", f"{INTERNET_HOST}/32", "dev", "lo")
        self._server = in_netns(self.net, lambda: socket.create_server((INTERNET_HOST, 0)))
        self._server.settimeout(5)

    def veth(self, ns_a: str, dev_a: str, addr_a: str, ns_b: str, dev_b: str, addr_b: str) -> None:
        sh("ip", "-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b, "netns", ns_b)
        for ns, dev, addr in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")

    def destroy(self) -> None:
        if self._server is not None:
            self._server.close()
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)

    # ---- observing -------------------------------------------------------------------------------------
    def ip(self, *args: str, ns: str | None = None) -> str:
        return sh("ip", "-n", ns or self.router, *args)

    @property
    def port(self) -> int:
        return self._server.getsockname()[1]

    def accept(self) -> tuple[socket.socket, str]:
        """The next connection to the internet host, and the uplink it came through."""
        conn, (peer, _) = self._server.accept()
        return conn, SEEN_AS.get(peer, peer)

    def exit_taken(self, bind: str | None = None, timeout: float = 5) -> str:
        """Open a TCP connection from the router to the internet host; return the uplink it went through."""
        def connect() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(timeout)
            if bind:
                s.bind((bind, 0))
            return s
        client = in_netns(self.router, connect)
        with client:
            client.connect((INTERNET_HOST, self.port))
            conn, uplink = self.accept()
            conn.close()
        return uplink

    def route_monitor(self) -> "RouteMonitor":
        return RouteMonitor(in_netns(self.router, _route_socket))


def _route_socket() -> socket.socket:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.bind((0, RTMGRP_IPV4_ROUTE))
    s.setblocking(False)
    return s


class RouteMonitor:
    """Records the router's IPv4 route notifications, to replay what the main table looked like between them."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self.events: list[tuple[str, dict]] = []

    def collect(self) -> list[tuple[str, dict]]:
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return self.events
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind in (RTM_NEWROUTE, RTM_DELROUTE):
                    msg = rtmsg(data[offset:offset + length])
                    msg.decode()
                    self.events.append(("new" if kind == RTM_NEWROUTE else "del", {
                        "table": msg.get("table"), "dst_len": msg["dst_len"], "priority": msg.get("priority") or 0,
                        "oif": msg.get("oif"), "replace": bool(msg["header"]["flags"] & 0x100)}))
                offset += (length + 3) & ~3

    def close(self) -> None:
        self._sock.close()


def main_defaults_after_each(initial: dict[int, int], events: list[tuple[str, dict]]) -> list[dict[int, int]]:
    """Replay notifications on the main table's default routes ({metric: oif}); one snapshot per event."""
    table = dict(initial)
    snapshots = []
    for kind, r in events:
        if r["table"] != 254 or r["dst_len"] != 0:
            continue
        if kind == "new":
            table[r["priority"]] = r["oif"]
        else:
            table.pop(r["priority"], None)
        snapshots.append(dict(table))
    return snapshots
