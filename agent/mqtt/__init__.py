"""Reporting to the central MQTT broker (docs/mqtt.md): status, state, telemetry, events through a durable outbox,
and commands from the fleet.

    reporter = attach(core, config, send_at=modem.send_at)   # before core.run()
    reporter.start()                                         # the MQTT link thread
    ...
    reporter.stop()
"""
from __future__ import annotations

from typing import Callable

from agent.config import Config
from agent.core import Core
from agent.mqtt.reporter import CommandRefused, Reporter

__all__ = ["attach", "Reporter", "CommandRefused"]


def attach(core: Core, config: Config, send_at: Callable[[str], list[str]] | None = None) -> Reporter:
    """Wire the reporter to the core (sink, telemetry and state timers, commands get_status / set_config / at).
    `send_at(command) -> lines` is the modem service's raw AT call, used by the `at` command; None disables it."""
    return Reporter(core, config, send_at=send_at)
