"""Where does traffic actually go? The drill's proof that a failover moves traffic, not just a route entry.

Two checks, neither bound to an interface, so both follow the routing table as a LAN client's flow would:
the source address the kernel picks for the target (a UDP connect sends nothing), and an unbound ICMP probe
to it that must be answered.
"""
from __future__ import annotations

import socket

from agent.linkmon.inputs import RouteCheckDone
from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe
from agent.linkmon.targets import Target

ATTEMPTS = 3   # one lost packet must not fail a drill


def source_for(host: str) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((host, 9))
        except OSError:
            return None   # no route at all
        return sock.getsockname()[0]


def check_route(target: Target, options: ProbeOptions, interfaces_by_address: dict[str, str]) -> RouteCheckDone:
    source = source_for(target.host)
    interface = interfaces_by_address.get(source) if source else None
    error = ""
    for _ in range(ATTEMPTS):
        try:
            rtt = probe(target, Binding(), options)
            return RouteCheckDone(interface, source, True, rtt)
        except ProbeFailed as e:
            error = str(e)
    return RouteCheckDone(interface, source, False, None, error)
