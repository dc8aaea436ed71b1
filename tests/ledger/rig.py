"""A ledger on a real Core in virtual time (tests/virtual.py's FakeClock): events are emitted as the failover
controller and the cellular manager emit them, probe results posted as the probers post them."""
from __future__ import annotations

from pathlib import Path

from agent.config import from_dict
from agent.core import Core, WallClock
from agent.ledger import attach, read_period
from agent.ledger.store import HEARTBEAT_S
from agent.linkmon.inputs import ProbeResult
from tests.virtual import FakeClock


class LedgerRig:
    def __init__(self, directory: Path, clock: FakeClock | None = None, source: str = "ntp"):
        self.directory = directory
        self.clock = clock or FakeClock()
        self.source = source
        self.core = Core(monotonic=self.clock, wall=WallClock(self.clock.wall, lambda: self.source))
        self.events: list = []
        self.core.add_sink(self.events.append)
        self.ledger = attach(self.core, from_dict({"storage": {"dir": str(directory)}}))
        self.core.drain()

    @property
    def path(self) -> Path:
        return self.directory / "ledger.db"

    def wall(self) -> float:
        return self.clock.wall()

    def advance(self, seconds: float) -> None:
        """Move virtual time, running the core's timers (the heartbeat) on the way."""
        end = self.clock.now + seconds
        while True:
            due = self.core.next_timer_at()
            if due is None or due > end:
                break
            self.clock.now = max(self.clock.now, due)
            self.core.drain()
        self.clock.now = end
        self.core.drain()

    def emit(self, event_kind: str, /, **data):
        event = self.core.emit(event_kind, **data)
        self.core.drain()
        return event

    def probes(self, link: str, targets: tuple[str, ...], ok: bool, count: int, every_s: float = 0.2,
               rtt_ms: float | None = 12.0) -> None:
        """`count` rounds of one probe per target, `every_s` apart, each result posted when it is known."""
        for _ in range(count):
            for target in targets:
                self.core.post(ProbeResult(link, target, ok, self.clock.now, rtt_ms if ok else None,
                                           "" if ok else "timeout"))
            self.advance(every_s)

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.kind == kind]

    def period(self, since: float | None = None, until: float | None = None):
        return read_period(self.path, 0.0 if since is None else since, 4e9 if until is None else until)

    def kill(self) -> None:
        """What a kill -9 leaves: what was committed, nothing more (no clean stop, no last heartbeat)."""
        self.ledger.db.close()


__all__ = ["LedgerRig", "HEARTBEAT_S"]
