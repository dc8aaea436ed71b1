"""The fleet's web console (docs/fleet.md, "Console"): server-rendered HTML, stdlib only, started by
`relais fleet serve` on [console] listen (loopback by default: HTTPS comes from a reverse proxy).

    server.py    routes, sessions, CSRF and Origin checks, roles, security headers, live rows (server-sent events)
    bounds.py    what one client may hold: the request deadline, the connection and database-connection bounds
    table.py     the fleet table's query string (filters, sort, page) and rows: fleet/listing.py's FILTERS
    pages.py     the HTML; every device or form value is escaped there
    timeline.py  a site's 30 days as inline SVG
    limiter.py   login brute force: a pure decider, time passed in
fleet/users.py holds the users (scrypt), the sessions and the audit, in the fleet database.
"""
from __future__ import annotations

import logging
import threading

from fleet.config import FleetConfig

log = logging.getLogger("relais.fleet.console")


class ConsoleError(Exception):
    """The console cannot start: one line."""


class RunningConsole:
    def __init__(self, server, console):
        self.server = server
        self.console = console
        self.thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                       name="fleet-console", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def stop(self) -> None:
        self.console.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_console(config: FleetConfig, **options) -> RunningConsole:
    from fleet.console.server import Console, ConsoleServer
    from fleet.db import DatabaseError
    host, _, port = config.console.listen.rpartition(":")
    host = host.strip("[]")
    try:
        console = Console(config, **options)
    except DatabaseError as e:
        raise ConsoleError(f"console: {e}") from None
    try:
        server = ConsoleServer((host, int(port)), console)
    except OSError as e:
        console.close()
        raise ConsoleError(f"console: cannot listen on {config.console.listen}: {e.strerror or e}") from None
    running = RunningConsole(server, console)
    running.thread.start()
    # the fleet read once now rather than at the first page (half a second to a second and a half for 10,000
    # devices on a busy 2-core machine: BENCHMARKS.md)
    threading.Thread(target=console.warm, name="fleet-console-warm", daemon=True).start()
    log.info("console on http://%s:%s/", *running.address)
    return running
