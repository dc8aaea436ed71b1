"""A test rig in virtual time: the modem simulator's engine in-process (tests/virtual.py), the agent's Core, the
real ModemService over modem.at.loopback's port, and the cellular manager attached the way agent/runtime.py
attaches it, all on one fake clock and one thread. The simulator's power_cycle stands in for the board's power
GPIO (board.gpio.CallablePower); the port is a built-in UART in a fake sysfs (not USB).

Tests look at the agent the way the MQTT side would: its state, the events it emitted, the commands it answers.
Waits are in virtual seconds: `rig.wait(...)` runs the world until the condition holds, `rig.advance(s)` lets time
pass; nothing sleeps, and a test runs the same way every time.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

from agent.cellular import attach, recovery
from agent.config import from_dict
from agent.core import CommandReceived, Core, Event, WallClock
from board.gpio import CallablePower
from board.usb import UsbRebind
from tests.virtual import FakeClock, InProcessSimulator, Scheduler, attach_modem

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


def _board_step_inline(step: str, post: Callable[[object], None], **kwargs) -> None:
    """recovery.start_board_step without its thread: the same board_step, run at once on the one thread there is
    (the simulator's power_cycle must run on the thread that drives its engine)."""
    ok, detail = recovery.board_step(step, **kwargs)
    post(recovery.StepFinished(step, ok, detail))


class Rig:
    def __init__(self, tmp_path, *, vendor: str = "quectel-rm500q", cellular: dict | None = None,
                 board: dict | None = None, pins: dict[int, str] | None = None, speed: float = 0.0,
                 poll_s: float = 2.0, power: bool = True, uplinks: list | None = None, **options):
        self.clock = FakeClock()
        self.scheduler = Scheduler(self.clock)
        self.sim = InProcessSimulator(vendor, self.clock, speed=speed, sysfs=tmp_path / "sys")
        for slot, pin in (pins or {}).items():
            self.sim.model.set_pin(slot, pin)
        self.config = from_dict({"cellular": merged(FAST_CELLULAR, cellular or {}), "board": board or {},
                                 "uplinks": uplinks or []})
        self.core = Core(monotonic=self.clock, wall=WallClock(self.clock.wall))
        self._events: list[Event] = []
        self.core.add_sink(self._events.append)
        self.modem = attach_modem(self.core, self.scheduler, self.sim, poll_s=poll_s)
        self.manager = attach(self.core, self.config, self.modem, None,
                              power=CallablePower(self.sim.power_cycle, "simulator") if power else None,
                              usb=UsbRebind(str(tmp_path / "sys"), sleep=lambda s: None), **options)
        self._start_board_step, recovery.start_board_step = recovery.start_board_step, _board_step_inline
        try:
            self.manager.start()
        except BaseException:
            self.close()
            raise

    # ---- looking at the agent ------------------------------------------------------------------------------
    def on_core(self, fn: Callable[[], Any]) -> Any:
        """fn() on the core's thread: between two steps of the scheduler, that is now."""
        return fn()

    def state(self, key: str) -> dict:
        return copy.deepcopy(self.core.state.get(key, {}))

    def events(self, kind: str | None = None) -> list[Event]:
        return [e for e in self._events if kind is None or e.kind == kind]

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass."""
        self.scheduler.advance(seconds)

    def wait(self, predicate: Callable[[], Any], timeout: float = 20.0, what: str = "") -> Any:
        """predicate()'s first true value within `timeout` virtual seconds, else AssertionError naming `what`."""
        value = self.scheduler.run_until(predicate, timeout)
        if not value:
            raise AssertionError(f"not within {timeout:g} s: {what or predicate}; "
                                 f"events: {[(e.kind, e.data) for e in self.events()]}")
        return value

    def wait_event(self, kind: str, timeout: float = 20.0, **data) -> Event:
        def found():
            return next((e for e in self.events(kind) if all(e.data.get(k) == v for k, v in data.items())), None)
        return self.wait(found, timeout, f"event {kind} {data}")

    def registered_on(self, slot: int) -> bool:
        m = self.core.state.get("modem", {})
        return m.get("sim_slot") == slot and m.get("registration") in ("home", "roaming")

    def post_command(self, name: str, args: Any = None) -> list[dict]:
        """Post a command; the list gets its reply when it comes."""
        replies: list[dict] = []
        self.core.post(CommandReceived(name, args if args is not None else {}, replies.append, origin="test"))
        return replies

    def command(self, name: str, args: Any = None, timeout: float = 30.0) -> dict:
        replies = self.post_command(name, args)
        return self.wait(lambda: replies, timeout, f"the reply to {name}")[0]

    def close(self) -> None:
        try:
            self.manager.stop()
            self.modem.stop()
        finally:
            self.scheduler.stop()
            recovery.start_board_step = self._start_board_step
