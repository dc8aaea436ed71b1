"""Which LED pattern the agent's state calls for (board/led.py shows it). Pure: state in, pattern out."""
from __future__ import annotations

from typing import Any

from agent.core import Core
from board.led import Led

_REGISTERED = ("home", "roaming")


def pattern_for(state: dict[str, Any]) -> str:
    modem = state.get("modem", {})
    failover = state.get("failover", {})
    links = failover.get("links", {})
    active = failover.get("active_uplink")
    primary_up = links.get("primary", {}).get("up")
    backup_ready = bool(modem.get("connected")) and modem.get("registration") in _REGISTERED
    if active == "backup":
        return "slow_blink" if backup_ready or links.get("backup", {}).get("up") else "fast_blink"
    if primary_up is False and not backup_ready:
        return "fast_blink"
    if not backup_ready:
        return "double"
    return "on"


class LedStatus:
    def __init__(self, core: Core, led: Led, period_s: float = 1.0):
        self.core, self.led = core, led
        core.call_every(period_s, self._update, first_in=period_s)

    def _update(self, now: float) -> None:
        self.led.show(pattern_for(self.core.state))

    def stop(self) -> None:
        self.led.show("off")
