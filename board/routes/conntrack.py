"""Flows follow the switch: after the default route moves, forget the NAT of LAN flows mapped to the old uplink.

A LAN flow keeps the NAT mapping its conntrack entry got when it began: source = the uplink's address then. A
switch changes the route, not the entry. With `masquerade`, Linux notices the packets leaving through another
interface and kills the entry (nf_nat_oif_changed), so the next packet is NATed afresh through the new uplink;
with SNAT rules, or kernels and firewalls that keep the mapping, the flow's packets leave through the new uplink
with the old uplink's address, their answers go to the old one, and a desk phone that sends every 20 ms keeps
its dead entry alive for as long as it talks. Deleting those entries makes every kernel behave the same: the
next datagram creates a new entry, NATed through the uplink now preferred.

Which entries: the reply direction's destination is the NAT address (the old uplink's), and the kernel marks
the entry as source-NATed (IPS_SRC_NAT); not those whose connection mark says they stay where they are (sticky
flows, KEEP_MARK_MASK). The router's own connections from that address (probes, a VPN the
router itself runs) were not translated and are kept: they are bound to the address and policy routing keeps
them on their uplink.

Over netlink (ctnetlink, pyroute2's Conntrack), IPv4 and IPv6 (NAT66): the source-NATed entries are dumped
(the kernel filters by status from Linux 5.15) and filtered here by NAT address, then deleted one by one. This
runs on a worker thread of its own: a router with thousands of entries must not hold the agent's core thread.

Three more selections for the LAN flows part (agent/flows.py): forget_nat(..., mark=) only one traffic class's
entries (critical pinned or unpinned), forget_untranslated() the LAN's flows that no NAT translated (begun
before NAT66 came into force), and forget_sticky() the flows held on an uplink that went down.
"""
from __future__ import annotations

import errno
import ipaddress
import logging
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable

from board.routes.base import RouteError

log = logging.getLogger(__name__)

IPS_SRC_NAT = 0x10          # include/uapi/linux/netfilter/nf_conntrack_common.h: the source was translated
# The connection-mark bits of flows relais keeps on the uplink they began on (sticky flows, board/traffic/flows.py):
# a flush never deletes an entry with one of them set, or a VPN through the backup would be cut at the failback.
KEEP_MARK_MASK = 0x00F00000
_STOP = object()


@dataclass(frozen=True)
class Forgotten:
    """One flush: the NAT addresses asked for, how many entries were deleted, how long it took."""
    addresses: tuple[str, ...]
    deleted: int
    took_s: float
    error: str | None = None


def forget_nat(addresses: Iterable[str], netns: str = "", mark: tuple[int, int] | None = None) -> Forgotten:
    """Delete the conntrack entries of flows source-NATed to any of `addresses` (IPv4 or IPv6), only those whose
    connection mark has `mark` = (value, mask) when given (one traffic class); RouteError if conntrack cannot be
    read (no ctnetlink, no permission) or an address is not one."""
    wanted = tuple(dict.fromkeys(_canonical(a) for a in addresses if a))
    _check_netns(netns)
    start = time.monotonic()
    deleted = 0
    for family in (socket.AF_INET, socket.AF_INET6):   # one ctnetlink socket per address family asked for
        mine = {ipaddress.ip_address(a) for a in wanted if _family(a) == family}
        if not mine:
            continue

        def nated_to_mine(status: int, ctmark: int, orig, reply, mine=mine) -> bool:
            return bool(status & IPS_SRC_NAT) and reply.daddr is not None \
                and ipaddress.ip_address(reply.daddr) in mine \
                and (mark is None or ctmark & mark[1] == mark[0])
        shown = ", ".join(sorted(map(str, mine)))
        deleted += _forget(family, netns, f"the entries NATed to {shown}", nated_to_mine, only_src_nat=True)
    return Forgotten(wanted, deleted, time.monotonic() - start)


def forget_untranslated(networks: Iterable[str], netns: str = "") -> Forgotten:
    """Delete the entries of flows from `networks` (a LAN's prefixes) that were not source-NATed: flows begun while
    no NAT applied to them (NAT66 switched on, or off while the agent was stopped) keep that as long as they talk,
    and their answers cannot come back. RouteError as for forget_nat()."""
    try:
        nets = tuple(dict.fromkeys(ipaddress.ip_network(n, strict=False) for n in networks if n))
    except ValueError:
        raise RouteError(f"conntrack: not a network among {list(networks)!r}") from None
    _check_netns(netns)
    start = time.monotonic()
    deleted = 0
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        mine = tuple(n for n in nets if n.version == version)
        if not mine:
            continue

        def untranslated_from_mine(status: int, ctmark: int, orig, reply, mine=mine) -> bool:
            if status & IPS_SRC_NAT or orig.saddr is None or orig.daddr is None:
                return False
            source, dest = ipaddress.ip_address(orig.saddr), ipaddress.ip_address(orig.daddr)
            # from the LAN to outside it: LAN-to-router and LAN-to-LAN flows are not the internet's
            return any(source in n for n in mine) and not any(dest in n for n in mine) \
                and not dest.is_link_local and not dest.is_multicast
        shown = ", ".join(map(str, mine))
        deleted += _forget(family, netns, f"the untranslated entries from {shown}", untranslated_from_mine,
                           only_src_nat=False)
    return Forgotten(tuple(map(str, nets)), deleted, time.monotonic() - start)


