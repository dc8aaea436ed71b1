"""[[uplinks]]: every way out of the site, each with a name, an interface, a kind and a priority (issue 13).

Traffic goes to the healthiest uplink of best priority (lower = preferred); a worse one is used only when every
better one is down (docs/failover.md). A configuration without [[uplinks]] keeps meaning what it always meant:
two uplinks named "primary" ([board] primary_interface) and "backup" (the modem, [board] cellular_interface),
which is what events, ledger rows, MQTT state and the routes already call them. `effective()` gives that list
either way; everything that works per uplink asks it, never [board] directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from agent.config.schema import Check, Pattern, Range
from agent.config.sections import BoardConfig, _ipv4_or_empty, _ipv6_gateway_or_empty, invalid

KINDS = ("ethernet", "cellular", "starlink", "wifi")
FIRST_TABLE = 100    # table 0 (= automatic) is FIRST_TABLE + the uplink's position: 101, 102... as before


@dataclass(frozen=True)
class UplinkConfig:
    """One [[uplinks]] table: a way out of the site (docs/failover.md). Traffic goes to the healthiest uplink of
    best priority; a worse one is used only when every better one is down. Without any [[uplinks]], the site has
    two: "primary" ([board] primary_interface) and "backup" (the modem, [board] cellular_interface). The name is
    the uplink's key everywhere: events (`failover` from / to), the MQTT state, the ledger, `relais failover`."""
    UNIQUE = ("name",)     # interfaces: check_uplinks() (an empty one means the modem's)
    # how events, the state and commands name it: lower-case letters, digits and _, starting with a letter
    name: Annotated[str, Pattern(r"[a-z][a-z0-9_]{0,23}", "a name of 1 to 24 lower-case letters, digits or _, "
                                                         "starting with a letter")] = ""
    # its network interface; for the cellular uplink "" = [board] cellular_interface (the modem's)
    interface: Annotated[str, Pattern(r"([^/\s]{1,15})?", "an interface name (1 to 15 characters, no / or space)")] \
        = ""
    # ethernet (fiber, DSL, cable), cellular (the modem: cold standby applies, probed sparingly), starlink, wifi
    kind: Literal[KINDS] = "ethernet"
    # lower is preferred; uplinks of equal priority: traffic stays where it is
    priority: Annotated[int, Range(0, 1000)] = 10
    # iproute2: IPv4 gateway; "" = found in the interface's routes
    gateway: Annotated[str, Check(_ipv4_or_empty, 'an IPv4 address or ""')] = ""
    # iproute2: IPv6 gateway, usually link-local (fe80::1); "" = found in the interface's routes
    gateway6: Annotated[str, Check(_ipv6_gateway_or_empty, 'a unicast IPv6 address without %zone or ""')] = ""
    # iproute2 policy routing table of this uplink; 0 = 100 + its position in the list (101, 102, ...)
    table: Annotated[int, Range(0, 2**32 - 1), Check(lambda t: t not in (253, 254, 255),
                                                       "a table other than 253, 254, 255 (reserved)")] = 0
    # networkmanager: connection id or uuid; "" = the one active on the interface
    connection: str = ""
    # probe targets of this uplink (as [probes] targets); none = [probes] targets
    targets: tuple[str, ...] = ()

    def validate(self) -> None:
        if not self.name:
            raise invalid("name", "a name for the uplink", self.name)
        if not self.interface and self.kind != "cellular":
            raise invalid("interface", "the uplink's interface name", self.interface)

    @property
    def cellular(self) -> bool:
        return self.kind == "cellular"


def legacy(board: BoardConfig) -> tuple[UplinkConfig, UplinkConfig]:
    """What a configuration without [[uplinks]] has always meant."""
    return (UplinkConfig(name="primary", interface=board.primary_interface, kind="ethernet", priority=1,
                         gateway=board.primary_gateway, gateway6=board.primary_gateway6, table=board.primary_table,
                         connection=board.primary_connection),
            UplinkConfig(name="backup", interface=board.cellular_interface, kind="cellular", priority=2,
                         gateway=board.backup_gateway, gateway6=board.backup_gateway6, table=board.backup_table,
                         connection=board.backup_connection))


def effective(board: BoardConfig, uplinks: tuple[UplinkConfig, ...]) -> tuple[UplinkConfig, ...]:
    """The uplinks, in priority order (stable: the file's order among equals), interfaces and tables filled in."""
    if not uplinks:
        return legacy(board)
    from dataclasses import replace
    filled = [replace(u, interface=u.interface or board.cellular_interface, table=u.table or FIRST_TABLE + i + 1)
              for i, u in enumerate(uplinks)]
    return tuple(sorted(filled, key=lambda u: u.priority))


def check_uplinks(board: BoardConfig, uplinks: tuple[UplinkConfig, ...], method: str, contracts: tuple = ()):
    """What involves several uplinks or other sections; raises Invalid (section "uplinks #N", "contracts #N") or
    returns None."""
    names = [u.name for u in effective(board, uplinks)]
    for i, c in enumerate(contracts):
        if c.uplink not in names:
            raise invalid("uplink", f"the name of an uplink ({', '.join(names)})", c.uplink,
                          section=f"contracts #{i + 1}")
    if not uplinks:
        return
    from agent.config.grammar import parse_target    # imported here: it brings ipaddress and urllib.parse
    from agent.config.schema import Invalid, show
    cellular = [i for i, u in enumerate(uplinks) if u.cellular]
    if len(cellular) > 1:
        raise invalid("kind", "at most one cellular uplink (one [modem] is configured)", "cellular",
                      section=f"uplinks #{cellular[1] + 1}")
    for i, u in enumerate(uplinks):
        where = f"uplinks #{i + 1}"
        if u.cellular and u.interface and u.interface != board.cellular_interface:
            raise invalid("interface", f'the modem\'s interface ([board] cellular_interface = '
                                       f'"{board.cellular_interface}") or ""', u.interface, section=where)
        for t in u.targets:
            try:
                parse_target(t, method)
            except ValueError as e:
                raise Invalid("targets written as 1.1.1.1, 2001:db8::1, tcp:IP:PORT, tcp:[IPv6]:PORT, dns:IP or "
                              "http(s)://...", f"{show(t)} ({str(e).partition(': ')[2]})", key="targets",
                              section=where) from None
    interfaces = [u.interface or board.cellular_interface for u in uplinks]
    for i, name in enumerate(interfaces):
        if name in interfaces[:i]:
            raise invalid("interface", "an interface no other [[uplinks]] has", name, section=f"uplinks #{i + 1}")
    tables = [u.table or FIRST_TABLE + i + 1 for i, u in enumerate(uplinks)]
    for i, table in enumerate(tables):
        if table in tables[:i]:
            raise invalid("table", "a table no other [[uplinks]] has (0 = 100 + the position)", table,
                          section=f"uplinks #{i + 1}")


__all__ = ["UplinkConfig", "KINDS", "legacy", "effective", "check_uplinks"]
