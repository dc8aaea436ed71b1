"""Which LED pattern the agent's state calls for (board/led.py shows it). Pure: state in, pattern out."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agent.core import Core
from agent.status_file import preferred_uplink
from board.led import Led, NoLed, open_led

if TYPE_CHECKING:
    from agent.config import Config

log = logging.getLogger(__name__)

_REGISTERED = ("home", "roaming")


def pattern_for(state: dict[str, Any]) -> str:
    """on: on the preferred uplink, a backup ready; double: on the preferred, no backup ready; slow_blink: on a
    backup uplink that works; fast_blink: nothing carries traffic."""
    modem = state.get("modem", {})
    failover = state.get("failover", {})
    links = failover.get("links", {})
    active = failover.get("active_uplink")
    preferred = preferred_uplink(links)
    preferred_up = links.get(preferred, {}).get("up")
    modem_ready = bool(modem.get("connected")) and modem.get("registration") in _REGISTERED
    # a backup is ready: the modem attached, or another fixed line that answers (a second operator)
    backup_ready = modem_ready or any(info.get("up") and not _cellular(name, info)
                                      for name, info in links.items() if name != preferred)
    if active is not None and active != preferred:
        on = links.get(active, {})
        pattern = "slow_blink" if on.get("up") or (modem_ready and _cellular(active, on)) else "fast_blink"
    elif preferred_up is False and not backup_ready:
        pattern = "fast_blink"
    else:
        pattern = "on" if backup_ready else "double"
    # The site's power cut (the UPS on battery) is what a technician must know first, unless nothing works at all.
    if pattern != "fast_blink" and (state.get("power") or {}).get("mains") == "on_battery":
        return "on_battery"
    return pattern


def _cellular(name: str, info: dict[str, Any]) -> bool:
    return info.get("kind") == "cellular" if "kind" in info else name == "backup"


class LedStatus:
    def __init__(self, core: Core, led: Led, period_s: float = 1.0):
        self.core, self.led = core, led
        core.call_every(period_s, self._update, first_in=period_s)

    def _update(self, now: float) -> None:
        self.led.show(pattern_for(self.core.state))

    def stop(self) -> None:
        self.led.show("off")
        self.led.close()


def open_status_led(config: Config) -> Led:
    """The LED [board] led names. ValueError / FileNotFoundError for a console/none/sysfs:NAME spec that does not
    fit (as before). A GPIO line that cannot be used is said in one line and left out: the agent's work does not
    depend on its LED, and a chip may be missing only until a board overlay is fixed."""
    if config.board.led != "gpio":
        return open_led(config.board.led)
    from board.gpio import GpioError
    from board.led_gpio import open_gpio_led
    c = config.led
    try:
        return open_gpio_led(c.backend, c.chip, c.line, c.active_low)
    except GpioError as e:
        log.error("%s: [led] %s; running without the status LED", config.source, e)
        return NoLed()
