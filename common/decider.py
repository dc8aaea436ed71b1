"""What the pure deciders share — `decide(state, event, now) -> (state, actions)` in agent/failover/policy.py,
agent/cellular/rules.py, ladder.py and connection.py: the inputs every one of them takes and the action that reports.

A decider reads no clock and does no IO: time comes in as `now`, and what should happen goes out as actions that
its caller carries out. Each decider module re-exports these names, so `ladder.Tick` and `rules.Tick` are one type.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Tick:
    """Time has passed: deadlines, windows and durations are judged against `now`."""


@dataclass(frozen=True)
class Hold:
    """Another part of the agent works on the same thing (the ladder on the modem, a SIM switch): while on, the
    decider starts nothing new of its own."""
    on: bool


@dataclass(frozen=True)
class Emit:
    """An event for the core to publish (core.emit(kind, **data)). data is left out of the hash, not of ==."""
    kind: str
    data: dict[str, Any] = field(default_factory=dict, hash=False, compare=True)
