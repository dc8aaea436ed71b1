"""The power part: a worker thread reads the UPS every `poll_s` and posts what it got; on the core thread the
decider turns readings into power_lost / power_restored / battery_low, the state shows them (`relais status`, the
LED, MQTT), and a low battery stops the agent cleanly.

After a low-battery stop the service manager starts the agent again (systemd Restart=always, procd respawn) while
the UPS may still be on low battery: a marker file left by that stop makes such a start stop again quietly,
without saying the cut and the low battery again (SMS alerts every few seconds, a cut per restart in the ledger).
The first reading that is not "on battery, low" removes the marker.

A reading that failed (the NUT server unreachable, the UPS unknown to it, an answer that is not NUT) is a
warning, said once and again only when the problem changes, and nothing else: the agent keeps running, the last
known mains state stays as it was (with `problem` next to it), and no power event is invented from a silence.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agent.config.power import PowerConfig, parse_ups
from agent.core import Core
from agent.power.decide import Mains, PowerEvent, PowerState, decide
from agent.power.nut import NutClient, NutError, Reading

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PowerReading:
    """Posted by the poller: a reading, or the one line saying why there is none."""
    reading: Reading | None
    problem: str | None = None


class PowerMonitor:
    def __init__(self, core: Core, cfg: PowerConfig, stop_agent: Callable[[], None] | None = None,
                 client: NutClient | None = None, marker: Path | None = None):
        self.core, self.cfg = core, cfg
        name, host, port = parse_ups(cfg.ups)
        self.client = client or NutClient(name, host, port, cfg.timeout_s)
        self.stop_agent = stop_agent
        self.state = PowerState()
        self._problem: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.marker = marker                       # left by a low-battery stop; see the module's docstring
        self._first = True
        self._quiet = False
        self.handled = 0        # readings and failures the core thread has taken in: what a test waits on, not time
        core.state["power"] = {"ups": cfg.ups, "mains": Mains.UNKNOWN.value}
        core.subscribe(PowerReading, self.on_reading)

    # ---- worker thread ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="power", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.cfg.timeout_s + 1)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                item = PowerReading(self.client.read())
            except NutError as e:
                item = PowerReading(None, str(e))
            self.core.post(item)
            self._stop.wait(self.cfg.poll_s)

    # ---- core thread -----------------------------------------------------------------------------------------
    def on_reading(self, item: PowerReading, now: float) -> None:
        self.handled += 1
        shown = self.core.state["power"]
        if item.problem != self._problem:
            if item.problem is not None:
                log.warning("power: UPS %s not read: %s; power events wait for a reading", self.cfg.ups,
                            item.problem)
            else:
                log.warning("power: UPS %s read again", self.cfg.ups)
            self._problem = item.problem
        if item.reading is None:
            shown["problem"] = item.problem
            return
        shown.pop("problem", None)
        r = item.reading
        if self._first:
            self._first = False
            self._quiet = self._after_low_battery_stop(r)
        if self._quiet:          # stopping again after a low-battery stop: everything was said before it
            return
        self.state, events = decide(self.state, r, now, self.cfg.confirm_s, self.cfg.low_charge_pct)
        shown.update(mains=self.state.mains.value, status=" ".join(r.status), charge_pct=r.charge_pct,
                     runtime_s=r.runtime_s, battery_low=self.state.battery_low_said)
        for event in events:
            self._emit(event, now)

    def _emit(self, event: PowerEvent, now: float) -> None:
        wall, source = self.core.wall.now()
        at = wall - (now - event.at)
        shown = self.core.state["power"]
        data = dict(event.data, ups=self.cfg.ups)
        if event.kind == "power_lost":
            shown.update(since=at, since_source=source)
            self.core.emit("power_lost", started_at=at, started_at_source=source, **data)
        elif event.kind == "power_restored":
            shown.update(since=at, since_source=source)
            self.core.emit("power_restored", ended_at=at, ended_at_source=source, **data)
        elif event.kind == "battery_low":
            stopping = self.cfg.stop_on_battery_low and self.stop_agent is not None
            shown["stopping"] = stopping
            self.core.emit("battery_low", stopping=stopping, **data)
            if stopping and not self._stopping:
                self._stopping = True
                self._leave_marker()
                log.warning("power: UPS %s battery low: relais stops cleanly in %.0f s (NUT's own shutdown stays "
                            "in charge of the machine)", self.cfg.ups, self.cfg.stop_delay_s)
                self.core.call_later(self.cfg.stop_delay_s, lambda now: self.stop_agent())

    def _after_low_battery_stop(self, r: Reading) -> bool:
        """True: this start follows a low-battery stop and the UPS is still on low battery: stop again, quietly."""
        if self.marker is None or not self.marker.exists():
            return False
        if not (r.on_battery and r.battery_low) or self.stop_agent is None:
            self._remove_marker()
            return False
        self.core.state["power"].update(mains="on_battery", status=" ".join(r.status), charge_pct=r.charge_pct,
                                        runtime_s=r.runtime_s, battery_low=True, stopping=True)
        self._stopping = True
        log.warning("power: UPS %s still on low battery since relais stopped for it: stopping again (no new "
                    "alert)", self.cfg.ups)
        self.core.call_later(self.cfg.stop_delay_s, lambda now: self.stop_agent())
        return True

    def _leave_marker(self) -> None:
        if self.marker is None:
            return
        try:
            self.marker.write_text("stopped on the UPS's low battery\n")
        except OSError as e:    # the stop goes on; a restart on low battery will say the cut again
            log.warning("power: %s not written (%s)", self.marker, e.strerror or e)

    def _remove_marker(self) -> None:
        try:
            self.marker.unlink()
        except OSError:
            pass
