"""What the UPS readings mean: a pure decider, `decide(state, observation, now) -> (state, events)`.

A reading says what the UPS sees now; an event says what happened to the site. Between them, hysteresis: a change
of status (on line <-> on battery) counts once it has lasted `confirm_s`, and it is dated from the first reading
that showed it. So a status that flaps OL/OB/OL within seconds (a UPS switching on a brown-out, a driver's
glitch) is no cut at all, and a cut that has one on-line reading in the middle is one cut, not two. Low battery
does not wait: the UPS says it has minutes left, and the agent must stop before it dies.

`now` is monotonic time (seconds), passed in; the decider reads no clock. Event times are monotonic too: the part
(monitor.py) turns them into wall-clock times.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from agent.power.nut import Reading


class Mains(enum.Enum):
    UNKNOWN = "unknown"        # no reading yet (or none since the start)
    ON_LINE = "on_line"
    ON_BATTERY = "on_battery"


@dataclass(frozen=True)
class PowerState:
    mains: Mains = Mains.UNKNOWN
    candidate: Mains | None = None         # a change seen, not yet lasted confirm_s
    candidate_since: float | None = None   # first reading that showed it
    cut_since: float | None = None         # the current cut's first on-battery reading
    battery_low_said: bool = False         # battery_low once per cut


@dataclass(frozen=True)
class PowerEvent:
    kind: str                  # "power_lost" | "power_restored" | "battery_low"
    at: float                  # monotonic: when it happened (the first reading that showed it)
    data: dict[str, Any]


def observed(r: Reading) -> Mains | None:
    """None: a status that says neither (OFF, BYPASS alone, CAL ...): it changes nothing."""
    if r.on_battery:
        return Mains.ON_BATTERY
    if r.on_line:
        return Mains.ON_LINE
    return None


def decide(state: PowerState, r: Reading, now: float, confirm_s: float,
           low_charge_pct: float = 0) -> tuple[PowerState, list[PowerEvent]]:
    seen = observed(r)
    events: list[PowerEvent] = []
    if seen is None or seen == state.mains:
        state = replace(state, candidate=None, candidate_since=None)
    elif seen != state.candidate:
        state = replace(state, candidate=seen, candidate_since=now)
    low = seen == Mains.ON_BATTERY and (r.battery_low or (low_charge_pct > 0 and r.charge_pct is not None
                                                          and r.charge_pct <= low_charge_pct))
    # On line at the start is no news: nothing to wait for. On battery at the start is a cut (from now: when it
    # began is not known), confirmed like any other.
    first_on_line = state.mains == Mains.UNKNOWN and state.candidate == Mains.ON_LINE
    if state.candidate is not None and state.candidate_since is not None and (
            now - state.candidate_since >= confirm_s or low or first_on_line):
        since = state.candidate_since
        if state.candidate == Mains.ON_BATTERY:
            events.append(PowerEvent("power_lost", since, {"at_start": state.mains == Mains.UNKNOWN,
                                                           **_figures(r)}))
            state = PowerState(Mains.ON_BATTERY, cut_since=since)
        else:
            if state.mains == Mains.ON_BATTERY and state.cut_since is not None:
                events.append(PowerEvent("power_restored", since,
                                         {"duration_s": round(max(0.0, since - state.cut_since), 3),
                                          **_figures(r)}))
            state = PowerState(Mains.ON_LINE)
    if low and state.mains == Mains.ON_BATTERY and not state.battery_low_said:
        events.append(PowerEvent("battery_low", now, _figures(r)))
        state = replace(state, battery_low_said=True)
    return state, events


def _figures(r: Reading) -> dict[str, Any]:
    out: dict[str, Any] = {"status": " ".join(r.status)}
    if r.charge_pct is not None:
        out["charge_pct"] = r.charge_pct
    if r.runtime_s is not None:
        out["runtime_s"] = r.runtime_s
    return out
