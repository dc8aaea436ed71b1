"""Failover: watch every uplink, move traffic to the next one in about a second when the one in use dies, never
on a line that is merely lossy, and come back once a better one has proven itself (docs/failover.md).

    policy.py      decide(state, event, now) -> (state, actions): pure, the whole behaviour
    vocabulary.py  what it decides with: uplinks, events, actions, state
    assess.py      one link's status (up / degraded / down) from its probe results and link layer
    controller.py  wires probers, netlink and the route backend to the policy on the core thread

Use: `controller = attach(core, config, routes)`; it subscribes to the link monitors' inputs, registers the
`failover` and `drill` commands, keeps core.state["failover"] and (unless start=False) starts its threads.
`controller.stop()` stops them.
"""
from __future__ import annotations

from agent.config import Config
from agent.core import Core
from agent.failover.controller import FailoverController
from board.routes import RouteBackend


def attach(core: Core, config: Config, routes: RouteBackend, *, start: bool = True, **parts) -> FailoverController:
    """Wire failover into the core. `parts` replace the probers, the netlink watcher or the drill's route
    checker (tests)."""
    controller = FailoverController(core, config, routes, **parts)
    if start:
        controller.start()
    return controller


__all__ = ["attach", "FailoverController"]
