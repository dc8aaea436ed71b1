"""Where LAN flows go across a switch: NAT66 for the LAN's IPv6, sticky flows, critical pinned to a stable uplink.

One nftables table of relais's own, `inet relais_flows`, replaced whole in one `nft -f` transaction (like
`inet relais_traffic`, ruleset.py), and `fwmark` rules tagged `proto 83`:

    nat6       postrouting, srcnat: IPv6 from the LAN leaving through an uplink is masqueraded to that uplink's
               address (NAT66). The LAN keeps one prefix whatever the uplink, and the ISP of each uplink sees its
               own address: no prefix to hand over, no router advertisement to wait for (docs/ipv6.md, why).
    remember   postrouting, mangle: the first packet of a flow that leaves through an uplink other than the
               preferred one (of class critical only, with sticky = "critical") writes that uplink's sticky mark
               (sticky_mark(position)) into the connection's mark.
    restore    prerouting, after the classes (mangle + 1): a packet from the LAN of a flow whose connection
               carries an uplink's sticky mark gets it as its own mark; the rule
               `fwmark <its mark>/STICKY_MASK iif <lan> lookup <that uplink's table>` then routes it through that
               uplink whatever the main table prefers (mwan3's way). An uplink's rule is there only while it is
               up: a flow must not be held on a dead uplink.
    pin        no chain: the rule `fwmark <critical class mark> iif <lan> lookup <the pinned uplink's table>`,
               while the active uplink is only degraded (agent/flows.py decides when and where). The class mark is
               the one that relais_traffic's classify chain puts on every packet of a critical flow.

The mark bits are STICKY_MASK, apart from the classes' (ruleset.CLASS_MASK): the uplink's position in priority
order (1 to 15; 0, the preferred uplink, has none). A conntrack flush after a switch skips entries that carry
them (board/routes/conntrack.py KEEP_MARK_MASK, the same bits).
"""
from __future__ import annotations

import errno
import re
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from board.routes.conntrack import KEEP_MARK_MASK
from board.traffic.apply import TrafficError, run_tool
from board.traffic.ruleset import CLASS_MASK, MARKS

TABLE = "relais_flows"
STICKY_MASK = KEEP_MARK_MASK
_STICKY_SHIFT = (STICKY_MASK & -STICKY_MASK).bit_length() - 1    # 20: the mask's lowest bit
STICKY_POSITIONS = STICKY_MASK >> _STICKY_SHIFT                  # 15 uplinks after the preferred one


def sticky_mark(position: int) -> int:
    """The connection mark of flows begun on the uplink at `position` in priority order (1 to STICKY_POSITIONS)."""
    if not 1 <= position <= STICKY_POSITIONS:
        raise ValueError(f"no sticky mark for uplink position {position} (1 to {STICKY_POSITIONS})")
    return position << _STICKY_SHIFT


STICKY_MARK = sticky_mark(1)      # the second uplink's: the backup's of a two-uplink site
# The tag of these rules: not the route backend's 82, whose reconcile deletes every proto-82 rule into an uplink's
# table but its own `from <address>` one (board/routes/iproute2.py); 83 is as unassigned in rt_protos.
RTPROT_FLOWS = 83
# before the main table (32766) and the uplinks' `from <address>` rules (rule_priority, 1000 by default): a LAN
# packet's mark decides, and the router's own sockets are not marked
PIN_RULE_PRIORITY = 990
STICKY_RULE_PRIORITY = 991
_IFACE = re.compile(r"[^/\s\"\\]{1,15}")
STICKY_CHOICES = ("none", "critical", "all")


@dataclass(frozen=True)
class StickyUplink:
    """An uplink whose flows stay on it: the interface they leave through, the mark they get, its routing table,
    and whether its rule is in place (the uplink is up)."""
    interface: str
    mark: int
    table: int
    held: bool = False


