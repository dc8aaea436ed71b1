"""One probe of each kind, bound to the link it tests: ICMP echo, TCP connect, DNS query, HTTP(S) GET of a 204,
each over IPv4 or IPv6 as the target's address says (ICMPv6 echo for an IPv6 icmp target).

Each returns the round-trip time in ms or raises ProbeFailed with a short reason. Every socket is bound to the
uplink's interface (SO_BINDTODEVICE) and, when known, to its address: the primary is watched while traffic runs
over the backup and vice versa, whatever the routing table prefers (the iproute2 backend's per-uplink rules
match on that source address; an IPv6 socket takes the uplink's IPv6 source when one is known, else the
kernel picks one on the bound interface and the IPv6 rules match on it all the same). Blocking, with a
deadline: the prober runs them on worker threads.
"""
from __future__ import annotations

import errno
import functools
import importlib
import itertools
import os
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, replace

from agent.linkmon.targets import Target

# icmplib (it imports asyncio), http.client and ssl are imported only for the probes configured (load()): together
# they cost ~10 MB of RSS, which an agent probing only over TCP or DNS (or the simulated board) should not pay; ssl
# only for https:// targets (without TLS the agent may run without OpenSSL: agent.runtime.without_openssl).
MODULES = {"icmp": ("icmplib",), "http": ("http.client",)}

_icmp_ids = itertools.count(os.getpid() & 0xFFFF)
_icmp_lock = threading.Lock()


class ProbeFailed(Exception):
    """The target did not answer as it should; str() is the reason ("timeout", "network unreachable", ...)."""


@dataclass(frozen=True)
class Binding:
    interface: str | None = None   # None: follow the routing table (the drill's route check)
    source: str | None = None      # the uplink's IPv4 address, for IPv4 targets
    source6: str | None = None     # its IPv6 address, for IPv6 targets; None: the kernel's choice on `interface`

    def source_for(self, family: int) -> str | None:
        return self.source6 if family == socket.AF_INET6 else self.source


@dataclass(frozen=True)
class ProbeOptions:
    timeout_s: float = 0.5
    icmp_raw: bool | None = None   # raw socket (root / CAP_NET_RAW), datagram "ping socket", None: see below
    dns_name: str = "example.com"


def resolved(opts: "ProbeOptions") -> "ProbeOptions":
    """Options with the ICMP socket kind decided; call from the thread (namespace) that will probe."""
    return opts if opts.icmp_raw is not None else replace(opts, icmp_raw=icmp_raw_needed())


def load(targets) -> None:
    """Import what probing these targets needs now, at start, rather than within the first probe's deadline."""
    for target in targets:
        for name in MODULES.get(target.method, ()) + (("ssl",) if target.tls else ()):
            importlib.import_module(name)


def icmp_raw_needed(group_range_file: str = "/proc/sys/net/ipv4/ping_group_range") -> bool:
    """Datagram ICMP sockets work when our group is inside net.ipv4.ping_group_range (per network namespace)."""
    try:
        lo, hi = (int(x) for x in open(group_range_file).read().split())
    except (OSError, ValueError):
        return True
    return not any(lo <= g <= hi for g in {os.getegid(), *os.getgroups()})


def bind(sock: socket.socket, binding: Binding) -> None:
    if binding.interface:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, binding.interface.encode())
        except OSError as e:
            raise ProbeFailed(f"cannot bind to {binding.interface}: {_why(e)}") from None
    source = binding.source_for(sock.family)
    if source:
        try:
            sock.bind((source, 0))
        except OSError as e:
            raise ProbeFailed(f"cannot bind to {source}: {_why(e)}") from None


def family(target: Target) -> int:
    return socket.AF_INET6 if target.ipv6 else socket.AF_INET


def probe_icmp(target: Target, binding: Binding, opts: ProbeOptions) -> float:
    from icmplib import ICMPRequest, ICMPv4Socket, ICMPv6Socket
    from icmplib.exceptions import ICMPError, ICMPLibError, SocketPermissionError, TimeoutExceeded
    with _icmp_lock:
        ident, seq = next(_icmp_ids) & 0xFFFF, 0
    try:
        # datagram ICMPv6 sockets obey net.ipv4.ping_group_range too: one socket-kind decision for both
        sock = (ICMPv6Socket if target.ipv6 else ICMPv4Socket)(privileged=opts.icmp_raw is not False)
    except SocketPermissionError:
        raise ProbeFailed("no permission for ICMP sockets (raw needs CAP_NET_RAW; datagram needs "
                          "net.ipv4.ping_group_range)") from None
    except ICMPLibError as e:
        raise ProbeFailed(f"icmp socket: {e}") from None
    echo_reply = 129 if target.ipv6 else 0
    try:
        bind(sock.sock, binding)
        request = ICMPRequest(destination=target.host, id=ident, sequence=seq, payload_size=24)
        start = time.monotonic()
        deadline = start + opts.timeout_s
        sock.send(request)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProbeFailed("timeout")
            reply = sock.receive(request, timeout=left)
            if reply.type == echo_reply and reply.source != target.host:
                continue   # an echo reply with our id and sequence from elsewhere: not ours
            rtt = (time.monotonic() - start) * 1000
            reply.raise_for_status()
            return rtt
    except TimeoutExceeded:
        raise ProbeFailed("timeout") from None
    except ICMPError as e:   # destination unreachable, TTL exceeded, ...
        raise ProbeFailed(f"icmp error from {e.reply.source}: {e}") from None
    except ICMPLibError as e:
        raise ProbeFailed(_why_text(str(e))) from None
    finally:
        sock.close()


