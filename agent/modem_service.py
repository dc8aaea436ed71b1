"""The modem as the agent sees it: all AT traffic on one worker thread, results posted to the core.

The core never waits on the serial line (a modem command can take 180 s). Everything that talks to the modem —
the periodic status poll, a command from MQTT, the SIM-switch logic — is a *job*: a function of the
ModemDevice run on the worker, whose result comes back to the core as a ModemJobDone input and is handled there.

What the core learns:
- ModemStatus: identity + SIM + registration + operator + signal, after each poll; core.state["modem"];
- ModemPortEvent: port_opened / port_lost / rebooted / unresponsive (from the AT port);
- ModemPollFailed: the port is open but a poll failed (the modem does not answer);
- ModemUrc: every unsolicited line (a registration URC also triggers an early poll).
Domain events emitted: modem_reset (restart or port re-enumeration seen), registration_changed.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from agent.core import Core, Deferred
from modem.at import AtError, AtPort, ModemError
from modem.device import ModemDevice

log = logging.getLogger(__name__)

SIM_BUSY_CME = (14,)   # 27.007 "SIM busy": the card is being read; a PIN sent now is not consumed

Job = Callable[[ModemDevice], Any]


@dataclass(frozen=True)
class ModemStatus:
    status: dict[str, Any]


@dataclass(frozen=True)
class ModemPortEvent:
    kind: str          # port_opened | port_lost | rebooted | unresponsive
    detail: str


@dataclass(frozen=True)
class ModemPollFailed:
    """A poll found the port open but the modem not answering (timeouts) or answering nonsense: the recovery
    ladder (agent/cellular) counts these to tell a hung modem from a quiet one."""
    error: str


@dataclass(frozen=True)
class ModemUrc:
    line: str


@dataclass(frozen=True)
class ModemJobDone:
    name: str
    result: Any
    error: ModemError | None
    on_done: Callable[[Any, ModemError | None, float], None] | None


_WATCHED = ("registration", "operator_name", "mcc", "mnc", "rat", "sim_slot", "sim_state")


class ModemService:
    def __init__(self, core: Core, port: str, *, baud: int = 115200, vendor: str | None = None,
                 poll_s: float = 30.0, pin: str | None = None, at_port: AtPort | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """at_port: an AtPort-like port to use instead of opening `port` (tests hand in modem.at.loopback's, with
        the fake clock they drive: then nobody starts the worker thread, they call work_once())."""
        self.core = core
        self.poll_s = poll_s
        self._pin = pin
        self._clock = clock
        self.next_poll_at = 0.0
        if at_port is None:
            at_port = AtPort(port, baud, on_event=self._on_port_event)
        else:
            at_port.on_event = self._on_port_event
        self.port = at_port
        self.port.set_catch_all(self._on_urc)
        self.device = ModemDevice(self.port, vendor)
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._poll_now = threading.Event()
        self._need_init = threading.Event()
        self._need_init.set()
        self._pin_pending = False       # the configured PIN is still to be checked (the SIM was busy)
        self._thread: threading.Thread | None = None
        core.state["modem"] = {"connected": False, "port": port}
        core.subscribe(ModemStatus, self._on_status)
        core.subscribe(ModemPortEvent, self._on_port)
        core.subscribe(ModemJobDone, self._on_job_done)
        core.register_command("modem_status", lambda args: dict(core.state["modem"]))

    # ---- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        self.port.start()
        self._thread = threading.Thread(target=self._work, name="modem-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.port.close()

    # ---- for other subsystems (core thread) -------------------------------------------------------------
    def submit(self, name: str, job: Job, on_done: Callable[[Any, ModemError | None, float], None] | None = None):
        """Run job(device) on the modem worker; on_done(result, error, now) runs later on the core thread."""
        self._jobs.put((name, job, on_done))

    def deferred(self, name: str, job: Job) -> Deferred:
        """Run a job for a command handler: the command's reply is the job's result."""
        d = Deferred()

        def done(result, error, now):
            if error is None:
                d.resolve(result)
            else:
                d.reject(f"{name}: {error}")
        self.submit(name, job, done)
        return d

    def poll_soon(self) -> None:
        self._poll_now.set()
        self._jobs.put(("wake", None, None))

    def send_at(self, command: str) -> Deferred:
        """For the `at` passthrough command: a Deferred resolved with the answer lines."""
        return self.deferred("at", lambda dev: dev.at(command))

    # ---- worker thread ----------------------------------------------------------------------------------
    def _work(self) -> None:
        while self.work_once(max(0.0, self.next_poll_at - self._clock())):
            pass

    def has_work(self) -> bool:
        """A job waits, a poll was asked for or is due (for a test's scheduler driving work_once)."""
        return not self._jobs.empty() or self._poll_now.is_set() or self._clock() >= self.next_poll_at

    def work_once(self, timeout: float) -> bool:
        """Run one job, or poll if a poll is due, waiting up to `timeout` for a job. False once stopped."""
        if self._stop.is_set():
            return False
        try:
            item = self._jobs.get(timeout=timeout) if timeout > 0 and not self._poll_now.is_set() \
                else self._jobs.get_nowait()
        except queue.Empty:
            item = ("wake", None, None)
        if item is None:
            return False
        name, job, on_done = item
        if job is not None:
            self._run_job(name, job, on_done)
            return True
        if self._clock() >= self.next_poll_at or self._poll_now.is_set():
            self._poll_now.clear()
            if self._poll():
                self.next_poll_at = self._clock() + self.poll_s
            else:   # port not there yet or modem not answering: try again soon, without spinning
                self.next_poll_at = self._clock() + min(self.poll_s, 2.0)
        return True

    def _run_job(self, name: str, job: Job, on_done) -> None:
        result, error = None, None
        try:
            result = job(self.device)
        except ModemError as e:
            error = e
        except Exception as e:  # a bug in a job is that job's failure, not the worker's end
            log.exception("modem job %s failed", name)
            error = ModemError(f"internal error: {type(e).__name__}")
        self.core.post(ModemJobDone(name, result, error, on_done))

    def _poll(self) -> bool:
        if not self.port.connected:
            return False
        try:
            if self._need_init.is_set():
                self.device.initialize()
                self.device.identify()
                self._need_init.clear()
                self._pin_pending = self._pin is not None
            if self._pin_pending:
                self._pin_pending = not self._unlock_sim()
            status = {**self.device.identity, **self.device.status()}
        except ModemError as e:
            log.info("modem poll failed: %s", e)
            self.core.post(ModemPollFailed(str(e)))
            return False
        status["connected"] = True
        status["port"] = self.port.path
        self.core.post(ModemStatus(status))
        return not self._pin_pending            # a SIM still being read is asked again soon, not in poll_s

    def _unlock_sim(self) -> bool:
        """Enter the configured PIN if the SIM asks for it. False: the SIM is busy (being read after a boot or a
        switch, +CME ERROR: 14), ask again later; the PIN has not been tried."""
        if self._pin is None:
            return True
        state = (self.device.query("AT+CPIN?") or {}).get("sim_state")
        if state == "SIM BUSY":
            log.info("SIM busy (being read); PIN state asked again shortly")
            return False
        if state == "SIM PIN":
            pin = getattr(self._pin, "value", self._pin)
            try:
                self.device.enter_pin(pin)           # checks it is 4-8 digits; the AT trace and errors redact it
                log.info("SIM unlocked with the configured PIN")
            except AtError as e:
                if e.code in SIM_BUSY_CME:           # not consumed: the card was not ready for it
                    return False
                self._pin_rejected(e)
            except ModemError as e:
                self._pin_rejected(e)
        return True

    def _pin_rejected(self, e: ModemError) -> None:
        # Never retry a wrong PIN automatically: three tries and the SIM wants its PUK.
        log.error("SIM PIN rejected (%s); not retrying", getattr(e, "text", None) or e)
        self._pin = None

    # ---- IO callbacks (IO thread) -----------------------------------------------------------------------
    def _on_port_event(self, kind: str, detail: str) -> None:
        if kind in ("port_opened", "rebooted"):
            self._need_init.set()       # a restarted modem forgot AT+CEREG=2 and friends
            self.poll_soon()
        self.core.post(ModemPortEvent(kind, detail))

    def _on_urc(self, line: str) -> None:
        self.core.post(ModemUrc(line))
        if self.device.plugin.status_changed_by(line):     # which URCs say so is the vendor plugin's
            self.poll_soon()

    # ---- core thread ------------------------------------------------------------------------------------
    def _on_status(self, item: ModemStatus, now: float) -> None:
        old = self.core.state.get("modem", {})
        new = dict(item.status)
        changed = {k: (old.get(k), new.get(k)) for k in _WATCHED if old.get(k) != new.get(k)}
        self.core.state["modem"] = new
        if old.get("connected") and changed and ("registration" in changed or "mcc" in changed
                                                 or "mnc" in changed or "sim_slot" in changed):
            self.core.emit("registration_changed", **{k: v[1] for k, v in changed.items()},
                           previous={k: v[0] for k, v in changed.items()})

    def _on_port(self, item: ModemPortEvent, now: float) -> None:
        modem = self.core.state.setdefault("modem", {})
        if item.kind == "port_lost":
            modem["connected"] = False
            self.core.emit("modem_reset", reason="port_lost", detail=item.detail)
        elif item.kind == "rebooted":
            self.core.emit("modem_reset", reason="restarted", detail=item.detail)
        elif item.kind == "unresponsive":
            self.core.emit("modem_unresponsive", detail=item.detail)

    def _on_job_done(self, item: ModemJobDone, now: float) -> None:
        if item.on_done is not None:
            item.on_done(item.result, item.error, now)
        elif item.error is not None:
            log.warning("modem job %s failed: %s", item.name, item.error)