def forget_sticky(marks: Iterable[int], netns: str = "") -> Forgotten:
    """Delete the source-NATed entries (IPv4 and IPv6) whose connection mark carries one of `marks` in
    KEEP_MARK_MASK: the flows held on uplinks that went down. Their rule is gone and their packets follow the main table through
    another uplink; with SNAT rules their mapping (the dead uplink's address) would keep them dead for as long as
    they talk. Their next packet begins a new entry, NATed where it now leaves. RouteError as for forget_nat()."""
    wanted = frozenset(marks)
    wrong = sorted(m for m in wanted if not isinstance(m, int) or not m or m & ~KEEP_MARK_MASK)
    if wrong:
        raise RouteError(f"conntrack: {wrong[0]!r} is not a sticky mark (bits {KEEP_MARK_MASK:#010x})")
    if not wanted:
        return Forgotten((), 0, 0.0)
    _check_netns(netns)
    start = time.monotonic()
    shown = ", ".join(f"{m:#x}" for m in sorted(wanted))

    def held(status: int, ctmark: int, orig, reply) -> bool:
        return bool(status & IPS_SRC_NAT) and (ctmark & KEEP_MARK_MASK) in wanted
    deleted = sum(_forget(family, netns, f"the entries marked {shown}", held, only_src_nat=True,
                          keep_sticky=False) for family in (socket.AF_INET, socket.AF_INET6))
    return Forgotten((), deleted, time.monotonic() - start)


def _check_netns(netns: str) -> None:
    # pyroute2 enters the namespace at the first request, and flags=0 keeps it from creating a misspelt one
    if netns and not os.path.exists(netns if netns.startswith("/") else f"/var/run/netns/{netns}"):
        raise RouteError(f"conntrack: network namespace {netns!r} does not exist")


def _forget(family: int, netns: str, what: str, select: Callable[..., bool], only_src_nat: bool,
            keep_sticky: bool = True) -> int:
    """Delete the entries of `family` that `select(status, mark, orig, reply)` picks, never one with a
    KEEP_MARK_MASK bit (a sticky flow) unless keep_sticky is False; the number deleted."""
    from pyroute2 import Conntrack   # lazily: only a switch needs it
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

    try:
        ct = Conntrack(nfgen_family=family, netns=netns, flags=0) if netns else Conntrack(nfgen_family=family)
    except OSError as e:
        raise RouteError(f"conntrack: cannot open ctnetlink: {e.strerror or e}") from None
    deleted = 0
    try:
        try:
            # Filtered here by NAT address: the kernel's reply-tuple filter (CTA_FILTER) is missing before Linux
            # 5.8, had bugs after, and on 6.18 through pyroute2 0.9 returns no IPv6 entry at all. The kernel does
            # filter by status from 5.15 on (older ones send everything, checked here again): the router's own
            # connections, its probes first, are not even sent.
            dump = ct.dump(status=IPS_SRC_NAT, status_mask=IPS_SRC_NAT) if only_src_nat else ct.dump()
            tuples = []
            for msg in dump:
                ctmark = msg.get_attr("CTA_MARK") or 0
                if keep_sticky and ctmark & KEEP_MARK_MASK:
                    continue
                orig = NFCTAttrTuple.from_netlink(family, msg.get_attr("CTA_TUPLE_ORIG"))
                reply = NFCTAttrTuple.from_netlink(family, msg.get_attr("CTA_TUPLE_REPLY"))
                if select(msg.get_attr("CTA_STATUS") or 0, ctmark, orig, reply):
                    tuples.append(orig)
        except (NetlinkError, OSError) as e:
            raise RouteError(f"conntrack: reading {what}: {_reason(e)}") from None
        for orig in tuples:
            try:
                ct.entry("del", tuple_orig=orig)
            except NetlinkError as e:
                if e.code != errno.ENOENT:   # gone meanwhile (timed out, killed by the kernel): fine
                    raise RouteError(f"conntrack: deleting {orig}: {_reason(e)}") from None
                continue
            deleted += 1
    finally:
        ct.close()
    return deleted


def _canonical(address: str) -> str:
    """The address as Python spells it; RouteError for anything that is not one (it would match nothing)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise RouteError(f"conntrack: {address!r} is not an IP address") from None


def _family(address: str) -> int:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _reason(e: BaseException) -> str:
    code = getattr(e, "code", None) or getattr(e, "errno", None)
    if code == errno.EPERM:
        return "operation not permitted (needs root or CAP_NET_ADMIN)"
    return str(e)


class NatForgetter:
    """forget_nat() on a worker thread: forget() returns at once. Results go to `on_done` (called on the worker
    thread) and the last few stay in `results`."""

    KEEP = 20

    def __init__(self, netns: str = "", on_done: Callable[[Forgotten], None] | None = None,
                 flush: Callable[[Iterable[str], str], Forgotten] = forget_nat):
        self.netns = netns
        self.on_done = on_done
        self.results: list[Forgotten] = []
        self._flush = flush
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None

    def forget(self, addresses: Iterable[str]) -> None:
        wanted = tuple(a for a in addresses if a)
        if not wanted:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="conntrack-flush", daemon=True)
            self._thread.start()
        self._queue.put(wanted)

    def close(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while (wanted := self._queue.get()) is not _STOP:
            try:
                result = self._flush(wanted, self.netns)
            except RouteError as e:
                result = Forgotten(wanted, 0, 0.0, str(e))
                log.warning("flows not moved to the new uplink: %s", e)
            else:
                log.info("forgot %d NAT entries of flows through %s in %.0f ms", result.deleted,
                         ", ".join(wanted), result.took_s * 1000)
            self.results = (self.results + [result])[-self.KEEP:]
            if self.on_done is not None:
                self.on_done(result)
