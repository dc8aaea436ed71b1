"""The traffic classes as one nftables table and one htb qdisc: text and commands from a Plan, no IO.

    classify   prerouting, mangle: the first packet of a flow (in the direction it was opened) runs the rules;
               its class goes into the connection's mark, and every later packet of the flow, both ways, copies
               it into its own mark. Only the bits of CLASS_MASK are touched: other users of marks keep theirs.
    cellular   forward (only while on cellular): bulk (and `normal` over the data budget) rejected towards the
               cellular interface and dropped from it, or policed to a rate each way. Policing the download on
               the router is what a router can do: the queue that hurts the phone is in the operator's network,
               and a TCP download held below the link's rate by its drops no longer fills it.
    egress     postrouting (only with an upload rate): each class to its htb class on the cellular interface,
               through skb->priority (htb reads it directly: no tc filter to keep in step).

The table is replaced whole in one `nft -f` transaction (create-if-missing, delete, add): never half a ruleset,
and no other table is read or touched.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ipaddress

TABLE = "relais_traffic"
CLASS_MASK = 0x0F000000
MARKS = {"critical": 0x01000000, "normal": 0x02000000, "bulk": 0x03000000}
HTB_MAJOR = "7e1a"                      # relais's own qdisc handle on the cellular interface ("7e1a:")
HTB_CLASSES = {"critical": 10, "normal": 20, "bulk": 30}
SHAPE_SHARE = 0.95        # the htb ceiling just under the link's rate: the queue stays in relais's classes
_IFACE = re.compile(r"[^/\s\"\\]{1,15}")


@dataclass(frozen=True)
class Match:
    """What a rule matches; None / "" = anything. Values already parsed (agent/config/traffic.py checks them)."""
    dscp: int | None = None
    dst: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    ports: tuple[int, int] | None = None      # destination port range, inclusive
    proto: str = ""                           # "" = any; with ports: tcp or udp
    src: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    mac: str = ""


@dataclass(frozen=True)
class ClassRule:
    name: str
    klass: str             # critical | normal | bulk
    match: Match


@dataclass(frozen=True)
class Limit:
    """What happens to a class on cellular: "block" or "limit" (to rate_kbit each way)."""
    action: str
    rate_kbit: int = 0


@dataclass(frozen=True)
class Plan:
    """The rules and, when on cellular, what to do there. cellular_interface "" = on a fixed line: marks only."""
    rules: tuple[ClassRule, ...]
    cellular_interface: str = ""
    limits: tuple[tuple[str, Limit], ...] = ()      # (class, Limit): bulk, and normal over the budget
    upload_kbit: int = 0                            # > 0: shape the cellular egress with htb

    @property
    def shaped_interface(self) -> str:
        return self.cellular_interface if self.cellular_interface and self.upload_kbit else ""


def ruleset(plan: Plan) -> str:
    """The whole `nft -f` input: the table replaced in one transaction."""
    lines = [f"table inet {TABLE}", f"delete table inet {TABLE}", f"table inet {TABLE} {{",
             '\tcomment "relais traffic classes: replaced whole by relais, removed when it stops"',
             "\tchain classify {", "\t\ttype filter hook prerouting priority mangle; policy accept;"]
    for klass, mark in MARKS.items():     # a classified flow: its class, both ways
        lines.append(f"\t\tct mark and {CLASS_MASK:#010x} == {mark:#010x} {_set('meta', mark)} return")
    # a reply seen first (the flow began before this table): not classified from the wrong end
    lines.append("\t\tct direction reply return")
    for rule in plan.rules:
        for match in _matches(rule.match):
            mark = MARKS[rule.klass]
            lines.append(f"\t\t{match} {_set('ct', mark)} {_set('meta', mark)} return comment {_quote(rule.name)}")
    normal = MARKS["normal"]
    lines += [f"\t\t{_set('ct', normal)} {_set('meta', normal)}", "\t}"]
    iface = plan.cellular_interface
    if iface:
        _check_interface(iface)
        lines += ["\tchain cellular {", "\t\ttype filter hook forward priority filter; policy accept;"]
        for klass, limit in plan.limits:
            is_class = f"meta mark and {CLASS_MASK:#010x} == {MARKS[klass]:#010x}"
            if limit.action == "block":   # a refusal (TCP reset, ICMP) so that the LAN device gives up at once
                lines += [f'\t\t{is_class} oifname "{iface}" counter reject comment "{klass} blocked on cellular"',
                          f'\t\t{is_class} iifname "{iface}" counter drop comment "{klass} blocked on cellular"']
            else:
                rate = _rate(limit.rate_kbit)
                for way, key in (("up", "oifname"), ("down", "iifname")):
                    lines.append(f'\t\t{is_class} {key} "{iface}" limit rate over {rate} counter drop '
                                 f'comment "{klass} {way} limited on cellular"')
        lines.append("\t}")
    if plan.shaped_interface:
        lines += ["\tchain egress {", "\t\ttype filter hook postrouting priority mangle; policy accept;"]
        for klass, mark in MARKS.items():
            lines.append(f'\t\toifname "{iface}" meta mark and {CLASS_MASK:#010x} == {mark:#010x} '
                         f"meta priority set {HTB_MAJOR}:{HTB_CLASSES[klass]}")
        lines.append("\t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def qdisc_commands(plan: Plan) -> list[list[str]]:
    """tc commands (without "tc") that put relais's htb on the cellular interface; [] when nothing is shaped.
    Critical is served first (prio 0) and may borrow the whole link; bulk gets what is left, at most its rate."""
    dev = plan.shaped_interface
    if not dev:
        return []
    total = max(8, int(plan.upload_kbit * SHAPE_SHARE))
    limits = dict(plan.limits)
    bulk = limits.get("bulk")
    bulk_ceil = min(total, bulk.rate_kbit) if bulk is not None and bulk.action == "limit" else total
    rates = {"critical": (max(8, total * 4 // 10), total, 0), "normal": (max(8, total * 4 // 10), total, 1),
             "bulk": (max(8, min(bulk_ceil, total // 5)), bulk_ceil, 2)}
    h = HTB_MAJOR
    cmds = [["qdisc", "replace", "dev", dev, "root", "handle", f"{h}:", "htb", "default",
             str(HTB_CLASSES["normal"])],
            ["class", "replace", "dev", dev, "parent", f"{h}:", "classid", f"{h}:1", "htb",
             "rate", f"{total}kbit", "ceil", f"{total}kbit"]]
    for klass, (rate, ceil, prio) in rates.items():
        cmds.append(["class", "replace", "dev", dev, "parent", f"{h}:1", "classid", f"{h}:{HTB_CLASSES[klass]}",
                     "htb", "rate", f"{rate}kbit", "ceil", f"{ceil}kbit", "prio", str(prio)])
    return cmds


def _matches(m: Match) -> list[str]:
    """The nft match expressions of one rule: one line, or one per IP family when a DSCP or protocol rule has no
    address to say which."""
    parts = []
    if m.mac:
        parts.append(f"ether saddr {m.mac.lower()}")
    family = next((n.version for n in (m.src, m.dst) if n is not None), None)
    if m.proto == "icmp":
        family = 4
    elif m.proto == "icmpv6":
        family = 6
    for key, net in (("saddr", m.src), ("daddr", m.dst)):
        if net is not None:
            shown = net.with_prefixlen if net.num_addresses > 1 else net.network_address
            parts.append(f"{_ip(net.version)} {key} {shown}")
    if m.ports is not None:
        lo, hi = m.ports
        ports = str(lo) if lo == hi else f"{lo}-{hi}"
        proto = m.proto or ""
        parts.append(f"{proto} dport {ports}" if proto else f"meta l4proto {{ tcp, udp }} th dport {ports}")
    elif m.proto:
        parts.append(f"meta l4proto {m.proto}")
    if m.dscp is None:
        return [" ".join(parts)]
    if family is not None:
        return [" ".join(parts + [f"{_ip(family)} dscp {m.dscp}"])]
    return [" ".join(parts + [f"{_ip(v)} dscp {m.dscp}"]) for v in (4, 6)]


def _ip(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _set(what: str, mark: int) -> str:
    return f"{what} mark set {what} mark and {~CLASS_MASK & 0xFFFFFFFF:#010x} or {mark:#010x}"


def _rate(kbit: int) -> str:
    """nft's policing rate and burst for kbit/s: the burst is 100 ms at the rate (at least 8 kbytes)."""
    bytes_per_s = kbit * 1000 // 8
    return f"{bytes_per_s} bytes/second burst {max(8192, bytes_per_s // 10)} bytes"


def _quote(text: str) -> str:
    return '"' + re.sub(r'[^A-Za-z0-9_.\- ]', "_", text)[:60] + '"'


def _check_interface(name: str) -> None:
    if not _IFACE.fullmatch(name):
        raise ValueError(f"not an interface name: {name!r}")
