"""The live console: the running agent answers local commands on a Unix socket (issue 12 §4).

    protocol.py   the line format (one JSON object per line), its bounds, where the socket lives
    server.py     the socket: stale file, mode and group, the accept thread, the bound on clients
    session.py    one client's thread: request lines posted to the core as CommandReceived, replies written back
    client.py     ask(path, cmd, args) for `relais status`, `watch`, `doctor`, `signal --watch` ...
    commands.py   the core commands only the console needed: "signal" ("status" is the status file's)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:     # `relais status` imports the client through this package: it stays light
    from agent.config import Config
    from agent.core import Core


def attach(core: "Core", config: "Config"):
    """Register the console's core commands and make the server (started with the other parts)."""
    from agent.console import commands, protocol
    from agent.console.server import ConsoleServer
    commands.register(core)
    return ConsoleServer(core, protocol.socket_path(config.console.socket, config.storage.dir))