@dataclass(frozen=True)
class FlowPlan:
    """What the flows table and rules hold now. Interfaces already checked; "" = not asked for."""
    lan_interface: str
    uplink_interfaces: tuple[str, ...] = ()   # NAT66 towards each of them (empty: no NAT66)
    sticky: str = "none"                      # none | critical | all: which flows begun off the preferred stay
    sticky_uplinks: tuple[StickyUplink, ...] = ()   # every uplink but the preferred one (sticky != "none")
    pin_table: int = 0                        # critical flows through this table now (0: not pinned)
    pin_interface: str = ""                   # the uplink of pin_table, for events and the flush

    @property
    def pin_critical(self) -> bool:
        return self.pin_table != 0

    @property
    def sticky_active(self) -> bool:
        """Some uplink holds its sticky flows now."""
        return self.sticky != "none" and any(u.held for u in self.sticky_uplinks)

    def rules(self) -> tuple[tuple[int, int, int, int, str], ...]:
        """The fwmark rules wanted: (priority, mark, mask, table, iif), one per IP family each. Only for packets
        from the LAN: the classes mark a flow's answers too, and an answer sent to an uplink's table (a default
        route and nothing else) would go back out to the internet."""
        wanted = []
        if self.pin_critical:
            wanted.append((PIN_RULE_PRIORITY, MARKS["critical"], CLASS_MASK, self.pin_table, self.lan_interface))
        if self.sticky != "none":
            wanted += [(STICKY_RULE_PRIORITY, u.mark, STICKY_MASK, u.table, self.lan_interface)
                       for u in self.sticky_uplinks if u.held]
        return tuple(wanted)


