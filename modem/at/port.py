"""A modem's AT port: the IO-free AtEngine driven over pyserial by one thread, surviving USB re-enumeration.

Threads: one IO thread per port reads bytes, feeds the engine and enforces timeouts; callers of command() only
submit and wait. The engine is touched under one lock; URC handlers run on the IO thread *outside* the lock, so a
handler may issue commands of its own (it must not wait for them there: it would wait on its own thread).

When the port is lost (read/write fails, device node gone) every command in flight or queued fails at once with
TransportError, and the port is reopened with exponential backoff (common/backoff.py) until it returns. The path reopened
is the stable one: /dev/ttyUSB2 may come back as /dev/ttyUSB5, its /dev/serial/by-id/ link stays the same.
"""
from __future__ import annotations

import logging
import os
import select
import threading
import time
from pathlib import Path
from typing import Callable

import serial

from common.backoff import Backoff
from modem.at.engine import AtEngine, Response, Send
from modem.at.errors import AtTimeout, ModemError, TransportError, redact_bytes as _redact
from modem.at.portbase import EventHandler, PortBase, traffic
from modem.at.urc import UrcRegistry

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 2.0
REOPEN_FIRST_S = 0.05   # the first retry to open a lost port; doubled on each failure up to reopen_max_s
PARK_S = 0.05           # how often the parked IO thread looks whether callers are done (URC latency when idle)
BY_ID = Path("/dev/serial/by-id")


def stable_path(path: str, by_id_dir: Path = BY_ID) -> str:
    """The /dev/serial/by-id name of a tty when there is one, else the path as given."""
    p = Path(path)
    if p.parent == by_id_dir or not by_id_dir.is_dir():
        return path
    try:
        real = p.resolve(strict=True)
    except OSError:
        return path
    for link in sorted(by_id_dir.iterdir()):
        try:
            if link.resolve(strict=True) == real:
                return str(link)
        except OSError:
            continue
    return path


class _Waiter:
    """One caller waiting for its answer. A bare lock, released by the IO thread, is the cheapest hand-off
    between two Python threads (threading.Event adds a Condition and its bookkeeping on both sides)."""
    __slots__ = ("lock", "result", "done")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.result: Response | ModemError | None = None
        self.done = False

    def set(self, result) -> None:
        self.result = result
        self.done = True
        self.lock.release()

    def wait(self, timeout: float) -> bool:
        return self.lock.acquire(timeout=timeout)


