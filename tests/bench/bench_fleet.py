"""`make bench-fleet`: how fast `relais fleet serve` stores what the fleet publishes, with SQLite and with
PostgreSQL, and its memory with 10,000 devices (BENCHMARKS.md, "Fleet ingest"; goal >= 5,000 messages/s with
SQLite).

The load generator (tests/fleet/loadgen.py) fills the broker first, while `fleet serve` is away: its persistent
session queues everything (Mosquitto with max_queued_messages 0). Then `fleet serve` starts, as a process, and
the clock runs from its start to the last row committed: the rate is the whole path — Mosquitto delivering to
one client, paho, parsing, the database commit, the PUBACKs — not the load generator's publishing speed.
Each device publishes its birth (status + 3 retained state parts) and then --per-device events and telemetry.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fleet.db import FleetDb
from tests.fleet.conftest import QUEUE_ALL, write_fleet_toml
from tests.fleet.loadgen import Publisher, birth, stream
from tests.mqtt.broker import Broker

ROOT = Path(__file__).resolve().parents[2]
GOAL_PER_S = 5000


def rss_kib(pid: int) -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def run(database: str, devices: int, per_device: int, workdir: Path) -> dict:
    broker = Broker(workdir / "broker", extra=QUEUE_ALL).start()
    try:
        config = write_fleet_toml(workdir / "fleet.toml", database, broker)
        # a first start creates the session and its subscriptions, then goes away
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "fleet", "serve", "--config", str(config)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while "Sending SUBACK to fleet-cli" not in broker.tail(20) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.terminate()
        proc.wait(10)
        messages = [m for i in range(devices) for m in birth(i)] + list(stream(devices, per_device))
        expected = sum(1 for m in messages if m.key)
        pub = Publisher(broker.host, broker.port)
        published_s = pub.publish_all(messages, timeout=1800)
        pub.close()
        db = FleetDb(database).connect()
        start = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "agent.cli", "fleet", "serve", "--config", str(config)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while db.count("events") + db.count("telemetry") < expected:
            if time.monotonic() - start > 1800 or proc.poll() is not None:
                raise SystemExit(f"fleet serve did not store everything: {proc.stderr.read()[-2000:]!r}")
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        while db.count("device_state") < devices * 3 and time.monotonic() - start < 60:
            time.sleep(0.05)
        # and the alert loop (fleet/watch.py) has had a round over every device and row: its memory counts too
        from fleet import watch_db
        done_at = time.time()
        loop_wait = time.monotonic()
        while (watch_db.cursor(db) or 0) < done_at and time.monotonic() - loop_wait < 120:
            time.sleep(0.2)
        loop_s = time.monotonic() - loop_wait
        rss, peak = rss_kib(proc.pid)
        proc.terminate()
        proc.wait(15)
        db.close()
        return {"database": "postgresql" if database.startswith("postgresql") else "sqlite", "devices": devices,
                "messages": len(messages), "rows": expected, "publish_s": round(published_s, 1),
                "ingest_s": round(elapsed, 2), "messages_per_s": round(len(messages) / elapsed),
                "rss_mib": round(rss / 1024, 1), "peak_rss_mib": round(peak / 1024, 1),
                "alert_loop_caught_up_s": round(loop_s, 1)}
    finally:
        broker.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--per-device", type=int, default=6)
    p.add_argument("--no-postgres", action="store_true")
    args = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        tmp = Path(tmp)
        results.append(run(str(tmp / "fleet.db"), args.devices, args.per_device, tmp / "sqlite"))
        print(json.dumps(results[-1]), flush=True)
        if not args.no_postgres:
            from tests.fleet.postgres import Postgres
            pg = Postgres().start(durable=True)   # fsync on, as in production
            try:
                results.append(run(pg.url, args.devices, args.per_device, tmp / "pg"))
                print(json.dumps(results[-1]), flush=True)
            finally:
                pg.destroy()
    sqlite_rate = results[0]["messages_per_s"]
    print(f"SQLite: {sqlite_rate} messages/s (goal >= {GOAL_PER_S}): {'OK' if sqlite_rate >= GOAL_PER_S else 'MISSED'}")
    return 0 if sqlite_rate >= GOAL_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
