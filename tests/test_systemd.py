"""sd_notify over a real unix datagram socket: READY, and watchdog pings driven by the core thread."""
import os
import socket

from agent.core import Core
from agent.systemd import attach_watchdog, notify


def test_notify_and_watchdog_pings_from_the_core(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": str(os.getpid())}
        assert notify("READY=1", env)
        assert server.recv(64) == b"READY=1"
        t = [0.0]
        core = Core(monotonic=lambda: t[0])
        assert attach_watchdog(core, env) == 0.1
        for step in range(1, 4):
            t[0] = step * 0.1
            core.drain()
            assert server.recv(64) == b"WATCHDOG=1"


def test_no_socket_no_watchdog():
    assert notify("READY=1", {}) is False
    assert attach_watchdog(Core(), {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}) is None
    assert attach_watchdog(Core(), {}) is None
