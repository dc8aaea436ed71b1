"""Power (issue 15): the router's UPS through NUT. README "Power".

    nut.py      the NUT network protocol, client side (LIST VAR), pure parsing + one TCP exchange per reading
    decide.py   readings -> power_lost / power_restored / battery_low, with hysteresis (pure)
    monitor.py  the part: the polling thread, the core handler, the state, the clean stop on low battery

The ledger records the cuts (agent/ledger, kind "power" on link "site"); the report shows them apart.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from agent.core import Core
from agent.power.monitor import PowerMonitor, PowerReading


def attach(core: Core, config, stop_agent: Callable[[], None] | None = None) -> PowerMonitor | None:
    """None without [power] ups: no thread, nothing in the state."""
    if not config.power.enabled:
        return None
    return PowerMonitor(core, config.power, stop_agent=stop_agent,
                        marker=Path(config.storage.dir) / "power-stopped")


__all__ = ["attach", "PowerMonitor", "PowerReading"]
