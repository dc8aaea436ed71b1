"""The alert loop of `fleet serve` (fleet/watch.py) over 10,000 devices: how long a round takes and what it holds
(BENCHMARKS.md, "Fleet serve: the alert loop"). `python -m tests.bench.bench_watch [--devices N] [--postgres]`.

Memory is the process's RSS (VmHWM: its peak), before the loop's first round and after the last.

The database is written the ingest's way (FleetDb.store): each device's status and state parts (with its
contract; the modem and failover parts about a real agent's size, 0.5 KB of JSON each), a day of telemetry
(4 messages an hour), then 3,000 sites of 4 providers in 100 postcodes losing their
primary within 10 minutes. Rounds: the first (the loop resumes: replay, every device read), a quiet one, the one
that reads the 3,000 losses (incidents opened), and a quiet one after.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from fleet.config import from_dict
from fleet.db import FleetDb
from fleet.messages import Kind, Message
from fleet.watch import Watch, watch_db

T0 = 1_796_280_000.0
PROVIDERS = ("Orange fibre", "SFR fibre", "Free", "Bouygues")


def rss_mib() -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(round(int(fields[k].split()[0]) / 1024, 1) for k in ("VmRSS", "VmHWM"))


def fill(db: FleetDb, devices: int, sites_csv: Path) -> None:
    lines = ["device_id,area"]
    batch: list[Message] = []
    for i in range(devices):
        dev = f"site-{i:05d}"
        lines.append(f"{dev},{69000 + i % 100}")
        parts = {"device": {"id": dev, "site": "", "contracts": [{"uplink": "primary",
                                                                     "provider": PROVIDERS[i % 4], "repair_hours": 4}]},
                 "failover": {"state": "primary", "active_uplink": "primary", "since": T0 - 86400, "mode": "auto",
                              "standby": "warm", "hold_down_s": 0, "flap_penalty": 0.0, "drill": None,
                              "links": {link: {"interface": f"{link[:3]}0", "up": True, "status": "up",
                                               "reason": "", "carrier": True, "address": "192.0.2.10/24",
                                               "rtt_ms": 12.5, "loss": 0.0, "targets": ["1.1.1.1", "9.9.9.9"]}
                                        for link in ("primary", "backup")}},
                 "cellular": {"active_slot": 1, "preferred_slot": 1, "switching": False, "operator": "SFR",
                              "rules": [], "session": {"up": True, "flowing": True},
                              "usage": {"iccid": "8933" + "0" * 15, "slot": 1, "month": "2026-12",
                                        "total_bytes": 10**8, "cap_bytes": 10**9, "rx_bytes": 9 * 10**7,
                                        "tx_bytes": 10**7, "cap_reached": False}},
                 "modem": {"connected": True, "operator_name": "SFR", "sim_slot": 1, "sim_state": "ready",
                           "iccid": "8933" + "0" * 15, "imei": "3" * 15, "registration": "home", "rat": "LTE",
                           "cell": {"id": 12345678, "tac": 4242, "band": 20, "earfcn": 6300},
                           "signal": {"rsrp_dbm": -90, "rsrq_db": -10, "sinr_db": 12, "rssi_dbm": -65},
                           "vendor": "quectel", "model": "EC25", "firmware": "EC25EFAR06A08M4G"}}
        batch.append(Message(Kind.STATUS, dev, online=True))
        batch += [Message(Kind.STATE, dev, 10 + n, T0 - 86400, "ntp", p, body={p: v})
                  for n, (p, v) in enumerate(parts.items())]
        if len(batch) >= 5000:
            db.store(batch, T0 - 86400)
            batch = []
    db.store(batch, T0 - 86400)
    for hour in range(24):                      # a day of telemetry, 4 an hour
        for q in range(4):
            ts = T0 - 86400 + hour * 3600 + q * 900
            db.store([Message(Kind.TELEMETRY, f"site-{i:05d}", 1000 + hour * 4 + q, ts, "ntp",
                              body={"why": "heartbeat", "metrics": {"rsrp_dbm": -90 - (i + q) % 30,
                                                                     "rx_bytes": 10**6 * hour, "tx_bytes": 10**5}})
                      for i in range(devices)], ts + 1)
    sites_csv.write_text("\n".join(lines) + "\n")


def losses(db: FleetDb, count: int, at: float) -> None:
    db.store([Message(Kind.EVENT, f"site-{i:05d}", 5000, at + i * 0.2, "ntp",
                      body={"kind": "link_down", "data": {"link": "primary", "started_at": at + i * 0.2}})
              for i in range(count)], at + 600)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--down", type=int, default=3000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        url, sites = str(Path(tmp) / "fleet.db"), Path(tmp) / "sites.csv"
        db = FleetDb(url).connect()
        t = time.monotonic()
        fill(db, args.devices, sites)
        print(f"filled in {time.monotonic() - t:.1f} s", file=sys.stderr)
        config = from_dict({"database": url, "correlate": {"sites": str(sites)}})
        watch = Watch(config, "bench", settle_s=0.0)
        out = {"devices": args.devices}
        hwm_before = rss_mib()[1]
        for name, now, before in (("first_round_ms", T0, None), ("quiet_round_ms", T0 + 10, None),
                                  ("round_with_losses_ms", T0 + 700, lambda: losses(db, args.down, T0 + 20)),
                                  ("quiet_after_ms", T0 + 710, None)):
            if before:
                before()
            t = time.monotonic()
            watch.round(now)
            out[name] = round(1000 * (time.monotonic() - t))
        out["incidents_opened"] = watch.counters["incidents_opened"]
        out["open_in_db"] = len(watch_db.incidents(db, open_only=True))
        out["rss_mib"], out["peak_rss_mib"] = rss_mib()
        out["peak_rss_before_the_loop_mib"] = hwm_before
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
