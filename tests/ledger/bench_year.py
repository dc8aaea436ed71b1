"""A year of ledger: how big ledger.db grows, and what one write costs (BENCHMARKS.md, "Ledger").

    python -m tests.ledger.bench_year [--days 365] [--json FILE]

The year is played through the real Ledger on a real Core in virtual time (tests/ledger/rig.py), with the events
the failover controller and the cellular manager emit, per day: on each uplink one DOWN (the primary's with its
failover and failback) and one DEGRADED, with probe results while they last; a daily speed measurement of the
primary; every week a TOTAL outage (the backup down during a primary outage) and a restart after a power cut
(NOT_OBSERVED, the open incident closed at restart); every month a full drill with three services, a SIM switch
and an operator change on the backup, a speed measurement of the backup; and the heartbeat every minute. The file
size is measured (the file and its WAL after the last checkpoint), not computed. To play a year in minutes the
generation runs with synchronous=OFF (the size does not depend on it) and the probe results during an incident
are one per target every 10 s, not every 0.6 s (the evidence holds their counts: only their digits change).

Insert cost: the same writes on the shipped settings (WAL, synchronous=FULL: each one fsync'd) on this machine's
disk: what the core thread spends on one, median and 95th percentile.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from agent.core import Event
from tests.ledger.rig import HEARTBEAT_S, LedgerRig
from tests.virtual import FakeClock

TARGETS = ("192.0.2.1", "192.0.2.2", "192.0.2.3")
MODEM = {"operator_name": "Orange F", "mcc": 208, "mnc": 1, "rat": "LTE", "cell_id": "01A2B3C", "lac_tac": "00C1",
         "sim_slot": 1, "band": "B3", "earfcn": 1850, "pci": 301}
SERVICES = [{"name": "Téléphonie", "check": "sip:pbx.example.net:5060", "ok": True, "detail": "SIP/2.0 200 OK",
             "rtt_ms": 48.2},
            {"name": "Caisse", "check": "tcp:tpe.example.net:443", "ok": True, "detail": "connected", "rtt_ms": 61.0},
            {"name": "Cloud", "check": "https://app.example.net/health", "ok": True, "detail": "200", "rtt_ms": 180.5}]
DAY = 86400.0


class Year:
    def __init__(self, directory: Path, fast: bool):
        self.directory = directory
        self.fast = fast
        self.rig = self._start(FakeClock())
        self.writes = 0

    def _start(self, clock: FakeClock) -> LedgerRig:
        rig = LedgerRig(self.directory, clock)
        if self.fast:
            rig.ledger.db.conn.execute("PRAGMA synchronous=OFF")
        rig.core.state.update(modem=dict(MODEM), cellular={"usage": {"iccid": "8933150000000000001",
                                                                     "month": "2026-11", "total_bytes": 0}})
        return rig

    # ---- time --------------------------------------------------------------------------------------------
    def until(self, t: float, probe_link: str | None = None, ok: bool = False) -> None:
        """Move to virtual time t (seconds since the start), a heartbeat each minute, probe results meanwhile."""
        rig = self.rig
        while rig.clock.now < t:
            step = min(10.0 if probe_link else HEARTBEAT_S, t - rig.clock.now)
            rig.clock.now += step
            if probe_link:
                for target in TARGETS:
                    rig.ledger.on_probe(_probe(probe_link, target, ok, rig.clock.now), rig.clock.now)
            if rig.clock.now // HEARTBEAT_S != (rig.clock.now - step) // HEARTBEAT_S:
                rig.ledger.beat()
        self.rig.clock.now = t

    def emit(self, kind: str, **data) -> None:
        self.rig.core.emit(kind, **data)
        self.rig.core.drain()

    def bytes_used(self, n: int) -> None:
        usage = self.rig.core.state["cellular"]["usage"]
        usage["total_bytes"] += n

    # ---- a day -------------------------------------------------------------------------------------------
    def day(self, d: int) -> None:
        base = 1000.0 + d * DAY
        w = self.rig.wall
        # 03:00 the primary's speed measurement
        self.until(base + 3 * 3600)
        self.emit("speed_measured", link="primary", ok=True, down_bps=9.42e8, up_bps=3.81e8, bytes=150_000_000,
                  method="https", server="speed.example.net")
        # 10:00 the primary down for 3 min: failover, on the backup, failback after the hold-down
        self.until(base + 10 * 3600)
        start = w() - 1.2
        self.emit("link_down", link="primary", reason="no_answer", started_at=start, detect_s=1.2)
        self.emit("failover", **{"from": "primary"}, to="backup", reason="no_answer", started_at=start, detect_s=1.2,
                  standby="hot", hold_down_s=10.0)
        weekly_total = d % 7 == 3
        if weekly_total:   # the backup fails too for 40 s: the business is offline
            self.until(base + 10 * 3600 + 60, "primary")
            self.emit("link_down", link="backup", reason="no_answer", started_at=w() - 1.0, detect_s=1.0)
            self.until(base + 10 * 3600 + 100, "primary")
            self.emit("link_restored", link="backup", was="down", down_s=41.0)
        self.until(base + 10 * 3600 + 180, "primary")
        self.bytes_used(4_000_000)
        self.emit("link_restored", link="primary", was="down", down_s=181.2)
        self.until(base + 10 * 3600 + 190)
        self.emit("failback", **{"from": "backup"}, to="primary", reason="recovered", outage_s=181.2,
                  on_backup_s=189.0, outage_reason="no_answer", held_s=10.0)
        # 14:00 the primary degraded for 10 min
        self.until(base + 14 * 3600)
        self.rig.core.state["failover"] = {"links": {"primary": {"loss": 0.22, "rtt_ms": 35.0},
                                                     "backup": {"loss": 0.3, "rtt_ms": 240.0}}}
        self.emit("link_degraded", link="primary", reason="loss 22%")
        self.until(base + 14 * 3600 + 600, "primary", ok=True)
        self.emit("link_restored", link="primary", was="degraded")
        # 16:00 the backup's carrier lost for a minute; 20:00 the backup degraded for 10 min
        self.until(base + 16 * 3600)
        self.emit("link_down", link="backup", reason="carrier_lost", started_at=w(), detect_s=0.0)
        self.until(base + 16 * 3600 + 60, "backup")
        self.emit("link_restored", link="backup", was="down", down_s=60.0)
        self.until(base + 20 * 3600)
        self.emit("link_degraded", link="backup", reason="rtt 240 ms")
        self.until(base + 20 * 3600 + 600, "backup", ok=True)
        self.emit("link_restored", link="backup", was="degraded")
        if d % 30 == 15:   # the month's drill, SIM and operator change, the backup's speed
            self.until(base + 21 * 3600)
            self.rig.ledger.on_event(Event("drill_result", w(), "ntp", {
                "kind": "full", "ok": True, "recovery_s": 1.9, "reason": "completed", "duration_s": 60.0,
                "services": SERVICES, "backup": {"sent": 30, "lost": 0, "loss": 0.0, "rtt_ms": 52.0}}))
            self.emit("sim_switch", from_slot=1, to_slot=2, reason="no_service", rule="no_service", took_s=14.2)
            self.emit("operator_changed", from_plmn="20801", to_plmn="20810", operator_name="SFR", mode="auto",
                      wanted=None)
            self.emit("speed_measured", link="backup", ok=True, down_bps=6.1e7, up_bps=2.2e7, bytes=40_000_000,
                      method="https", server="speed.example.net")
        if d % 7 == 5:     # a power cut during a primary outage at 22:00, back 20 min later
            self.until(base + 22 * 3600)
            self.emit("link_down", link="primary", reason="carrier_lost", started_at=w(), detect_s=0.0)
            self.until(base + 22 * 3600 + 90, "primary")
            self.rig.kill()
            clock = self.rig.clock
            clock.now += 1200
            self.rig = self._start(clock)
        self.until(base + DAY)


def _probe(link: str, target: str, ok: bool, now: float):
    from agent.linkmon.inputs import ProbeResult
    return ProbeResult(link, target, ok, now, 20.0 if ok else None, "" if ok else "timeout")


def size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("ledger.db*") if not p.name.endswith("-shm"))


def play_year(days: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="ledger-year-") as tmp:
        directory = Path(tmp)
        t0 = time.perf_counter()
        year = Year(directory, fast=True)
        for d in range(days):
            year.day(d)
        year.rig.ledger.stop()
        year.rig.kill()
        took = time.perf_counter() - t0
        t0 = time.perf_counter()
        period = year.rig.period()
        read_s = time.perf_counter() - t0
        counts: dict[str, int] = {}
        for i in period.incidents:
            counts[f"{i.kind}/{i.link}"] = counts.get(f"{i.kind}/{i.link}", 0) + 1
        return {"days": days, "file_bytes": size(directory), "seconds": round(took, 1), "read_period_s": round(read_s, 3),
                "incidents": counts,
                "drills": len(period.drills), "speeds": len(period.speeds), "switches": len(period.switches)}


def insert_cost(rounds: int = 200) -> dict:
    """The shipped settings (synchronous=FULL): the core thread's time per write, on this disk."""
    with tempfile.TemporaryDirectory(prefix="ledger-cost-", dir=Path.home() if Path.home().exists() else None) as tmp:
        rig = LedgerRig(Path(tmp), FakeClock())
        opened, closed, beats = [], [], []
        for i in range(rounds):
            t = time.perf_counter()
            rig.emit("link_down", link="backup", reason="no_answer", started_at=rig.wall() - 1.0)
            opened.append(time.perf_counter() - t)
            rig.clock.now += 30
            t = time.perf_counter()
            rig.emit("link_restored", link="backup", was="down", down_s=31.0)
            closed.append(time.perf_counter() - t)
            t = time.perf_counter()
            rig.ledger.beat()
            beats.append(time.perf_counter() - t)
        rig.kill()

    def ms(xs: list[float]) -> dict:
        xs = sorted(xs)
        return {"median_ms": round(statistics.median(xs) * 1000, 2), "p95_ms": round(xs[int(len(xs) * 0.95)] * 1000, 2)}
    return {"rounds": rounds, "open": ms(opened), "close": ms(closed), "heartbeat": ms(beats)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--json")
    args = ap.parse_args()
    result = {"year": play_year(args.days), "insert": insert_cost()}
    y = result["year"]
    print(f"ledger.db after {y['days']} days: {y['file_bytes']} bytes ({y['file_bytes'] / 1e6:.2f} MB), "
          f"played in {y['seconds']} s; read_period() of the year {y['read_period_s']} s")
    print(f"  incidents: {y['incidents']}; drills {y['drills']}, speed {y['speeds']}, switches {y['switches']}")
    for what in ("open", "close", "heartbeat"):
        c = result["insert"][what]
        print(f"  {what}: median {c['median_ms']} ms, p95 {c['p95_ms']} ms (synchronous=FULL, fsync each)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
