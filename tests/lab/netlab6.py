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
import threading

from agent.config import Config
from tests.lab.netlab import FailoverLab, _accept_and_close, _answer_dns, _Http204
from tests.routes.netlab import in_netns, sh
from tests.routes.netlab6 import GATEWAY6, add_ipv6

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
