"""Flows follow the switch: after the default route moves, forget the NAT of LAN flows mapped to the old uplink.

A LAN flow keeps the NAT mapping its conntrack entry got when it began: source = the uplink's address then. A
switch changes the route, not the entry. With `masquerade`, Linux notices the packets leaving through another
interface and kills the entry (nf_nat_oif_changed), so the next packet is NATed afresh through the new uplink;
with SNAT rules, or kernels and firewalls that keep the mapping, the flow's packets leave through the new uplink
with the old uplink's address, their answers go to the old one, and a desk phone that sends every 20 ms keeps
its dead entry alive for as long as it talks. Deleting those entries makes every kernel behave the same: the
next datagram creates a new entry, NATed through the uplink now preferred.

Which entries: the reply direction's destination is the NAT address (the old uplink's), and the kernel marks
the entry as source-NATed (IPS_SRC_NAT). The router's own connections from that address (probes, a VPN the
router itself runs) were not translated and are kept: they are bound to the address and policy routing keeps
them on their uplink.

Over netlink (ctnetlink, pyroute2's Conntrack): the dump is filtered by the kernel (CTA_FILTER, Linux >= 5.8)
and again here, since older kernels ignore the filter and send every entry. Deletions run on a worker thread of
their own: a router with thousands of entries must not hold the agent's core thread.
"""
from __future__ import annotations

import errno
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
_STOP = object()


@dataclass(frozen=True)
class Forgotten:
    """One flush: the NAT addresses asked for, how many entries were deleted, how long it took."""
    addresses: tuple[str, ...]
    deleted: int
    took_s: float
    error: str | None = None


def forget_nat(addresses: Iterable[str], netns: str = "") -> Forgotten:
    """Delete the conntrack entries of flows source-NATed to any of `addresses`; RouteError if conntrack cannot
    be read (no ctnetlink, no permission)."""
    from pyroute2 import Conntrack   # lazily: only a switch needs it
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

    wanted = tuple(dict.fromkeys(a for a in addresses if a))
    start = time.monotonic()
    deleted = 0
    # pyroute2 enters the namespace at the first request, and flags=0 keeps it from creating a misspelt one
    if netns and not os.path.exists(netns if netns.startswith("/") else f"/var/run/netns/{netns}"):
        raise RouteError(f"conntrack: network namespace {netns!r} does not exist")
    try:
        ct = Conntrack(netns=netns, flags=0) if netns else Conntrack()
    except OSError as e:
        raise RouteError(f"conntrack: cannot open ctnetlink: {e.strerror or e}") from None
    try:
        for address in wanted:
            try:
                entries = [e for e in ct.dump_entries(tuple_reply=NFCTAttrTuple(family=socket.AF_INET,
                                                                                daddr=address))
                           if e.tuple_reply.daddr == address and (e.status or 0) & IPS_SRC_NAT]
            except (NetlinkError, OSError) as e:
                raise RouteError(f"conntrack: reading the entries NATed to {address}: {_reason(e)}") from None
            for entry in entries:
                try:
                    ct.entry("del", tuple_orig=entry.tuple_orig)
                except NetlinkError as e:
                    if e.code != errno.ENOENT:   # gone meanwhile (timed out, killed by the kernel): fine
                        raise RouteError(f"conntrack: deleting {entry.tuple_orig}: {_reason(e)}") from None
                    continue
                deleted += 1
    finally:
        ct.close()
    return Forgotten(wanted, deleted, time.monotonic() - start)


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
