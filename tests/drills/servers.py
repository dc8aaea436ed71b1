"""Servers the service checks talk to in the tests: a SIP-like UDP responder, a generic UDP responder, an HTTPS
server with a certificate from a CA made for the test (openssl, Debian's). Each runs on a daemon thread and
records who asked (the address tells which uplink a check went through in the netns lab)."""
from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Callable


class UdpResponder:
    """Answers each datagram with reply(data) (None: stay silent); `peers` are the senders' addresses."""

    def __init__(self, sock: socket.socket, reply: Callable[[bytes], bytes | None]):
        self.sock, self.reply = sock, reply
        self.peers: list[str] = []
        self.requests: list[bytes] = []
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> tuple[str, int]:
        return self.sock.getsockname()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.peers.append(peer[0])
            self.requests.append(data)
            answer = self.reply(data)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()


def udp_socket(host: str, port: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    return s


def sip_reply(status: str = "200 OK") -> Callable[[bytes], bytes | None]:
    """A SIP-like server: answers a request with `status`, copying Via, From, To, Call-ID and CSeq as RFC 3261
    §8.2.6 says a UAS does; anything that is not a SIP request gets no answer."""
    def reply(data: bytes) -> bytes | None:
        lines = data.decode("utf-8", "replace").split("\r\n")
        if not lines[0].endswith(" SIP/2.0"):
            return None
        copied = [line for line in lines[1:]
                  if line.split(":", 1)[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
        return ("\r\n".join([f"SIP/2.0 {status}", *copied, "Content-Length: 0"]) + "\r\n\r\n").encode()
    return reply


class HttpsServer:
    """GET / -> 200, /moved -> 301, /broken -> 500; on `host`, port chosen by the kernel."""

    def __init__(self, host: str, cert: Path, key: Path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.peers: list[str] = []
        handler = type("Handler", (_Handler,), {"peers": self.peers})    # one peer list per server
        self.httpd = http.server.ThreadingHTTPServer((host, 0), handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    peers: list[str] = []
    STATUS = {"/": 200, "/moved": 301, "/broken": 500}

    def do_GET(self) -> None:
        self.peers.append(self.client_address[0])
        status = self.STATUS.get(self.path, 404)
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA for the test: (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", key, "-out", cert, "-days", "2", "-subj", f"/CN={name}")
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], ip: str) -> tuple[Path, Path]:
    """A server certificate for `ip` (subjectAltName IP) signed by `ca`: (certificate, key)."""
    cert, key, csr = directory / f"server-{ip}.pem", directory / f"server-{ip}.key", directory / f"server-{ip}.csr"
    ext = directory / f"server-{ip}.ext"
    ext.write_text(f"subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
             "-out", csr, "-subj", f"/CN={ip}")
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-out", cert,
             "-days", "2", "-extfile", ext)
    return cert, key


def _openssl(*args) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)
