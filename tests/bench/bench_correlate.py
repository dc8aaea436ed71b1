"""Provider incidents and alerts at fleet scale: `python -m tests.bench.bench_correlate` (BENCHMARKS.md, "Provider
incidents and alerts").

    correlate   10,000 sites of 4 providers in 100 postcodes; 3,000 lose their primary 0.2 s apart (a national
                outage over 10 minutes), then all recover: decide() per event, per area and nationwide
    alerts      firing() + deduplicate() over 10,000 sites, a third of them in some alert condition, each minute
"""
from __future__ import annotations

import random
import time
import tracemalloc

from fleet.alerts import Memory, Rules, SiteView, deduplicate, firing
from fleet.correlate import IncidentClosed, IncidentOpened, Link, Lost, Recovered, Settings, decide, initial

SITES = 10_000
DOWN = 3_000
T0 = 1.8e9


def bench_correlate(by_area: bool) -> None:
    rng = random.Random(1)
    providers = ["Orange fibre", "Free", "SFR fibre", "Bouygues"]
    sites = [(f"site-{i}", rng.choice(providers), str(69000 + rng.randrange(100))) for i in range(SITES)]
    down = rng.sample(sites, DOWN)
    events = [Lost(s, Link.PRIMARY, p, a, at=T0 + k * 0.2) for k, (s, p, a) in enumerate(down)]
    events += [Recovered(s, Link.PRIMARY, at=T0 + 3600 + k * 0.2) for k, (s, _, _) in enumerate(down)]
    timed = _run(events, by_area, traced=False)       # tracemalloc slows Python code several times: apart
    opened, closed, peak = _run(events, by_area, traced=True)[1:]
    print(f"correlate {'per area' if by_area else 'nationwide'}: {len(events)} events in {timed[0]:.2f} s = "
          f"{len(events) / timed[0]:,.0f} events/s; {opened} incidents opened, {closed} closed; "
          f"peak {peak / 1e6:.1f} MB traced")


def _run(events: list, by_area: bool, traced: bool) -> tuple[float, int, int, int]:
    state = initial(Settings(by_area=by_area))
    opened = closed = 0
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    for event in events:
        state, actions = decide(state, event, event.at)
        opened += sum(isinstance(a, IncidentOpened) for a in actions)
        closed += sum(isinstance(a, IncidentClosed) for a in actions)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    return elapsed, opened, closed, peak


def bench_alerts() -> None:
    rng = random.Random(2)
    now = T0
    views = []
    for i in range(SITES):
        roll = rng.random()
        views.append(SiteView(f"site-{i}", online=roll > 0.1, offline_since=now - 3600 if roll <= 0.1 else None,
                              on_backup_since=now - 7200 if 0.1 < roll <= 0.2 else None,
                              data_used_bytes=rng.randrange(10**9), data_budget_bytes=10**9,
                              signal_poor_since=now - 5 * 86400 if roll > 0.95 else None))
    memory, rounds, sent = Memory(), 10, 0
    start = time.perf_counter()
    for minute in range(rounds):
        memory, out = deduplicate(memory, firing(Rules(), views, now + 60 * minute), 3600, now + 60 * minute)
        sent += len(out)
    elapsed = (time.perf_counter() - start) / rounds
    print(f"alerts: {SITES} sites evaluated in {elapsed * 1000:.0f} ms per round; {sent} alerts sent over "
          f"{rounds} rounds (the first round's; the rest de-duplicated)")


if __name__ == "__main__":
    bench_correlate(True)
    bench_correlate(False)
    bench_alerts()
