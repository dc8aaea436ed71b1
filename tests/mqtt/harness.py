"""An agent in the test process: a Core on its own thread with the reporter and the ledger attached."""
from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import Any, Callable

from agent.config import Config
from agent.core import Core
from agent.ledger import attach as attach_ledger
from agent.mqtt import attach


@dataclass(frozen=True)
class Call:
    """Run `fn(now)` on the core thread (the only thread that may touch core.state or emit)."""
    fn: Callable[[float], Any]
    done: threading.Event
    out: list


MODEM_STATE = {   # the shape agent/modem_service.py keeps in core.state["modem"]
    "connected": True, "port": "/dev/ttyUSB2", "vendor": "quectel",
    "manufacturer": "Quectel", "model": "RM500Q-GL", "revision": "RM500QGLABR11A06M4G", "imei": "867698040000001",
    "sim_state": "READY", "iccid": "8933150319000000001", "imsi": "208150000000001", "sim_slot": 1,
    "registration": "home", "rat": "LTE", "lac_tac": "7D01", "cell_id": "1A2B3C4",
    "operator_name": "Orange F", "mcc": "208", "mnc": "01",
    "signal": {"rat": "LTE", "rsrp_dbm": -95, "rsrq_db": -11, "sinr_db": 13, "rssi_dbm": -67, "band": "B3",
               "pci": 301, "earfcn": 1300},
}

class Agent:
    def __init__(self, config: Config, send_at: Callable[[str], list[str]] | None = None,
                 state: dict | None = None):
        self.core = Core()
        if state:
            self.core.state.update(copy.deepcopy(state))
        self.reporter = attach(self.core, config, send_at=send_at)
        self.ledger = attach_ledger(self.core, config)
        self.core.subscribe(Call, self._call)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.core.run, args=(self._stop, 0.05), daemon=True)

    def _call(self, item: Call, now: float) -> None:
        try:
            item.out.append(item.fn(now))
        finally:
            item.done.set()

    def start(self) -> "Agent":
        self._thread.start()
        self.reporter.start()
        return self

    def on_core(self, fn: Callable[[float], Any], timeout: float = 10.0) -> Any:
        done, out = threading.Event(), []
        self.core.post(Call(fn, done, out))
        if not done.wait(timeout):
            raise AssertionError("core thread did not run the call")
        return out[0] if out else None

    def emit(self, kind: str, **data: Any) -> None:
        """Returns once the event is accepted (every sink, the outbox included, has run)."""
        self.on_core(lambda now: self.core.emit(kind, **data))

    def stop(self) -> None:
        self.reporter.stop()
        self._stop.set()
        self._thread.join(5)
        self.reporter.close()
        self.ledger.db.close()

    def __enter__(self) -> "Agent":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def eventually(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    """Wait for a condition (machines here are shared and slow at times: no tight timing)."""
    import time
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)
