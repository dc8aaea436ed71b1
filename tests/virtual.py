"""Virtual time for tests: the modem simulator's IO-free engine, the agent's AT port (modem.at.loopback), its
ModemService and Core, all on one fake clock, one thread running at a time, the way zigpy-znp tests its client
against a fake device. Nothing sleeps: when everything is quiet the clock jumps to the next deadline anyone has, so
a 60 s retry costs nothing, and the same test runs the same way every time.

    clock = FakeClock()
    sched = Scheduler(clock)
    sim = InProcessSimulator("quectel-rm500q", clock)
    core = Core(monotonic=clock)
    modem = attach_modem(core, sched, sim)           # ModemService over LoopbackPort, all parts on the scheduler
    sched.run_until(lambda: core.state["modem"].get("registration") == "home", timeout=30)   # virtual seconds

The real pty transport keeps tests of its own (tests/at/); the rest use this.
"""
from __future__ import annotations

import errno
import os
import threading
from pathlib import Path
from typing import Any, Callable

from modem.simulator import PERSONALITIES
from modem.simulator.engine import Engine, Output, PortDown, PortUp

WALL_EPOCH = 1_795_000_000.0     # the fake wall clock at virtual time 0 (November 2026)
MAX_ROUNDS = 100_000             # work at one instant without end is a livelock: fail loudly, never hang


