"""Table tests of the pure deciders (failover policy, SIM rules, recovery ladder, cellular connection): rows of
(now, input, expected actions), run through `step(state, input, now) -> (state, actions)`. An expected Emit
(common/decider.py) lists only the data keys it cares about."""
from __future__ import annotations

import operator
from typing import Any, Callable


def matches(actual: list, expected: list, same: Callable[[Any, Any], bool] = operator.eq) -> bool:
    """Same actions in the same order; an expected event (an action with .kind and .data) lists only the data
    keys it cares about."""
    if len(actual) != len(expected):
        return False
    for a, e in zip(actual, expected):
        if type(a) is not type(e):
            return False
        if hasattr(e, "kind") and isinstance(getattr(e, "data", None), dict):
            if a.kind != e.kind or not all(same(a.data.get(k, "<missing>"), v) for k, v in e.data.items()):
                return False
        elif a != e:
            return False
    return True


def run_table(step: Callable, state: Any, rows, same: Callable[[Any, Any], bool] = operator.eq) -> Any:
    for i, (now, event, expected) in enumerate(rows):
        state, actions = step(state, event, now)
        assert matches(actions, expected, same), \
            f"row {i} t={now} {event}:\n  got      {actions}\n  expected {expected}"
    return state
