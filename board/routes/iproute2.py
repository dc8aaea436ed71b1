"""The `iproute2` route backend: default-route metrics and per-uplink policy routing over netlink (pyroute2).

Works on any Linux with pyroute2 (Debian, Raspberry Pi OS without NetworkManager, OpenWrt), optionally inside a
named network namespace (the lab runs the router in one). IPv6 defaults and rules follow the same model and are
switched in the same calls, after IPv4 (board/routes/iproute6.py); an uplink without IPv6 is left out of it.

What it keeps in the kernel, every route and rule tagged with protocol RTPROT_RELAIS so it can be told apart
from what DHCP clients, ModemManager or the admin installed (`ip route show proto 82`):
- main table: a default route via the preferred uplink at `preferred_metric` and one via each other uplink at
  `standby_metric`, +1, +2... in priority order. The others keep their routes, so nothing is torn down that need
  not be; routes of other owners (a DHCP client's default at metric 100, say) are left alone.
- per uplink, table `<uplink>_table` holding a default route via that uplink, and a rule
  `from <uplink's address> lookup <table>`: a socket bound to an uplink's address (a prober, a reply, a flow
  that began before a switch) keeps leaving through that uplink whatever the main table prefers.

Switching never leaves a moment without a default route: a route's metric is part of its key in the kernel, so
instead of deleting and re-adding, each metric slot is re-pointed with one RTM_NEWROUTE/NLM_F_REPLACE, which the
kernel applies atomically. After a switch the controller asks forget_nat() to delete the conntrack entries of LAN
flows NATed to the old uplink's address (board/routes/conntrack.py), so they follow the new default route.

Everything is read back from the kernel on each call (status() never reports a cached guess); prefer() is
idempotent and also repairs: calling it again after an uplink's address or gateway changed fixes rules and tables.
Not thread-safe: the agent calls it from its core thread.
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
from contextlib import contextmanager
from typing import Any, Iterator

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from board.routes.base import RouteBackend, RouteError, UplinkRoute, UplinkSet
from board.routes.conntrack import NatForgetter
from board.routes.iproute6 import Ipv6Problem, Ipv6Routes, check_gateway6

log = logging.getLogger(__name__)

RTPROT_RELAIS = 82          # rtm_protocol of our routes and rules; unassigned in iproute2's rt_protos
MAIN_TABLE = 254
RESERVED_TABLES = (0, 253, 254, 255)   # unspec, default, main, local
IFF_UP = 0x1
IFF_POINTOPOINT = 0x10
IFF_NOARP = 0x80
IFF_LOWER_UP = 0x10000


def _reason(e: BaseException) -> str:
    code = getattr(e, "code", None) or getattr(e, "errno", None)
    if code == errno.EPERM or isinstance(e, PermissionError):
        return "operation not permitted (needs root or CAP_NET_ADMIN)"
    if code == errno.ENODEV:
        return "no such interface"
    if code == errno.ENETUNREACH:
        return "gateway not reachable (no address in its subnet on this interface, or the interface is down)"
    if code == errno.ENETDOWN:
        return "interface is down"
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return str(e)


class _Kernel:
    """What the kernel holds now (IPv4), read in one go."""

    def __init__(self, links: list, addrs: list, routes: list, rules: list):
        self.links = {link["index"]: link for link in links}
        self.index = {link.get("ifname"): link["index"] for link in links}
        self._addrs = addrs
        self.routes = routes
        self._rules = rules

    def address(self, index: int | None) -> str | None:
        """The interface's first global IPv4 address (the source its probes and flows use)."""
        for a in self._addrs:
            if a["index"] == index and a["scope"] == 0:
                return a.get("local") or a.get("address")
        return None

    def defaults(self, table: int) -> list:
        """Unicast default routes in `table`, lowest metric first (the kernel's choice first)."""
        found = [r for r in self.routes if r["dst_len"] == 0 and r.get("table") == table and r["type"] == 1]
        return sorted(found, key=lambda r: r.get("priority") or 0)

    def rules(self, table: int) -> list:
        # the header's table field is one byte; tables above 255 are only in the FRA_TABLE attribute
        return [r for r in self._rules if (r.get_attr("FRA_TABLE") or r["table"]) == table]