class FakeClock:
    """Monotonic seconds that move only when the scheduler moves them."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.wall_step = 0.0          # a step of the system clock (settimeofday, an RTC-less boot): wall only

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        """The wall clock (time.time's scale) that goes with it."""
        return WALL_EPOCH + self.now + self.wall_step


class Scheduler:
    """Runs parts (service() -> did work, next_deadline() -> when it next has work) until a condition holds,
    moving the clock to the nearest deadline whenever nothing is left to do at the current instant.

    A part that blocks in the agent (the modem worker, waiting minutes for an AT answer) runs on a Worker: a thread
    that only ever runs while the scheduler waits for it, so one thread runs at a time and every run is the same.
    wait(done, timeout) is the hook such code blocks in (modem.at.loopback's `wait`)."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self._parts: list[tuple[Callable[[], bool], Callable[[], float | None]]] = []
        self._workers: dict[int, Worker] = {}

    def add(self, service: Callable[[], bool], next_deadline: Callable[[], float | None]) -> None:
        self._parts.append((service, next_deadline))

    def add_worker(self, name: str, has_work: Callable[[], bool], work: Callable[[], Any],
                   next_deadline: Callable[[], float | None]) -> "Worker":
        worker = Worker(self, name, has_work, work, next_deadline)
        self._workers[worker.ident] = worker
        self.add(worker.service, worker.next_deadline)
        return worker

    def wait(self, done: Callable[[], Any], timeout: float) -> Any:
        """Block until done() or `timeout` virtual seconds: a worker hands control back to the scheduler, the
        test's own thread runs the world itself."""
        worker = self._workers.get(threading.get_ident())
        if worker is None:
            return self.run_until(done, timeout)
        return worker.block(done, self.clock.now + timeout)

    def settle(self) -> None:
        """Do everything there is to do without moving the clock."""
        for _ in range(MAX_ROUNDS):
            did = False
            for service, _ in self._parts:
                did = bool(service()) or did
            if not did:
                return
        raise RuntimeError(f"still busy after {MAX_ROUNDS} rounds at t={self.clock.now:.3f}: a livelock")

    def run_until(self, done: Callable[[], Any], timeout: float) -> Any:
        """done()'s first true value within `timeout` virtual seconds, else its last (false) value."""
        end = self.clock.now + timeout
        while True:
            self.settle()
            value = done()
            if value or self.clock.now >= end:
                return value
            now = self.clock.now
            deadlines = [d for _, nd in self._parts if (d := nd()) is not None and d > now]
            self.clock.now = min([end, *deadlines])

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, everything running as it would."""
        self.run_until(lambda: False, seconds)

    def stop(self) -> None:
        for worker in list(self._workers.values()):
            worker.stop()
        self._workers.clear()


class Worker:
    """A thread of the agent (e.g. ModemService's worker) run in lockstep with the scheduler: it runs work() when
    has_work(), and whenever it blocks (Scheduler.wait) the scheduler goes on until its condition or deadline."""

    def __init__(self, scheduler: Scheduler, name: str, has_work: Callable[[], bool], work: Callable[[], Any],
                 next_deadline: Callable[[], float | None]):
        self._scheduler = scheduler
        self._has_work, self._work, self._next_deadline = has_work, work, next_deadline
        self._go = threading.Semaphore(0)        # the worker's turn
        self._back = threading.Semaphore(0)      # the scheduler's turn
        self._blocked: tuple[Callable[[], Any], float] | None = None
        self._running = False
        self._stopping = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"virtual-{name}", daemon=True)
        self._thread.start()
        self.ident = self._thread.ident

    # ---- scheduler side ----------------------------------------------------------------------------------
    def service(self) -> bool:
        if self._blocked is not None:
            done, deadline = self._blocked
            if not done() and self._scheduler.clock.now < deadline:
                return False
        elif self._running or not self._has_work():
            return False
        self._turn()
        return True

    def next_deadline(self) -> float | None:
        if self._blocked is not None:
            return self._blocked[1]
        return None if self._running else self._next_deadline()

    def _turn(self) -> None:
        self._go.release()
        self._back.acquire()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def stop(self) -> None:
        self._stopping = True
        if self._thread.is_alive():
            self._go.release()
            self._thread.join(5)

    # ---- worker side -------------------------------------------------------------------------------------
    def block(self, done: Callable[[], Any], deadline: float) -> Any:
        self._blocked = (done, deadline)
        self._back.release()
        self._go.acquire()
        self._blocked = None
        if self._stopping:
            raise SystemExit       # unwinds the job; only when the test ends with a job still waiting
        return done()

    def _run(self) -> None:
        self._go.acquire()
        while not self._stopping:
            self._running = True
            try:
                self._work()
            except SystemExit:
                pass
            except BaseException as e:   # handed to the scheduler's thread, which fails the test
                self._error = e
            self._running = False
            if self._stopping:
                return
            self._back.release()
            self._go.acquire()


class InProcessSimulator:
    """What modem.simulator.Simulator does over a pty, done in-process on the fake clock: the engine's output goes
    to the host end (wire()), its PortDown/PortUp break and restore that end as a USB re-enumeration would.

    `sysfs`: a directory where the port's tty appears (class/tty/<name>/device, a built-in UART, not USB) while
    the port is there, as the kernel shows it, so that the recovery ladder's USB step sees what it would."""

    def __init__(self, vendor: str, clock: FakeClock, *, speed: float = 0.0, seed: int = 0,
                 name: str = "/dev/ttyVIRT0", sysfs: Path | None = None, network_offset_s: float = 0.0):
        if vendor not in PERSONALITIES:
            raise ValueError(f"unknown modem personality {vendor!r}; known: {', '.join(PERSONALITIES)}")
        self.clock = clock
        self.link = name
        self.network_offset_s = network_offset_s
        self.engine = Engine(PERSONALITIES[vendor], speed=speed, seed=seed,
                             wallclock=lambda: WALL_EPOCH + clock() + self.network_offset_s)  # the network: no system clock step
        self.sysfs = sysfs
        self._to_host = bytearray()
        self._present = True
        self._host_open = False
        self._generation = 0          # bumped when the port goes: a host end opened before is dead
        self.engine.start(clock())
        self._show_tty(True)

    @property
    def model(self):
        return self.engine.model

    def fault(self, name: str, *args: object) -> str:
        """As Simulator.fault (`relais sim-ctl`); ValueError when refused."""
        try:
            return self.engine.fault(str(name), [str(a) for a in args], self.clock())
        finally:
            self._apply()

    def power_cycle(self) -> str:
        try:
            return self.engine.power_cycle(self.clock())
        finally:
            self._apply()

    def call(self, fn: Callable[[Engine], Any]) -> Any:
        return fn(self.engine)

    def run_alone(self, done: Callable[[], Any], timeout: float) -> Any:
        """Run the modem with no agent attached (before it starts) until done() or `timeout` virtual seconds."""
        alone = Scheduler(self.clock)
        alone.add(self.service, self.next_deadline)
        return alone.run_until(done, timeout)

    def wire(self) -> "SimulatorWire":
        return SimulatorWire(self)

    # ---- for the scheduler -----------------------------------------------------------------------------------
    def service(self) -> bool:
        self.engine.advance(self.clock())
        return self._apply()

    def next_deadline(self) -> float | None:
        return self.engine.next_deadline()

    def _apply(self) -> bool:
        acts = self.engine.take_actions()
        for act in acts:
            if isinstance(act, Output):
                if self._present and self._host_open:
                    self._to_host += act.data
            elif isinstance(act, PortDown):
                self._present = self._host_open = False
                self._generation += 1
                self._to_host.clear()
                self._show_tty(False)
            elif isinstance(act, PortUp):
                self._present = True
                self._show_tty(True)
        return bool(acts)

    def _show_tty(self, present: bool) -> None:
        if self.sysfs is None:
            return
        tty = self.sysfs / "class" / "tty" / os.path.basename(self.link)
        uart = self.sysfs / "devices" / "platform" / "serial8250" / "tty" / os.path.basename(self.link)
        if present:
            uart.mkdir(parents=True, exist_ok=True)
            tty.mkdir(parents=True, exist_ok=True)
            if not (tty / "device").is_symlink():
                (tty / "device").symlink_to(uart)
        elif (tty / "device").is_symlink():
            (tty / "device").unlink()


class SimulatorWire:
    """The host end of the in-process simulator (modem.at.loopback.Wire)."""

    def __init__(self, sim: InProcessSimulator):
        self.sim = sim
        self.name = sim.link
        self._generation: int | None = None

    def _check(self) -> None:
        if self._generation is None or self._generation != self.sim._generation:
            raise OSError(errno.EIO, "device disconnected")

    def open(self) -> None:
        sim = self.sim
        if not sim._present:
            raise OSError(errno.ENOENT, f"no such device: {self.name}")
        self._generation = sim._generation
        sim._host_open = True
        sim._to_host.clear()              # what came before the host opened belongs to nobody
        sim.engine.host_opened(sim.clock())
        sim._apply()

    def write(self, data: bytes) -> None:
        self._check()
        self.sim.engine.receive(data, self.sim.clock())
        self.sim._apply()

    def read(self) -> bytes:
        self._check()
        data = bytes(self.sim._to_host)
        self.sim._to_host.clear()
        return data

    def close(self) -> None:
        if self._generation == self.sim._generation:
            self.sim._host_open = False
        self._generation = None


def core_service(core, clock: FakeClock) -> bool:
    """core.step(timeout=0), without calling it when it would find nothing: the scheduler asks every part at every
    round, most rounds find the core idle, and step() says so by raising and catching queue.Empty (a soak hour is
    a third of a million rounds)."""
    if core._inbox.empty():
        due = core.next_timer_at()
        if due is None or due > clock.now:
            return False
    return core.step(timeout=0)


def attach_modem(core, scheduler: Scheduler, sim: InProcessSimulator, *, poll_s: float = 2.0, **options):
    """The agent's real ModemService for `core` (on the scheduler's clock), over modem.at.loopback's port to the
    in-process simulator; the core, the port, the simulator and the modem worker all run on the scheduler.
    Returns the ModemService (its port started; ModemService.start() would start a real worker thread)."""
    from agent.modem_service import ModemService
    from modem.at.loopback import LoopbackPort
    clock = scheduler.clock
    port = LoopbackPort(sim.wire(), clock=clock, wait=scheduler.wait)
    modem = ModemService(core, sim.link, poll_s=poll_s, at_port=port, clock=clock, **options)
    scheduler.add(sim.service, sim.next_deadline)
    scheduler.add(port.service, port.next_deadline)
    scheduler.add(lambda: core_service(core, clock), core.next_timer_at)
    scheduler.add_worker("modem-worker", modem.has_work, lambda: modem.work_once(0), lambda: modem.next_poll_at)
    port.start()
    return modem
