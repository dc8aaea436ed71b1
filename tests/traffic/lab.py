"""A LAN behind a router whose uplink is a shaped "cellular" link, for the traffic classes:

    lan ── lan1 (10.77.0.2) ── lan0 ── router ── wwan0 (100.64.2.2, masquerade) ── down0 ── isp ── up0 ── net
                                                        tbf 5 Mbit/s, 200 ms queue on down0, towards the router
    net: 203.0.113.10 — TCP 8080 sends bytes without end (a bulk download), TCP 8081 takes them (an upload),
         UDP 5004 echoes (the phone's peer)

The tbf in the operator's namespace is the queue a download fills (a router cannot shape what it receives; it
can only make the download slow down). It is one hop away from the server on purpose: on the sender's own
interface TCP small queues would keep it nearly empty, which no real download does. Namespaces are named
rtc-<pid><n>-*, deleted on exit, also on failure.
"""
from __future__ import annotations

import os
import socket
import statistics
import struct
import threading
import time
from dataclasses import dataclass

from tests.routes.netlab import in_netns, sh

PREFIX = "rtc-"
SERVER = "203.0.113.10"
SERVER6, LAN_HOST6 = "2001:db8:100::10", "fd77::2"     # IPv6 routed end to end, no NAT
BULK_PORT, PHONE_PORT, SINK_PORT = 8080, 5004, 8081
LAN_HOST, LAN_MAC = "10.77.0.2", "02:00:00:77:00:02"
CELL_RATE = "5mbit"
TOS_EF = 46 << 2
_count = iter(range(10**6))