class Iproute2Routes(RouteBackend):
    name = "iproute2"

    def __init__(self, primary_interface: str = "eth0", cellular_interface: str = "wwan0",
                 primary_gateway: str = "", backup_gateway: str = "",
                 preferred_metric: int = 10, standby_metric: int = 20,
                 primary_table: int = 101, backup_table: int = 102, rule_priority: int = 1000,
                 policy_routing: bool = True, netns: str = "",
                 ipv6: bool = True, primary_gateway6: str = "", backup_gateway6: str = "",
                 uplinks: tuple = ()):
        """`uplinks` (UplinkRoute or dicts of its fields, in priority order): N uplinks; without them, the
        two named primary and backup from the primary_* / cellular / backup_* options."""
        o = self.check_options(primary_interface=primary_interface, cellular_interface=cellular_interface,
                               primary_gateway=primary_gateway, backup_gateway=backup_gateway,
                               preferred_metric=preferred_metric, standby_metric=standby_metric,
                               primary_table=primary_table, backup_table=backup_table,
                               primary_gateway6=primary_gateway6, backup_gateway6=backup_gateway6, uplinks=uplinks)
        self._uplinks = self._uplink_set(o)
        self._ifname = {r.name: r.interface for r in self._uplinks.routes}
        self._configured_gw = {r.name: r.gateway for r in self._uplinks.routes}
        self._metric = {"preferred": preferred_metric, "standby": standby_metric}
        self._table = {r.name: r.table for r in self._uplinks.routes}
        self._rule_priority = rule_priority
        self._policy_routing = policy_routing
        self._netns = netns
        self._learned_gw: dict[str, str | None] = {}
        self.nat = NatForgetter(netns)
        try:
            # flags=0: a misspelt namespace is an error, not a new empty namespace (pyroute2 defaults to O_CREAT)
            self._ipr = IPRoute(netns=netns, flags=0) if netns else IPRoute()
        except FileNotFoundError:
            raise RouteError(f"network namespace {netns!r} does not exist") from None
        except OSError as e:
            raise RouteError(f"cannot open netlink{self._where()}: {_reason(e)}") from None
        self._v6 = Ipv6Routes(self._ipr, self._ifname, {r.name: r.gateway6 for r in self._uplinks.routes},
                              self._metric, self._table, rule_priority, policy_routing, self._uplinks.others) \
            if ipv6 else None
        self._v6_problems: set[str] = set()
        try:
            self._intent = self._read_intent()
        except RouteError:
            self._ipr.close()
            raise

    @classmethod
    def check_options(cls, **options: Any) -> dict[str, Any]:
        o = super().check_options(**options)
        uplinks = cls._uplink_set(o)
        legacy = not o["uplinks"]   # the messages name the options as written
        for r in uplinks.routes:
            what = (lambda key: f"{r.name}_{key}") if legacy else (lambda key: f"uplink {r.name} {key}")
            if r.table in RESERVED_TABLES or not 0 < r.table < 2**32:
                raise RouteError(f"{what('table')} {r.table} is reserved or out of range (1..2^32-1, not 253-255)")
            if r.gateway:
                try:
                    ipaddress.IPv4Address(r.gateway)
                except ValueError:
                    raise RouteError(f"{what('gateway')} {r.gateway!r} is not an IPv4 address") from None
            problem = check_gateway6(what("gateway6"), r.gateway6)
            if problem:
                raise RouteError(problem)
        tables = [r.table for r in uplinks.routes]
        if len(set(tables)) != len(tables):
            if legacy:
                raise RouteError(f"primary_table and backup_table are both {o['primary_table']}; they must differ")
            raise RouteError(f"uplinks' tables {tables}: each uplink needs a table of its own")
        return o

    @staticmethod
    def _uplink_set(o: dict[str, Any]) -> UplinkSet:
        return UplinkSet.of(o["uplinks"],
                            UplinkRoute("primary", o["primary_interface"], False, o["primary_gateway"],
                                        o["primary_gateway6"], o["primary_table"]),
                            UplinkRoute("backup", o["cellular_interface"], True, o["backup_gateway"],
                                        o["backup_gateway6"], o["backup_table"]))

    # ---- RouteBackend ------------------------------------------------------------------------------------
    def prefer(self, uplink: str) -> None:
        self._apply(self._uplinks.check(uplink), strict={uplink})
        self._intent = uplink   # only once it took: a refused prefer() must not come back at the next set_standby()
        self._apply6(uplink, {uplink})

    def set_standby(self, uplink: str, up: bool) -> None:
        self._uplinks.check(uplink)
        index = self._index(uplink, self._read())
        with self._netlink(uplink, f"set link {'up' if up else 'down'}"):
            self._ipr.link("set", index=index, state="up" if up else "down")
        # Down: the kernel drops the link's routes itself. Up: they must be put back; a problem with the other
        # uplink is not this call's failure.
        if up:
            self._apply(self._intent, strict={uplink})
            self._apply6(self._intent, {uplink})

    def status(self) -> dict[str, Any]:
        k = self._read()
        uplinks = {}
        for uplink in self._uplinks.names:
            index = k.index.get(self._ifname[uplink])
            flags = k.links[index]["flags"] if index is not None else 0
            ours = [r for r in k.defaults(MAIN_TABLE) if r.get("oif") == index and r["proto"] == RTPROT_RELAIS]
            table_route = next((r for r in k.defaults(self._table[uplink]) if r.get("oif") == index), None)
            address = k.address(index)
            uplinks[uplink] = {
                "interface": self._ifname[uplink],
                "exists": index is not None,
                "up": bool(flags & IFF_UP and flags & IFF_LOWER_UP),
                "admin_up": bool(flags & IFF_UP),
                "carrier": bool(flags & IFF_LOWER_UP),
                "address": address,
                "gateway": (ours or [table_route or {}])[0].get("gateway"),
                "metric": ours[0].get("priority") if ours else None,
                "table": self._table[uplink],
                "table_route": table_route is not None,
                "rule": address is not None and any(r.get("src") == address for r in k.rules(self._table[uplink])),
            }
        main = k.defaults(MAIN_TABLE)
        best = main[0].get("oif") if main else None
        return {
            "backend": self.name,
            "netns": self._netns or None,
            "preferred": next((u for u in self._uplinks.names
                               if best is not None and k.index.get(self._ifname[u]) == best),
                              None),
            "default_interface": k.links[best].get("ifname") if best in k.links else None,
            "uplinks": uplinks,
            "ipv6": self._status6(),   # None when IPv6 is not managed ([board] ipv6 = false)
        }

    def forget_nat(self, addresses: list[str]) -> None:
        self.nat.forget(addresses)

    def close(self) -> None:
        # Routes stay: an agent restarting must not take the router offline.
        self.nat.close()
        self._ipr.close()

    # ---- IPv6 --------------------------------------------------------------------------------------------
    def _apply6(self, intent: str | None, only: set[str]) -> None:
        """IPv6 follows IPv4 and never fails it: IPv4 is what the site cannot do without, and an uplink's IPv6
        may be missing for reasons of its own (an IPv4-only APN, a late router advertisement)."""
        if self._v6 is None:
            return
        problems = self._v6.apply(intent, only)
        for problem in problems:
            if problem not in self._v6_problems:   # once while it lasts: the reconcile calls again every 5 s
                log.warning("IPv6 route not installed%s: %s", self._where(), problem)
        self._v6_problems = set(problems)

    def _status6(self) -> dict[str, Any] | None:
        if self._v6 is None:
            return None
        try:
            return self._v6.status()
        except Ipv6Problem as e:   # status() must answer: what IPv6 holds is then unknown
            return {"error": str(e)}

    # ---- reconciling -------------------------------------------------------------------------------------
    def _apply(self, intent: str | None, strict: set[str]) -> None:
        """Make the kernel match `intent` (the uplink to prefer; None: only policy routing). Problems with an
        uplink in `strict` raise; with the other they are logged (and visible in status()): a dead standby must
        not stop a failover."""
        k = self._read()
        wanted: set[int] = set()   # metrics of main-table slots in place
        # The preferred uplink first: its replace is the switch itself.
        order = [intent, *self._uplinks.others(intent)] if intent else []
        for uplink in dict.fromkeys(order + sorted(strict)):
            try:
                index, gateway, address = self._usable(uplink, k)
                if self._policy_routing:
                    self._ensure_policy(uplink, k, index, gateway, address)
                if uplink in order:
                    metric = self._uplinks.metric(uplink, intent, self._metric["preferred"], self._metric["standby"])
                    self._ensure_main(uplink, k, metric, index, gateway)
                    wanted.add(metric)
            except RouteError as e:
                if uplink in strict:
                    raise
                log.warning("standby route not installed: %s", e)
        self._remove_stale_main(k, wanted)

    def _usable(self, uplink: str, k: _Kernel) -> tuple[int, str | None, str]:
        index = self._index(uplink, k)
        flags = k.links[index]["flags"]
        if not flags & IFF_UP:
            raise RouteError(f"{self._who(uplink)}: interface is down (bring it up with set_standby first)")
        address = k.address(index)
        if address is None:
            raise RouteError(f"{self._who(uplink)}: no IPv4 address")
        return index, self._gateway(uplink, k, index, flags), address

    def _ensure_main(self, uplink: str, k: _Kernel, metric: int, index: int, gateway: str | None) -> None:
        slot = [r for r in k.defaults(MAIN_TABLE) if (r.get("priority") or 0) == metric]
        foreign = [r for r in slot if r["proto"] != RTPROT_RELAIS]
        if foreign:
            r = foreign[0]
            raise RouteError(f"{self._who(uplink)}: the main table already has a default route with metric {metric}"
                             f" that relais did not install (oif {r.get('oif')}, proto {r['proto']});"
                             f" choose other metrics in [board]")
        if len(slot) == 1 and slot[0].get("oif") == index and slot[0].get("gateway") == gateway:
            return
        # One replace re-points the slot atomically: there is a default route before, during and after.
        with self._netlink(uplink, f"install default route metric {metric}"):
            self._ipr.route("replace", **self._route_spec(MAIN_TABLE, index, gateway), priority=metric)

    def _remove_stale_main(self, k: _Kernel, wanted: set[int]) -> None:
        """Our default routes in slots the intent no longer wants (a standby that could not be installed, metrics
        changed in the config). Removed only after the wanted ones are in, so the default route never goes."""
        for r in k.defaults(MAIN_TABLE):
            metric = r.get("priority") or 0
            if r["proto"] != RTPROT_RELAIS or metric in wanted:
                continue
            with self._netlink(None, f"remove stale default route metric {metric}"):
                try:
                    self._ipr.route("del", table=MAIN_TABLE, dst="0.0.0.0/0", priority=metric, oif=r.get("oif"),
                                    proto=RTPROT_RELAIS)
                except NetlinkError as e:
                    if e.code != errno.ESRCH:   # already gone (its link went down meanwhile)
                        raise

    def _ensure_policy(self, uplink: str, k: _Kernel, index: int, gateway: str | None, address: str) -> None:
        table = self._table[uplink]
        current = k.defaults(table)
        if not (len(current) == 1 and current[0].get("oif") == index and current[0].get("gateway") == gateway):
            with self._netlink(uplink, f"install default route in table {table}"):
                self._ipr.route("replace", **self._route_spec(table, index, gateway))
        rules = [r for r in k.rules(table) if r.get("protocol") == RTPROT_RELAIS]
        keep = [r for r in rules
                if r.get("src") == address and r["src_len"] == 32 and r.get("priority") == self._rule_priority]
        if not keep:
            with self._netlink(uplink, f"add rule from {address} lookup {table}"):
                self._ipr.rule("add", family=socket.AF_INET, src=address, src_len=32, table=table,
                               priority=self._rule_priority, protocol=RTPROT_RELAIS)
        for r in rules:   # the address changed (new DHCP lease, new cellular session): drop the old rule
            if keep and r is keep[0]:
                continue
            with self._netlink(uplink, f"remove stale rule from {r.get('src')}"):
                self._ipr.rule("del", family=socket.AF_INET, src=r.get("src"), src_len=r["src_len"],
                               table=table, priority=r.get("priority"))

    # ---- reading the kernel ------------------------------------------------------------------------------
    def _read(self) -> _Kernel:
        """One snapshot of links, addresses, routes and rules: four netlink dumps per call, whatever it does."""
        with self._netlink(None, "read kernel state"):
            return _Kernel(list(self._ipr.link("dump")), list(self._ipr.addr("dump", family=socket.AF_INET)),
                           list(self._ipr.route("dump", family=socket.AF_INET)),
                           list(self._ipr.rule("dump", family=socket.AF_INET)))

    def _read_intent(self) -> str | None:
        """Which uplink our preferred-metric route points at: a restarted agent carries on from there."""
        k = self._read()
        for r in k.defaults(MAIN_TABLE):
            if r["proto"] == RTPROT_RELAIS and r.get("priority") == self._metric["preferred"]:
                return next((u for u, name in self._ifname.items() if k.index.get(name) == r.get("oif")), None)
        return None

    def _index(self, uplink: str, k: _Kernel) -> int:
        # Looked up on every call: a USB modem that re-enumerates comes back with a new ifindex.
        index = k.index.get(self._ifname[uplink])
        if index is None:
            raise RouteError(f"{self._who(uplink)}: no such interface{self._where()}")
        return index

    def _gateway(self, uplink: str, k: _Kernel, index: int, flags: int) -> str | None:
        """The configured gateway, else one found in the interface's routes (others' before ours: a DHCP client
        knows a new gateway before we do), else the last one found. None: a point-to-point link needs none."""
        if self._configured_gw[uplink]:
            return self._configured_gw[uplink]
        routes = sorted((r for r in k.routes if r.get("oif") == index and r.get("gateway")),
                        key=lambda r: (r["proto"] == RTPROT_RELAIS, r["dst_len"] != 0, r.get("table") != MAIN_TABLE,
                                       r.get("priority") or 0))
        if routes:
            self._learned_gw[uplink] = routes[0].get("gateway")
        elif uplink not in self._learned_gw:
            if flags & (IFF_POINTOPOINT | IFF_NOARP):
                self._learned_gw[uplink] = None
            else:
                raise RouteError(f"{self._who(uplink)}: no gateway: none configured "
                                 f"({self._uplinks.config_key(uplink, 'gateway')}) "
                                 f"and none found in the interface's routes")
        return self._learned_gw[uplink]

    def _route_spec(self, table: int, index: int, gateway: str | None) -> dict[str, Any]:
        spec: dict[str, Any] = {"dst": "0.0.0.0/0", "table": table, "oif": index, "proto": RTPROT_RELAIS}
        if gateway:
            spec["gateway"] = gateway
        else:
            spec["scope"] = 253  # link: a point-to-point device route
        return spec

    # ---- errors ------------------------------------------------------------------------------------------
    def _who(self, uplink: str) -> str:
        return f"{uplink} ({self._ifname[uplink]})"

    def _where(self) -> str:
        return f" in network namespace {self._netns!r}" if self._netns else ""

    @contextmanager
    def _netlink(self, uplink: str | None, what: str) -> Iterator[None]:
        try:
            yield
        except (NetlinkError, OSError) as e:
            who = self._who(uplink) if uplink else "routes"
            raise RouteError(f"{who}: {what}{self._where()}: {_reason(e)}") from None

