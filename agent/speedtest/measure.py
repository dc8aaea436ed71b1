"""One speed measurement of one uplink: an HTTP(S) download (and upload) or an iperf3 run, bound to the uplink.

    measure(plan, binding) -> SpeedResult           blocking, with a deadline; never raises

The socket (or iperf3's, with --bind-dev / -B) is bound to the uplink's interface and address
(agent.linkmon.methods.bind), so the primary is measured while traffic runs over the backup and vice versa,
whatever the routing table prefers. A measurement stops at `max_bytes` or `timeout_s`, whichever comes first: a
slow link gives a time-limited measurement, a fast one a byte-limited one, and neither costs more than planned.

Speed is the bytes that arrived after the first body byte divided by the time from that first byte to the last:
what comes before it (name resolution, TCP and TLS handshakes, the server preparing its answer) is latency, not
throughput, and on a cellular link with a 100 ms round trip it would make a short measurement read far below the
line's rate. iperf3 reports its own rate (from its own start: it has no "first byte").

Failures come back as SpeedResult(ok=False, error="one line"): a bad URL, a name that does not resolve, a refused
connection, a certificate the CA did not sign, a timeout. `server` is the host only: the URL may hold credentials
or a token in its query, and neither is ever logged nor reported.

Imported only when a measurement runs (service.py): an agent that never measures does not pay for it.
"""
from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from agent.linkmon.methods import Binding, ProbeFailed, bind

READ_CHUNK = 64 * 1024
SEND_CHUNK = 64 * 1024
# Below this a "speed" is one burst through the socket buffers, not the line's rate.
MIN_MEASURED_BYTES = 64 * 1024
IPERF3_DEFAULT_PORT = 5201
IPERF3_GRACE_S = 5.0       # iperf3's own start and its exchange of results, on top of the transfer
USER_AGENT = "relais-speedtest"


@dataclass(frozen=True)
class Plan:
    """What to measure: a download URL (with an optional upload URL) or an iperf3 server."""
    url: str = ""
    upload_url: str = ""
    iperf3: str = ""          # "host[:port]"
    ca_file: str = ""         # https: trust this CA instead of the system's
    max_bytes: int = 10_000_000   # per direction
    timeout_s: float = 10.0       # per direction

    @property
    def method(self) -> str:
        if self.iperf3:
            return "iperf3"
        return "https" if self.url.lower().startswith("https:") else "http"

    @property
    def server(self) -> str:
        if self.iperf3:
            return split_host_port(self.iperf3)[0]
        return urlsplit(self.url).hostname or ""


@dataclass(frozen=True)
class SpeedResult:
    ok: bool
    down_bps: int | None = None       # bits per second
    up_bps: int | None = None
    bytes: int = 0                    # payload moved, both directions (what the data budget pays, plus headers)
    method: str = "https"
    server: str = ""
    error: str | None = None

    def as_event(self, link: str) -> dict:
        return {"link": link, **asdict(self)}


class Failed(Exception):
    """A measurement's failure with its one-line reason."""


def measure(plan: Plan, binding: Binding) -> SpeedResult:
    """Measure through the uplink `binding` names. Never raises for network trouble or a bad answer."""
    if plan.iperf3:
        return measure_iperf3(plan, binding)
    method, server = plan.method, plan.server
    try:
        down_bps, down_bytes = download(plan.url, binding, plan.max_bytes, plan.timeout_s, plan.ca_file)
    except (Failed, ProbeFailed) as e:
        return SpeedResult(False, method=method, server=server, error=str(e))
    if not plan.upload_url:
        return SpeedResult(True, down_bps, None, down_bytes, method, server)
    try:
        up_bps, up_bytes = upload(plan.upload_url, binding, plan.max_bytes, plan.timeout_s, plan.ca_file)
    except (Failed, ProbeFailed) as e:
        # The download speed is measured and worth keeping; the error says the upload part failed.
        return SpeedResult(True, down_bps, None, down_bytes, method, server, error=f"upload: {e}")
    return SpeedResult(True, down_bps, up_bps, down_bytes + up_bytes, method, server)


# ---- HTTP(S) ----------------------------------------------------------------------------------------------------

