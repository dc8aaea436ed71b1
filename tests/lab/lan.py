"""The failover lab with a LAN behind the router: what a LAN device sees of a switch.

    lan (192.168.50.10) ── lan0 ── router ── wan0 ─── isp1 ─┐
                                          └─ wwan0 ── isp2 ─┴── net (203.0.113.10: UDP echo, TCP, bulk)

The router forwards and NATs the LAN out of whichever uplink carries traffic, as a real router's firewall does;
relais itself installs no NAT. Two NAT modes, because kernels differ in what they do to a NAT mapping when the
route changes under it:
    "masquerade"  `oifname wan0 masquerade` (OpenWrt fw4, most routers). Linux kills a masqueraded entry whose
                  packets start leaving through another interface (nf_nat_oif_changed), so a flow re-NATs by
                  itself on this kernel.
    "snat"        `oifname wan0 snat to <wan0's address>`: the mapping is kept whatever the route says, as with
                  SNAT rules, or a kernel without that check. A flow's packets then leave through the new uplink
                  with the old uplink's address, and their answers go to the old (dead) uplink: the flow stays
                  dead as long as it keeps its entry alive, unless relais flushes it.

The echo server answers each datagram with the address it came from, so the LAN side knows which uplink carried
it (the ISPs' masquerade addresses, netlab.SEEN_AS).

With ipv6=True the lab has IPv6 too (tests/routes/netlab6.py: each uplink its own /64 from its ISP, the ISPs
routing without NAT): the LAN is numbered from a ULA prefix (fd00:50::/64, which no ISP routes) and the router
forwards IPv6; only relais's NAT66 ([traffic] nat6, board/traffic/flows.py) gets a LAN host's IPv6 out and back.
An IPv6 echo server at INTERNET_HOST6 answers with the uplink whose address it saw; the IPv6 probe targets of
tests/lab/netlab6.py are there too.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import subprocess
import threading
import time

from tests.lab.netlab import FLOW_HOST, INTERFACES, SEEN_AS, FailoverLab, _udp
from tests.routes.netlab import in_netns, sh
from tests.lab.netlab6 import add_ipv6_services
from tests.routes.netlab6 import INTERNET_HOST6, seen_as6

LAN_ROUTER = "192.168.50.1"
LAN_HOST = "192.168.50.10"
ECHO_PORT = 4000
BULK_PORT = 4001
PHONE_PORT = 5060       # a desk phone keeps its SIP/RTP port: one flow, one conntrack entry, for hours
UPLINK_ADDRESS = {"primary": "100.64.1.2", "backup": "100.64.2.2", "second": "100.64.3.2"}
NAT_MODES = ("masquerade", "snat")
LAN_ROUTER6 = "fd00:50::1"
LAN_HOST6 = "fd00:50::10"
VPN_PORT = 51820        # a WireGuard tunnel: one UDP flow as long as the tunnel is up


class LanLab(FailoverLab):
    def __init__(self, nat: str = "masquerade", ipv6: bool = False, third: bool = False) -> None:
        super().__init__(third)
        if nat not in NAT_MODES:
            raise ValueError(f"nat must be one of {NAT_MODES}, got {nat!r}")
        self.nat = nat
        self.ipv6 = ipv6
        self.lan = self.router[:-2] + "-lan"
        self.namespaces.append(self.lan)

    def build(self) -> None:
        super().build()   # creates every namespace in self.namespaces, the LAN's too
        self.veth(self.router, "lan0", f"{LAN_ROUTER}/24", self.lan, "eth0", f"{LAN_HOST}/24")
        sh("ip", "-n", self.lan, "route", "add", "default", "via", LAN_ROUTER)
        sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        rules = "".join(f'  oifname "{dev}" {self._nat_to(link)}\n'
                        for link, dev in INTERFACES.items() if link in self.isp)
        self.router_nft("table ip rlf_nat {\n chain post {\n  type nat hook postrouting priority 100;\n"
                        f'{rules} }}\n}}')
        if self.ipv6:
            for ns, address in ((self.router, f"{LAN_ROUTER6}/64"), (self.lan, f"{LAN_HOST6}/64")):
                sh("ip", "-n", ns, "-6", "addr", "add", address, "dev", "lan0" if ns == self.router else "eth0",
                   "nodad")
            sh("ip", "-n", self.lan, "-6", "route", "add", "default", "via", LAN_ROUTER6)
            sh("ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
            add_ipv6_services(self)   # addresses, routes, IPv6 probe targets; waits for DAD to pass everywhere
        self._start_lan_servers()

    def _nat_to(self, link: str) -> str:
        return "masquerade" if self.nat == "masquerade" else f"snat to {UPLINK_ADDRESS[link]}"

    def router_nft(self, ruleset: str) -> None:
        done = subprocess.run(["ip", "netns", "exec", self.router, "nft", "-f", "-"], text=True,
                              input=ruleset + "\n", capture_output=True)
        if done.returncode:
            raise RuntimeError(f"nft in {self.router}: {done.stderr.strip()}")

    def conntrack_nat_addresses(self, sport: int = PHONE_PORT, host: str = LAN_HOST) -> list[str]:
        """The NAT address of each of the router's conntrack entries of LAN flows from port `sport` (the reply
        direction's destination), read from /proc: the test's own view, independent of relais's netlink code."""
        out = sh("ip", "netns", "exec", self.router, "cat", "/proc/net/nf_conntrack", check=False)
        found = []
        for line in out.splitlines():     # /proc writes IPv6 addresses in full: compared as addresses
            fields = [f for f in line.split() if f.startswith(("src=", "dst=", "sport="))]
            if len(fields) >= 6 and fields[0].startswith("src=") and \
                    ipaddress.ip_address(fields[0][4:]) == ipaddress.ip_address(host) and fields[2] == f"sport={sport}":
                found.append(str(ipaddress.ip_address(next(f for f in fields[3:] if f.startswith("dst="))[4:])))
        return found

    # ---- LAN-side traffic --------------------------------------------------------------------------------
    def _start_lan_servers(self) -> None:
        echo = in_netns(self.net, lambda: _udp((FLOW_HOST, ECHO_PORT)))
        bulk = in_netns(self.net, lambda: socket.create_server((FLOW_HOST, BULK_PORT)))
        self._closers += [echo.close, bulk.close]
        self._serve(_echo_with_source, echo)
        self._serve(_send_bulk, bulk)
        if self.ipv6:
            echo6 = in_netns(self.net, lambda: _udp6((INTERNET_HOST6, ECHO_PORT)))
            self._closers.append(echo6.close)
            self._serve(_echo_with_source6, echo6)

    def phone(self, period_s: float = 0.02, port: int = PHONE_PORT, ipv6: bool = False) -> "Phone":
        """A LAN flow of one datagram every period_s from `port` (a desk phone; a VPN tunnel on VPN_PORT), over
        IPv6 from LAN_HOST6 with ipv6=True."""
        p = Phone(self, period_s, port, ipv6)
        self._closers.append(p.close)
        return p

    def lan_exit_taken(self, timeout: float = 5) -> str:
        """A new TCP connection from the LAN host to the internet host: the uplink it went through."""
        client = in_netns(self.lan, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        client.settimeout(timeout)
        with client:
            client.connect((FLOW_HOST, BULK_PORT))
            client.sendall(struct.pack("!I", 0))   # a bulk request for 0 bytes: only the uplink's name comes back
            return _read_exact(client, 16).rstrip(b"\0").decode()

    def download(self, nbytes: int, timeout: float = 20) -> tuple[str, float]:
        """A bulk download of nbytes from the internet to the LAN host: (uplink, seconds it took)."""
        client = in_netns(self.lan, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        client.settimeout(timeout)
        with client:
            start = time.monotonic()
            client.connect((FLOW_HOST, BULK_PORT))
            client.sendall(struct.pack("!I", nbytes))
            via = _read_exact(client, 16).rstrip(b"\0").decode()
            got = 0
            while got < nbytes:
                chunk = client.recv(1 << 16)
                if not chunk:
                    raise ConnectionError(f"download cut after {got} of {nbytes} bytes")
                got += len(chunk)
            return via, time.monotonic() - start


def _read_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def _echo_with_source(sock: socket.socket) -> None:
    data, peer = sock.recvfrom(2048)
    sock.sendto(data[:4] + SEEN_AS.get(peer[0], peer[0]).encode(), peer)


def _echo_with_source6(sock: socket.socket) -> None:
    data, peer = sock.recvfrom(2048)
    try:
        sock.sendto(data[:4] + seen_as6(peer[0]).encode(), peer)
    except OSError:
        pass    # no route back (a LAN's ULA address not translated): lost, as on the internet; the server goes on


def _udp6(addr) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(addr)
    return s


def _send_bulk(server: socket.socket) -> None:
    conn, (peer, _) = server.accept()

    def send() -> None:
        with conn:
            try:
                conn.settimeout(20)
                (nbytes,) = struct.unpack("!I", _read_exact(conn, 4))
                conn.sendall(SEEN_AS.get(peer, peer).encode().ljust(16, b"\0"))
                block = b"x" * (1 << 16)
                while nbytes > 0:
                    conn.sendall(block[:nbytes])
                    nbytes -= len(block)
            except OSError:
                pass
    threading.Thread(target=send, daemon=True).start()


class Phone:
    """A LAN desk phone's long-lived UDP flow: one datagram every period_s from one fixed port to the echo
    server; `answers` = [(monotonic time, uplink, seq)], `sent_at[seq]` = when each was sent."""

    def __init__(self, lab: LanLab, period_s: float, port: int = PHONE_PORT, ipv6: bool = False):
        self.period_s = period_s
        self.answers: list[tuple[float, str, int]] = []
        self.sent_at: list[float] = []
        self._stop = threading.Event()
        self._to = (INTERNET_HOST6 if ipv6 else FLOW_HOST, ECHO_PORT)
        self._sock = in_netns(lab.lan, lambda: (_udp6 if ipv6 else _udp)((LAN_HOST6 if ipv6 else LAN_HOST, port)))
        self._threads = [threading.Thread(target=self._receive, daemon=True),
                         threading.Thread(target=self._send, daemon=True)]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        """Stops the flow. Returns once its port is free: the receiver blocked in recv() keeps the socket until its
        0.2 s timeout, and a phone opened at once on the same port would find it taken."""
        self._stop.set()
        self._sock.close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(1.0)

    def _send(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sent_at.append(time.monotonic())
            try:
                self._sock.sendto(struct.pack("!I", seq), self._to)
            except OSError:
                pass
            seq += 1
            next_at += self.period_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _receive(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data = self._sock.recv(64)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.answers.append((time.monotonic(), data[4:].decode(errors="replace"), struct.unpack("!I", data[:4])[0]))

    def first_answer(self, after: float, via: str | None = None) -> float | None:
        """When the first answer to a datagram sent after `after` arrived (through `via`, if given)."""
        return next((t for t, up, seq in list(self.answers)
                     if self.sent_at[seq] >= after and (via is None or up == via)), None)

    def answered_since(self, after: float) -> int:
        return sum(1 for _, _, seq in list(self.answers) if self.sent_at[seq] >= after)
