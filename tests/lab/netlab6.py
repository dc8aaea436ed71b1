"""IPv6 on the failover lab: tests/routes/netlab6.py's addresses and routes, plus targets and servers for every
probe kind in the "internet" namespace, like the IPv4 ones:

    net: 2001:db8:ff::1-3 (ICMPv6 and TCP 443), 2001:db8:ff::53 (DNS), 2001:db8:ff::80 (HTTP 204)

The router starts with no IPv6 default route: the agent's iproute2 backend installs them (via fe80::1 on each
uplink, the ISPs' link-local address).
"""
from __future__ import annotations

import dataclasses
import http.server
import socket
import struct
import threading
import time

from agent.config import Config
from tests.lab.netlab import FailoverLab, Flow, _accept_and_close, _answer_dns, _Http204
from tests.routes.netlab import in_netns, sh
from tests.routes.netlab6 import GATEWAY6, INTERNET_HOST6, add_ipv6, seen_as6

TARGETS6 = ("2001:db8:ff::1", "2001:db8:ff::2", "2001:db8:ff::3")
DNS_HOST6 = "2001:db8:ff::53"
HTTP_HOST6 = "2001:db8:ff::80"


def add_ipv6_services(lab: FailoverLab) -> None:
    add_ipv6(lab)
    for host in (*TARGETS6, DNS_HOST6, HTTP_HOST6):
        sh("ip", "-n", lab.net, "-6", "addr", "add", f"{host}/128", "dev", "lo", "nodad")
    for host in TARGETS6:
        server = in_netns(lab.net, lambda h=host: socket.create_server((h, 443), family=socket.AF_INET6))
        lab._closers.append(server.close)
        lab._serve(_accept_and_close, server)
    # bound to its address, not ::, so that answers leave from it (LAB.md)
    dns = in_netns(lab.net, lambda: _udp6((DNS_HOST6, 53)))
    lab._closers.append(dns.close)
    lab._serve(_answer_dns, dns)
    httpd = in_netns(lab.net, lambda: _Http6Server((HTTP_HOST6, 80), _Http204))
    lab._closers.append(httpd.server_close)
    lab._closers.append(httpd.shutdown)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()


class _Http6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _udp6(addr) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(addr)
    return s


def with_ipv6_gateways(config: Config) -> Config:
    """The lab's config with the uplinks' IPv6 gateways (no router advertisement in the lab to learn them from)."""
    return dataclasses.replace(config, board=dataclasses.replace(config.board, primary_gateway6=GATEWAY6,
                                                                 backup_gateway6=GATEWAY6))


class Flow6(Flow):
    """Flow's IPv6 twin: one UDP datagram every period_s from the router (unbound: each send follows the IPv6
    routing table) to INTERNET_HOST6; the ISPs route without NAT, so the source address tells the uplink."""

    def __init__(self, lab: FailoverLab, period_s: float):   # not Flow.__init__: it opens IPv4 sockets
        self.period_s = period_s
        self.arrivals = []
        self.sent_at = []
        self._stop = threading.Event()
        self._rx = in_netns(lab.net, lambda: _udp6((INTERNET_HOST6, 0)))
        self._tx = in_netns(lab.router, lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
        self._dest = self._rx.getsockname()[:2]
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._send, daemon=True).start()

    def _receive(self) -> None:
        self._rx.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self._rx.recvfrom(64)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.arrivals.append((time.monotonic(), seen_as6(peer[0]), struct.unpack("!I", data[:4])[0]))


def flow6(lab: FailoverLab, period_s: float = 0.005) -> Flow6:
    f = Flow6(lab, period_s)
    lab._closers.append(f.close)
    return f
