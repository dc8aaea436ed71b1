"""Data usage on real interfaces: a veth pair between two network namespaces (the "router" end is the cellular
interface), traffic sent through it, counters read over netlink in the namespace as `[board] netns` makes the
meter do, and the interface deleted and re-created as a modem reset does. Plus the real sysfs format on `lo`.

Namespaces are named r5bu-<pid>-<n>-{r,i} and deleted on exit, also on failure.
"""
from __future__ import annotations

import itertools
import os
import socket
import subprocess

import pytest

from agent.cellular.usage import attach_usage, netlink_reader, sysfs_reader
from agent.config import from_dict
from agent.core import Core
from agent.modem_service import ModemStatus
from tests.conftest import require_root
from tests.routes.netlab import in_netns, sh

ICCID = "89330123456789012345"
ROUTER_IP, ISP_IP = "198.51.100.1", "198.51.100.2"
_n = itertools.count()


class VethLab:
    def __init__(self) -> None:
        tag = f"r5bu-{os.getpid()}-{next(_n)}"
        self.router, self.isp = f"{tag}-r", f"{tag}-i"

    def build(self) -> None:
        for ns in (self.router, self.isp):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.plug()

    def plug(self) -> None:
        """(Re-)create the cellular interface wwan0, as the modem driver does after a reset."""
        sh("ip", "-n", self.router, "link", "add", "wwan0", "type", "veth", "peer", "name", "up0", "netns", self.isp)
        sh("ip", "-n", self.router, "addr", "add", f"{ROUTER_IP}/30", "dev", "wwan0")
        sh("ip", "-n", self.isp, "addr", "add", f"{ISP_IP}/30", "dev", "up0")
        sh("ip", "-n", self.router, "link", "set", "wwan0", "up")
        sh("ip", "-n", self.isp, "link", "set", "up0", "up")

    def unplug(self) -> None:
        sh("ip", "-n", self.router, "link", "del", "wwan0")

    def send(self, n: int, size: int = 1000) -> int:
        """n UDP datagrams of `size` bytes from the router to the ISP end; returns the payload bytes sent."""
        def run() -> int:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                for _ in range(n):
                    s.sendto(b"x" * size, (ISP_IP, 9))
            return n * size
        return in_netns(self.router, run)

    def destroy(self) -> None:
        for ns in (self.router, self.isp):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def lab():
    require_root()
    lab = VethLab()
    try:
        lab.build()
        yield lab
    finally:
        lab.destroy()


def test_sysfs_format_on_loopback():
    c = sysfs_reader("/sys/class/net", "lo")()
    assert c is not None and c.ifindex == 1 and c.rx >= 0 and c.tx >= 0
    assert sysfs_reader("/sys/class/net", "nosuch0")() is None


def test_netlink_counters_in_a_namespace(lab):
    read = netlink_reader(lab.router, "wwan0")
    before = read()
    assert before is not None
    sent = lab.send(200)
    after = read()
    assert after.ifindex == before.ifindex
    assert after.tx - before.tx >= sent          # payload plus UDP/IP/Ethernet headers
    assert netlink_reader(lab.router, "nosuch0")() is None
    missing = f"{lab.router}-missing"
    try:
        assert netlink_reader(missing, "wwan0")() is None
        assert not os.path.exists(f"/var/run/netns/{missing}")     # reading must not create the namespace
    finally:
        subprocess.run(["ip", "netns", "del", missing], capture_output=True)


def test_meter_counts_a_real_interface_across_its_recreation(lab, tmp_path):
    config = from_dict({"storage": {"dir": str(tmp_path)}, "board": {"netns": lab.router,
                                                                      "cellular_interface": "wwan0"}})
    core = Core()
    meter = attach_usage(core, config)           # [board] netns set: netlink in that namespace
    core.drain()
    core.post(ModemStatus({"iccid": ICCID, "sim_slot": 1, "sim_state": "READY"}))
    core.drain()
    first = lab.send(300)
    meter.sample(core.now())
    counted = meter.month_bytes(ICCID)
    assert first <= counted < first * 1.2
    lab.unplug()                                 # modem reset: the interface goes away ...
    meter.sample(core.now())
    assert core.state["cellular"]["usage"]["counters_ok"] is False
    lab.plug()                                   # ... and comes back with a new ifindex and counters from 0
    second = lab.send(100)
    meter.sample(core.now())
    assert counted + second <= meter.month_bytes(ICCID) < counted + second * 1.3
    assert core.state["cellular"]["usage"]["counters_ok"] is True
    meter.stop()
