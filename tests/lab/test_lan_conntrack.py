"""The NAT flush on a real kernel's conntrack (board/routes/conntrack.py), without the agent: which entries go and
which stay. The router's own connections from the uplink's address and LAN flows NATed to another uplink stay;
only LAN flows source-NATed to the address asked for go."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from board.routes import RouteError
from board.routes.conntrack import forget_nat
from tests.conftest import require_root
from tests.lab.lan import ECHO_PORT, LAN_HOST, UPLINK_ADDRESS
from tests.lab.netlab import FLOW_HOST
from tests.routes.netlab import in_netns, sh

pytestmark = [pytest.mark.root]


@pytest.fixture(params=["masquerade", "snat"])
def lan_lab(request):
    require_root()
    from tests.lab.lan import LanLab
    with LanLab(request.param) as built:
        built.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan0")
        yield built


def exchange(ns: str, source: tuple[str, int]) -> None:
    """One datagram to the echo server from `source`, and its answer: one conntrack entry in the router."""
    def run() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.bind(source)
            s.sendto(b"\0\0\0\0", (FLOW_HOST, ECHO_PORT))
            s.recv(64)
    in_netns(ns, run)


def entries(lab) -> set[tuple[str, int, str]]:
    """(original source, source port, NAT address) of the router's UDP entries to the echo server, from /proc."""
    found = set()
    for line in sh("ip", "netns", "exec", lab.router, "cat", "/proc/net/nf_conntrack").splitlines():
        kv = [w.split("=", 1) for w in line.split() if w.startswith(("src=", "dst=", "sport="))]
        if "udp" in line.split() and len(kv) >= 6 and kv[1][1] == FLOW_HOST:
            found.add((kv[0][1], int(kv[2][1]), kv[4][1]))
    return found


def test_only_lan_flows_natted_to_the_address_are_forgotten(lan_lab):
    exchange(lan_lab.lan, (LAN_HOST, 5060))                       # a LAN flow through the primary
    exchange(lan_lab.router, (UPLINK_ADDRESS["primary"], 7000))   # the router's own, from the primary's address
    lan_lab.ip("route", "replace", "default", "via", "100.64.2.1", "dev", "wwan0")
    exchange(lan_lab.lan, (LAN_HOST, 5061))                       # a LAN flow through the backup
    before = entries(lan_lab)
    assert before == {(LAN_HOST, 5060, UPLINK_ADDRESS["primary"]), (UPLINK_ADDRESS["primary"], 7000,
                                                                    UPLINK_ADDRESS["primary"]),
                      (LAN_HOST, 5061, UPLINK_ADDRESS["backup"])}

    result = forget_nat([UPLINK_ADDRESS["primary"]], netns=lan_lab.router)
    assert result.deleted == 1 and result.addresses == (UPLINK_ADDRESS["primary"],) and result.error is None
    assert entries(lan_lab) == before - {(LAN_HOST, 5060, UPLINK_ADDRESS["primary"])}
    assert forget_nat([UPLINK_ADDRESS["primary"]], netns=lan_lab.router).deleted == 0   # idempotent


def test_many_flows_are_forgotten_in_one_flush(lan_lab):
    for port in range(6000, 6200):
        exchange(lan_lab.lan, (LAN_HOST, port))
    assert len(entries(lan_lab)) == 200
    result = forget_nat([UPLINK_ADDRESS["primary"], UPLINK_ADDRESS["backup"]], netns=lan_lab.router)
    assert result.deleted == 200 and entries(lan_lab) == set()


def test_without_privilege_it_is_one_clear_error(lan_lab):
    """CAP_NET_ADMIN dropped: the dump or the deletion is refused, and the caller gets one line."""
    code = ("from board.routes.conntrack import forget_nat\n"
            "from board.routes import RouteError\n"
            f"try:\n forget_nat(['{UPLINK_ADDRESS['primary']}'], netns='{lan_lab.router}')\n"
            "except RouteError as e:\n print(e)\n")
    exchange(lan_lab.lan, (LAN_HOST, 5060))
    # Root without capabilities, not another user: a checkout in a private home (mode 0700, as Debian makes them)
    # cannot be read by nobody, and the test is about the missing capability, not about the file system.
    done = subprocess.run(["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--ambient-caps=-all",
                           sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=str(Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("conntrack: ") and done.stdout.count("\n") == 1, done.stdout


def test_ipv6_flows_natted_to_the_address_are_forgotten(lan_lab):
    """NAT66 (masquerade or SNAT on ip6), should an IPv6 LAN be translated: the same flush, by IPv6 address, whatever
    its spelling."""
    router, lan, isp = lan_lab.router, lan_lab.lan, lan_lab.isp1
    for ns, dev, address in ((router, "lan0", "fd00:50::1/64"), (lan, "eth0", "fd00:50::10/64"),
                             (router, "wan0", "fd00:1::2/64"), (isp, "down0", "fd00:1::1/64")):
        sh("ip", "-n", ns, "addr", "add", address, "dev", dev, "nodad")
    sh("ip", "-n", lan, "-6", "route", "add", "default", "via", "fd00:50::1")
    sh("ip", "-n", router, "-6", "route", "add", "default", "via", "fd00:1::1", "dev", "wan0")
    sh("ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    nat = "masquerade" if lan_lab.nat == "masquerade" else "snat to fd00:1::2"
    lan_lab.router_nft("table ip6 rlf_nat6 {\n chain post {\n  type nat hook postrouting priority 100;\n"
                       f'  oifname "wan0" {nat}\n }}\n}}')
    echo = in_netns(isp, lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    echo.bind(("fd00:1::1", ECHO_PORT))

    def client() -> None:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.bind(("fd00:50::10", 5060))
            s.sendto(b"ping", ("fd00:1::1", ECHO_PORT))
            data, peer = echo.recvfrom(64)
            assert peer[0] == "fd00:1::2"          # translated to the router's uplink address
            echo.sendto(data, peer)
            assert s.recv(64) == b"ping"
    try:
        in_netns(lan, client)
    finally:
        echo.close()
    exchange(lan_lab.lan, (LAN_HOST, 5061))    # an IPv4 LAN flow through the primary too

    def v6_entries() -> list[str]:
        return [line for line in sh("ip", "netns", "exec", router, "cat", "/proc/net/nf_conntrack").splitlines()
                if line.startswith("ipv6") and " udp " in line]
    assert len(v6_entries()) == 1
    result = forget_nat(["fd00:0001:0000:0000:0000:0000:0000:0002", UPLINK_ADDRESS["primary"]], netns=router)
    assert result.deleted == 2 and v6_entries() == [] and entries(lan_lab) == set()


def test_what_is_not_an_address_is_refused():
    with pytest.raises(RouteError, match=r"conntrack: 'wan0' is not an IP address"):
        forget_nat(["wan0"])