class CellLab:
    def __init__(self, rate: str = CELL_RATE) -> None:
        tag = f"{os.getpid() % 100000}{next(_count)}"
        self.lan, self.router, self.isp, self.net = (f"{PREFIX}{tag}-{n}" for n in ("lan", "r", "isp", "net"))
        self.namespaces = [self.lan, self.router, self.isp, self.net]
        self.rate = rate
        self._stop = threading.Event()
        self._closers: list = []
        self.uploaded = 0            # bytes the sink received: what crossed the uplink
        self._sink_lock = threading.Lock()

    def __enter__(self) -> "CellLab":
        try:
            self.build()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()

    def build(self) -> None:
        for ns in self.namespaces:
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "lan1", "netns", self.lan, "address", LAN_MAC, "type", "veth",
           "peer", "lan0", "netns", self.router)
        sh("ip", "link", "add", "wwan0", "netns", self.router, "type", "veth", "peer", "down0", "netns", self.isp)
        sh("ip", "link", "add", "up0", "netns", self.isp, "type", "veth", "peer", "eth0", "netns", self.net)
        for ns, dev, addr in ((self.lan, "lan1", f"{LAN_HOST}/24"), (self.router, "lan0", "10.77.0.1/24"),
                              (self.router, "wwan0", "100.64.2.2/30"), (self.isp, "down0", "100.64.2.1/30"),
                              (self.isp, "up0", "100.64.12.1/30"), (self.net, "eth0", "100.64.12.2/30"),
                              (self.net, "lo", f"{SERVER}/32")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.lan, "route", "add", "default", "via", "10.77.0.1")
        sh("ip", "-n", self.router, "route", "add", "default", "via", "100.64.2.1")
        sh("ip", "-n", self.isp, "route", "add", f"{SERVER}/32", "via", "100.64.12.2")
        sh("ip", "-n", self.net, "route", "add", "default", "via", "100.64.12.1")
        for ns in (self.router, self.isp):
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
            sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        for ns, dev, addr in ((self.lan, "lan1", f"{LAN_HOST6}/64"), (self.router, "lan0", "fd77::1/64"),
                              (self.router, "wwan0", "2001:db8:2::2/64"), (self.isp, "down0", "2001:db8:2::1/64"),
                              (self.isp, "up0", "2001:db8:12::1/64"), (self.net, "eth0", "2001:db8:12::2/64"),
                              (self.net, "lo", f"{SERVER6}/128")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev, "nodad")
        sh("ip", "-n", self.lan, "-6", "route", "add", "default", "via", "fd77::1")
        sh("ip", "-n", self.router, "-6", "route", "add", "default", "via", "2001:db8:2::1")
        sh("ip", "-n", self.isp, "-6", "route", "add", f"{SERVER6}/128", "via", "2001:db8:12::2")
        sh("ip", "-n", self.isp, "-6", "route", "add", "fd77::/64", "via", "2001:db8:2::2")
        sh("ip", "-n", self.net, "-6", "route", "add", "default", "via", "2001:db8:12::1")
        sh("ip", "netns", "exec", self.router, "nft", "add table ip lab_nat; add chain ip lab_nat post "
           "{ type nat hook postrouting priority srcnat; }; add rule ip lab_nat post oifname wwan0 masquerade")
        # the operator's queue: what a download waits in when it is faster than the link
        sh("ip", "netns", "exec", self.isp, "tc", "qdisc", "add", "dev", "down0", "root", "tbf", "rate", self.rate,
           "burst", "32kbit", "latency", "200ms")
        self._start_servers()

    def destroy(self) -> None:
        self._stop.set()
        for close in self._closers:
            try:
                close()
            except OSError:
                pass
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)

    def nft(self, *args: str) -> str:
        return sh("ip", "netns", "exec", self.router, "nft", *args)

    # ---- servers -----------------------------------------------------------------------------------------
    def _start_servers(self) -> None:
        bulk = in_netns(self.net, lambda: socket.create_server((SERVER, BULK_PORT)))
        # CUBIC, the default of Linux servers, fills the operator's queue as downloads do (this machine's own
        # default may be BBR, which keeps queues short and would make the lab kinder than the field)
        bulk.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
        echo = in_netns(self.net, lambda: _udp((SERVER, PHONE_PORT)))
        sink = in_netns(self.net, lambda: socket.create_server((SERVER, SINK_PORT)))
        bulk6 = in_netns(self.net, lambda: socket.create_server((SERVER6, BULK_PORT), family=socket.AF_INET6))
        self._closers += [bulk.close, echo.close, sink.close, bulk6.close]
        threading.Thread(target=self._serve_bulk, args=(bulk6,), daemon=True).start()
        threading.Thread(target=self._serve_bulk, args=(bulk,), daemon=True).start()
        threading.Thread(target=self._serve_bulk, args=(sink, self._take_forever), daemon=True).start()
        threading.Thread(target=self._echo, args=(echo,), daemon=True).start()

    def shape_up(self, rate: str) -> None:
        """The modem's upload: a tbf on the operator's side towards the internet, with a 200 ms queue that an
        upload fills unless the router keeps the queue in its own classes."""
        sh("ip", "netns", "exec", self.isp, "tc", "qdisc", "replace", "dev", "up0", "root", "tbf", "rate", rate,
           "burst", "32kbit", "latency", "200ms")

    def _take_forever(self, conn: socket.socket) -> None:
        conn.settimeout(1.0)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                    if not data:
                        return
                    with self._sink_lock:
                        self.uploaded += len(data)
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return

    def _serve_bulk(self, server: socket.socket, handle=None) -> None:
        handle = handle or self._send_forever
        server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def _send_forever(self, conn: socket.socket) -> None:
        chunk = b"x" * 65536
        conn.settimeout(1.0)
        with conn:
            while not self._stop.is_set():
                try:
                    conn.sendall(chunk)
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return

    def _echo(self, sock: socket.socket) -> None:
        sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = sock.recvfrom(2048)
                sock.sendto(data, peer)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return

    # ---- LAN devices -------------------------------------------------------------------------------------
    def upload(self, streams: int = 2) -> "Upload":
        """A LAN device sending to the sink as fast as it is let (a cloud backup); no class rule matches it."""
        u = Upload(self, streams)
        self._closers.append(u.close)
        return u

    def download(self, streams: int = 4, server: str = SERVER) -> "Download":
        """A bulk download of `streams` TCP connections (an OS update, a cloud sync: several at once)."""
        d = Download(self, streams, server)
        self._closers.append(d.close)
        return d

    def phone_call(self, seconds: float, period_s: float = 0.020, payload: int = 172) -> "CallQuality":
        """A phone-like UDP flow from the LAN for `seconds`: one DSCP EF datagram every 20 ms (G.711 RTP size),
        echoed by the server; loss and jitter of what comes back."""
        sock = in_netns(self.lan, lambda: _udp(("0.0.0.0", 0)))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, TOS_EF)
        sent: dict[int, float] = {}
        back: dict[int, float] = {}
        done = threading.Event()

        def receive() -> None:
            sock.settimeout(0.1)
            while not done.is_set():
                try:
                    data = sock.recv(2048)
                except (TimeoutError, socket.timeout):
                    continue
                except OSError:
                    return
                back.setdefault(struct.unpack("!I", data[:4])[0], time.monotonic())

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        count = int(seconds / period_s)
        start = time.monotonic()
        for seq in range(count):
            wait = start + seq * period_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            sent[seq] = time.monotonic()
            sock.sendto(struct.pack("!I", seq).ljust(payload, b"\0"), (SERVER, PHONE_PORT))
        time.sleep(0.5)    # the last answers' way back (a queue of at most 200 ms each way)
        done.set()
        reader.join()
        sock.close()
        return CallQuality.of(sent, back)


