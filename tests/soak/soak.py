"""Soak: a day (or N hours) of a site's life replayed at speed (issue 10, "Soak").

The whole agent runs in virtual time (tests/faults/virtual_agent.py: the simulated modem and uplinks, the real core,
failover, cellular, ledger and reporter) while its MQTT link talks for real to a Mosquitto that goes away and comes
back. Every virtual hour brings its trouble: the fiber blackholed for a few minutes, a modem reboot, a SIM denied,
the broker down. At the end the broker stays up until the outbox is empty and the fleet side counts what it got.

    python -m tests.soak.soak [--hours 24]          (make soak)

Measured: RSS growth (VmRSS after a garbage collection, from the end of the first hour to the end, scaled to a
day), threads and file descriptors (same instants), events accepted vs delivered (deduplicated by seq).
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.faults.virtual_agent import WholeAgent
from tests.mqtt.broker import Broker, require_mosquitto
from tests.mqtt.fleet import Fleet

DEVICE = "soak-1"


def rss_kib() -> int:
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class SoakResult:
    hours: float
    wall_s: float
    rss_start_kib: int
    rss_end_kib: int
    threads_start: int
    threads_end: int
    fds_start: int
    fds_end: int
    accepted: int
    delivered: int
    duplicates: int
    failovers: int
    broker_outages: int

    @property
    def growth_per_day_mib(self) -> float:
        span_h = max(self.hours - 1, 1e-9)                    # measured from the end of hour 1
        return (self.rss_end_kib - self.rss_start_kib) / 1024 * 24 / span_h

    @property
    def lost(self) -> int:
        return self.accepted - self.delivered

    def lines(self) -> list[str]:
        return [f"replayed {self.hours:g} h in {self.wall_s:.0f} s of wall time",
                f"RSS {self.rss_start_kib / 1024:.1f} -> {self.rss_end_kib / 1024:.1f} MiB: "
                f"{self.growth_per_day_mib:+.2f} MiB/day",
                f"threads {self.threads_start} -> {self.threads_end}, file descriptors {self.fds_start} -> "
                f"{self.fds_end}",
                f"events accepted {self.accepted}, delivered {self.delivered} (dedup by seq), lost {self.lost}, "
                f"sent twice {self.duplicates}",
                f"failovers {self.failovers}, broker outages {self.broker_outages}"]


def soak(hours: float, workdir: Path, seed: int = 1) -> SoakResult:
    require_mosquitto()
    broker = Broker(workdir / "broker").start()
    fleet = Fleet(broker, client_id="soak-fleet", subscribe=f"relais/v1/{DEVICE}/event", persistent=True).start()
    extra = {"device": {"id": DEVICE},
             "probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}, "failover": {},
             "mqtt": {"host": broker.host, "port": broker.port, "payload": "cbor", "reconnect_max_s": 5.0}}
    a = WholeAgent(workdir / "agent", extra=extra)
    start = time.monotonic()
    outages = 0
    try:
        assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 300)
        a.reporter.start()
        rss0 = threads0 = fds0 = 0
        for hour in range(int(hours)):
            for minute in range(60):
                trouble(a, broker, hour, minute)
                if hour % 6 == 3 and minute == 20:
                    outages += 1
                a.advance(60)
                a.status_times.clear()          # the harness's own lists must not count as the agent's growth
            if hour == 0:
                rss0, threads0, fds0 = rss_kib(), threading.active_count(), fds()
        broker.start() if not broker_running(broker) else None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and a.reporter.outbox.count() > 0:
            a.advance(1)
            time.sleep(0.05)                     # real time for the real link thread to publish
        time.sleep(1.0)
        rss1, threads1, fds1 = rss_kib(), threading.active_count(), fds()
        seqs = [e["seq"] for e in fleet.events(DEVICE)]
        return SoakResult(hours, time.monotonic() - start, rss0, rss1, threads0, threads1, fds0, fds1,
                          accepted=len(a.events), delivered=len(set(seqs)), duplicates=len(seqs) - len(set(seqs)),
                          failovers=sum(e.kind == "failover" for e in a.events), broker_outages=outages)
    finally:
        a.close()
        fleet.close()
        broker.stop()


def broker_running(broker: Broker) -> bool:
    proc = getattr(broker, "proc", None)
    return proc is not None and proc.poll() is None


def trouble(a: WholeAgent, broker: Broker, hour: int, minute: int) -> None:
    """The day's script: what goes wrong at hour:minute (virtual)."""
    if minute == 10:
        a.uplinks.set("primary", reachable=False)          # the fiber blackholed for 3 minutes, every hour
    elif minute == 13:
        a.uplinks.set("primary", reachable=True)
    if hour % 4 == 1 and minute == 30:
        a.sim.fault("reboot", 5)                            # a modem reboot every 4 hours
    if hour % 8 == 2 and minute == 40:
        a.sim.fault("deny", a.state("modem").get("sim_slot") or 1)   # the operator refuses the SIM
    if hour % 8 == 2 and minute == 50:
        a.sim.fault("allow", 1)
        a.sim.fault("allow", 2)
    if hour % 6 == 3 and minute == 20:
        broker.stop()                                      # the broker down for 20 virtual minutes
    if hour % 6 == 3 and minute == 40:
        broker.start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.soak.soak")
    ap.add_argument("--hours", type=float, default=24.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="relais-soak-") as tmp:
        result = soak(args.hours, Path(tmp))
    for line in result.lines():
        print(line)
    ok = result.lost == 0 and result.threads_end <= result.threads_start and result.fds_end <= result.fds_start \
        and result.growth_per_day_mib <= 1.0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
