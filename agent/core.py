"""The agent's core: one thread owns all state; IO threads only post() into its queue.

Why one thread: the failover policy, SIM rules and reporting all read and change the same state (which link is
active, which SIM, what the modem said last). With one owner there are no locks to forget and every decision is
replayable from the sequence of events. IO threads (serial reader, paho loop, probers, netlink) never touch state:
they post events, and the core calls the handlers subscribed to that event's type with the current time.

Vocabulary:
- an *input* is anything posted (ProbeResult, CarrierChanged, CommandReceived, ...): any object;
- a *domain event* is what the agent reports (failover, sim_switch, ...): `core.emit(kind, **data)` timestamps it
  and hands it to every sink (MQTT outbox, outage ledger, console, SMS alerts);
- a *command* is a named request (from MQTT, SMS or the CLI) handled on the core thread by the function
  registered for its name, which returns a result dict or raises CommandError.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

log = logging.getLogger(__name__)


class CommandError(Exception):
    """A command was understood but refused or failed; the message goes back to the sender."""


@dataclass(frozen=True)
class Event:
    """A domain event as reported: what happened, when (wall clock) and how trustworthy that time is."""
    kind: str
    ts: float
    time_source: str  # "ntp" | "modem" | "unsynced"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandReceived:
    """A command from outside, to be run on the core thread. `reply` is called (on the core thread) with
    {"ok": True, "result": ...} or {"ok": False, "error": "..."}; it must not block."""
    name: str
    args: dict[str, Any]
    reply: Callable[[dict[str, Any]], None]
    origin: str = "local"


class Deferred:
    """What a command handler returns when its answer comes later (it waits on the modem, say).

    The handler hands the work to an IO thread and returns a Deferred; that thread calls resolve(result) or
    reject(message) when done. The reply is then sent from the core thread, like any other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._core: "Core | None" = None
        self._reply: Callable[[dict[str, Any]], None] | None = None
        self._answer: dict[str, Any] | None = None

    def resolve(self, result: Any) -> None:
        self._finish({"ok": True, "result": result})

    def reject(self, error: str) -> None:
        self._finish({"ok": False, "error": error})

    def _bind(self, core: "Core", reply: Callable[[dict[str, Any]], None]) -> None:
        with self._lock:   # the IO thread may have finished before the core got here
            self._core, self._reply, answer = core, reply, self._answer
        if answer is not None:
            core.post(_DeferredReply(reply, answer))

    def _finish(self, answer: dict[str, Any]) -> None:
        with self._lock:
            if self._answer is not None:
                return                      # answered once; a second answer is a bug upstream, not a reply
            self._answer = answer
            core, reply = self._core, self._reply
        if core is not None:
            core.post(_DeferredReply(reply, answer))


@dataclass(frozen=True)
class _DeferredReply:
    reply: Callable[[dict[str, Any]], None]
    answer: dict[str, Any]


class WallClock:
    """Wall-clock time and where it comes from. Issue-specific sources (NTP status, modem NITZ) replace `source`."""

    def __init__(self, now: Callable[[], float] = time.time, source: Callable[[], str] = lambda: "unsynced"):
        self._now = now
        self._source = source

    def now(self) -> tuple[float, str]:
        return self._now(), self._source()


