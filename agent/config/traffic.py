"""[traffic] and its rules: traffic classes on the cellular uplink (README "Traffic classes").

The rules are arrays of tables named after their class, `[[traffic.critical]]`, `[[traffic.normal]]`,
`[[traffic.bulk]]`: TOML cannot hold both a `[traffic]` table (the policy) and a `[[traffic]]` array, and `class`
cannot be a key here (a Python keyword, and every key is a dataclass field). Declared like the other sections
(agent.config.schema); agent/traffic.py turns the rules into board/traffic's terms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from agent.config.schema import Check, NonEmpty, Pattern, Range
from agent.config.sections import invalid

# RFC 4594 / RFC 8622 code point names; a rule may also give the number (0 to 63)
DSCP_NAMES = {"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56,
              "af11": 10, "af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22, "af31": 26, "af32": 28,
              "af33": 30, "af41": 34, "af42": 36, "af43": 38, "ef": 46, "va": 44, "le": 1}
PROTOCOLS = ("", "tcp", "udp", "icmp", "icmpv6", "esp", "gre", "sctp")
_PORTS = ("tcp", "udp", "sctp", "")      # protocols that have ports ("" = tcp or udp)


def dscp_value(value: int | str) -> int:
    """46 for "ef", "EF", 46 or "46"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a code point")
    if isinstance(value, str):
        text = value.strip().lower()
        if text in DSCP_NAMES:
            return DSCP_NAMES[text]
        if not text.isdigit():
            raise ValueError("unknown name")
        value = int(text)
    if not isinstance(value, int) or not 0 <= value <= 63:
        raise ValueError("out of 0 to 63")
    return value


