"""systemd's notify protocol: READY=1 once the agent runs, WATCHDOG=1 from the core thread while it lives.

The watchdog ping comes from the core thread on purpose: if the core hangs (a handler stuck forever), the pings
stop and systemd restarts the agent (WatchdogSec= in packaging/relais.service). A router nobody visits must heal
itself. No dependency: the protocol is one datagram on the socket named in $NOTIFY_SOCKET.
"""
from __future__ import annotations

import logging
import os
import socket

from agent.core import Core

log = logging.getLogger(__name__)


def notify(message: str, env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):               # abstract namespace socket
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.sendto(message.encode(), address)
        return True
    except OSError as e:
        log.warning("sd_notify %s failed: %s", message, e)
        return False


def attach_watchdog(core: Core, env: dict[str, str] | None = None) -> float | None:
    """Ping every half watchdog period (systemd's advice) from the core thread; returns the period or None."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    if usec <= 0 or ("WATCHDOG_PID" in env and env["WATCHDOG_PID"] != str(os.getpid())):
        return None
    period = usec / 1e6 / 2
    core.call_every(period, lambda now: notify("WATCHDOG=1", env))
    return period
