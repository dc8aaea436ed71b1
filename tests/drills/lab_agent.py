"""The lab's agent (tests/lab/agent.py) with the drill scheduler and a wall clock of its own, and the
configuration the drill tests and the benchmark use: the lab's uplinks, [[services]] in its "internet"."""
from __future__ import annotations

import time

from agent.config import from_dict
from agent.core import Core, WallClock
from agent.drills.scheduler import attach as attach_schedule
from agent.failover import attach
from board.routes import open_backend
from tests.lab.agent import AgentUnderTest
from tests.lab.netlab import DNS_HOST, GATEWAYS, INTERFACES, TARGETS

SIP_HOST, HTTPS_HOST = "192.0.2.60", "192.0.2.43"


def drill_config(lab, tmp_path, https, tls, drills: dict | None = None, services: list | None = None,
                 probes: dict | None = None):
    return from_dict({
        "board": {"backend": "iproute2", "primary_interface": INTERFACES["primary"],
                  "cellular_interface": INTERFACES["backup"], "primary_gateway": GATEWAYS["primary"],
                  "backup_gateway": GATEWAYS["backup"], "netns": lab.router},
        "probes": {"targets": list(TARGETS), **(probes or {})},
        "storage": {"dir": str(tmp_path)},
        "services": services if services is not None else [
            {"name": "Téléphonie", "check": f"sip:{SIP_HOST}"},
            {"name": "Cloud", "check": f"https://{HTTPS_HOST}:{https.port}/", "ca": tls["ca"]},
            {"name": "DNS", "check": f"dns:{DNS_HOST}"}],
        "drills": {"schedule": "", "timezone": "UTC", "service_timeout_s": 1.0, **(drills or {})},
    }, source="<lab>")


class DrillAgent(AgentUnderTest):
    """The lab's agent with the drill scheduler, on a wall clock `offset` seconds from the real one (NTP-synced
    as far as the agent knows)."""

    def __init__(self, lab, config, offset: float = 0.0):
        super().__init__(lab, config)
        self.offset = offset

    def wall(self) -> float:
        return time.time() + self.offset

    def _run(self) -> None:
        try:
            core = Core(wall=WallClock(now=self.wall, source=lambda: "ntp"))
            routes = open_backend(self.config.board.backend, **self.config.board.route_options())
            core.add_sink(lambda e: self.events.append((time.monotonic(), e)))
            self.controller = attach(core, self.config, routes)
            self.scheduler = attach_schedule(core, self.config, self.controller.drills)
            self.core = core
        except BaseException as e:
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        try:
            core.run(self._stop, tick_s=0.05)
        finally:
            self.controller.stop()
            routes.close()
