"""Debian's NUT, started by the tests: the `dummy-ups` driver reads a .dev file the test rewrites (on line -> on
battery -> low battery -> on line) and `upsd` serves it on a free port, both run as root from a temp dir."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.mqtt.broker import free_port

DRIVER = "/lib/nut/dummy-ups"
UPSD = "/lib/nut/upsd"       # /sbin/upsd is a wrapper that reads /etc/nut/nut.conf (MODE=none on a fresh install)
UPSC = "/bin/upsc"
UPS = "dummy"
FRESH = ("OL", 100, 1800)    # what a started dummy UPS says: on line, full, 30 minutes


def require_nut() -> None:
    """Skip outside CI when NUT is missing; under CI=true the skip fails the run (tests/conftest.py)."""
    if not (os.access(DRIVER, os.X_OK) and os.access(UPSD, os.X_OK)):
        pytest.skip("needs Debian's NUT (apt-get install nut-server nut-client)")
    if os.geteuid() != 0:
        pytest.skip("needs root (NUT's driver and upsd drop to their own user otherwise)")


class DummyUps:
    def __init__(self, workdir: Path):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)    # upsd refuses world-readable state paths
        self.port = free_port()
        self.dev = self.dir / "dummy.dev"
        self.procs: list[subprocess.Popen] = []
        self._mtime = 0
        self._written: tuple[str, float, float] | None = None
        self.env = dict(os.environ, NUT_CONFPATH=str(self.dir), NUT_STATEPATH=str(self.dir),
                        NUT_ALTPIDPATH=str(self.dir))

    @property
    def address(self) -> str:
        return f"{UPS}@127.0.0.1:{self.port}"

    def set(self, status: str, charge: float = FRESH[1], runtime: float = FRESH[2]) -> None:
        """Rewrite the .dev file; the driver notices the new mtime at its next poll.

        dummy-ups compares whole seconds of st_mtime, so two writes within one second look like one and the
        second is never read. Each write gets its own second, later than the one before."""
        tmp = self.dev.with_suffix(".tmp")
        tmp.write_text(f"ups.status: {status}\nbattery.charge: {charge:g}\nbattery.runtime: {runtime:g}\n"
                       "ups.mfr: Dummy\nups.model: Test UPS\n")
        self._mtime = max(int(time.time()), self._mtime + 1)
        os.utime(tmp, (self._mtime, self._mtime))
        os.replace(tmp, self.dev)
        self._written = (status, charge, runtime)

    def reset(self) -> None:
        """Back to what start() gives (on line, full), read back through upsd: a test given a UPS another test
        used starts from where a freshly started one would."""
        if self._written == FRESH:
            return
        self.set(*FRESH)
        fresh = [f"{v:g}" if isinstance(v, float | int) else v for v in FRESH]
        deadline = time.monotonic() + 20
        while [self.read(v) for v in ("ups.status", "battery.charge", "battery.runtime")] != fresh:
            if time.monotonic() > deadline:
                raise AssertionError(f"the dummy UPS did not come back to {FRESH} within 20 s")
            time.sleep(0.2)

    def start(self) -> "DummyUps":
        self.set(*FRESH)
        (self.dir / "ups.conf").write_text(f'[{UPS}]\n  driver = dummy-ups\n  port = {self.dev}\n'
                                           '  desc = "relais test"\n  pollinterval = 1\n')
        (self.dir / "upsd.conf").write_text(f"LISTEN 127.0.0.1 {self.port}\n")
        (self.dir / "upsd.users").write_text("")
        for name in ("ups.conf", "upsd.conf", "upsd.users"):
            os.chmod(self.dir / name, 0o600)
        self._spawn([DRIVER, "-a", UPS, "-u", "root", "-F"], "driver.log")
        self._spawn([UPSD, "-u", "root", "-F"], "upsd.log")
        self.wait_for("OL")
        return self

    def _spawn(self, argv: list[str], log: str) -> None:
        out = open(self.dir / log, "wb")
        self.procs.append(subprocess.Popen(argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True))
        out.close()

    def status(self) -> str | None:
        """ups.status as Debian's own client reads it (the reference, not our code)."""
        return self.read("ups.status")

    def read(self, variable: str) -> str | None:
        r = subprocess.run([UPSC, f"{UPS}@127.0.0.1:{self.port}", variable], capture_output=True, text=True,
                           timeout=5)
        return r.stdout.strip() if r.returncode == 0 else None

    def wait_for(self, status: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status() == status:
                return
            time.sleep(0.2)
        logs = "\n".join((self.dir / n).read_text(errors="replace")[-800:] for n in ("driver.log", "upsd.log")
                         if (self.dir / n).exists())
        raise AssertionError(f"the dummy UPS never said {status!r} (last {self.status()!r}):\n{logs}")

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        self.procs.clear()

    def __enter__(self) -> "DummyUps":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
