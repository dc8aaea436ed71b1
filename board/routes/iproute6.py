"""The IPv6 half of the iproute2 backend: the same prefer/standby model as IPv4, switched with it.

For each uplink that has IPv6 (a global address and a gateway: configured, or learned from the interface's own
routes, usually the `proto ra` default a router advertisement installed, whose gateway is link-local):
- main table: `default via <gateway> dev <uplink>` at preferred_metric for the preferred uplink and at
  standby_metric for the other, tagged proto 82 like the IPv4 ones. A router advertisement's own default route
  (metric 1024) stays where it is, beneath ours: when relais stops, the router still has IPv6.
- table `<uplink>_table` (the same number as IPv4: the kernel keeps one table per family under each number)
  holds the uplink's IPv6 default, and a rule `from <uplink's global IPv6 address> lookup <table>` keeps the
  uplink's probes and the flows that began on it leaving through it.
A link-local gateway is only meaningful with its interface: every route here names its oif.

An uplink without IPv6 (many cellular APNs are IPv4-only) is simply left out, and IPv6 problems never stop an
IPv4 switch: the caller logs them, and status() shows what is in place. Switching re-points each metric slot with
one RTM_NEWROUTE/NLM_F_REPLACE, as for IPv4, so IPv6 is never without a default route in between.
"""
from __future__ import annotations

import errno
import ipaddress
import os
import socket
from typing import Any, Callable

from pyroute2.netlink.exceptions import NetlinkError

RTPROT_RELAIS = 82
MAIN_TABLE = 254
IFF_UP = 0x1
IFF_POINTOPOINT = 0x10
IFF_NOARP = 0x80
# an address the kernel will not use as a source yet (or ever): not one to build a rule on
IFA_F_DADFAILED, IFA_F_DEPRECATED, IFA_F_TENTATIVE = 0x08, 0x20, 0x40
UNUSABLE = IFA_F_DADFAILED | IFA_F_DEPRECATED | IFA_F_TENTATIVE


class Ipv6Problem(Exception):
    """One uplink's IPv6 routes could not be put in place; the message says which and why."""


def check_gateway6(name: str, gateway: str) -> str | None:
    """None if `gateway` is "" or an IPv6 address a default route can point at, else what is wrong with it."""
    if not gateway:
        return None
    try:
        address = ipaddress.IPv6Address(gateway)
    except ValueError:
        return f"{name} {gateway!r} is not an IPv6 address"
    if address.scope_id:
        return f"{name} {gateway!r} has a %zone: the uplink's interface is its zone, write the address alone"
    if address.is_multicast or address.is_unspecified or address.is_loopback:
        return f"{name} {gateway!r} is not a unicast address a route can point at"
    return None


class _Kernel6:
    """What the kernel holds now for IPv6, read in one go."""

    def __init__(self, links: list, addrs: list, routes: list, rules: list):
        self.links = {link["index"]: link for link in links}
        self.index = {link.get("ifname"): link["index"] for link in links}
        self._addrs = addrs
        self.routes = routes
        self._rules = rules

    def address(self, index: int | None) -> str | None:
        """The interface's first global IPv6 address the kernel may use as a source."""
        for a in self._addrs:
            flags = a.get_attr("IFA_FLAGS") or a["flags"]
            if a["index"] == index and a["scope"] == 0 and not flags & UNUSABLE:
                return a.get_attr("IFA_ADDRESS")
        return None

    def defaults(self, table: int) -> list:
        found = [r for r in self.routes if r["dst_len"] == 0 and r.get("table") == table and r["type"] == 1]
        return sorted(found, key=lambda r: r.get("priority") or 0)

    def rules(self, table: int) -> list:
        return [r for r in self._rules if (r.get_attr("FRA_TABLE") or r["table"]) == table]


