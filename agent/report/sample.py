"""A made-up but realistic ledger period, for the benchmark (`make bench-report`) and the report's tests: every
kind of record, seeded, so two runs build the same period."""
from __future__ import annotations

import random

from agent.ledger.records import DEGRADED, DOWN, NOT_OBSERVED, TOTAL, Drill, Incident, Period, Speed, Switch

CAUSES = ("no_answer", "carrier_lost", "address_lost", "loss")
OPERATORS = ("Orange F", "SFR", "Bouygues Telecom")


def sample_period(since: float, until: float, incidents: int, seed: int = 11) -> Period:
    rnd = random.Random(seed)
    span = until - since
    out: list[Incident] = []
    starts = sorted(since + rnd.random() * span for _ in range(incidents))
    for n, start in enumerate(starts, 1):
        roll = rnd.random()
        if roll < 0.55:
            link, kind, cause = "primary", DOWN, rnd.choice(CAUSES[:3])
        elif roll < 0.75:
            link, kind, cause = rnd.choice(("primary", "backup")), DEGRADED, "loss"
        elif roll < 0.9:
            link, kind, cause = "backup", DOWN, rnd.choice(CAUSES[:3])
        elif roll < 0.97:
            link, kind, cause = "all", TOTAL, "all_down"
        else:
            link, kind, cause = "all", NOT_OBSERVED, "power_or_crash"
        duration = rnd.expovariate(1 / 900) + 5
        source = "unsynced" if rnd.random() < 0.03 else "ntp"
        evidence = {"first_failed_probe": start, "targets": ["1.1.1.1", "8.8.8.8", "9.9.9.9"],
                    "probes": {t: {"sent": 12, "lost": 12 if kind != DEGRADED else 3} for t in ("1.1.1.1", "8.8.8.8")}}
        if kind == NOT_OBSERVED:
            evidence = {"stopped": "without a clean stop (kill, crash or power cut)", "clean_stop": False,
                        "heartbeat_every_s": 60}
        if kind == DEGRADED:
            evidence.update(loss_pct=round(rnd.uniform(20, 60), 1), latency_ms=round(rnd.uniform(80, 900), 0))
        carried = "backup" if link == "primary" and kind == DOWN else None
        if carried:
            evidence.update(operator=rnd.choice(OPERATORS), cell="20801-1A2B3C", backup_bytes=int(duration * 20000))
        end = min(start + duration, until - 1)
        out.append(Incident(n, link, kind, start, source, end, "ntp", end - start, "monotonic", cause,
                            planned=rnd.random() < 0.02, carried_by=carried, evidence=evidence))
    drills = tuple(Drill(n, since + d * 86400 * 30 + 3 * 3600, "ntp", "full", n % 5 != 0, recovery_s=3.5 + n % 3,
                         services=({"name": "Téléphonie", "check": "sip:192.0.2.10:5060", "ok": n % 5 != 0,
                                    "rtt_ms": 40.0},))
                   for n, d in enumerate(range(int(span // (86400 * 30)) or 1), 1))
    speeds = tuple(Speed(n, since + d * 86400 + 3 * 3600, "ntp", "primary", True, rnd.uniform(60e6, 110e6),
                         rnd.uniform(15e6, 25e6), 30_000_000, "https", "speed.example.net")
                   for n, d in enumerate(range(int(span // 86400)), 1))
    switches = tuple(Switch(n, since + span * n / 5, "ntp", "operator_changed", 1 + n % 2, OPERATORS[n % 3])
                     for n in range(5))
    return Period(since, until, tuple(out), drills, speeds, switches, observed_since=since)
