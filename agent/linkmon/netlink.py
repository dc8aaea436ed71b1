"""Carrier, address and route changes from the kernel (rtnetlink), so an unplugged or dead port is seen at once
rather than after probes time out.

A thread listens on a NETLINK_ROUTE socket subscribed to link, IPv4 address and IPv4 route groups; pyroute2's
rtnl marshal decodes the messages. It subscribes *before* reading the current state, so a change in between is
not lost (at worst it is seen twice, and only changes are posted). Posted to the core:
    CarrierChanged(interface, up)      up = administratively up and carrier (IFF_UP and IFF_LOWER_UP)
    AddressChanged(interface, address) first global IPv4 address, None when the last one went
    RoutesChanged()                    any IPv4 route change (ours included), or a global IPv6 address of a
                                       watched interface coming or going: the controller re-checks its routes
                                       (an IPv6 address is never the link's address: that one is IPv4)
An interface that disappears (a USB modem re-enumerating) is carrier down until it comes back, by name.

Why it also polls: the kernel announces carrier changes from its "linkwatch" work, which holds non-urgent events
(a physical NIC losing carrier is one) back until a second after the previous link event anywhere on the
machine. A router where nothing else happens sees them at once; a busy one (or a lab shared with other tests)
can wait up to 1 s. The carrier bit itself (IFF_LOWER_UP in a RTM_GETLINK answer) is current at once, so every
CARRIER_POLL_S the watcher asks for its interfaces' flags: a few µs of kernel work and two small messages.
"""
from __future__ import annotations

import errno
import logging
import select
import socket
import struct
import threading
import time
from typing import Any, Callable

from pyroute2 import IPRoute
from pyroute2.netlink.rtnl import (RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_GETLINK, RTM_NEWADDR,
                                   RTM_NEWLINK, RTM_NEWROUTE, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE,
                                   RTMGRP_IPV6_IFADDR, RTMGRP_LINK)
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from agent.linkmon.inputs import AddressChanged, CarrierChanged, RoutesChanged
from agent.linkmon.netns import enter_netns

log = logging.getLogger(__name__)

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000
RCVBUF = 1 << 20
CARRIER_POLL_S = 0.1   # see the module comment: the bound on how late a carrier change can be seen
POLL_SEQ = 0x524C0000  # sequence numbers of our own requests (poll answers are read without full decoding)
NLM_F_REQUEST = 0x1
NLMSG_HEADER = struct.Struct("=IHHII")     # length, type, flags, seq, pid
IFINFOMSG = struct.Struct("=BxHiII")       # family, type, index, flags, change