def port_range(value: int | str) -> tuple[int, int]:
    """(5060, 5060) for 5060 or "5060", (10000, 20000) for "10000-20000"; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a port")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d{1,5}\s*(-\s*\d{1,5}\s*)?", value):
        lo_text, _, hi_text = value.partition("-")
        lo, hi = int(lo_text), int(hi_text or lo_text)
    else:
        raise ValueError("not a port")
    if not 1 <= lo <= hi <= 65535:
        raise ValueError("ports are 1 to 65535, low to high")
    return lo, hi


def network(value: str):
    """An address or a network ("192.0.2.7", "10.0.0.0/8", "2001:db8::/32") as an ip_network; host bits may be
    set."""
    import ipaddress     # only for a config with traffic rules
    if not isinstance(value, str) or value != value.strip():
        raise ValueError("not an address")
    return ipaddress.ip_network(value, strict=False)


def _optional(parse):
    def test(value) -> bool:
        if value == "":
            return True
        parse(value)
        return True
    return test


@dataclass(frozen=True)
class TrafficRule:
    """One rule: the flows it matches (every key given must match). Matched on the first packet of a flow, in the
    direction it was opened (from the LAN: its destination, port and protocol; the LAN device's address or MAC);
    the whole flow, both ways, keeps that class."""
    UNIQUE = ("name",)
    # how events, counters and the nft rule's comment name it
    name: Annotated[str, Pattern(r"[A-Za-z0-9_.-]{1,32}", "1 to 32 letters, digits, _ . or -"), NonEmpty()] = ""
    # DSCP the packets carry: a name ("ef", "cs1", "af41") or 0 to 63; "" = any
    dscp: Annotated[int | str, Check(_optional(dscp_value), 'a DSCP name ("ef", "af41", "cs1") or 0 to 63')] = ""
    # destination address or network, IPv4 or IPv6 ("203.0.113.7", "198.51.100.0/24"); "" = any
    dst: Annotated[str, Check(_optional(network), 'an IP address or network ("198.51.100.0/24")')] = ""
    # destination port or range: 5060, "10000-20000"; "" = any (with proto "" it means TCP or UDP)
    port: Annotated[int | str, Check(_optional(port_range), 'a port 1 to 65535 or a range "10000-20000"')] = ""
    proto: Literal[PROTOCOLS] = ""   # the IP protocol; "" = any
    # the LAN device's address or network; "" = any
    src: Annotated[str, Check(_optional(network), 'an IP address or network ("192.168.1.0/24")')] = ""
    # the LAN device's MAC address ("00:11:22:aa:bb:cc"); "" = any
    mac: Annotated[str, Pattern(r"([0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5})?", 'a MAC address ("00:11:22:aa:bb:cc")')] = ""

    def validate(self) -> None:
        if not any((self.dscp != "", self.dst, self.port != "", self.proto, self.src, self.mac)):
            raise invalid("name", "a rule matching something (dscp, dst, port, proto, src or mac)", self.name)
        if self.port != "" and self.proto not in _PORTS:
            raise invalid("proto", '"tcp", "udp", "sctp" or "" with a port', self.proto)
        families = {network(a).version for a in (self.dst, self.src) if a}
        if len(families) > 1:
            raise invalid("src", "the same IP version as dst", self.src)
        if self.proto in ("icmp", "icmpv6") and families and families != {4 if self.proto == "icmp" else 6}:
            raise invalid("proto", f"the IP version of dst and src (icmp is IPv4, icmpv6 IPv6)", self.proto)


# What a site gets without writing a rule (builtin = true), after its own rules. Only what is certain from the
# packet: DSCP EF is what desk phones and SIP trunks set on voice, SIP signalling has its ports, VPNs theirs;
# DSCP LE / CS1 is how software marks "less than best effort" (RFC 8622). Updates, backups and streaming travel
# over HTTPS like everything else: only the site knows them (their servers, their LAN hosts) — its rules say so.
BUILTIN_CRITICAL = (
    TrafficRule(name="voice-ef", dscp="ef"),
    TrafficRule(name="sip", port="5060-5061"),
    TrafficRule(name="ipsec-ike", proto="udp", port=500),
    TrafficRule(name="ipsec-nat-t", proto="udp", port=4500),
    TrafficRule(name="ipsec-esp", proto="esp"),
    TrafficRule(name="wireguard", proto="udp", port=51820),
    TrafficRule(name="openvpn", port=1194),
)
BUILTIN_BULK = (
    TrafficRule(name="lower-effort", dscp="le"),
    TrafficRule(name="scavenger-cs1", dscp="cs1"),
)
CLASSES = ("critical", "normal", "bulk")


@dataclass(frozen=True)
class TrafficConfig:
    """Traffic classes (issue 13): on the cellular uplink `bulk` is blocked or held to a rate and `critical` goes
    first; on a fixed line flows are only marked. One nftables table of relais's own (`inet relais_traffic`),
    replaced whole at each change, removed when relais stops. Off unless enabled. A flow takes the class of the
    first rule it matches: critical rules first, then normal ones, then bulk ones, each in file order, then the
    built-in ones; a flow no rule matches is normal."""
    enabled: bool = False     # apply the classes (needs nft and tc on the router)
    # on cellular: "block" drops bulk flows, "limit" holds them to bulk_rate_kbit each way
    bulk_on_cellular: Literal["block", "limit"] = "limit"
    bulk_rate_kbit: Annotated[int, Range(8, 10_000_000)] = 1000     # bulk's rate on cellular, each way (limit)
    # the cellular link's upload rate: the egress is shaped just under it (htb) so that critical packets queue
    # in relais's classes, not in the modem's buffer; 0 = unknown: marks and bulk rules only, no shaping
    cellular_upload_kbit: Annotated[int, Range(0, 10_000_000)] = 0
    # when this share of the month's data budget ([usage]) is used, `normal` is tightened too; 0 = never
    budget_pct: Annotated[float, Range(0, 100)] = 90.0
    normal_over_budget: Literal["block", "limit"] = "limit"     # what budget_pct does to normal on cellular
    normal_rate_kbit: Annotated[int, Range(8, 10_000_000)] = 1000   # normal's rate then, each way (limit)
    builtin: bool = True     # the built-in rules (README "Traffic classes") apply after yours
    # the LAN's interface (a bridge such as br-lan): nat6, sticky and pin_critical apply to flows from it
    lan_interface: Annotated[str, Pattern(r"([^/\s\"\\]{1,15})?",
                                          "an interface name (1 to 15 characters, no / or space)")] = ""
    # NAT66: the LAN's IPv6 masqueraded to the address of the uplink that carries it, so that LAN hosts reach the
    # IPv6 internet across a failover and back (docs/ipv6.md); needs lan_interface; works without enabled
    nat6: bool = False
    # flows begun on an uplink other than the preferred one stay on it after a failback while it is up (a VPN is
    # not cut): "all", "critical" (needs enabled) or "none"; needs lan_interface
    sticky: Literal["none", "critical", "all"] = "none"
    # while the active uplink is only degraded, class critical goes through the best other uplink that is up
    # (needs enabled, lan_interface)
    pin_critical: bool = False
    critical: tuple[TrafficRule, ...] = ()    # VoIP, payment terminals, VPN: prioritised on cellular
    normal: tuple[TrafficRule, ...] = ()      # exceptions: flows a bulk rule (or a built-in one) would take
    bulk: tuple[TrafficRule, ...] = ()        # updates, backups, streaming: blocked or limited on cellular

    def validate(self) -> None:
        if self.moves_flows and not self.lan_interface:
            key = "nat6" if self.nat6 else "sticky" if self.sticky != "none" else "pin_critical"
            raise invalid("lan_interface", f"the LAN's interface with {key} (only the LAN's flows are moved)",
                          self.lan_interface)
        if not self.enabled and (self.pin_critical or self.sticky == "critical"):
            key = "pin_critical" if self.pin_critical else "sticky"
            raise invalid("enabled", f"true with {key} (class critical is known only with the classes on)",
                          self.enabled)
        seen: set[str] = set()
        for klass in CLASSES:
            for rule in getattr(self, klass):
                if rule.name in seen:
                    raise invalid("name", "a name no other traffic rule has", rule.name, section=klass)
                seen.add(rule.name)

    @property
    def moves_flows(self) -> bool:
        """Something for agent/flows.py to do: NAT66, sticky flows or critical pinned."""
        return self.nat6 or self.sticky != "none" or self.pin_critical

    def rules(self) -> tuple[tuple[str, TrafficRule], ...]:
        """(class, rule) in matching order, the built-in rules last."""
        own = tuple((klass, r) for klass in ("critical", "normal", "bulk") for r in getattr(self, klass))
        if not self.builtin:
            return own
        return own + tuple(("critical", r) for r in BUILTIN_CRITICAL) + tuple(("bulk", r) for r in BUILTIN_BULK)
