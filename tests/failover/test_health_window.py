"""LinkHealth.window(): the link's and each target's figures from one walk over the window must be exactly what
the straightforward computation (kept here, as health.py had it) gives, on random histories."""
import math
import random

import pytest

from agent.linkmon.health import LinkHealth, Sample, TargetStats, WindowStats, typical_loss


def straightforward_stats(samples) -> WindowStats:
    rtts = [s.rtt_ms for s in samples if s.ok and s.rtt_ms is not None]
    last: dict[str, float] = {}
    diffs = []
    for s in samples:
        if s.ok and s.rtt_ms is not None:
            if s.target in last:
                diffs.append(abs(s.rtt_ms - last[s.target]))
            last[s.target] = s.rtt_ms
    ordered = sorted(rtts)
    mid = len(ordered) // 2
    median = None if not rtts else ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return WindowStats(sent=len(samples), lost=sum(1 for s in samples if not s.ok), rtt_ms=median,
                       jitter_ms=math.fsum(diffs) / len(diffs) if diffs else None)


def straightforward_targets(samples, dead) -> dict[str, TargetStats]:
    by_target: dict[str, list] = {}
    for s in samples:
        by_target.setdefault(s.target, []).append(s)
    out = {}
    for target, group in sorted(by_target.items()):
        st = straightforward_stats(group)
        out[target] = TargetStats(st.sent, st.lost, st.rtt_ms, target not in dead)
    return out


def random_health(rng: random.Random) -> tuple[LinkHealth, float]:
    health, now = LinkHealth(), 0.0
    targets = [f"192.0.2.{i}" for i in range(1, rng.randint(1, 5) + 1)]
    for _ in range(rng.randint(0, 400)):
        now += rng.choice([0.0, 0.05, 0.2, 1.0, 7.0])
        ok = rng.random() > rng.choice([0.0, 0.3, 0.9])
        rtt = (round(rng.uniform(1, 300), rng.choice([0, 3])) if rng.random() > 0.1 else None) if ok else None
        at = now - (rng.uniform(0, 1.0) if not ok else 0.0)     # a failure comes in at its timeout, out of order
        health = health.add(Sample(at, rng.choice(targets), ok, rtt, outage=not ok and rng.random() < 0.2),
                            now, keep_s=rng.choice([10.0, 60.0]))
    return health, now


@pytest.mark.parametrize("seed", range(200))
def test_window_agrees_with_the_straightforward_computation(seed):
    rng = random.Random(seed)
    health, now = random_health(rng)
    targets = sorted({s.target for s in health.samples})
    dead = frozenset(rng.sample(targets, rng.randint(0, len(targets)))) if rng.random() < 0.3 \
        else health.dead_targets()
    since = now - rng.choice([0.0, 1.0, 10.0, 15.0, 100.0])
    window = health.since(since)

    stats, per_target = health.window(since, dead)

    assert stats == straightforward_stats([s for s in window if s.target not in dead])
    assert per_target == straightforward_targets(window, dead)
    assert health.stats(since, dead) == stats and health.target_stats(since, dead) == per_target
    rates = [t.lost / t.sent for t in per_target.values() if t.alive and t.sent >= 3]
    assert health.typical_loss(since, dead) == typical_loss(per_target) == \
        (sorted(rates)[len(rates) // 2] if len(rates) % 2 else
         (sorted(rates)[len(rates) // 2 - 1] + sorted(rates)[len(rates) // 2]) / 2 if rates else None)


def test_an_in_order_sample_and_a_late_failure_land_where_sorting_puts_them():
    h = LinkHealth()
    for at, ok in [(1.0, True), (2.0, True), (1.5, False), (2.0, False), (3.0, True)]:
        h = h.add(Sample(at, "a", ok, 10.0 if ok else None), 3.0, keep_s=60.0)
    assert [(s.at, s.ok) for s in h.samples] == [(1.0, True), (1.5, False), (2.0, True), (2.0, False), (3.0, True)]