class NetlinkWatcher:
    def __init__(self, interfaces: list[str], post: Callable[[Any], None], *, netns: str = "",
                 clock: Callable[[], float] = time.monotonic):
        self._names = set(interfaces)
        self._post = post
        self._netns = netns
        self._clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        # what was last posted, so that only changes are
        self._carrier: dict[str, bool] = {}
        self._address: dict[str, str | None] = {}
        # kernel state: ifindex -> name, and per name its global IPv4 addresses (in the kernel's order)
        self._index: dict[int, str] = {}
        self._addrs: dict[str, list[str]] = {}

    def start(self, wait_s: float = 5.0) -> None:
        """Start listening; returns once the current state has been read and posted (or after wait_s)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="netlink", daemon=True)
        self._thread.start()
        self._ready.wait(wait_s)

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ---- the watcher thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            enter_netns(self._netns)
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        except OSError as e:
            log.error("netlink: cannot listen%s: %s", f" in {self._netns}" if self._netns else "", e)
            self._ready.set()
            return
        marshal = MarshalRtnl()
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
            sock.bind((0, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_IFADDR))
            self._resync()
            self._ready.set()
            next_poll = self._clock()
            while not self._stop.is_set():
                now = self._clock()
                if now >= next_poll:
                    self._poll(sock)
                    next_poll = now + CARRIER_POLL_S
                readable, _, _ = select.select([sock], [], [], max(0.0, next_poll - self._clock()))
                if not readable:
                    continue
                try:
                    data = sock.recv(1 << 16)
                except OSError as e:
                    if e.errno == errno.ENOBUFS:   # the kernel dropped messages: read the whole state again
                        log.warning("netlink: messages lost (ENOBUFS); re-reading link state")
                        self._resync()
                        continue
                    raise
                self._receive(data, marshal)

    def _poll(self, sock: socket.socket) -> None:
        for index, name in list(self._index.items()):
            if name in self._names:
                body = IFINFOMSG.pack(socket.AF_UNSPEC, 0, index, 0, 0)
                header = NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), RTM_GETLINK, NLM_F_REQUEST,
                                           POLL_SEQ | (index & 0xFFFF), 0)
                try:
                    sock.send(header + body)
                except OSError as e:
                    log.warning("netlink: carrier poll failed: %s", e)
                    return

    def _receive(self, data: bytes, marshal: MarshalRtnl) -> None:
        offset = 0
        while offset + NLMSG_HEADER.size <= len(data):
            length, kind, _, seq, _ = NLMSG_HEADER.unpack_from(data, offset)
            if length < NLMSG_HEADER.size:
                return
            chunk = data[offset:offset + length]
            offset += (length + 3) & ~3
            if seq & 0xFFFF0000 == POLL_SEQ:
                # our poll's answer (or its error, when the link went: its RTM_DELLINK says so)
                if kind == RTM_NEWLINK and len(chunk) >= NLMSG_HEADER.size + IFINFOMSG.size:
                    _, _, index, flags, _ = IFINFOMSG.unpack_from(chunk, NLMSG_HEADER.size)
                    name = self._index.get(index)
                    if name in self._names:
                        self._set_carrier(name, _is_up(flags), self._clock())
                continue
            for msg in marshal.parse(chunk):
                try:
                    self._handle(msg)
                except Exception:   # one odd message must not stop carrier detection
                    log.exception("netlink: cannot handle %s", msg.get("event"))

    def _resync(self) -> None:
        """Read links and addresses as they are now."""
        try:
            with IPRoute() as ipr:
                links = list(ipr.link("dump"))
                addrs = list(ipr.addr("dump", family=socket.AF_INET))
        except OSError as e:
            log.error("netlink: cannot read link state: %s", e)
            return
        self._index.clear()
        self._addrs = {}
        for link in links:
            self._index[link["index"]] = link.get_attr("IFLA_IFNAME")
        for a in addrs:
            self._note_addr(a, add=True)
        up = {link.get_attr("IFLA_IFNAME"): _is_up(link["flags"]) for link in links}
        now = self._clock()
        for name in sorted(self._names):
            self._set_carrier(name, up.get(name, False), now)
            self._set_address(name, now)

    def _handle(self, msg) -> None:
        kind = msg["header"]["type"]
        now = self._clock()
        if kind in (RTM_NEWLINK, RTM_DELLINK):
            name = msg.get_attr("IFLA_IFNAME") or self._index.get(msg["index"])
            if kind == RTM_DELLINK:
                self._index.pop(msg["index"], None)
                self._addrs.pop(name, None)
            else:
                self._index[msg["index"]] = name
            if name in self._names:
                self._set_carrier(name, kind == RTM_NEWLINK and _is_up(msg["flags"]), now)
                self._set_address(name, now)
        elif kind in (RTM_NEWADDR, RTM_DELADDR) and msg["family"] == socket.AF_INET6:
            # a router advertisement's address (or its DAD done, or a prefix gone): the IPv6 routes to re-check
            if msg["scope"] == 0 and self._index.get(msg["index"]) in self._names:
                self._post(RoutesChanged(now))
        elif kind in (RTM_NEWADDR, RTM_DELADDR):
            name = self._note_addr(msg, add=kind == RTM_NEWADDR)
            if name in self._names:
                self._set_address(name, now)
        elif kind in (RTM_NEWROUTE, RTM_DELROUTE):
            self._post(RoutesChanged(now))

    def _note_addr(self, msg, add: bool) -> str | None:
        name = self._index.get(msg["index"])
        address = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        if name is None or msg["scope"] != 0 or not address:   # scope 0: global
            return name
        current = self._addrs.setdefault(name, [])
        if add and address not in current:
            current.append(address)
        elif not add and address in current:
            current.remove(address)
        return name

    def _set_carrier(self, name: str, up: bool, now: float) -> None:
        if self._carrier.get(name) != up:
            self._carrier[name] = up
            self._post(CarrierChanged(name, up, now))

    def _set_address(self, name: str, now: float) -> None:
        addresses = self._addrs.get(name) or []
        address = addresses[0] if addresses else None
        if name not in self._address or self._address[name] != address:
            self._address[name] = address
            self._post(AddressChanged(name, address, now))


def _is_up(flags: int) -> bool:
    return bool(flags & IFF_UP and flags & IFF_LOWER_UP)
