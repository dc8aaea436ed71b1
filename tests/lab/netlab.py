"""The failover lab: the route backends' lab (tests/routes/netlab.py: router, two ISPs, an "internet") plus what
failover needs — probe targets, servers for every probe kind, and faults.

    router ── wan0 ─── isp1 ─┐        net: 192.0.2.1-3 (probe targets, ICMP and TCP 443),
           └─ wwan0 ── isp2 ─┴── net       192.0.2.53 (DNS), 192.0.2.80 (HTTP 204), 203.0.113.10 (flows)
           (└─ wan1 ─── isp3 ─┘  with third=True: a second operator's fixed line, "second")

Faults, each on one uplink's ISP so the router's own link stays as it is unless the fault is the link itself:
    carrier(link, up)       the ISP side of the veth down: the router sees NO-CARRIER (fiber unplugged)
    blackhole(link, on)     the ISP's default route replaced by a blackhole: first hop up, nothing beyond
    loss(link, pct)         nftables `numgen random` drop of forwarded packets, each direction (LAB.md)
    delay(ms, jitter_ms)    the internet answers echo requests from user space after a delay (no netem here);
                            with uplinks=("primary",) only those that came through these uplinks' ISPs
Namespaces are named rlf-<pid><n>-* and deleted on exit, also on failure.
"""
from __future__ import annotations

import heapq
import http.server
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time

from tests.routes.netlab import Lab as RoutesLab
from tests.routes.netlab import in_netns, sh

PREFIX = "rlf-"
TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
DNS_HOST = "192.0.2.53"
HTTP_HOST = "192.0.2.80"
FLOW_HOST = "203.0.113.10"
GATEWAYS = {"primary": "100.64.1.1", "backup": "100.64.2.1", "second": "100.64.3.1"}
INTERFACES = {"primary": "wan0", "backup": "wwan0", "second": "wan1"}
SEEN_AS = {"100.64.11.1": "primary", "100.64.12.1": "backup", "100.64.13.1": "second"}   # the ISPs' masquerade
ISP_NUMBER = {"primary": 1, "backup": 2, "second": 3}
_count = iter(range(10**6))


class FailoverLab(RoutesLab):
    def __init__(self, third: bool = False) -> None:
        super().__init__(third)
        tag = f"{os.getpid() % 100000}{next(_count)}"
        self.router, self.isp1, self.isp2, self.net = (f"{PREFIX}{tag}-{n}" for n in ("r", "i1", "i2", "net"))
        self.namespaces = [self.router, self.isp1, self.isp2, self.net]
        self.isp = {"primary": self.isp1, "backup": self.isp2}
        if third:
            self.isp3 = f"{PREFIX}{tag}-i3"
            self.namespaces.append(self.isp3)
            self.isp["second"] = self.isp3
        self._threads_stop = threading.Event()
        self._closers: list = []


    def build(self) -> None:
        super().build()
        for host in (*TARGETS, DNS_HOST, HTTP_HOST):
            sh("ip", "-n", self.net, "addr", "add", f"{host}/32", "dev", "lo")
        for link in self.isp:   # byte counters: what the router sends and receives through each ISP
            self.nft(link, "table inet rlf_count {\n chain through {\n type filter hook forward priority -10;\n"
                           ' iifname "down0" counter\n oifname "down0" counter\n }\n}')
        self._start_servers()

    def destroy(self) -> None:
        self._threads_stop.set()
        for close in self._closers:
            try:
                close()
            except OSError:
                pass
        super().destroy()

    # ---- faults ------------------------------------------------------------------------------------------
    def nft(self, link: str, ruleset: str) -> None:
        done = subprocess.run(["ip", "netns", "exec", self.isp[link], "nft", "-f", "-"], text=True,
                              input=ruleset + "\n", capture_output=True)
        if done.returncode:
            raise RuntimeError(f"nft in {self.isp[link]}: {done.stderr.strip()}")

    def carrier(self, link: str, up: bool) -> None:
        sh("ip", "-n", self.isp[link], "link", "set", "down0", "up" if up else "down")

    def blackhole(self, link: str, on: bool) -> None:
        route = ["blackhole", "default"] if on else ["default", "via", f"100.64.1{ISP_NUMBER[link]}.2"]
        sh("ip", "-n", self.isp[link], "route", "replace", *route)

    def loss(self, link: str, pct: int) -> None:
        sh("ip", "netns", "exec", self.isp[link], "nft", "delete", "table", "inet", "rlf_loss", check=False)
        if pct:
            self.nft(link, "table inet rlf_loss {\n chain through {\n type filter hook forward priority 0;\n"
                           f" numgen random mod 100 < {int(pct)} drop\n }}\n}}")

    def delay(self, ms: float, jitter_ms: float = 0.0, uplinks: tuple[str, ...] = ()) -> "DelayedEcho":
        """From now on the targets' echo replies come from user space after ms ± jitter_ms; with `uplinks`, only
        those to requests that came through these uplinks' ISPs (the others at once): one line slow, not the
        internet. Set the returned echo's `ms` and `jitter_ms` to change the delay; close() it to end it."""
        sh("ip", "netns", "exec", self.net, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        echo = DelayedEcho(self, ms, jitter_ms, uplinks)
        self._closers.append(echo.close)
        return echo

    def bytes_through(self, link: str) -> int:
        """Bytes the router exchanged through this uplink's ISP (both directions), from nftables counters."""
        out = sh("ip", "netns", "exec", self.isp[link], "nft", "-j", "list", "table", "inet", "rlf_count")
        total = 0
        for item in json.loads(out)["nftables"]:
            for expr in item.get("rule", {}).get("expr", []):
                if "counter" in expr:
                    total += expr["counter"]["bytes"]
        return total

    # ---- servers for the probes --------------------------------------------------------------------------
    def _start_servers(self) -> None:
        tcp = [in_netns(self.net, lambda h=h: socket.create_server((h, 443))) for h in TARGETS]
        dns = in_netns(self.net, lambda: _udp((DNS_HOST, 53)))
        httpd = in_netns(self.net, lambda: http.server.ThreadingHTTPServer((HTTP_HOST, 80), _Http204))
        for s in tcp:
            self._closers.append(s.close)
            self._serve(_accept_and_close, s)
        self._closers.append(dns.close)
        self._serve(_answer_dns, dns)
        self._closers.append(httpd.server_close)
        self._closers.append(httpd.shutdown)
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    def _serve(self, fn, sock: socket.socket) -> None:
        def loop() -> None:
            sock.settimeout(0.2)
            while not self._threads_stop.is_set():
                try:
                    fn(sock)
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return
        threading.Thread(target=loop, daemon=True).start()

    # ---- flows -------------------------------------------------------------------------------------------
    def flow(self, period_s: float = 0.005) -> "Flow":
        f = Flow(self, period_s)
        self._closers.append(f.close)
        return f


def _udp(addr) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr)
    return s


