"""A speed-test server for the tests: HTTP or HTTPS (a certificate from a CA made for the test), on a daemon thread.

    GET  /bytes/N     N bytes (Content-Length N), streamed until the client hangs up; with "Range: bytes=0-M",
                      206 and the first M + 1 of them
    GET  /stall       headers never come (the client's deadline must end it)
    GET  /small       100 bytes: too few to measure
    POST /upload      reads a chunked (or Content-Length) body, answers 200 with the byte count
    POST /stall       reads the body, never answers
    else              404
Records who asked (`peers`: in the netns lab the address says which uplink) and what it sent and received."""
from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
import time
from pathlib import Path

CHUNK = b"\0" * 65536


class SpeedServer:
    def __init__(self, host: str, port: int = 0, tls: tuple[Path, Path] | None = None):
        self.peers: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.sent = 0
        self.received = 0
        self.stall = threading.Event()
        self.ranges = True            # honour "Range: bytes=0-N" (False: a server that sends it all anyway)
        self.pace_s = 0.0             # a pause after each 64 KiB sent: a slow line without shaping
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.httpd.server_address[0]}:{self.port}{path}"

    def close(self) -> None:
        self.stall.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server_state: SpeedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        state = self.server_state
        state.peers.append(self.client_address[0])
        state.headers.append(dict(self.headers))
        path = self.path.split("?")[0]
        if path.startswith("/bytes/") and path[7:].isdigit():
            size = full = int(path[7:])
            wanted = self.headers.get("Range", "")
            if state.ranges and wanted.startswith("bytes=0-") and wanted[8:].isdigit():
                size = min(full, int(wanted[8:]) + 1)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes 0-{size - 1}/{full}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            left = size
            try:
                while left > 0:
                    n = min(left, len(CHUNK))
                    self.wfile.write(CHUNK[:n])
                    if state.pace_s:
                        self.wfile.flush()
                        time.sleep(state.pace_s)
                    state.sent += n
                    left -= n
            except OSError:
                pass          # the client stopped at its byte or time limit
            self.close_connection = True
        elif path == "/stall":
            state.stall.wait(30)
            self.close_connection = True
        elif path == "/small":
            self._answer(200, b"x" * 100)
        else:
            self._answer(404, b"")

    def do_POST(self) -> None:
        """Reads the whole body first, also for a path it then refuses: a server that answers early and closes
        makes the client's next write fail (broken pipe) before it can read the answer."""
        state = self.server_state
        state.peers.append(self.client_address[0])
        total = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                total += len(self.rfile.read(size))
                self.rfile.readline()
        else:
            total = len(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        if self.path == "/stall":
            state.stall.wait(30)
            self.close_connection = True
            return
        if self.path != "/upload":
            self._answer(404, b"")
            return
        state.received += total
        self._answer(200, str(total).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def wait_listening(port: int, netns: str | None = None) -> None:
    """Until something listens on the TCP port. Not by connecting: iperf3 takes any connection for a test's
    control connection and answers the next client "busy" until it gives up on it."""
    cmd = ["ss", "-H", "-ltn", f"sport = :{port}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    deadline = time.monotonic() + 5
    while not subprocess.run(cmd, capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, f"nothing listens on port {port}"
        time.sleep(0.02)