class Ipv6Routes:
    """Driven by Iproute2Routes on the same netlink socket and the same core thread."""

    def __init__(self, ipr, ifname: dict[str, str], gateways: dict[str, str], metrics: dict[str, int],
                 tables: dict[str, int], rule_priority: int, policy_routing: bool,
                 others: Callable[[str], list[str]]):
        self._ipr = ipr
        self._ifname = ifname
        self._configured_gw = gateways
        self._metric = metrics
        self._table = tables
        self._rule_priority = rule_priority
        self._policy_routing = policy_routing
        self._others = others   # the uplinks but one, in priority order (board.routes.base.UplinkSet.others)
        self._learned_gw: dict[str, str | None] = {}

    def apply(self, intent: str | None, only: set[str] | None = None) -> list[str]:
        """Make the kernel's IPv6 routes match `intent`; the problems met, one line each (nothing raised)."""
        try:
            k = self._read()
        except Ipv6Problem as e:
            return [str(e)]
        problems: list[str] = []
        wanted: set[int] = set()
        order = [intent, *self._others(intent)] if intent else []
        for uplink in dict.fromkeys(order + sorted(only or ())):
            try:
                usable = self._usable(uplink, k)
                if usable is None:
                    continue   # no IPv6 on this uplink: nothing to switch, nothing wrong
                index, gateway, address = usable
                if self._policy_routing:
                    self._ensure_policy(uplink, k, index, gateway, address)
                if uplink in order:
                    metric = self._metric["preferred"] if uplink == intent else \
                        self._metric["standby"] + order.index(uplink) - 1
                    self._ensure_main(uplink, k, metric, index, gateway)
                    wanted.add(metric)
            except Ipv6Problem as e:
                problems.append(str(e))
        try:
            self._remove_stale_main(k, wanted)
        except Ipv6Problem as e:
            problems.append(str(e))
        return problems

    def status(self) -> dict[str, Any]:
        k = self._read()
        uplinks = {}
        for uplink, name in self._ifname.items():
            index = k.index.get(name)
            ours = [r for r in k.defaults(MAIN_TABLE) if r.get("oif") == index and r["proto"] == RTPROT_RELAIS]
            table_route = next((r for r in k.defaults(self._table[uplink]) if r.get("oif") == index), None)
            address = k.address(index)
            uplinks[uplink] = {
                "address": address,
                "gateway": (ours or [table_route or {}])[0].get("gateway"),
                "metric": ours[0].get("priority") if ours else None,
                "table_route": table_route is not None,
                "rule": address is not None and any(r.get("src") == address for r in k.rules(self._table[uplink])),
            }
        main = k.defaults(MAIN_TABLE)
        best = main[0].get("oif") if main else None
        return {"preferred": next((u for u, name in self._ifname.items()
                                   if best is not None and k.index.get(name) == best), None),
                "uplinks": uplinks}

    # ---- reconciling -------------------------------------------------------------------------------------
    def _usable(self, uplink: str, k: _Kernel6) -> tuple[int, str | None, str] | None:
        index = k.index.get(self._ifname[uplink])
        if index is None or not k.links[index]["flags"] & IFF_UP:
            return None    # the IPv4 half reports a missing or down interface
        address = k.address(index)
        if address is None:
            if self._configured_gw[uplink]:
                raise Ipv6Problem(f"{self._who(uplink)}: IPv6 gateway configured but no global IPv6 address")
            return None
        gateway = self._gateway(uplink, k, index)
        if gateway is False:
            return None    # an address but no way out (yet): a router advertisement may still come
        return index, gateway, address

    def _gateway(self, uplink: str, k: _Kernel6, index: int) -> str | None | bool:
        """The configured gateway, else the interface's own default's (others' first: a router advertisement
        knows a new gateway before we do), else the last one found; None for a point-to-point link (a device
        route); False when there is none."""
        if self._configured_gw[uplink]:
            return self._configured_gw[uplink]
        routes = sorted((r for r in k.routes if r.get("oif") == index and r.get("gateway") and r["dst_len"] == 0),
                        key=lambda r: (r["proto"] == RTPROT_RELAIS, r.get("table") != MAIN_TABLE,
                                       r.get("priority") or 0))
        if routes:
            self._learned_gw[uplink] = routes[0].get("gateway")
        elif uplink not in self._learned_gw:
            if k.links[index]["flags"] & (IFF_POINTOPOINT | IFF_NOARP):
                self._learned_gw[uplink] = None
            else:
                return False
        return self._learned_gw[uplink]

    def _ensure_main(self, uplink: str, k: _Kernel6, metric: int, index: int, gateway: str | None) -> None:
        slot = [r for r in k.defaults(MAIN_TABLE) if (r.get("priority") or 0) == metric]
        foreign = [r for r in slot if r["proto"] != RTPROT_RELAIS]
        if foreign:
            raise Ipv6Problem(f"{self._who(uplink)}: the main table already has an IPv6 default route with metric "
                              f"{metric} that relais did not install (proto {foreign[0]['proto']})")
        if len(slot) == 1 and slot[0].get("oif") == index and slot[0].get("gateway") == gateway:
            return
        self._call(uplink, f"install IPv6 default route metric {metric}", "route", "replace",
                   **self._route_spec(MAIN_TABLE, index, gateway), priority=metric)

    def _remove_stale_main(self, k: _Kernel6, wanted: set[int]) -> None:
        for r in k.defaults(MAIN_TABLE):
            metric = r.get("priority") or 0
            if r["proto"] != RTPROT_RELAIS or metric in wanted:
                continue
            try:
                self._ipr.route("del", family=socket.AF_INET6, table=MAIN_TABLE, dst="::/0", priority=metric,
                                oif=r.get("oif"), proto=RTPROT_RELAIS)
            except NetlinkError as e:
                if e.code != errno.ESRCH:
                    raise Ipv6Problem(f"routes: remove stale IPv6 default route metric {metric}: {e}") from None

    def _ensure_policy(self, uplink: str, k: _Kernel6, index: int, gateway: str | None, address: str) -> None:
        table = self._table[uplink]
        current = k.defaults(table)
        if not (len(current) == 1 and current[0].get("oif") == index and current[0].get("gateway") == gateway):
            self._call(uplink, f"install IPv6 default route in table {table}", "route", "replace",
                       **self._route_spec(table, index, gateway))
        rules = [r for r in k.rules(table) if r.get("protocol") == RTPROT_RELAIS]
        keep = [r for r in rules
                if r.get("src") == address and r["src_len"] == 128 and r.get("priority") == self._rule_priority]
        if not keep:
            self._call(uplink, f"add rule from {address} lookup {table}", "rule", "add", family=socket.AF_INET6,
                       src=address, src_len=128, table=table, priority=self._rule_priority, protocol=RTPROT_RELAIS)
        for r in rules:   # a new prefix (a new cellular session, a renumbered line): drop the old rule
            if keep and r is keep[0]:
                continue
            self._call(uplink, f"remove stale rule from {r.get('src')}", "rule", "del", family=socket.AF_INET6,
                       src=r.get("src"), src_len=r["src_len"], table=table, priority=r.get("priority"))

    def _route_spec(self, table: int, index: int, gateway: str | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"family": socket.AF_INET6, "dst": "::/0", "table": table, "oif": index,
                                "proto": RTPROT_RELAIS}
        if gateway:
            spec["gateway"] = gateway
        return spec

    def _read(self) -> _Kernel6:
        try:
            return _Kernel6(list(self._ipr.link("dump")), list(self._ipr.addr("dump", family=socket.AF_INET6)),
                            list(self._ipr.route("dump", family=socket.AF_INET6)),
                            list(self._ipr.rule("dump", family=socket.AF_INET6)))
        except (NetlinkError, OSError) as e:
            raise Ipv6Problem(f"routes: read IPv6 state: {e}") from None

    def _call(self, uplink: str, what: str, kind: str, command: str, **spec: Any) -> None:
        try:
            getattr(self._ipr, kind)(command, **spec)
        except (NetlinkError, OSError) as e:
            code = getattr(e, "code", None) or getattr(e, "errno", None)
            if code == errno.EPERM:
                reason = "operation not permitted (needs root or CAP_NET_ADMIN)"
            elif code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                reason = "gateway not reachable on this interface"
            else:
                reason = os.strerror(code).lower() if isinstance(code, int) and code > 0 else str(e)
            raise Ipv6Problem(f"{self._who(uplink)}: {what}: {reason}") from None

    def _who(self, uplink: str) -> str:
        return f"{uplink} ({self._ifname[uplink]})"