def flows_ruleset(plan: FlowPlan) -> str:
    """The whole `nft -f` input: the table replaced in one transaction."""
    for name in (plan.lan_interface, *(u.interface for u in plan.sticky_uplinks), *plan.uplink_interfaces):
        if name and not _IFACE.fullmatch(name):
            raise ValueError(f"not an interface name: {name!r}")
    lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{",
             '\tcomment "relais LAN flows: replaced whole by relais, removed when it stops"']
    lan = f'iifname "{plan.lan_interface}" ' if plan.lan_interface else ""
    if plan.uplink_interfaces:
        lines += ["\tchain nat6 {", "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
        lines += [f'\t\tmeta nfproto ipv6 {lan}oifname "{dev}" masquerade comment "NAT66 through {dev}"'
                  for dev in plan.uplink_interfaces]
        lines.append("\t}")
    if plan.sticky != "none" and plan.sticky_uplinks:
        only = f"meta mark and {CLASS_MASK:#010x} == {MARKS['critical']:#010x} " if plan.sticky == "critical" else ""
        keep = f"{~STICKY_MASK & 0xFFFFFFFF:#010x}"
        lines += ["\tchain remember {", "\t\ttype filter hook postrouting priority mangle; policy accept;"]
        lines += [f'\t\tct state new {lan}oifname "{u.interface}" {only}'
                  f"ct mark set ct mark and {keep} or {u.mark:#010x} "
                  f'comment "a flow begun on {u.interface} stays there"' for u in plan.sticky_uplinks]
        lines += ["\t}", "\tchain restore {", "\t\ttype filter hook prerouting priority mangle + 1; policy accept;"]
        lines += [f"\t\t{lan}ct mark and {STICKY_MASK:#010x} == {u.mark:#010x} "
                  f"meta mark set meta mark and {keep} or {u.mark:#010x}" for u in plan.sticky_uplinks]
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


class FlowRules:
    """Puts a FlowPlan on the system with `nft` and netlink rules (in a namespace when one is given), and takes it
    away. Only relais's own: the table `inet relais_flows` and fwmark rules tagged proto 83 at its priorities.
    Rules and addresses over netlink (pyroute2, like the route backend): OpenWrt's BusyBox `ip` has no rule
    protocols and no JSON."""

    def __init__(self, netns: str = "") -> None:
        self._prefix = ["ip", "netns", "exec", netns] if netns else []
        self._netns = netns

    def apply(self, plan: FlowPlan) -> None:
        """The table replaced in one transaction, then the rules: the wanted ones added before others go."""
        self._run(["nft", "-f", "-"], flows_ruleset(plan))
        self._set_rules(plan.rules())

    def remove(self) -> None:
        """The table and the rules gone; nothing happens when they are not there."""
        self._run(["nft", "-f", "-"], f"table inet {TABLE}\ndelete table inet {TABLE}\n")
        self._set_rules(())

    def addresses(self, interface: str, family: str = "-6") -> list[tuple[str, int]]:
        """The interface's global addresses of a family ("-4", "-6") with their prefix lengths: an uplink's are
        the NAT addresses its flows got, the LAN's say its prefixes. [] when it has none or is gone."""
        try:
            with self._netlink("read the addresses of " + interface) as ipr:
                index = ipr.link_lookup(ifname=interface)
                if not index:
                    return []
                return [(a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"), a["prefixlen"])
                        for a in ipr.addr("dump", family=_FAMILY[family]) if a["index"] == index[0] and a["scope"] == 0]
        except TrafficError:
            return []

    def _set_rules(self, wanted: tuple[tuple[int, int, int, int, str], ...]) -> None:
        with self._netlink("set the fwmark rules") as ipr:
            for family in _FAMILY.values():
                present = set(_ours(ipr, family))
                for rule in wanted:
                    if rule not in present:
                        ipr.rule("add", family=family, protocol=RTPROT_FLOWS, **_rule_spec(rule))
                for rule in present - set(wanted):
                    ipr.rule("del", family=family, **_rule_spec(rule))

    @contextmanager
    def _netlink(self, what: str) -> Iterator:
        from pyroute2 import IPRoute     # lazily: only a router that moves LAN flows needs it here
        from pyroute2.netlink.exceptions import NetlinkError
        try:
            # flags=0: a misspelt namespace is an error, not a new empty namespace (pyroute2 defaults to O_CREAT)
            ipr = IPRoute(netns=self._netns, flags=0) if self._netns else IPRoute()
        except OSError as e:
            raise TrafficError(f"netlink: {what}: {e.strerror or e}") from None
        try:
            yield ipr
        except (NetlinkError, OSError) as e:
            code = getattr(e, "code", None) or getattr(e, "errno", None)
            reason = "operation not permitted (needs root or CAP_NET_ADMIN)" if code == errno.EPERM else str(e)
            raise TrafficError(f"netlink: {what}: {reason}") from None
        finally:
            ipr.close()

    def _run(self, cmd: list[str], stdin: str | None = None) -> str:
        return run_tool(self._prefix, cmd, stdin)


_FAMILY = {"-4": socket.AF_INET, "-6": socket.AF_INET6}


def _ours(ipr, family: int) -> list[tuple[int, int, int, int, str]]:
    found = []
    for r in ipr.rule("dump", family=family):
        priority = r.get_attr("FRA_PRIORITY")
        if priority in (PIN_RULE_PRIORITY, STICKY_RULE_PRIORITY) and r.get_attr("FRA_FWMARK") is not None \
                and (r.get_attr("FRA_PROTOCOL") or r.get("protocol")) == RTPROT_FLOWS:
            mask = r.get_attr("FRA_FWMASK")
            found.append((priority, r.get_attr("FRA_FWMARK"), 0xFFFFFFFF if mask is None else mask,
                          r.get_attr("FRA_TABLE") or r["table"], r.get_attr("FRA_IIFNAME") or ""))
    return found


def _rule_spec(rule: tuple[int, int, int, int, str]) -> dict:
    priority, mark, mask, table, iif = rule
    spec = {"priority": priority, "fwmark": mark, "fwmask": mask, "table": table}
    if iif:
        spec["iifname"] = iif
    return spec
