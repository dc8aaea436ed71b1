"""Where does traffic actually go? The drill's proof that a failover moves traffic, not just a route entry.

Two checks, neither bound to an interface, so both follow the routing table as a LAN client's flow would:
the source address the kernel picks for the target (a UDP connect sends nothing), and an unbound probe to it
that must be answered. An IPv6 target checks the IPv6 routes the same way.
"""
from __future__ import annotations

import ipaddress
import socket

from agent.linkmon.inputs import RouteCheckDone
from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe
from agent.linkmon.targets import Target

ATTEMPTS = 3   # one lost packet must not fail a drill


def source_for(host: str) -> str | None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((host, 9))
        except OSError:
            return None   # no route at all
        return sock.getsockname()[0]


def interface_holding6(address: str, table: str = "/proc/thread-self/net/if_inet6") -> str | None:
    """The interface that holds an IPv6 address, from the kernel's table of this thread's network namespace
    (thread-self: the prober threads enter the uplinks' namespace, the process may not be in it)."""
    try:
        wanted = ipaddress.IPv6Address(address).exploded.replace(":", "")
        with open(table) as f:
            for line in f:   # address-hex ifindex prefixlen scope flags name
                fields = line.split()
                if len(fields) == 6 and fields[0] == wanted:
                    return fields[5]
    except (OSError, ValueError):
        pass
    return None


def check_route(target: Target, options: ProbeOptions, interfaces_by_address: dict[str, str]) -> RouteCheckDone:
    """interfaces_by_address: the uplinks' IPv4 addresses; an IPv6 source is looked up in the kernel."""
    source = source_for(target.host)
    interface = interfaces_by_address.get(source) if source else None
    if interface is None and source and ":" in source:
        interface = interface_holding6(source)
    error = ""
    for _ in range(ATTEMPTS):
        try:
            rtt = probe(target, Binding(), options)
            return RouteCheckDone(interface, source, True, rtt)
        except ProbeFailed as e:
            error = str(e)
    return RouteCheckDone(interface, source, False, None, error)
