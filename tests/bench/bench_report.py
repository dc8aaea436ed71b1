"""`make bench-report`: the time `relais report` takes for a year of ledger with 10,000 incidents, per format
(BENCHMARKS.md, "Report"; goal < 2 s).

Two measurements, median of --runs each:
1. file: a ledger.db holding a year of 10,000 primary outages, written through the agent's own ledger (failover /
   failback events), then `relais report --since ... --until ... --format F` as the command runs it (in-process
   build_report: read_period + compute + render), and the same as a fresh `relais report` process (interpreter
   start and imports included).
2. every kind: compute + render of a year's Period holding 10,000 incidents of every kind with their evidence
   (down, degraded, total, not observed), daily speed measurements, monthly drills and operator switches
   (agent/report/sample.py) — what the ledger will hold once it records every link.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from agent.report.compute import Contract, ReportSettings, compute
from agent.report.hours import zone_named
from agent.report.render import FORMATS, render
from agent.report.sample import sample_period

ROOT = Path(__file__).resolve().parents[2]
ZONE = zone_named("Europe/Paris")
YEAR = (1767222000.0, 1798758000.0)       # 2026-01-01 .. 2027-01-01, Paris
GOAL_S = 2.0


def write_year(storage: Path, incidents: int) -> None:
    from agent.config import from_dict
    from agent.core import Core, WallClock
    from agent.ledger import attach
    wall = [YEAR[0]]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict({"storage": {"dir": str(storage)}}))
    step = (YEAR[1] - YEAR[0]) / incidents
    for n in range(incidents):
        wall[0] = YEAR[0] + n * step + 60
        core.emit("failover", reason="no_answer", to="backup", started_at=wall[0])
        wall[0] += 60 + n % 600
        core.emit("failback", reason="recovered", outage_s=60.0 + n % 600)
        if n % 500 == 0:
            core.drain()
    core.drain()
    ledger.db.close()


def median_s(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="write the results there too")
    a = ap.parse_args()
    from agent.report.cli import build_report
    results: dict = {"incidents": a.incidents, "runs": a.runs, "file": {}, "process": {}, "every_kind": {}}
    with tempfile.TemporaryDirectory(prefix="relais-bench-report-") as tmp:
        storage = Path(tmp) / "var"
        t = time.perf_counter()
        write_year(storage, a.incidents)
        results["write_s"] = round(time.perf_counter() - t, 1)
        results["ledger_bytes"] = (storage / "ledger.db").stat().st_size
        config = Path(tmp) / "relais.toml"
        config.write_text(f'[storage]\ndir = "{storage}"\n[business]\ntimezone = "Europe/Paris"\n'
                          '[[contracts]]\nuplink = "primary"\navailability_pct = 99.9\nrepair_hours = 4\n')
        for fmt in FORMATS:
            args = SimpleNamespace(config=str(config), month=None, since="2026-01-01", until="2026-12-31",
                                   format=fmt, lang="fr", tz=None, claim=False, uplink=None)
            results["file"][fmt] = round(median_s(lambda: build_report(args, now=YEAR[1]), a.runs), 3)
            cmd = [sys.executable, "-m", "agent.cli", "report", "--config", str(config), "--since", "2026-01-01",
                   "--until", "2026-12-31", "--format", fmt, "-o", str(Path(tmp) / f"r.{fmt}")]
            results["process"][fmt] = round(median_s(lambda: subprocess.run(cmd, check=True, cwd=ROOT,
                                                                            capture_output=True), 3), 3)
    period = sample_period(*YEAR, a.incidents)
    settings = ReportSettings(zone=ZONE, display_zone=ZONE, hours="Mon-Sat 08:00-19:00", cost_per_hour=90.0,
                              contracts=(Contract("primary", "Orange Pro", "FTTO-1", 99.9, 4, False, 100, 20),),
                              now=YEAR[1])
    results["every_kind"]["compute"] = round(median_s(lambda: compute(period, settings), a.runs), 3)
    report = compute(period, settings)
    for fmt in FORMATS:
        results["every_kind"][fmt] = round(median_s(lambda: render(compute(period, settings), fmt, "fr"), a.runs), 3)
        results.setdefault("bytes", {})[fmt] = len(render(report, fmt, "fr").encode())
    print(f"relais report, a year with {a.incidents} incidents, median of {a.runs} runs (goal < {GOAL_S:g} s)")
    print(f"  ledger written through the agent's ledger in {results['write_s']} s: "
          f"{results['ledger_bytes'] / 1e6:.1f} MB")
    print(f"  {'format':8} {'file: read+compute+render':>26} {'relais report process':>22} "
          f"{'every kind: compute+render':>27} {'output':>10}")
    for fmt in FORMATS:
        print(f"  {fmt:8} {results['file'][fmt]:>24.3f} s {results['process'][fmt]:>20.3f} s "
              f"{results['every_kind'][fmt]:>25.3f} s {results['bytes'][fmt] / 1e6:>7.1f} MB")
    print(f"  compute alone (every kind): {results['every_kind']['compute']:.3f} s")
    worst = max(max(results["file"].values()), max(results["every_kind"][f] for f in FORMATS))
    print(f"  goal < {GOAL_S:g} s: {'met' if worst < GOAL_S else 'NOT met'} (worst {worst:.3f} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    return 0 if worst < GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
