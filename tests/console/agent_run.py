"""The real programs for the console's end-to-end tests: `relais sim` on a pty and `relais run` on the simulated
board, each its own process, in a short directory (a Unix socket's path is at most 107 bytes)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from agent.console.client import ConsoleUnavailable, ask

ROOT = Path(__file__).resolve().parents[2]
RELAIS = [sys.executable, "-m", "agent.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

CONFIG = """
[device]
id = "console-test"
site = "rack 2"
[modem]
port = "{dir}/modem"
[board]
backend = "simulated"
[storage]
dir = "{dir}/var"
[console]
socket = "{dir}/console.sock"
[mqtt]
host = "127.0.0.1"
port = 1                # nothing listens: the reporter just retries
"""


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, details: Callable[[], str] = str) -> Any:
    """predicate()'s first true value within timeout (polled every 50 ms), else AssertionError naming `what`.
    Real time: the programs under test run in their own processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}{details()}")


class Site:
    """A simulator and an agent in one directory; `relais(...)` runs the command line against them."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))
        self.config = self.dir / "relais.toml"
        self.config.write_text(CONFIG.format(dir=self.dir))
        self.socket = self.dir / "console.sock"
        self.storage = self.dir / "var"
        self.sim: subprocess.Popen | None = None
        self.agent: subprocess.Popen | None = None

    def start(self) -> "Site":
        if self.sim is None:
            self.sim = self._spawn(["sim", "--vendor", "quectel-rm500q", "--link", str(self.dir / "modem"),
                                    "--speed", "0"], "sim.log")
            wait_for(lambda: (self.dir / "modem").exists(), 10, "the simulator's pty", self.logs)
        self.agent = self._spawn(["run", "--config", str(self.config)], "agent.log")
        wait_for(self._registered, 30, "the agent answering on its console with the modem registered", self.logs)
        return self

    def _registered(self) -> bool:
        try:
            answer = ask(self.socket, "status", timeout=2)
        except ConsoleUnavailable:
            return False
        modem = answer.get("result", {}).get("state", {}).get("modem", {})
        return modem.get("registration") == "home" and bool(modem.get("signal"))

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        with open(self.dir / log, "a") as out:
            return subprocess.Popen(RELAIS + args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=ENV)

    def relais(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(RELAIS + list(args), capture_output=True, text=True, timeout=60, cwd=ROOT,
                              env=kw.pop("env", ENV), **kw)

    def stop_agent(self, sig: int = signal.SIGTERM) -> None:
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(sig)
            try:
                self.agent.wait(15)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait(5)
        self.agent = None

    def close(self) -> None:
        self.stop_agent()
        if self.sim is not None and self.sim.poll() is None:
            self.sim.terminate()
            self.sim.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self) -> str:
        return "\n" + "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.dir.glob("*.log")))