def _split_url(url: str) -> tuple[bool, str, int, str, dict[str, str]]:
    """(tls, host, port, path with query, headers for the user:password in the URL); Failed naming what is
    wrong, never the URL itself (it may hold a password or a token)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise Failed(f"url: {e}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Failed(f"url: expected http:// or https://, got {scheme + ':' if scheme else 'no scheme'}")
    if not parts.hostname:
        raise Failed("url: no host")
    tls = scheme == "https"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"User-Agent": USER_AGENT}
    if parts.username is not None:
        import base64
        from urllib.parse import unquote
        login = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(login).decode("ascii")
    return tls, parts.hostname, port or (443 if tls else 80), path, headers


def _connect(url: str, binding: Binding, deadline: float, ca_file: str):
    """An http.client connection whose socket is bound to the uplink and already connected (TLS done)."""
    import http.client
    tls, host, port, path, headers = _split_url(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        bind(sock, binding)
        sock.settimeout(_left(deadline))
        sock.connect((_address(host, port), port))
        if tls:
            import ssl      # only for an https URL: the agent may run without OpenSSL otherwise
            try:
                context = ssl.create_default_context(cafile=ca_file or None)
            except (OSError, ssl.SSLError) as e:
                raise Failed(f"ca file {ca_file}: {getattr(e, 'strerror', None) or e}") from None
            sock.settimeout(_left(deadline))
            sock = context.wrap_socket(sock, server_hostname=host)
    except BaseException:
        sock.close()
        raise
    conn = http.client.HTTPConnection(host, port, timeout=_left(deadline))
    conn.sock = sock
    return conn, path, headers


def download(url: str, binding: Binding, max_bytes: int, timeout_s: float, ca_file: str = "") -> tuple[int, int]:
    """GET `url`, reading at most max_bytes for at most timeout_s: (bits per second, bytes read)."""
    import http.client
    deadline = time.monotonic() + timeout_s
    conn = None
    try:
        with _errors(timeout_s, "no answer"):
            conn, path, headers = _connect(url, binding, deadline, ca_file)
            # Range: a server that honours it sends max_bytes and no more. Stopping to read is not enough on its
            # own: what the server has sent by then (the receive window: megabytes on a fast link) still arrives
            # and is paid for on cellular.
            conn.request("GET", path, headers={**headers, "Accept-Encoding": "identity", "Cache-Control": "no-cache",
                                               "Range": f"bytes=0-{max_bytes - 1}"})
            response = conn.getresponse()
        if response.status not in (200, 206):
            raise Failed(f"HTTP {response.status}, expected 200 or 206")
        total, first_at, first_bytes, last_at = 0, None, 0, None
        while total < max_bytes:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            conn.sock.settimeout(left)
            try:
                data = response.read1(min(READ_CHUNK, max_bytes - total))
            except TimeoutError:
                break              # the time limit: what arrived so far is the measurement
            except (OSError, http.client.HTTPException) as e:
                raise Failed(f"download: {_why(e)}") from None
            if not data:
                break
            now = time.monotonic()
            total += len(data)
            if first_at is None:
                first_at, first_bytes = now, len(data)
            last_at = now
    finally:
        if conn is not None:
            conn.close()    # before the end of a large body: closing is how a byte limit stops the server
    if first_at is None:
        raise Failed(f"no data within {timeout_s:g} s")
    measured = total - first_bytes
    if total < MIN_MEASURED_BYTES or last_at <= first_at or measured <= 0:
        raise Failed(f"only {total} bytes arrived: too few to measure a speed")
    return round(measured * 8 / (last_at - first_at)), total


def upload(url: str, binding: Binding, max_bytes: int, timeout_s: float, ca_file: str = "") -> tuple[int, int]:
    """POST generated bytes (chunked: the length is not known when a time limit may end it) for at most
    max_bytes / timeout_s: (bits per second, bytes sent). The time runs from the first body byte to the server's
    answer, which comes only once it has read them all: bytes still in our socket buffer are not counted as sent."""
    deadline = time.monotonic() + timeout_s
    conn = None
    payload = os.urandom(SEND_CHUNK)     # random: a compressing middlebox must not make the line look faster
    try:
        with _errors(timeout_s, "no answer"):
            conn, path, headers = _connect(url, binding, deadline, ca_file)
            conn.putrequest("POST", path, skip_accept_encoding=True)
            for name, value in (*headers.items(), ("Content-Type", "application/octet-stream"),
                                ("Transfer-Encoding", "chunked")):
                conn.putheader(name, value)
            conn.endheaders()
            sent, started = 0, time.monotonic()
            while sent < max_bytes and time.monotonic() < deadline:
                chunk = payload[:min(SEND_CHUNK, max_bytes - sent)]
                # the last chunk may wait for buffer space past the deadline: the server's answer waits for it
                conn.sock.settimeout(max(deadline - time.monotonic(), 1.0) + timeout_s)
                conn.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
            conn.send(b"0\r\n\r\n")
            # What is still in the socket buffer drains now; allow it as long again as the transfer had.
            conn.sock.settimeout(timeout_s)
            response = conn.getresponse()
            answered = time.monotonic()
            response.read(4096)
    finally:
        if conn is not None:
            conn.close()
    if not 200 <= response.status < 300:
        raise Failed(f"HTTP {response.status}, expected 2xx")
    if sent < MIN_MEASURED_BYTES:
        raise Failed(f"only {sent} bytes went out: too few to measure a speed")
    return round(sent * 8 / (answered - started)), sent


class _errors:
    """Turns what the network and the server can do into Failed with one line."""

    def __init__(self, timeout_s: float, what: str):
        self.timeout_s, self.what = timeout_s, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, e, tb) -> bool:
        if e is None or isinstance(e, (Failed, ProbeFailed)):
            return False
        import http.client
        ssl = _ssl_if_loaded()
        if isinstance(e, TimeoutError):
            raise Failed(f"{self.what} within {self.timeout_s:g} s") from None
        if ssl is not None and isinstance(e, ssl.SSLCertVerificationError):
            raise Failed(f"certificate: {e.verify_message}") from None
        if ssl is not None and isinstance(e, ssl.SSLError):
            raise Failed(f"tls: {e.reason or e}") from None
        if isinstance(e, ConnectionRefusedError):
            raise Failed("connection refused") from None
        if isinstance(e, (OSError, http.client.HTTPException)):
            raise Failed(_why(e)) from None
        return False


def _ssl_if_loaded():
    import sys
    return sys.modules.get("ssl")


def _address(host: str, port: int) -> str:
    """The IPv4 address to connect to; a name goes to the system resolver (through the routing table, not the
    uplink measured: the name of a speed server is the same on every uplink)."""
    try:
        return socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as e:
        raise Failed(f"cannot resolve {host}: {e.strerror}") from None


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _why(e: BaseException) -> str:
    if isinstance(e, OSError):
        if isinstance(e, TimeoutError):
            return "timeout"
        if e.errno:
            return os.strerror(e.errno).lower()
        return str(e) or type(e).__name__
    return f"http: {type(e).__name__}"


# ---- iperf3 -----------------------------------------------------------------------------------------------------

def split_host_port(text: str) -> tuple[str, int]:
    """"host[:port]" -> (host, port); ValueError with the reason."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, ""
    if not host or any(c.isspace() or c in "/@?#" for c in host):
        raise ValueError(f"not a host name or address: {text!r}")
    if not port:
        return host, IPERF3_DEFAULT_PORT
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"not a port from 1 to 65535: {port!r}")
    return host, int(port)