def _accept_and_close(sock: socket.socket) -> None:
    conn, _ = sock.accept()
    conn.close()


def _answer_dns(sock: socket.socket) -> None:
    """Any query gets NXDOMAIN back: enough for a prober, which only needs a response with its id."""
    data, peer = sock.recvfrom(2048)
    if len(data) >= 12:
        sock.sendto(data[:2] + struct.pack("!H", 0x8183) + data[4:], peer)


class _Http204(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/generate_204":
            self.send_response(204)
            self.end_headers()
        else:   # a "captive portal": not what a probe wants
            body = b"<html>login</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class DelayedEcho:
    """Answers echo requests to the targets from user space, after a delay: latency and jitter without netem.
    One raw socket per target, bound to it, so that replies leave with the target's address as source."""

    def __init__(self, lab: FailoverLab, ms: float, jitter_ms: float, uplinks: tuple[str, ...] = ()):
        self.ms, self.jitter_ms = ms, jitter_ms
        self.uplinks = frozenset(uplinks)   # empty: every request delayed
        self._net = lab.net
        self._socks = [in_netns(lab.net, lambda h=h: _raw_bound(h)) for h in TARGETS]
        self._stop = threading.Event()
        self._due: list = []
        self._lock = threading.Condition()
        self._rng = random.Random(7)
        for s in self._socks:
            threading.Thread(target=self._read, args=(s,), daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def close(self) -> None:
        """Ends the delay: the kernel answers echo requests again."""
        if self._stop.is_set():
            return
        self._stop.set()
        with self._lock:
            self._lock.notify()
        for s in self._socks:
            s.close()
        sh("ip", "netns", "exec", self._net, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=0", check=False)

    def _read(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                packet, (peer, _) = sock.recvfrom(2048)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            ihl = (packet[0] & 0x0F) * 4
            icmp = packet[ihl:]
            if len(icmp) < 8 or icmp[0] != 8:   # echo requests only
                continue
            reply = bytearray(icmp)
            reply[0], reply[2:4] = 0, b"\0\0"
            reply[2:4] = struct.pack("!H", _checksum(bytes(reply)))
            delay = 0.0
            if not self.uplinks or SEEN_AS.get(peer) in self.uplinks:
                delay = max(0.0, self.ms + self._rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000
            with self._lock:
                heapq.heappush(self._due, (time.monotonic() + delay, id(reply), sock, bytes(reply), peer))
                self._lock.notify()

    def _write(self) -> None:
        with self._lock:
            while not self._stop.is_set():
                if not self._due:
                    self._lock.wait(0.2)
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                _, _, sock, reply, peer = heapq.heappop(self._due)
                try:
                    sock.sendto(reply, (peer, 0))
                except OSError:
                    pass


def _raw_bound(host: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.bind((host, 0))
    return s


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class Flow:
    """A continuous flow from the router to the internet: one UDP datagram every period_s from an unbound,
    unconnected socket (each send follows the routing table), received in `net`, where the source address
    (the ISP's masquerade) tells which uplink carried it. `arrivals` = [(monotonic time, uplink, seq)];
    `sent_at[seq]` = when it was sent."""

    def __init__(self, lab: FailoverLab, period_s: float):
        self.period_s = period_s
        self.arrivals: list[tuple[float, str, int]] = []
        self.sent_at: list[float] = []   # by sequence number
        self._stop = threading.Event()
        self._rx = in_netns(lab.net, lambda: _udp((FLOW_HOST, 0)))
        self._tx = in_netns(lab.router, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        self._dest = self._rx.getsockname()
        threading.Thread(target=self._receive, daemon=True).start()
        threading.Thread(target=self._send, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._tx.close()
        self._rx.close()

    def _send(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sent_at.append(time.monotonic())
            try:
                self._tx.sendto(struct.pack("!I", seq), self._dest)
            except OSError:
                pass   # no route for a moment: the flow goes on
            seq += 1
            next_at += self.period_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _receive(self) -> None:
        self._rx.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, (peer, _) = self._rx.recvfrom(64)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.arrivals.append((time.monotonic(), SEEN_AS.get(peer, peer), struct.unpack("!I", data[:4])[0]))

    def first_through(self, uplink: str, after: float) -> float | None:
        """When the first datagram *sent* after `after` arrived through `uplink`. Sent, not arrived: datagrams
        sent into a dead link wait in its ARP queue and come out when it returns, as news from before."""
        return next((t for t, via, seq in list(self.arrivals) if via == uplink and self.sent_at[seq] >= after),
                    None)
