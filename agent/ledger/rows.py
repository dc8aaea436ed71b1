"""Rows from events: the incident open in memory, and the drill / speed / switch rows built from an event's data,
which comes from other parts of the agent and is not trusted to be complete or well typed (missing or odd fields
are stored as unknown, never raise)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from agent.core import Event
from agent.ledger.evidence import Tally
from agent.mqtt.codec import to_plain


@dataclass(eq=False)
class Open:
    """An incident open in memory. Its row is found by (link, kind, start) among the open ones: its id may not be
    known yet (a write the storage writer makes later, in order)."""
    link: str
    kind: str
    start: float
    start_source: str
    cause: str
    start_mono: float | None           # core monotonic time of `start`, this run (None: opened before it)
    planned: bool = False
    carried_by: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    tally: Tally | None = None
    cellular: dict[str, Any] = field(default_factory=dict)   # cellular_now() when the backup began to matter
    from_link: bool = False            # opened by link_down (not only by a failover)
    restored: tuple[float, str, float] | None = None   # (wall, source, mono) the link came back, failback pending


def drill_row(event: Event) -> tuple[str, tuple]:
    """The drill_result event as it was (kind, recovery_s, services ... are read from it by read_period)."""
    ok = event.data.get("ok")
    return ("INSERT INTO drills (ts, time_source, ok, data) VALUES (?,?,?,?)",
            (event.ts, event.time_source, None if ok is None else int(bool(ok)),
             json.dumps(to_plain(event.data), sort_keys=True)))


def speed_row(event: Event) -> tuple[str, tuple]:
    d = event.data
    link, size = d.get("link"), d.get("bytes")
    return ("INSERT INTO speeds (ts, time_source, link, ok, down_bps, up_bps, bytes, method, server, error) "
            "VALUES (?,?,?,?,?,?,?,?,?,?)",
            (event.ts, event.time_source, str(link)[:100] if link else "unknown", int(d.get("ok") is True),
             finite(d.get("down_bps")), finite(d.get("up_bps")),
             int(size) if is_number(size) and math.isfinite(size) and size >= 0 else 0,
             str(d.get("method") or "https")[:20], str(d.get("server") or "")[:200],
             None if d.get("error") is None else str(d.get("error"))[:500]))


def switch_row(event: Event, modem: dict[str, Any]) -> tuple[str, tuple]:
    """sim_switch (to_slot, reason) or operator_changed (operator_name / to_plmn, mode; the SIM in use now)."""
    d = event.data
    if event.kind == "sim_switch":
        sim, operator, reason = d.get("to_slot", d.get("to")), None, d.get("reason")
    else:
        sim = modem.get("sim_slot")
        operator = d.get("operator_name") or d.get("to_plmn") or d.get("operator")
        reason = d.get("reason") or d.get("mode")
    return ("INSERT INTO switches (ts, time_source, kind, sim, operator, reason) VALUES (?,?,?,?,?,?)",
            (event.ts, event.time_source, event.kind, sim if is_int(sim) else None,
             None if operator is None else str(operator)[:100], None if reason is None else str(reason)[:200]))


def start_of(value: Any, ts: float) -> float:
    """An incident's start from an event: a wall-clock time not after the event's own, else the event's."""
    return float(value) if is_number(value) and math.isfinite(value) and value <= ts else ts


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def finite(x: Any) -> float | None:
    return float(x) if is_number(x) and math.isfinite(x) and x >= 0 else None