def iperf3_command(plan: Plan, binding: Binding, reverse: bool) -> list[str]:
    """One direction: -R makes the server send (the download). iperf3 takes one end condition only, so bytes
    (-n, the budget) end it, and the deadline is the process's timeout."""
    host, port = split_host_port(plan.iperf3)
    cmd = ["iperf3", "-c", host, "-p", str(port), "-J", "-n", str(plan.max_bytes),
           "--connect-timeout", str(int(plan.timeout_s * 1000))]
    if binding.interface:
        cmd += ["--bind-dev", binding.interface]
    if binding.source:
        cmd += ["-B", binding.source]
    return cmd + (["-R"] if reverse else [])


def parse_iperf3(text: str) -> tuple[int, int]:
    """iperf3 -J output -> (bits per second, bytes) as received at the far end of the transfer; Failed with
    iperf3's own error ("unable to connect to server ...") when it reports one. A transfer over in a few
    milliseconds leaves the receiver's sum at 0 (iperf3 3.12): that is no measurement."""
    import json
    try:
        report = json.loads(text)
        if not isinstance(report, dict):
            raise ValueError
    except ValueError:
        raise Failed("iperf3: no JSON report") from None
    if report.get("error"):
        raise Failed(f"iperf3: {_one_line(str(report['error']))}")
    try:
        received = report["end"]["sum_received"]
        bps, count = float(received["bits_per_second"]), int(received["bytes"])
    except (KeyError, TypeError, ValueError):
        raise Failed("iperf3: the report has no end.sum_received") from None
    if count <= 0:
        raise Failed("iperf3: no bytes received")
    return round(bps), count


def measure_iperf3(plan: Plan, binding: Binding, run=None) -> SpeedResult:
    """Download (-R), then upload: an iperf3 server takes both. `run`: subprocess.run or a stand-in."""
    import subprocess      # here: an agent measuring over HTTP (or not at all) does not load it
    run = run or subprocess.run
    method, server = "iperf3", plan.server
    results = []
    for reverse in (True, False):
        try:
            cmd = iperf3_command(plan, binding, reverse)
        except ValueError as e:
            return SpeedResult(False, method=method, server=server, error=f"iperf3: {e}")
        try:
            done = run(cmd, capture_output=True, text=True, timeout=plan.timeout_s + IPERF3_GRACE_S)
            results.append(parse_iperf3(done.stdout))
        except FileNotFoundError:
            return SpeedResult(False, method=method, server=server, error="iperf3 is not installed")
        except subprocess.TimeoutExpired:
            error = f"iperf3: {plan.max_bytes} bytes not moved within {plan.timeout_s:g} s"
        except Failed as e:
            error = str(e)
        else:
            continue
        if not results:
            return SpeedResult(False, method=method, server=server, error=error)
        (down_bps, down_bytes), = results
        return SpeedResult(True, down_bps, None, down_bytes, method, server, error=f"upload: {error}")
    (down_bps, down_bytes), (up_bps, up_bytes) = results
    return SpeedResult(True, down_bps, up_bps, down_bytes + up_bytes, method, server)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]