def probe_tcp(target: Target, binding: Binding, opts: ProbeOptions) -> float:
    """A refused connection counts as an answer: the RST came back over the link, which is what is tested."""
    with socket.socket(family(target), socket.SOCK_STREAM) as sock:
        bind(sock, binding)
        sock.settimeout(opts.timeout_s)
        start = time.monotonic()
        try:
            sock.connect((target.host, target.port))
        except ConnectionRefusedError:
            pass
        except TimeoutError:
            raise ProbeFailed("timeout") from None
        except OSError as e:
            raise ProbeFailed(_why(e)) from None
        return (time.monotonic() - start) * 1000


def probe_dns(target: Target, binding: Binding, opts: ProbeOptions) -> float:
    """Any well-formed response with our id answers the probe: the server and the path to it are alive."""
    ident = secrets.randbits(16)
    query = dns_query(ident, opts.dns_name)
    with socket.socket(family(target), socket.SOCK_DGRAM) as sock:
        bind(sock, binding)
        start = time.monotonic()
        deadline = start + opts.timeout_s
        try:
            sock.sendto(query, (target.host, target.port))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ProbeFailed("timeout")
                sock.settimeout(left)
                data, peer = sock.recvfrom(2048)
                if peer[0] == target.host and is_dns_response(data, ident):
                    return (time.monotonic() - start) * 1000
        except TimeoutError:
            raise ProbeFailed("timeout") from None
        except OSError as e:
            raise ProbeFailed(_why(e)) from None


def dns_query(ident: int, name: str) -> bytes:
    """A standard query (RD set) for the A record of `name`."""
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.strip(".").split(".") if p)
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", 1, 1)


def is_dns_response(data: bytes, ident: int) -> bool:
    if len(data) < 12:
        return False
    rid, flags = struct.unpack_from("!HH", data)
    return rid == ident and bool(flags & 0x8000)


@functools.cache
def _bound_http_connection() -> type:
    import http.client

    class _BoundHTTPConnection(http.client.HTTPConnection):
        def __init__(self, host: str, port: int, timeout: float, binding: Binding, tls: bool, family: int):
            super().__init__(host, port, timeout=timeout)
            self._binding = binding
            self._tls = tls
            self._family = family

        def connect(self) -> None:
            sock = socket.socket(self._family, socket.SOCK_STREAM)
            try:
                bind(sock, self._binding)
                sock.settimeout(self.timeout)
                sock.connect((self.host, self.port))
                if self._tls:
                    import ssl
                    sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
            self.sock = sock

    return _BoundHTTPConnection


def probe_http(target: Target, binding: Binding, opts: ProbeOptions) -> float:
    """GET a generate_204-style URL: only 204 is an answer. A captive portal (200, 302) means the link is not
    giving us the internet, which is the point of the probe."""
    import http.client
    if target.tls:
        import ssl
        tls_errors: type[Exception] | tuple = ssl.SSLError
    else:
        tls_errors = ()   # matches nothing: plain http needs no OpenSSL
    conn = _bound_http_connection()(target.host, target.port, opts.timeout_s, binding, target.tls, family(target))
    start = time.monotonic()
    try:
        conn.request("GET", target.path, headers={"User-Agent": "relais-probe", "Connection": "close"})
        response = conn.getresponse()
        response.read(256)
        if response.status != 204:
            raise ProbeFailed(f"http status {response.status}, expected 204")
        return (time.monotonic() - start) * 1000
    except TimeoutError:
        raise ProbeFailed("timeout") from None
    except tls_errors as e:
        raise ProbeFailed(f"tls: {e.reason or e}") from None
    except (OSError, http.client.HTTPException) as e:
        raise ProbeFailed(_why(e) if isinstance(e, OSError) else f"http: {type(e).__name__}") from None
    finally:
        conn.close()


PROBES = {"icmp": probe_icmp, "tcp": probe_tcp, "dns": probe_dns, "http": probe_http}


def probe(target: Target, binding: Binding, opts: ProbeOptions) -> float:
    return PROBES[target.method](target, binding, opts)


def _why(e: OSError) -> str:
    if isinstance(e, TimeoutError) or e.errno == errno.ETIMEDOUT:
        return "timeout"
    if e.errno:
        return os.strerror(e.errno).lower()
    return str(e) or type(e).__name__


def _why_text(text: str) -> str:
    return text.lower() if text else "icmp error"
