"""The simulator on a real pty: one thread moves bytes between the pty, the control socket and the engine.

    with Simulator(vendor="quectel-rm500q", link="/tmp/x/modem", speed=0) as sim:
        serial.Serial("/tmp/x/modem")           # talks to the simulated modem
        sim.fault("deny", 1)                     # same faults as `relais sim-ctl`
        sim.model.registration                   # what the modem believes

The engine (modem/simulator/engine.py) owns all modem state and is only ever called from the IO thread; faults from
other threads are handed over through a queue and a wake-up pipe.

Port details that matter:
 * the master is in packet mode (TIOCPKT): a host opening the slave with pyserial flushes its input queue, the
   master sees TIOCPKT_FLUSHREAD, and the engine knows someone is listening (boot URCs are not lost in the
   flush);
 * the simulator keeps its own fd on the slave, else reads on the master fail with EIO while no host has it
   open;
 * a reboot closes master and slave (the host's fd dies, as with USB re-enumeration), removes the link, and
   later links the same path to a new pty.
"""
from __future__ import annotations

import concurrent.futures
import errno
import fcntl
import os
import queue
import select
import socket
import stat
import struct
import termios
import threading
import time
import logging
import tty

from modem.simulator import control
from modem.simulator.engine import Engine, Output, PortDown, PortUp
from modem.simulator.model import ModemModel
from modem.simulator.personalities import PERSONALITIES, Personality

log = logging.getLogger(__name__)

TIOCPKT_FLUSHREAD = 0x01
MAX_OUTPUT = 1 << 20          # bytes waiting for a host that does not read; beyond, output is lost
MAX_CTL_CLIENTS = 16


