"""The whole agent in virtual time, for the fault catalogue: what tests/cellular/agent_rig.py wires (modem over the
in-process simulator, failover on simulated uplinks, network time, SMS) plus the cellular manager (SIM rules,
recovery ladder, data session), the outage ledger and the MQTT reporter's outbox. The reporter's network side is
not started: an event counts as kept when it is in the outbox on disk, which is what "accepted" promises.
"""
from __future__ import annotations

from typing import Any, Callable

from agent.cellular import attach as attach_cellular
from agent.cellular import recovery
from agent.ledger import attach as attach_ledger
from agent.modem_service import ModemStatus
from agent.mqtt import attach as attach_reporter
from board.gpio import CallablePower
from board.usb import UsbRebind
from tests.cellular.agent_rig import SimulatorAgent
from tests.cellular.rig import _board_step_inline, merged


class WholeAgent(SimulatorAgent):
    def __init__(self, tmp_path, *, vendor: str = "quectel-rm500q", cellular: dict | None = None,
                 extra: dict | None = None, pins: dict[int, str] | None = None, modem_pin: str | None = None,
                 **kwargs: Any):
        self.tmp_path = tmp_path

        def before(sim) -> None:
            for slot, pin in (pins or {}).items():
                sim.model.set_pin(slot, pin)
        # The product's default rules and ladder (not the tests' shortened ones): the catalogue states what a
        # router in the field does; virtual time makes their minutes free.
        config = merged({"cellular": cellular or {},
                         "mqtt": {"host": "127.0.0.1", "port": 9, "payload": "json"}}, extra or {})
        if modem_pin:
            config = merged(config, {"modem": {"pin": modem_pin}})
        # speed 1: the simulator takes a real modem's time to boot, read a SIM, register (free in virtual time)
        super().__init__(tmp_path, vendor=vendor, before_start=before, extra=config, speed=1.0, **kwargs)
        self.cellular = attach_cellular(self.core, self.config, self.modem, None,
                                        power=CallablePower(self.sim.power_cycle, "simulator"),
                                        usb=UsbRebind(str(tmp_path / "sys"), sleep=lambda s: None))
        self.ledger = attach_ledger(self.core, self.config)
        self.reporter = attach_reporter(self.core, self.config)
        self._start_board_step, recovery.start_board_step = recovery.start_board_step, _board_step_inline
        self.status_times: list[float] = []       # when the modem worker reported a full status (it answered)
        self.core.subscribe(ModemStatus, lambda item, now: self.status_times.append(now))
        self.cellular.start()

    # ---- what the catalogue measures ---------------------------------------------------------------------------
    def mark(self) -> int:
        """An index into the events: what happened after it is this scenario's."""
        return len(self.events)

    def since(self, mark: int) -> list:
        return self.events[mark:]

    def kept(self) -> int:
        """Events in the outbox on disk (none leaves it: the network side is not started)."""
        return self.reporter.outbox.count("event")

    def lost(self) -> int:
        return len(self.events) - self.kept()

    def time_until(self, cond: Callable[[], Any], timeout: float) -> float | None:
        """Virtual seconds until cond() holds (None: not within timeout)."""
        start = self.clock()
        return self.clock() - start if self.pump(cond, timeout) else None

    def answered_after(self, t: float, timeout: float) -> float | None:
        """Seconds from `t` to the first full modem status after it (None: none within timeout of now)."""
        self.pump(lambda: any(s >= t for s in self.status_times), timeout)
        return next((s - t for s in self.status_times if s >= t), None)

    def state(self, key: str) -> dict:
        return self.core.state.get(key, {}) or {}

    def registered(self, slot: int | None = None) -> bool:
        m = self.state("modem")
        return m.get("registration") in ("home", "roaming") and (slot is None or m.get("sim_slot") == slot)

    def close(self) -> None:
        try:
            self.cellular.stop()
            self.reporter.close()
            self.ledger.db.close()
        finally:
            recovery.start_board_step = self._start_board_step
            super().close()
