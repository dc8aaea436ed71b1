"""Critical-service checks: is the business's telephony, VPN, resolver or cloud tool reachable through this uplink?

A drill runs one check per [[services]] table through the backup (docs/drills.md). Each check is a blocking
function with a deadline, `check(target, binding, timeout_s) -> ServiceResult`; its socket is bound to the uplink
(SO_BINDTODEVICE and/or the uplink's address, agent.linkmon.methods.bind), so it tests that uplink whatever the
routing table prefers. Unlike a probe, a check asks the service itself: a refused TCP connection is a failed
check (the link works, the service does not), and only an answer in the service's own protocol counts.

    sip:IP[:PORT]      SIP OPTIONS over UDP (RFC 3261 §11); any SIP status line back is a SIP server answering
    udp:IP:PORT        one datagram; any datagram back answers, an ICMP port unreachable fails at once
    tcp:IP:PORT        the connection is accepted
    dns:IP[:NAME]      A query for NAME (example.com); NOERROR or NXDOMAIN: the resolver works
    https://...        GET, 2xx or 3xx, with a certificate valid for the host (the system CAs, or `ca_file`)

Failures never raise: the result says what went wrong in one short line ("no answer within 0.5 s", "port
unreachable (ICMP)", "certificate: ...").
"""
from __future__ import annotations

import os
import re
import secrets
import socket
import struct
import time
from dataclasses import dataclass

from agent.config.grammar import ServiceTarget, parse_service_check
from agent.linkmon.methods import Binding, ProbeFailed, bind, dns_query

__all__ = ["ServiceResult", "ServiceTarget", "Binding", "check", "parse_service_check", "sip_options"]

DNS_RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
DNS_WORKING = (0, 3)      # an answer, or a definite "no such name": the resolver resolves
MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class ServiceResult:
    ok: bool
    rtt_ms: float | None     # None when nothing answered
    detail: str              # what answered ("SIP/2.0 200 OK", "HTTP 301") or what went wrong


class _Failed(Exception):
    """A check's failure with its one-line detail."""


def check(target: ServiceTarget | str, binding: Binding, timeout_s: float, ca_file: str = "") -> ServiceResult:
    """Run one check through the uplink `binding` names. Never raises for network trouble or a bad answer."""
    if isinstance(target, str):
        try:
            target = parse_service_check(target)
        except ValueError as e:
            return ServiceResult(False, None, str(e))
    start = time.monotonic()
    try:
        detail = CHECKS[target.kind](target, binding, timeout_s, ca_file)
    except _Failed as e:
        return ServiceResult(False, None, str(e))
    except ProbeFailed as e:         # from bind(): the uplink's interface or address is gone
        return ServiceResult(False, None, str(e))
    return ServiceResult(True, round((time.monotonic() - start) * 1000, 3), detail)


# ---- sip: and udp: ----------------------------------------------------------------------------------------------