class Core:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic, wall: WallClock | None = None):
        self._monotonic = monotonic
        self.wall = wall or WallClock()
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._handlers: dict[type, list[Callable[[Any, float], None]]] = {}
        self._commands: dict[str, Callable[[dict[str, Any]], Any]] = {}
        self._sinks: list[Callable[[Event], None]] = []
        self._timers: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self.state: dict[str, Any] = {}   # the snapshot; each subsystem owns its top-level key

    # ---- wiring (before run) -----------------------------------------------------------------------------
    def subscribe(self, input_type: type, handler: Callable[[Any, float], None]) -> None:
        self._handlers.setdefault(input_type, []).append(handler)

    def register_command(self, name: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        if name in self._commands:
            raise ValueError(f"command {name!r} registered twice")
        self._commands[name] = handler

    def commands(self) -> list[str]:
        return sorted(self._commands)

    def add_sink(self, sink: Callable[[Event], None]) -> None:
        self._sinks.append(sink)

    # ---- from any thread ---------------------------------------------------------------------------------
    def post(self, item: Any) -> None:
        self._inbox.put(item)

    # ---- on the core thread ------------------------------------------------------------------------------
    def now(self) -> float:
        return self._monotonic()

    def call_later(self, delay_s: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self._timers, (self._monotonic() + delay_s, next(self._seq), fn))

    def call_every(self, period_s: float, fn: Callable[[float], None], first_in: float = 0.0) -> None:
        def tick(now: float) -> None:
            try:
                fn(now)
            finally:
                self.call_later(period_s, tick)
        self.call_later(first_in, tick)

    def next_timer_at(self) -> float | None:
        """When the earliest timer is due, None without timers (for tests driving step() on a fake clock)."""
        return self._timers[0][0] if self._timers else None

    def emit(self, kind: str, /, **data: Any) -> Event:
        # positional-only: an event's data may itself have a "kind" (drill_result: passive or full)
        ts, source = self.wall.now()
        event = Event(kind=kind, ts=ts, time_source=source, data=data)
        log.info("event %s %s", kind, data)
        for sink in self._sinks:
            try:
                sink(event)
            except Exception:  # one broken sink must not stop the others, nor the core
                log.exception("event sink %r failed on %s", sink, kind)
        return event

    def run_command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self._commands.get(name)
        if handler is None:
            return {"ok": False, "error": f"unknown command {name!r} (known: {', '.join(self.commands())})"}
        try:
            return {"ok": True, "result": handler(args)}
        except CommandError as e:
            return {"ok": False, "error": str(e)}
        except Exception as e:  # a bug in a handler is reported, not fatal
            log.exception("command %s failed", name)
            return {"ok": False, "error": f"internal error: {type(e).__name__}"}

    def step(self, timeout: float | None = 0.0) -> bool:
        """Run due timers, then handle at most one input (waiting up to `timeout`). Returns True if it did work.
        Tests drive the core with step(); run() loops on it."""
        did = self._run_due_timers()
        if self._timers:
            wait = max(0.0, self._timers[0][0] - self._monotonic())
            timeout = wait if timeout is None else min(timeout, wait)
        try:
            item = self._inbox.get(timeout=timeout) if timeout != 0 else self._inbox.get_nowait()
        except queue.Empty:
            return did
        self._dispatch(item)
        return True

    def run(self, stop: threading.Event, tick_s: float = 0.2) -> None:
        self._thread = threading.current_thread()
        while not stop.is_set():
            self.step(timeout=tick_s)

    def drain(self) -> None:
        """Handle everything already posted and every timer already due (tests, shutdown)."""
        while self.step(timeout=0):
            pass

    @staticmethod
    def _reply(reply: Callable[[dict[str, Any]], None], answer: dict[str, Any], name: str) -> None:
        try:
            reply(answer)
        except Exception:
            log.exception("reply to command %s failed", name)

    def _run_due_timers(self) -> bool:
        did = False
        while self._timers and self._timers[0][0] <= self._monotonic():
            _, _, fn = heapq.heappop(self._timers)
            did = True
            try:
                fn(self._monotonic())
            except Exception:
                log.exception("timer %r failed", fn)
        return did

    def _dispatch(self, item: Any) -> None:
        if isinstance(item, CommandReceived):
            result = self.run_command(item.name, item.args)
            if result.get("ok") and isinstance(result.get("result"), Deferred):
                result["result"]._bind(self, item.reply)
                return
            self._reply(item.reply, result, item.name)
            return
        if isinstance(item, _DeferredReply):
            self._reply(item.reply, item.answer, "deferred")
            return
        now = self._monotonic()
        handlers = self._handlers.get(type(item), ())
        if not handlers:
            log.debug("no handler for %r", item)
        for handler in handlers:
            try:
                handler(item, now)
            except Exception:  # a handler bug is logged; the agent keeps running
                log.exception("handler %r failed on %r", handler, item)
