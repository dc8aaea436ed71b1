"""Debian's Mosquitto, started by the tests on a free port with a generated configuration."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

MOSQUITTO = "/usr/sbin/mosquitto"
REPO = Path(__file__).resolve().parents[2]
SHIPPED_ACL = REPO / "packaging" / "mosquitto" / "relais.acl"


def require_mosquitto() -> None:
    """Skip outside CI when Mosquitto is missing; under CI=true the skip fails the run (tests/conftest.py)."""
    if not os.access(MOSQUITTO, os.X_OK):
        pytest.skip("needs Debian's mosquitto (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path
    require_certificate: bool = True


class Broker:
    def __init__(self, workdir: Path, tls: Tls | None = None, acl: Path | None = None,
                 password_file: Path | None = None, persistence: bool = False, host: str = "127.0.0.1",
                 extra: str = "", netns: str | None = None, port: int | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tls, self.acl, self.password_file = tls, acl, password_file
        self.persistence = persistence
        self.host = host
        self.extra = extra
        self.netns = netns   # run inside this network namespace (the benchmark); readiness is read from the log
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = self.workdir / "mosquitto.log"

    def config_text(self) -> str:
        lines = ["user root",   # as root Mosquitto would switch to its own user and lose our 0700 test dirs
                 "per_listener_settings false",
                 f"allow_anonymous {'false' if (self.tls or self.password_file) else 'true'}",
                 f"log_dest file {self.log}", "log_type all", "connection_messages true",
                 f"persistence {'true' if self.persistence else 'false'}",
                 f"persistence_location {self.workdir}/", "autosave_interval 1"]
        if self.acl:
            lines.append(f"acl_file {self.acl}")
        if self.password_file:
            lines.append(f"password_file {self.password_file}")
        lines.append(f"listener {self.port} {self.host}")
        if self.tls:
            lines += [f"cafile {self.tls.ca}", f"certfile {self.tls.cert}", f"keyfile {self.tls.key}"]
            if self.tls.require_certificate:
                lines += ["require_certificate true", "use_identity_as_username true"]
        return "\n".join(lines) + "\n" + self.extra

    def start(self, timeout: float = 10.0) -> "Broker":
        for attempt in range(5):
            conf = self.workdir / "mosquitto.conf"
            conf.write_text(self.config_text())
            if self.netns:
                self.log.unlink(missing_ok=True)   # readiness is its "running" line: only this start's
            prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
            self.proc = subprocess.Popen([*prefix, MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            if self._wait_listening(timeout):
                return self
            err = self._reap() + self.tail()
            if "Address already in use" not in err:
                raise RuntimeError(f"mosquitto did not start: {err}\n{self.tail()}")
            self.port = free_port()   # another engineer's test took the port between probe and bind
        raise RuntimeError("mosquitto: no free port")

    def _wait_listening(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.netns:
                if " running" in self.tail(5):
                    return True
                time.sleep(0.05)
                continue
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def _reap(self) -> str:
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.kill()
        _, err = self.proc.communicate(timeout=5)
        self.proc = None
        return (err or b"").decode(errors="replace")

    def stop(self) -> None:
        """Graceful (SIGTERM): Mosquitto saves its persistence file."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc is not None:
            self.proc.communicate(timeout=5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def make_pki(directory: Path, clients: list[str], server_ips: tuple[str, ...] = ("127.0.0.1",)) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1/localhost, one client certificate per name (CN = name).
    Uses packaging/mosquitto/make-device-cert.sh for the clients, so the shipped script is exercised too."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, cwd=d)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=relais-test-ca",
        "-days", "2")
    run("openssl", "req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    san = ",".join(["DNS:localhost"] + [f"IP:{ip}" for ip in server_ips])
    (d / "server.ext").write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "server.ext")
    files = {"ca": d / "ca.crt", "ca_key": d / "ca.key", "server_cert": d / "server.crt",
             "server_key": d / "server.key"}
    script = REPO / "packaging" / "mosquitto" / "make-device-cert.sh"
    for name in clients:
        run(str(script), "ca.crt", "ca.key", name, str(d / "clients"), "2")
        files[f"{name}_cert"] = d / "clients" / f"{name}.crt"
        files[f"{name}_key"] = d / "clients" / f"{name}.key"
    return files
