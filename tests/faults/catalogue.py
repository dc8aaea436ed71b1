"""The fault catalogue (issue 10): each scenario is a test that injects one fault into the agent and records what
the agent did, the events it emitted, the accepted events lost (the goal is 0) and how long it took to recover.

`make test-faults` runs tests/faults and prints the table (the one in BENCHMARKS.md, "Fault catalogue");
`make test` runs it too. A scenario records its outcome only after its own assertions passed, so the table never
shows a result that the test did not check.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

OUTCOMES: list["Outcome"] = []


@dataclass
class Outcome:
    category: str                 # modem | links | broker | storage | process | time
    scenario: str
    behaviour: str                # what the agent did, in a few words
    emitted: int                  # events accepted (emitted by the core) during the scenario
    lost: int                     # accepted events not in the outbox / not delivered at the end
    recovery_s: float | None      # from the fault (or its end) to the agent back to normal; None: nothing to recover
    events: list[str] = field(default_factory=list)   # the kinds of event the fault produced, in order, deduplicated

    def report(self) -> "Outcome":
        OUTCOMES.append(self)
        rec = "-" if self.recovery_s is None else f"{self.recovery_s:.2f} s"
        print(f"\n[fault] {self.category}/{self.scenario}: {self.behaviour}; events {self.emitted}, lost {self.lost}, "
              f"recovery {rec}; evented: {', '.join(self.events) or '-'}")
        return self


def kinds(events) -> list[str]:
    """Event kinds in order of first appearance."""
    seen: list[str] = []
    for e in events:
        kind = e.kind if hasattr(e, "kind") else str(e)
        if kind not in seen:
            seen.append(kind)
    return seen


def table(outcomes: list[Outcome]) -> str:
    rows = ["| # | scenario | what the agent did | events | lost | recovery | evented |",
            "|---:|---|---|---:|---:|---:|---|"]
    order = ["modem", "links", "broker", "storage", "process", "time"]
    ranked = sorted(outcomes, key=lambda o: (order.index(o.category) if o.category in order else 99, o.scenario))
    for i, o in enumerate(ranked, 1):
        rec = "—" if o.recovery_s is None else f"{o.recovery_s:.2f} s"
        rows.append(f"| {i} | {o.category}/{o.scenario} | {o.behaviour} | {o.emitted} | {o.lost} | {rec} | "
                    f"{', '.join(o.events) or '—'} |")
    lost = sum(o.lost for o in outcomes)
    rows.append(f"\n{len(outcomes)} scenarios, {lost} accepted events lost.")
    return "\n".join(rows)


def write_table(outcomes: list[Outcome]) -> None:
    target = os.environ.get("FAULTS_TABLE")
    if target and outcomes:
        Path(target).write_text(table(outcomes) + "\n")