class Simulator:
    def __init__(self, vendor: str = "quectel-ec25", link: str = "/tmp/relais-modem", speed: float = 1.0,
                 seed: int | None = None):
        if vendor not in PERSONALITIES:
            raise ValueError(f"unknown modem personality {vendor!r}; known: {', '.join(PERSONALITIES)}")
        self.personality: Personality = PERSONALITIES[vendor]
        self.link = os.path.abspath(link)
        self.ctl_path = control.ctl_path(self.link)
        self.engine = Engine(self.personality, speed=speed, seed=seed)
        self.pty_name: str | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._out = bytearray()
        self._ctl: socket.socket | None = None
        self._clients: dict[socket.socket, bytearray] = {}
        self._calls: queue.Queue = queue.Queue()
        self._wake_r: int | None = None
        self._wake_w: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None     # what killed the IO thread, if anything did
        self.internal_errors: list[Exception] = []   # engine bugs survived on untrusted input (should stay empty)

    # ------------------------------------------------------------------------------------------------ API

    @property
    def model(self) -> ModemModel:
        return self.engine.model

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "Simulator":
        if self._thread is not None:
            raise RuntimeError("simulator already started")
        if not os.path.isdir(os.path.dirname(self.link)):
            raise FileNotFoundError(f"directory of {self.link} does not exist")
        if os.path.lexists(self.link) and not os.path.islink(self.link):
            raise FileExistsError(f"{self.link} exists and is not a symlink; not replacing it")
        self._open_ctl()
        try:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._open_pty()
        except BaseException:
            self._cleanup()
            raise
        self.engine.start(time.monotonic())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"relais-sim {self.personality.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close everything, remove the link and the control socket, join the thread."""
        t = self._thread
        if t is not None:
            self._stop.set()
            self._wake()
            t.join(10)
            if t.is_alive():
                raise RuntimeError("simulator thread did not stop")
            self._thread = None
        self._cleanup()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fault(self, name: str, *args: object) -> str:
        """Inject a fault (see `relais sim-ctl`); returns a short reply, ValueError when refused."""
        return self._call(lambda now: self.engine.fault(str(name), [str(a) for a in args], now))

    def power_cycle(self) -> str:
        """What a board GPIO power cycle does: every modem fault ends (even an endless hang), the port goes away
        and the modem boots again. The environment stays (a removed SIM is still out, a denial still holds)."""
        return self._call(lambda now: self.engine.power_cycle(now))

    def call(self, fn):
        """Run fn(engine) in the simulator thread (for tests that need a consistent view)."""
        return self._call(lambda now: fn(self.engine))

    # ------------------------------------------------------------------------------------------------ plumbing

    def _call(self, fn):
        if not self.alive:
            raise RuntimeError("simulator is not running")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((fn, fut))
        self._wake()
        return fut.result(timeout=30)

    def _wake(self) -> None:
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b"x")
            except (BlockingIOError, OSError):
                pass

    def _open_ctl(self) -> None:
        path = self.ctl_path
        if len(path.encode()) > 107:
            raise ValueError(f"control socket path too long for a Unix socket: {path}")
        if os.path.lexists(path):
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise FileExistsError(f"{path} exists and is not a socket; not replacing it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1)
            try:
                probe.connect(path)
            except (ConnectionRefusedError, FileNotFoundError):
                os.unlink(path)             # left behind by a simulator that died
            else:
                raise RuntimeError(f"a simulator already runs at {self.link}")
            finally:
                probe.close()
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            srv.bind(path)
            srv.listen(MAX_CTL_CLIENTS)
            srv.setblocking(False)
        except BaseException:
            srv.close()
            raise
        self._ctl = srv

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        try:
            tty.setraw(slave)
            os.set_blocking(master, False)
            fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))
            name = os.ttyname(slave)
            tmp = f"{self.link}.{os.getpid()}.tmp"
            if os.path.lexists(tmp):
                os.unlink(tmp)
            os.symlink(name, tmp)
            os.replace(tmp, self.link)
        except BaseException:
            os.close(master)
            os.close(slave)
            raise
        self._master, self._slave, self.pty_name = master, slave, name
        self._out.clear()

    def _close_pty(self) -> None:
        if self._master is not None:
            self._flush()
            try:
                if os.readlink(self.link) == self.pty_name:
                    os.unlink(self.link)
            except OSError:
                pass
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None
        self._out.clear()

    def _cleanup(self) -> None:
        self._close_pty()
        for c in list(self._clients):
            c.close()
        self._clients.clear()
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None
            try:
                os.unlink(self.ctl_path)
            except OSError:
                pass
        for fd in (self._wake_r, self._wake_w):
            if fd is not None:
                os.close(fd)
        self._wake_r = self._wake_w = None
        while not self._calls.empty():
            _, fut = self._calls.get_nowait()
            fut.set_exception(RuntimeError("simulator stopped"))

    # ------------------------------------------------------------------------------------------------ IO thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._tick()
        except BaseException as e:          # keep the reason; tests and the CLI look at .error / .alive
            self.error = e
            raise

    def _guard(self, what: str, fn, *args) -> None:
        """Run an engine entry point; a simulator bug is logged and kept in internal_errors (tests fail on it)
        instead of killing the port, and the command in progress is dropped."""
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            log.exception("simulator engine failed in %s", what)
            self.internal_errors.append(e)
            self.engine.recover()

    def _tick(self) -> None:
        eng = self.engine
        self._guard("timers", eng.advance, time.monotonic())
        self._apply()
        deadline = eng.next_deadline()
        timeout = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
        rlist: list = [self._wake_r, self._ctl, *self._clients]
        wlist: list = []
        if self._master is not None:
            rlist.append(self._master)
            if self._out:
                wlist.append(self._master)
        r, w, _ = select.select(rlist, wlist, [], timeout)
        now = time.monotonic()
        if self._wake_r in r:
            try:
                os.read(self._wake_r, 4096)
            except BlockingIOError:
                pass
        while True:
            try:
                fn, fut = self._calls.get_nowait()
            except queue.Empty:
                break
            try:
                result = fn(now)
            except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
                self._apply()
                fut.set_exception(e)
            else:
                self._apply()           # the port is already gone when sim.fault("reboot", ...) returns
                fut.set_result(result)
        if self._master is not None and self._master in r:
            self._read_master(now)
        if self._master is not None and self._master in w:
            self._flush()
        if self._ctl in r:
            self._accept()
        for c in [c for c in r if c in self._clients]:
            self._serve_client(c, now)

    def _apply(self) -> None:
        for act in self.engine.take_actions():
            if isinstance(act, Output):
                if self._master is None:
                    continue
                room = MAX_OUTPUT - len(self._out)
                self._out += act.data[:max(0, room)]
                self._flush()
            elif isinstance(act, PortDown):
                self._close_pty()
            elif isinstance(act, PortUp):
                self._open_pty()

    def _flush(self) -> None:
        while self._out and self._master is not None:
            try:
                n = os.write(self._master, self._out)
            except BlockingIOError:
                return
            except OSError as e:
                if e.errno in (errno.EIO, errno.EAGAIN):
                    return
                raise
            del self._out[:n]

    def _read_master(self, now: float) -> None:
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno == errno.EIO:
                return
            raise
        if not data:
            return
        if data[0] == 0:
            self._guard(f"input {data[1:80]!r}", self.engine.receive, data[1:], now)
        elif data[0] & TIOCPKT_FLUSHREAD:
            self._guard("host open", self.engine.host_opened, now)
        self._apply()

    def _accept(self) -> None:
        try:
            c, _ = self._ctl.accept()
        except (BlockingIOError, OSError):
            return
        if len(self._clients) >= MAX_CTL_CLIENTS:
            c.close()
            return
        c.setblocking(False)
        self._clients[c] = bytearray()

    def _serve_client(self, c: socket.socket, now: float) -> None:
        buf = self._clients[c]
        try:
            chunk = c.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            c.close()
            del self._clients[c]
            return
        buf += chunk
        while b"\n" in buf:
            raw, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            self._reply(c, self._handle_request(raw.decode("utf-8", "replace"), now))
        if len(buf) > control.MAX_REQUEST:
            self._reply(c, control.error("request too long"))
            c.close()
            del self._clients[c]

    def _handle_request(self, line: str, now: float) -> str:
        try:
            name, args = control.parse_request(line)
            text = self.engine.fault(name, args, now)
        except ValueError as e:
            return control.error(str(e))
        except Exception as e:  # noqa: BLE001 - a simulator bug: answer, keep running, let tests see it
            log.exception("simulator engine failed on control request %r", line)
            self.internal_errors.append(e)
            return control.error(f"internal error: {e!r}")
        finally:
            self._apply()
        return control.ok(text)

    @staticmethod
    def _reply(c: socket.socket, line: str) -> None:
        try:
            c.setblocking(True)
            c.settimeout(2)
            c.sendall((line + "\n").encode())
            c.setblocking(False)
        except OSError:
            pass
