"""The netlink watcher and IPv6 addresses, in a network namespace of its own (root; run in CI): a global IPv6
address coming or going on a watched interface asks the controller to re-check its routes, and never becomes the
link's address (that one is IPv4)."""
from __future__ import annotations

import os
import threading
import time

import pytest

from agent.linkmon.inputs import AddressChanged, RoutesChanged
from agent.linkmon.netlink import NetlinkWatcher
from tests.conftest import require_root
from tests.routes.netlab import sh

pytestmark = pytest.mark.root


@pytest.fixture
def netns():
    require_root()
    name = f"rln6-{os.getpid()}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "add", "wan0", "type", "veth", "peer", "name", "peer0")
        sh("ip", "-n", name, "addr", "add", "100.64.1.2/24", "dev", "wan0")
        sh("ip", "-n", name, "link", "set", "wan0", "up")
        sh("ip", "-n", name, "link", "set", "peer0", "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def test_an_ipv6_address_asks_for_a_route_check_and_is_not_the_links_address(netns):
    posted: list = []
    arrived = threading.Event()

    def post(item) -> None:
        posted.append(item)
        arrived.set()
    watcher = NetlinkWatcher(["wan0"], post, netns=netns)
    watcher.start()
    try:
        assert [p.address for p in posted if isinstance(p, AddressChanged)] == ["100.64.1.2"]
        start = len(posted)
        sh("ip", "-n", netns, "-6", "addr", "add", "2001:db8:1::2/64", "dev", "wan0", "nodad")
        deadline = time.monotonic() + 5
        while not any(isinstance(p, RoutesChanged) for p in posted[start:]) and time.monotonic() < deadline:
            arrived.wait(0.1)
            arrived.clear()
        assert any(isinstance(p, RoutesChanged) for p in posted[start:])
        # the IPv4 address stays the link's address; the IPv6 one was heard, not taken for it
        sh("ip", "-n", netns, "addr", "del", "100.64.1.2/24", "dev", "wan0")
        deadline = time.monotonic() + 5
        while not any(isinstance(p, AddressChanged) for p in posted[start:]) and time.monotonic() < deadline:
            arrived.wait(0.1)
            arrived.clear()
        changes = [p.address for p in posted[start:] if isinstance(p, AddressChanged)]
        assert changes == [None]
    finally:
        watcher.stop()