class AtPort(PortBase):
    def __init__(self, path: str, baud: int = 115200, *, urcs: UrcRegistry | None = None,
                 on_event: EventHandler | None = None, reopen_max_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic, timeout_for: Callable[[str], float] | None = None):
        self.configured_path = path
        self.path = stable_path(path)
        if self.path != path:
            log.info("using stable name %s for %s", self.path, path)
        self.baud = baud
        self.engine = AtEngine(urcs, timeout_for)
        self.on_event = on_event or (lambda kind, detail: None)
        self.reopen_max_s = reopen_max_s
        # No jitter: one local device, nobody else to fall out of step with.
        self._reopen_backoff = Backoff(REOPEN_FIRST_S, reopen_max_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._serial: serial.Serial | None = None
        self._broken = False
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread: threading.Thread | None = None
        self._timeouts_in_row = 0
        # Who reads the port: a caller while it waits for its own answer (it reads and parses it itself,
        # sparing a hand-off between threads), else the IO thread. Reentrant: a URC handler run by a reading
        # caller may send a command of its own. While callers read (`_callers`), the IO thread is parked away
        # from the port, woken out of select by the pipe, so that it does not wake up on their answers too.
        self._reader = threading.RLock()
        self._callers = 0
        self._io_in_select = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    # ---- lifecycle --------------------------------------------------------------------------------------
    def start(self, wait_open_s: float | None = None) -> "AtPort":
        self._thread = threading.Thread(target=self._run, name=f"at-io:{os.path.basename(self.path)}", daemon=True)
        self._thread.start()
        if wait_open_s is not None and not self._opened.wait(wait_open_s):
            raise TransportError(f"{self.path}: could not open within {wait_open_s:g} s")
        return self

    def close(self) -> None:
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._close_serial()
        with self._lock:
            outs = self.engine.fail_all(TransportError(f"{self.path}: port closed"))
        self._deliver(outs)

    def __enter__(self) -> "AtPort":
        return self.start(wait_open_s=10)

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._opened.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._opened.wait(timeout)

    # ---- commands ---------------------------------------------------------------------------------------
    def command(self, command: str, timeout: float | None = None, **kwargs) -> Response:
        """Send one AT command and return its answer; raises AtError, AtTimeout, TransportError, BusyError.
        kwargs: expect= (prefix / tuple / None for raw lines), body= (bytes sent after the "> " prompt)."""
        if not self._opened.is_set():
            raise TransportError(f"{self.path}: port not open")
        waiter = _Waiter()
        req = self.engine.make_request(command, timeout=timeout, token=waiter, **kwargs)
        # The caller reads its own answer (no hand-off from the IO thread), holding the reader lock; taking it
        # first also means that what is already buffered is read before the command goes out: bytes that came
        # before it (line noise, a late answer) are no part of its answer.
        with self._lock:
            self._callers += 1
        try:
            reading = self._reader.acquire(timeout=req.timeout)
            try:
                with self._lock:
                    stale = self._drain() if reading and not self.engine.busy() else b""
                    now = self._clock()
                    outs = (self.engine.feed(stale, now) if stale else []) + self.engine.submit(req, now)
                    self._write_sends(outs)
                if self._io_in_select:
                    self._wake()         # while the modem thinks, the IO thread steps away from the port
                self._deliver(outs)
                while reading and not waiter.done and self._serial is not None and not self._stop.is_set():
                    self._pump_once()
            finally:
                if reading:
                    self._reader.release()
        finally:
            with self._lock:
                self._callers -= 1
        # Normally answered by now; otherwise another caller reads for us (or the port was lost and every
        # waiter failed). The margin only matters if reading itself is stuck.
        if not waiter.wait(req.timeout + 2.0 + 0.1 * self.engine.pending() * req.timeout):
            raise AtTimeout(req.command, req.timeout)
        if isinstance(waiter.result, ModemError):
            raise waiter.result
        return waiter.result

    def _drain(self) -> bytes:
        """What is buffered right now, without waiting. Called with both locks held."""
        ser, data = self._serial, b""
        if ser is None:
            return data
        try:
            fd = ser.fileno()
            for _ in range(16):
                if not select.select([fd], [], [], 0)[0]:
                    break
                chunk = os.read(fd, 4096)
                if not chunk:
                    break      # the port is gone: the next read says so properly
                data += chunk
        except (OSError, serial.SerialException, TypeError, AttributeError):
            pass
        if data and traffic.isEnabledFor(logging.DEBUG):
            traffic.debug("%s <- %r (before the command)", self.path, _redact(data))
        return data

    # ---- IO thread --------------------------------------------------------------------------------------
    def _run(self) -> None:
        """Reads when no caller does (URCs while idle), enforces deadlines, reopens a lost port."""
        while not self._stop.is_set():
            if self._serial is None and not self._reopen():
                break
            if self._callers:
                # Parked while callers read: polled, not notified, so that a burst of commands costs no
                # thread wake-ups at all; URCs meanwhile are read by the callers.
                self._stop.wait(PARK_S)
                continue
            try:
                self._io_in_select = True
                readable = self._wait_readable()
            except (OSError, ValueError, TypeError, AttributeError) as e:
                self._lost(f"select failed: {e}")
                continue
            finally:
                self._io_in_select = False
            if readable is None or self._callers:
                continue         # a caller came: it reads its own answer
            if readable:
                with self._reader:
                    if self._serial is not None and not self._callers:
                        self._pump_once(wait=False)
            else:
                now = self._clock()
                with self._lock:
                    outs = self.engine.poll(now)
                    self._write_sends(outs)
                self._deliver(outs)

    def _wait_readable(self) -> bool | None:
        """True when the port has bytes, False after the wait, None when a caller woke us."""
        deadline = self.engine.next_deadline()
        wait = 0.2 if deadline is None else min(0.2, max(0.005, deadline - self._clock()))
        ready = select.select([self._serial.fileno(), self._wake_r], [], [], wait)[0]
        if self._wake_r in ready:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
            return None
        return bool(ready)

    def _wake(self) -> None:
        try:
            os.write(self._wake_w, b"\0")
        except OSError:
            pass          # the pipe is full (the IO thread is awake anyway) or closed (stopping)

    def _pump_once(self, wait: bool = True) -> None:
        """Read once (waiting at most until the next deadline) and act on what came. Holds the reader lock."""
        try:
            data = self._read(wait)
        except (serial.SerialException, OSError, TypeError, AttributeError) as e:
            # TypeError/AttributeError: a fd closed under us by close() from another thread.
            self._lost(f"read failed: {e}")
            return
        now = self._clock()
        with self._lock:
            outs = (self.engine.feed(data, now) if data else []) + self.engine.poll(now)
            self._write_sends(outs)
        if data and traffic.isEnabledFor(logging.DEBUG):
            traffic.debug("%s <- %r", self.path, _redact(data))
        self._deliver(outs)
        if self._broken:
            self._lost("write failed")

    def _read(self, wait: bool = True) -> bytes:
        """Take all bytes there are, first waiting for some (until the next deadline at most) if `wait`.

        select + os.read on the port's fd rather than pyserial's read(): changing pyserial's timeout
        reconfigures the tty (tcsetattr) and its read() polls once per call; this is two system calls."""
        fd = self._serial.fileno()
        timeout = 0.0
        if wait:
            deadline = self.engine.next_deadline()
            # Wake up in time for the command deadline, but never spin.
            timeout = 0.2 if deadline is None else min(0.2, max(0.005, deadline - self._clock()))
        if not select.select([fd], [], [], timeout)[0]:
            return b""     # nothing (yet), or another reader took it first
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return b""
        # Readable but nothing to read (pyserial sets VMIN=0, so a plain empty tty reads b"" too, but then
        # select does not say readable): the device is gone (pty master closed, USB unplugged).
        if not data:
            raise serial.SerialException("device disconnected")
        return data

    def _reopen(self) -> bool:
        attempt = 0
        while True:
            try:
                ser = self._open()
                break
            except (serial.SerialException, OSError) as e:
                attempt += 1
                if attempt in (1, 10) or attempt % 60 == 0:
                    log.warning("%s: cannot open (%s), retrying", self.path, e)
            if self._stop.wait(self._reopen_backoff.delay(attempt - 1)):
                return False      # stopped while waiting for the port
        if self._stop.is_set():
            ser.close()
            return False
        self._serial, self._broken = ser, False
        self._opened.set()
        log.info("%s: open", self.path)
        self.on_event("port_opened", self.path)
        return True

    def _open(self) -> serial.Serial:
        ser = serial.Serial(self.path, self.baud, timeout=0.2, write_timeout=2.0)
        try:
            ser.reset_input_buffer()   # bytes from before we opened belong to nobody
        except (serial.SerialException, OSError, TypeError):
            pass
        return ser

    def _lost(self, why: str) -> None:
        was_open = self._opened.is_set()
        self._opened.clear()
        self._close_serial()
        with self._lock:
            outs = self.engine.fail_all(TransportError(f"{self.path}: port lost ({why})"))
        self._deliver(outs)
        if was_open and not self._stop.is_set():
            log.warning("%s: port lost (%s)", self.path, why)
            self.on_event("port_lost", why)

    def _close_serial(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    # ---- engine outcomes --------------------------------------------------------------------------------
    def _write_sends(self, outs: list) -> None:
        """Called with the lock held, so writes go out in the engine's order."""
        for out in outs:
            if isinstance(out, Send):
                ser = self._serial
                if traffic.isEnabledFor(logging.DEBUG):
                    traffic.debug("%s -> %r", self.path, _redact(out.data))
                try:
                    if ser is None:
                        raise serial.SerialException("not open")
                    _write_all(ser.fileno(), out.data, WRITE_TIMEOUT_S)
                except (serial.SerialException, OSError, TypeError) as e:
                    self._broken = True
                    log.debug("%s: write failed: %s", self.path, e)


def _write_all(fd: int, data: bytes, timeout: float) -> None:
    """os.write until all is out. A modem that stops reading (flow control, a wedged USB endpoint) makes this
    fail after `timeout` rather than block the agent. (pyserial's write selects before every write.)"""
    view = memoryview(data)
    deadline = None
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            n = 0
        view = view[n:]
        if view:
            deadline = deadline or time.monotonic() + timeout
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                raise serial.SerialTimeoutException(f"write stalled for {timeout:g} s")
