"""Can this box reach the broker the way the agent does? Name, TCP, TLS with the configured CA and client
certificate, then a real MQTT CONNECT with the configured login: the stage that fails says what to fix.

The CONNECT is written by hand (a few bytes) rather than through paho: the doctor needs the broker's exact return
code, no session, no will and no reconnect. It uses its own client id, so that the running agent's session (same
broker, client id = the device id) is not taken over and dropped by the check.
"""
from __future__ import annotations

import os
import socket
import struct
import time

from agent.doctor.checks import BrokerFacts

TIMEOUT_S = 5.0
KEEPALIVE_S = 30

# CONNACK return codes, MQTT 3.1.1 §3.2.2.3 and MQTT 5 §3.2.2.2 (the reasons a broker gives a client it refuses)
CONNACK_3 = {1: "unacceptable protocol version", 2: "client identifier rejected", 3: "server unavailable",
             4: "bad user name or password", 5: "not authorized"}
CONNACK_5 = {0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
             0x83: "implementation specific error", 0x84: "unsupported protocol version",
             0x85: "client identifier not valid", 0x86: "bad user name or password", 0x87: "not authorized",
             0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned", 0x8C: "bad authentication method",
             0x90: "topic name invalid", 0x95: "packet too large", 0x97: "quota exceeded",
             0x99: "payload format invalid", 0x9A: "retain not supported", 0x9B: "QoS not supported",
             0x9C: "use another server", 0x9D: "server moved", 0x9F: "connection rate exceeded"}


def _utf8(text: str) -> bytes:
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def connect_packet(client_id: str, username: str = "", password: str | None = None, v5: bool = False) -> bytes:
    """An MQTT CONNECT: clean session, no will."""
    flags = 0x02 | (0x80 if username else 0) | (0x40 if username and password is not None else 0)
    body = _utf8("MQTT") + bytes([5 if v5 else 4, flags]) + struct.pack("!H", KEEPALIVE_S)
    if v5:
        body += b"\x00"                                   # no properties
    body += _utf8(client_id)
    if username:
        body += _utf8(username)
        if password is not None:
            body += _utf8(password)
    return b"\x10" + _remaining_length(len(body)) + body


def parse_connack(first: int, body: bytes, v5: bool) -> str | None:
    """None when the broker accepted the connection, else its reason in words. ValueError: not a CONNACK.
    `first`: the fixed header's first byte; `body`: at least the two bytes after the remaining length."""
    if first != 0x20 or len(body) < 2:
        raise ValueError(f"not a CONNACK ({bytes([first]).hex()} {body[:8].hex()})")
    code = body[1]
    if code == 0:
        return None
    table = CONNACK_5 if v5 else CONNACK_3
    said = f"refused: {table.get(code, 'code')} ({code:#04x})"
    if code in (2, 0x85):
        said += (" — the doctor connects as relais-doctor-<pid> so as not to end the agent's session; a broker "
                 "that admits only the device's own id refuses it, which says nothing of the agent's login")
    return said


def read_packet_start(sock) -> tuple[int, bytes]:
    """The first byte of a packet and the first two bytes of its body (an MQTT 5 CONNACK's properties follow and
    are not needed). ValueError when the connection ends first."""
    first = sock.recv(1)
    if not first:
        raise EOFError
    length, shift = 0, 0
    for _ in range(4):                                 # the remaining length: at most 4 bytes
        byte = sock.recv(1)
        if not byte:
            raise EOFError
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = b""
    while len(body) < min(length, 2):
        chunk = sock.recv(min(length, 2) - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return first[0], body


def _tls_error(e: Exception) -> str:
    text = getattr(e, "verify_message", None) or getattr(e, "reason", None) or str(e)
    return str(text).replace("_", " ").lower() if text else type(e).__name__


def _no_connack(e: Exception, tls: bool) -> str:
    """Why no CONNACK came, with the likely cause: a broker that ends the connection at once after TLS wants a
    client certificate (TLS 1.3 says so only then); one that ends a plain connection may speak only TLS."""
    if isinstance(e, ValueError):
        return str(e)
    said = "the broker closed the connection without an answer" if isinstance(e, EOFError) \
        else f"the connection broke ({getattr(e, 'strerror', None) or getattr(e, 'reason', None) or e})"
    if tls:
        return f"{said}: it wants a client certificate it accepts ([mqtt] cert and key)"
    return f"{said}: a TLS-only port? ([mqtt] tls = true), or not an MQTT broker"


def probe_broker(cfg, device_id: str, timeout: float = TIMEOUT_S) -> BrokerFacts:
    """cfg: the [mqtt] section (agent.config.MqttConfig)."""
    port = cfg.port or (8883 if cfg.tls else 1883)
    address = f"{cfg.host}:{port}"
    login = bool(cfg.username or cfg.cert)
    facts = dict(address=address, tls=cfg.tls, login=login)
    started = time.monotonic()
    try:
        socket.getaddrinfo(cfg.host, port, type=socket.SOCK_STREAM)    # its own stage: a name, not a route
    except (socket.gaierror, UnicodeError) as e:
        return BrokerFacts(**facts, stage="dns", error=f"{cfg.host} does not resolve ({getattr(e, 'strerror', e)})")
    try:
        sock = socket.create_connection((cfg.host, port), timeout=timeout)
    except socket.timeout:
        return BrokerFacts(**facts, stage="tcp", error=f"no answer within {timeout:g} s")
    except OSError as e:
        return BrokerFacts(**facts, stage="tcp", error=e.strerror or str(e))
    tls_version = ""
    try:
        if cfg.tls:
            import ssl                       # only here: loading OpenSSL costs the agent memory, the doctor time
            try:
                ctx = ssl.create_default_context(cafile=cfg.ca or None)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                if cfg.cert:
                    ctx.load_cert_chain(cfg.cert, cfg.key)
            except (OSError, ValueError) as e:
                return BrokerFacts(**facts, stage="tls", error=f"certificate files: {_tls_error(e)}")
            try:
                sock = ctx.wrap_socket(sock, server_hostname=cfg.host)
            except ssl.SSLCertVerificationError as e:
                return BrokerFacts(**facts, stage="tls", error=f"the broker's certificate: {_tls_error(e)}")
            except (ssl.SSLError, OSError) as e:
                return BrokerFacts(**facts, stage="tls", error=_tls_error(e))
            tls_version = sock.version() or ""
        v5 = cfg.protocol == "5"
        password = cfg.password.value if cfg.password is not None else None
        try:
            sock.sendall(connect_packet(f"relais-doctor-{os.getpid()}", cfg.username, password, v5))
            refused = parse_connack(*read_packet_start(sock), v5)
        except socket.timeout:
            return BrokerFacts(**facts, stage="mqtt", error=f"no CONNACK within {timeout:g} s")
        except (EOFError, ValueError, OSError) as e:
            return BrokerFacts(**facts, stage="mqtt", error=_no_connack(e, cfg.tls))
        if refused:
            return BrokerFacts(**facts, stage="mqtt", error=refused)
        try:
            sock.sendall(b"\xe0\x00")          # DISCONNECT: the broker ends the session at once
        except OSError:
            pass
        return BrokerFacts(**facts, elapsed_ms=(time.monotonic() - started) * 1000, tls_version=tls_version)
    finally:
        sock.close()
