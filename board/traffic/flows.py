"""Where LAN flows go across a switch: NAT66 for the LAN's IPv6, sticky flows, critical pinned to the backup.

One nftables table of relais's own, `inet relais_flows`, replaced whole in one `nft -f` transaction (like
`inet relais_traffic`, ruleset.py), and `fwmark` rules tagged `proto 83`:

    nat6       postrouting, srcnat: IPv6 from the LAN leaving through an uplink is masqueraded to that uplink's
               address (NAT66). The LAN keeps one prefix whatever the uplink, and the ISP of each uplink sees its
               own address: no prefix to hand over, no router advertisement to wait for (docs/ipv6.md, why).
    remember   postrouting, mangle: the first packet of a flow that leaves through the backup (of class
               critical only, with sticky = "critical") writes STICKY_MARK into the connection's mark.
    restore    prerouting, after the classes (mangle + 1): a packet from the LAN of a flow whose connection
               carries STICKY_MARK gets it as its own mark; the rule
               `fwmark STICKY_MARK iif <lan> lookup <backup's table>` then routes it through the backup whatever
               the main table prefers (mwan3's way). The rule is there only while the backup is up: a flow must
               not be held on a dead uplink.
    pin        no chain: the rule `fwmark <critical class mark> iif <lan> lookup <backup's table>`, while the
               primary is only degraded (agent/flows.py decides when). The class mark is the one that
               relais_traffic's classify chain puts on every packet of a critical flow.

The mark bits are STICKY_MASK, apart from the classes' (ruleset.CLASS_MASK); a conntrack flush after a switch
skips entries that carry them (board/routes/conntrack.py KEEP_MARK_MASK, the same bits).
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass

from board.routes.conntrack import KEEP_MARK_MASK
from board.traffic.apply import TIMEOUT_S, TrafficError
from board.traffic.ruleset import CLASS_MASK, MARKS

TABLE = "relais_flows"
STICKY_MASK = KEEP_MARK_MASK
STICKY_MARK = 0x00100000
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
class FlowPlan:
    """What the flows table and rules hold now. Interfaces already checked; "" = not asked for."""
    lan_interface: str
    uplink_interfaces: tuple[str, ...] = ()   # NAT66 towards each of them (empty: no NAT66)
    backup_interface: str = ""
    backup_table: int = 0
    sticky: str = "none"                      # none | critical | all: which flows begun on the backup stay there
    sticky_active: bool = False               # the backup is up: the sticky rule routes marked flows through it
    pin_critical: bool = False                # critical flows through the backup now (the primary is degraded)

    def rules(self) -> tuple[tuple[int, int, int, int, str], ...]:
        """The fwmark rules wanted: (priority, mark, mask, table, iif), one per IP family each. Only for packets
        from the LAN: the classes mark a flow's answers too, and an answer sent to the backup's table (a default
        route and nothing else) would go back out to the internet."""
        wanted = []
        if self.pin_critical:
            wanted.append((PIN_RULE_PRIORITY, MARKS["critical"], CLASS_MASK, self.backup_table, self.lan_interface))
        if self.sticky != "none" and self.sticky_active:
            wanted.append((STICKY_RULE_PRIORITY, STICKY_MARK, STICKY_MASK, self.backup_table, self.lan_interface))
        return tuple(wanted)


def flows_ruleset(plan: FlowPlan) -> str:
    """The whole `nft -f` input: the table replaced in one transaction."""
    for name in (plan.lan_interface, plan.backup_interface, *plan.uplink_interfaces):
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
    if plan.sticky != "none" and plan.backup_interface:
        only = f"meta mark and {CLASS_MASK:#010x} == {MARKS['critical']:#010x} " if plan.sticky == "critical" else ""
        keep = f"{~STICKY_MASK & 0xFFFFFFFF:#010x}"
        lines += ["\tchain remember {", "\t\ttype filter hook postrouting priority mangle; policy accept;",
                  f'\t\tct state new {lan}oifname "{plan.backup_interface}" {only}'
                  f"ct mark set ct mark and {keep} or {STICKY_MARK:#010x} "
                  f'comment "a flow begun on the backup stays there"', "\t}",
                  "\tchain restore {", "\t\ttype filter hook prerouting priority mangle + 1; policy accept;",
                  f"\t\t{lan}ct mark and {STICKY_MASK:#010x} == {STICKY_MARK:#010x} "
                  f"meta mark set meta mark and {keep} or {STICKY_MARK:#010x}", "\t}"]
    lines.append("}")
    return "\n".join(lines) + "\n"


class FlowRules:
    """Puts a FlowPlan on the system with `nft` and `ip rule` (in a namespace when one is given), and takes it
    away. Only relais's own: the table `inet relais_flows` and fwmark rules tagged proto 83 at its priorities."""

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
        the NAT addresses its flows got, the LAN's say its prefixes. [] when it has none."""
        try:
            out = self._run(["ip", "-j", family, "addr", "show", "dev", interface, "scope", "global"])
        except TrafficError:
            return []     # the interface is gone, and its flows with it
        return [(a["local"], a["prefixlen"]) for link in json.loads(out or "[]")
                for a in link.get("addr_info", []) if "local" in a]

    def _set_rules(self, wanted: tuple[tuple[int, int, int, int, str], ...]) -> None:
        for family in ("-4", "-6"):
            present = set(self._ours(family))
            for rule in wanted:
                if rule not in present:
                    self._run(["ip", family, "rule", "add", *_rule_spec(rule), "protocol", str(RTPROT_FLOWS)])
            for rule in present - set(wanted):
                self._run(["ip", family, "rule", "del", *_rule_spec(rule)])

    def _ours(self, family: str) -> list[tuple[int, int, int, int, str]]:
        out = self._run(["ip", "-N", "-j", family, "rule", "show"])   # -N: tables by number, never a name
        found = []
        for r in json.loads(out or "[]"):
            if r.get("priority") in (PIN_RULE_PRIORITY, STICKY_RULE_PRIORITY) and "fwmark" in r \
                    and str(r.get("protocol")) == str(RTPROT_FLOWS):
                found.append((r["priority"], int(r["fwmark"], 16), int(r.get("fwmask", "0xffffffff"), 16),
                              int(r.get("table", 0)), r.get("iif", "")))
        return found

    def _run(self, cmd: list[str], stdin: str | None = None) -> str:
        try:
            done = subprocess.run(self._prefix + cmd, input=stdin, text=True, capture_output=True,
                                  timeout=TIMEOUT_S)
        except FileNotFoundError:
            raise TrafficError(f"{(self._prefix + cmd)[0]}: not installed") from None
        except subprocess.TimeoutExpired:
            raise TrafficError(f"{' '.join(cmd[:3])}: no answer within {TIMEOUT_S:g} s") from None
        if done.returncode:
            why = " ".join(done.stderr.split())[:300] or f"exit status {done.returncode}"
            raise TrafficError(f"{' '.join(cmd[:4])}: {why}")
        return done.stdout


def _rule_spec(rule: tuple[int, int, int, int, str]) -> list[str]:
    priority, mark, mask, table, iif = rule
    return ["fwmark", f"{mark:#x}/{mask:#x}", *(["iif", iif] if iif else []), "lookup", str(table),
            "priority", str(priority)]
