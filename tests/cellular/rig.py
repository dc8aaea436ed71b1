"""A test rig: the modem simulator on a real pty, the agent's Core running on its own thread, the real
ModemService, and the cellular manager attached the way agent/runtime.py attaches it. The simulator's
power_cycle stands in for the board's power GPIO (board.gpio.CallablePower).

Tests look at the agent only through the core thread (`rig.on_core(fn)`), the events it emitted and the
commands it answers, like the MQTT side would.
"""
from __future__ import annotations

import concurrent.futures
import copy
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from agent.cellular import attach
from agent.config import from_dict
from agent.core import CommandReceived, Core, Event
from agent.modem_service import ModemService
from board.gpio import CallablePower
from modem.simulator import Simulator

FAST_CELLULAR = {"min_dwell_s": 2.0, "switch_timeout_s": 15.0, "return_check_s": 10.0,
                 "rules": {"registration_denied": {"duration_s": 0.5}, "sim_failure": {"duration_s": 0.5},
                           "no_registration": {"duration_s": 1.0}, "roaming": {"duration_s": 0.5},
                           "weak_signal": {"duration_s": 1.0, "rsrp_dbm": -120.0},
                           "data_failing": {"failures": 3, "duration_s": 0.5}},
                 "ladder": {"unresponsive_s": 1.0, "port_gone_s": 1.0, "no_service_s": 1.0, "data_down_s": 30.0,
                            "reregister_window_s": 2.0, "radio_window_s": 2.0, "reset_window_s": 3.0,
                            "usb_window_s": 2.0, "power_window_s": 5.0}}


def merged(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, details: Callable[[], str] = str) -> Any:
    """predicate()'s first true value within timeout (polled every 50 ms), else AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}{details()}")


@dataclass(frozen=True)
class _OnCore:
    fn: Callable[[], Any]
    future: concurrent.futures.Future


class Rig:
    def __init__(self, tmp_path, *, vendor: str = "quectel-rm500q", cellular: dict | None = None,
                 board: dict | None = None, pins: dict[int, str] | None = None, speed: float = 0.0,
                 poll_s: float = 2.0, power: bool = True, **options):
        self.sim = Simulator(vendor=vendor, link=str(tmp_path / "modem"), speed=speed)
        for slot, pin in (pins or {}).items():
            self.sim.model.set_pin(slot, pin)
        self.sim.start()
        self.config = from_dict({"cellular": merged(FAST_CELLULAR, cellular or {}), "board": board or {}})
        self.core = Core()
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self.core.add_sink(self._remember)
        self.core.subscribe(_OnCore, self._run_on_core)
        self.modem = ModemService(self.core, self.sim.link, poll_s=poll_s)
        self.manager = attach(self.core, self.config, self.modem, None,
                              power=CallablePower(self.sim.power_cycle, "simulator") if power else None, **options)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.core.run, args=(self._stop, 0.05), daemon=True)
        self._thread.start()
        self.modem.start()
        self.on_core(self.manager.start)

    # ---- looking at the agent ------------------------------------------------------------------------------
    def _remember(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def _run_on_core(self, item: _OnCore, now: float) -> None:
        try:
            item.future.set_result(item.fn())
        except Exception as e:
            item.future.set_exception(e)

    def on_core(self, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.core.post(_OnCore(fn, future))
        return future.result(timeout)

    def state(self, key: str) -> dict:
        return self.on_core(lambda: copy.deepcopy(self.core.state.get(key, {})))

    def events(self, kind: str | None = None) -> list[Event]:
        with self._lock:
            return [e for e in self._events if kind is None or e.kind == kind]

    def wait(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        return wait_for(predicate, timeout, what or str(predicate),
                        lambda: f"; events: {[(e.kind, e.data) for e in self.events()]}")

    def wait_event(self, kind: str, timeout: float = 20.0, **data) -> Event:
        def found():
            return next((e for e in self.events(kind) if all(e.data.get(k) == v for k, v in data.items())), None)
        return self.wait(found, timeout, f"event {kind} {data}")

    def registered_on(self, slot: int) -> bool:
        m = self.state("modem")
        return m.get("sim_slot") == slot and m.get("registration") in ("home", "roaming")

    def command(self, name: str, args: dict | None = None, timeout: float = 30.0) -> dict:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.core.post(CommandReceived(name, args if args is not None else {}, future.set_result, origin="test"))
        return future.result(timeout)

    def close(self) -> None:
        try:
            self.on_core(self.manager.stop)
        finally:
            self._stop.set()
            self._thread.join(5)
            self.modem.stop()
            self.sim.stop()
