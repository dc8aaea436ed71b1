"""`make bench-fleet-console`: the console's fleet table page for 10,000 devices, SQLite, or PostgreSQL with
--postgres (BENCHMARKS.md, "Fleet web console"; goal < 300 ms).

The database is filled through FleetDb.store, as `fleet serve` fills it: each device's birth (status and the
modem, failover, cellular parts of tests/fleet/loadgen.py, a data usage in the cellular part), a failover event
for a third of them and a drill result for a quarter (one in five of those failed). Then the console runs
in-process on its own port, a viewer logs in, and each page is fetched --requests times over HTTP on a
keep-alive connection: the time is the whole request (session check, reading every device's parts and latest
events, filtering and sorting all of them, one page of rows in HTML). Median and 90th percentile.
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from fleet.config import from_dict
from fleet.console import start_console
from fleet.db import FleetDb
from fleet.messages import parse
from fleet.users import Role, Users
from tests.fleet.loadgen import birth, device_id, encode, envelope

GOAL_MS = 300.0
PAGES = {"table": "/", "on backup, by signal": "/?filter=on_backup&sort=signal&dir=desc",
         "drill failed or overdue": "/?filter=drill_failed_or_overdue", "last page": "/?page=50",
         "site page": "/site/site-00042"}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fill(db: FleetDb, devices: int, now: float) -> None:
    batch = []
    for i in range(devices):
        dev = device_id(i)
        batch += [parse(o.topic, o.payload) for o in birth(i, ts=now - 3600)]
        usage = {"usage": {"total_bytes": (i % 100) * 100_000_000, "cap_bytes": 10_000_000_000}}
        state = envelope(dev, 20, now - 3600, state={"cellular": {"active_slot": 1, "operator": "Orange F", **usage}})
        batch.append(parse(f"relais/v1/{dev}/state/cellular", encode(state, "json")))
        if i % 3 == 0:
            e = envelope(dev, 100, now - 86400 * (i % 30), kind="failover", data={"reason": "primary_down"})
            batch.append(parse(f"relais/v1/{dev}/event", encode(e, "cbor")))
        if i % 4 == 0:
            e = envelope(dev, 101, now - 86400 * (i % 40), kind="drill_result", data={"ok": i % 20 != 0})
            batch.append(parse(f"relais/v1/{dev}/event", encode(e, "cbor")))
        if len(batch) >= 5000:
            db.store(batch, now - 60)   # stored a minute ago: the steady state, not a fleet arriving all at once
            batch = []
    db.store(batch, now - 60)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--postgres", action="store_true", help="a real PostgreSQL (tests/fleet/postgres.py, fsync on) "
                                                           "instead of SQLite")
    args = ap.parse_args()
    pg = None
    if args.postgres:
        from tests.fleet.postgres import Postgres
        pg = Postgres().start(durable=True)
    try:
        return measure(args, pg.url if pg else None)
    finally:
        if pg is not None:
            pg.destroy()


def measure(args: argparse.Namespace, database: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        config = from_dict({"database": database or f"{tmp}/fleet.db", "console": {"listen": "127.0.0.1:0"}})
        db = FleetDb(config.database).connect()
        now = time.time()
        t = time.monotonic()
        fill(db, args.devices, now)
        fill_s = time.monotonic() - t
        Users(db).add("bench", Role.VIEWER, "bench password", now)
        db.close()
        rss_before = rss_mib()
        running = start_console(config)
        conn = http.client.HTTPConnection(*running.address, timeout=60)
        try:
            conn.request("POST", "/login", urlencode({"name": "bench", "password": "bench password"}),
                         {"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            r.read()
            cookie = r.headers["Set-Cookie"].split(";")[0]
            t = time.perf_counter()
            conn.request("GET", "/", headers={"Cookie": cookie})
            conn.getresponse().read()
            first_ms = (time.perf_counter() - t) * 1000   # the whole fleet read and parsed once
            results = {}
            for name, path in PAGES.items():
                times, size, rows = [], 0, 0
                for _ in range(args.requests + 2):
                    t = time.perf_counter()
                    conn.request("GET", path, headers={"Cookie": cookie})
                    r = conn.getresponse()
                    body = r.read()
                    times.append((time.perf_counter() - t) * 1000)
                    if r.status != 200:
                        raise SystemExit(f"{path}: HTTP {r.status}")
                    size, rows = len(body), body.count(b'<tr id="row-')
                    total = re.search(rb'id="count">(\d+) of', body)
                times = sorted(times[2:])   # the first two warm the connection pool and the page cache
                results[name] = {"median_ms": round(statistics.median(times), 1),
                                 "p90_ms": round(times[int(0.9 * (len(times) - 1))], 1), "bytes": size,
                                 "rows": rows, "matching": int(total.group(1)) if total else None}
            # a regional event: a tenth of the fleet changes state between two pages (only those are read again)
            db = FleetDb(config.database).connect()
            changes = []
            for i in range(1, args.devices, 10):   # none of them on backup before (loadgen: i % 5 == 0)
                doc = envelope(device_id(i), 50, time.time(), state={"failover": {"state": "backup",
                               "mode": "auto", "active_uplink": "backup"}})
                changes.append(parse(f"relais/v1/{device_id(i)}/state/failover", encode(doc, "cbor")))
            db.store(changes, time.time())
            db.close()
            t = time.perf_counter()
            conn.request("GET", "/?filter=on_backup", headers={"Cookie": cookie})
            body = conn.getresponse().read()
            changed_ms = (time.perf_counter() - t) * 1000
            changed_total = int(re.search(rb'id="count">(\d+) of', body).group(1))
            if changed_total != -(-args.devices // 5) + len(changes):
                raise SystemExit(f"the table missed changes: {changed_total} on backup")
            rss_after = rss_mib()
        finally:
            conn.close()
            running.stop()
    out = {"database": "postgresql" if database else "sqlite", "devices": args.devices, "requests": args.requests, "fill_s": round(fill_s, 1),
           "first_page_ms": round(first_ms, 1), "after_changes_ms": round(changed_ms, 1),
           "on_backup_after_changes": changed_total, "console_rss_mib": round(rss_after - rss_before, 1),
           "pages": results,
           "goal_ms": GOAL_MS}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{'PostgreSQL' if database else 'SQLite'}: {args.devices} devices (database filled in {fill_s:.1f} s), {args.requests} requests per page; "
              f"the first page after the start (the whole fleet read once): {first_ms:.0f} ms")
        for name, r in results.items():
            print(f"  {name:26} median {r['median_ms']:7.1f} ms  p90 {r['p90_ms']:7.1f} ms  {r['bytes']:>8} bytes"
                  f"  {r['rows']} rows" + (f" of {r['matching']}" if r["matching"] is not None else ""))
    print(f"the page after {len(changes)} devices changed (read again): {changed_ms:.0f} ms, "
          f"{changed_total} on backup")
    print(f"memory of the console's fleet in memory (RSS growth from its start to the last page): "
          f"{rss_after - rss_before:.1f} MiB")
    worst = max(r["median_ms"] for name, r in results.items() if name != "site page")
    print(f"goal: fleet table < {GOAL_MS:.0f} ms: {'met' if worst < GOAL_MS else 'NOT met'} ({worst:.1f} ms)")
    return 0 if worst < GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
