"""A real PostgreSQL for the tests: Debian's server, initdb'd in a temp dir and started on a free port.

As root the cluster runs as the `postgres` user (the server refuses to run as root); otherwise as the caller.
Under CI=true a missing server fails the run (tests/conftest.py turns the skip into a failure)."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.mqtt.broker import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Postgres:
    def __init__(self):
        initdb = _bin("initdb")
        if initdb is None:
            pytest.skip("needs Debian's postgresql (apt-get install postgresql)")
        self.bindir = Path(initdb).parent
        self.root = os.geteuid() == 0
        # not under pytest's tmp_path: as root that is a 0700 directory the postgres user cannot enter
        self.dir = Path(tempfile.mkdtemp(prefix="relais-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [str(self.bindir / tool), *args]
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)

    def start(self, durable: bool = False) -> "Postgres":
        """durable=False skips fsync (tests: a crash is `pg_ctl stop -m immediate`, which fsync does not change);
        the benchmark starts it durable, as a production server runs."""
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync={'on' if durable else 'off'}"
        r = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", opts, "-w", "start",
                      check=False)
        if r.returncode != 0:
            raise RuntimeError(f"postgres did not start: {r.stdout}{r.stderr}{self.log()}")
        return self

    def stop(self, mode: str = "fast") -> None:
        """mode "immediate" is a crash: no shutdown checkpoint, recovery from the WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def log(self) -> str:
        try:
            return (self.dir / "log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