@dataclass(frozen=True)
class CallQuality:
    sent: int
    lost: int
    jitter_ms: float       # RFC 3550 interarrival jitter, on the round trip
    rtt_median_ms: float
    rtt_p99_ms: float

    @property
    def loss_pct(self) -> float:
        return 100.0 * self.lost / self.sent if self.sent else 100.0

    @classmethod
    def of(cls, sent: dict[int, float], back: dict[int, float]) -> "CallQuality":
        rtts = [(back[s] - sent[s]) * 1000 for s in sorted(back) if s in sent]
        jitter = 0.0
        for a, b in zip(rtts, rtts[1:]):        # RFC 3550 6.4.1: J += (|D| - J) / 16
            jitter += (abs(b - a) - jitter) / 16
        ordered = sorted(rtts)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("inf")
        return cls(len(sent), len(sent) - len(rtts), jitter,
                   statistics.median(rtts) if rtts else float("inf"), p99)


class Download:
    """A LAN device downloading from the bulk server as fast as it is let; `received` bytes so far."""

    def __init__(self, lab: CellLab, streams: int, server: str = SERVER):
        self.received = 0
        self.server = server
        family = socket.AF_INET6 if ":" in server else socket.AF_INET
        self.error = ""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._socks = [in_netns(lab.lan, lambda: socket.socket(family, socket.SOCK_STREAM))
                       for _ in range(streams)]
        for sock in self._socks:
            sock.settimeout(3.0)
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock: socket.socket) -> None:
        try:
            sock.connect((self.server, BULK_PORT))
            sock.settimeout(0.5)
            while not self._stop.is_set():
                try:
                    data = sock.recv(65536)
                except (TimeoutError, socket.timeout):
                    continue
                if not data:
                    return
                with self._lock:
                    self.received += len(data)
        except OSError as e:
            self.error = e.strerror or type(e).__name__

    def rate_kbit(self, seconds: float) -> float:
        """The download's rate over the next `seconds`."""
        before, start = self.received, time.monotonic()
        time.sleep(seconds)
        return (self.received - before) * 8 / 1000 / (time.monotonic() - start)

    def close(self) -> None:
        self._stop.set()
        for sock in self._socks:
            sock.close()


class Upload:
    """A LAN device uploading to the sink; its rate is counted where the bytes arrive, past the uplink."""

    def __init__(self, lab: CellLab, streams: int):
        self.lab = lab
        self._stop = threading.Event()
        self._socks = [in_netns(lab.lan, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                       for _ in range(streams)]
        for sock in self._socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
            threading.Thread(target=self._run, args=(sock,), daemon=True).start()

    def _run(self, sock: socket.socket) -> None:
        chunk = b"y" * 16384
        try:
            sock.settimeout(3.0)
            sock.connect((SERVER, SINK_PORT))
            sock.settimeout(0.5)
            while not self._stop.is_set():
                try:
                    sock.send(chunk)
                except (TimeoutError, socket.timeout):
                    continue
        except OSError:
            return

    def rate_kbit(self, seconds: float) -> float:
        before, start = self.lab.uploaded, time.monotonic()
        time.sleep(seconds)
        return (self.lab.uploaded - before) * 8 / 1000 / (time.monotonic() - start)

    def close(self) -> None:
        self._stop.set()
        for sock in self._socks:
            # a reset, not a FIN after the send buffer: megabytes still queued would keep the uplink busy
            # for seconds after the upload "ended", into the next measurement
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()


def _udp(addr) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(addr)
    return s
