"""A core running on its own thread with the console server in front of it, on a short socket path (a Unix
socket's path is at most 107 bytes: pytest's tmp_path can be longer)."""
from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from agent.console import commands
from agent.console.server import ConsoleServer
from agent.core import Core


class LiveCore:
    def __init__(self, core: Core, server: ConsoleServer):
        self.core, self.server, self.path = core, server, str(server.path)


@pytest.fixture
def short_dir():
    path = Path(tempfile.mkdtemp(prefix="rc", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def live(short_dir):
    """A running core with the "signal" command, and its console on short_dir/console.sock."""
    core = Core()
    core.state["modem"] = {"connected": True, "registration": "home", "operator_name": "Orange F",
                           "signal": {"rsrp_dbm": -97, "rsrq_db": -11, "sinr_db": 8.5, "band": "B20",
                                      "cell_id": "1A2B3C"}}
    commands.register(core)
    server = ConsoleServer(core, short_dir / "console.sock")
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,), kwargs={"tick_s": 0.05}, daemon=True)
    thread.start()
    server.start()
    assert server.problem is None, server.problem
    yield LiveCore(core, server)
    server.stop()
    stop.set()
    thread.join(timeout=5)