def sip_options(host: str, port: int, local: tuple[str, int], call_id: str, branch: str, tag: str) -> bytes:
    """An OPTIONS request with the headers RFC 3261 §8.1.1 requires of every request (and §11's Accept)."""
    local_host, local_port = local
    lines = [
        f"OPTIONS sip:{host}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {local_host}:{local_port};branch=z9hG4bK{branch};rport",
        "Max-Forwards: 70",
        f"To: <sip:{host}:{port}>",
        f"From: <sip:relais@{local_host}>;tag={tag}",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:relais@{local_host}:{local_port}>",
        "Accept: application/sdp",
        "User-Agent: relais",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def sip_status(data: bytes, call_id: str) -> str | None:
    """"SIP/2.0 200 OK" when `data` is a SIP response to our request (its Call-ID), else None: a datagram that
    is not SIP, or answers another request, is not the server answering us."""
    # lines end in CRLF, but a bare LF must not smuggle a second line into the detail that gets logged
    head = [line.rstrip("\r") for line in data.decode("utf-8", "replace").split("\n")]
    status = head[0].split(" ", 2)
    if len(status) < 2 or status[0] != "SIP/2.0" or not re.fullmatch(r"[1-6][0-9][0-9]", status[1]):
        return None
    for line in head[1:]:
        if not line:
            break            # the body follows
        name, _, value = line.partition(":")
        if name.strip().lower() in ("call-id", "i") and value.strip() != call_id:
            return None
    return "".join(c if c.isprintable() else "?" for c in head[0].strip()[:80])


def _datagram_exchange(target: ServiceTarget, binding: Binding, timeout_s: float, payload, answers) -> str:
    """Send one datagram from a connected UDP socket (connected: the kernel then reports an ICMP port
    unreachable as ECONNREFUSED, and drops datagrams from other peers); `answers(data)` -> detail or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        bind(sock, binding)
        deadline = time.monotonic() + timeout_s
        try:
            sock.connect((target.host, target.port))
            sock.send(payload(sock.getsockname()))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                sock.settimeout(left)
                detail = answers(sock.recv(MAX_DATAGRAM))
                if detail is not None:
                    return detail
        except TimeoutError:
            raise _Failed(f"no answer within {timeout_s:g} s") from None
        except ConnectionRefusedError:
            raise _Failed("port unreachable (ICMP)") from None
        except OSError as e:
            raise _Failed(_why(e)) from None


def check_sip(target: ServiceTarget, binding: Binding, timeout_s: float, ca_file: str = "") -> str:
    call_id = f"{secrets.token_hex(12)}@relais"
    branch, tag = secrets.token_hex(8), secrets.token_hex(4)
    return _datagram_exchange(target, binding, timeout_s,
                              lambda local: sip_options(target.host, target.port, local, call_id, branch, tag),
                              lambda data: sip_status(data, call_id))


def check_udp(target: ServiceTarget, binding: Binding, timeout_s: float, ca_file: str = "") -> str:
    return _datagram_exchange(target, binding, timeout_s, lambda local: b"relais service check\n",
                              lambda data: f"{len(data)} bytes back")


# ---- tcp: and dns: ----------------------------------------------------------------------------------------------

def check_tcp(target: ServiceTarget, binding: Binding, timeout_s: float, ca_file: str = "") -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        bind(sock, binding)
        sock.settimeout(timeout_s)
        try:
            sock.connect((target.host, target.port))
        except TimeoutError:
            raise _Failed(f"no answer within {timeout_s:g} s") from None
        except ConnectionRefusedError:
            raise _Failed("connection refused") from None
        except OSError as e:
            raise _Failed(_why(e)) from None
    return "connected"


def check_dns(target: ServiceTarget, binding: Binding, timeout_s: float, ca_file: str = "") -> str:
    ident = secrets.randbits(16)

    def answers(data: bytes) -> str | None:
        if len(data) < 12:
            return None
        rid, flags = struct.unpack_from("!HH", data)
        if rid != ident or not flags & 0x8000:
            return None
        rcode = flags & 0x000F
        name = DNS_RCODES.get(rcode, f"rcode {rcode}")
        if rcode not in DNS_WORKING:
            raise _Failed(f"the resolver answered {name} for {target.dns_name}")
        return f"{name} for {target.dns_name}"

    return _datagram_exchange(target, binding, timeout_s, lambda local: dns_query(ident, target.dns_name), answers)


# ---- https:// ---------------------------------------------------------------------------------------------------

def check_https(target: ServiceTarget, binding: Binding, timeout_s: float, ca_file: str = "") -> str:
    import http.client
    import ssl          # only when an https check runs: the agent may run without OpenSSL otherwise
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as e:
        raise _Failed(f"ca file {ca_file}: {getattr(e, 'strerror', None) or e}") from None
    deadline = time.monotonic() + timeout_s
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    conn = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
    try:
        bind(sock, binding)
        sock.settimeout(timeout_s)
        sock.connect((_address(target.host, target.port), target.port))
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        conn.sock = context.wrap_socket(sock, server_hostname=target.host)
        conn.request("GET", target.path, headers={"User-Agent": "relais-check", "Connection": "close"})
        response = conn.getresponse()
        response.read(4096)
    except TimeoutError:
        raise _Failed(f"no answer within {timeout_s:g} s") from None
    except ssl.SSLCertVerificationError as e:
        raise _Failed(f"certificate: {e.verify_message}") from None
    except ssl.SSLError as e:
        raise _Failed(f"tls: {e.reason or e}") from None
    except ConnectionRefusedError:
        raise _Failed("connection refused") from None
    except OSError as e:
        raise _Failed(_why(e)) from None
    except http.client.HTTPException as e:
        raise _Failed(f"http: {type(e).__name__}") from None
    finally:
        conn.close()
        sock.close()
    if not 200 <= response.status < 400:
        raise _Failed(f"HTTP {response.status}, expected 2xx or 3xx")
    return f"HTTP {response.status}"


def _address(host: str, port: int) -> str:
    """The IPv4 address to connect to: a name is resolved by the system resolver (see grammar.py: only https
    checks take names, their certificate names the host)."""
    try:
        return socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        raise _Failed(f"cannot resolve {host}: {e.strerror}") from None


CHECKS = {"sip": check_sip, "udp": check_udp, "tcp": check_tcp, "dns": check_dns, "https": check_https}


def _why(e: OSError) -> str:
    if e.errno:
        return os.strerror(e.errno).lower()
    return str(e) or type(e).__name__
