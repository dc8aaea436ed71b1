"""A runnable agent process for the tests that kill it (-9) and for the byte benchmark.

    python -m tests.mqtt.agent_proc --config FILE [--emit-every S --tag RUN --accepted FILE]
                                      [--time-scale K --day SEED]

It builds the real Core, reporter and ledger from the config file, with the modem part of the state filled in
(no modem here). --emit-every emits a `test_event` every S seconds and appends its tag to --accepted once
core.emit() has returned, i.e. once the outbox has it on disk: a tag in that file is an accepted event.
--day plays a synthetic day (signal noise, RTT/loss, two outages, a registration change) at K times real speed.
SIGTERM stops it cleanly; SIGKILL is what the tests use.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import random
import signal
import sys
import threading
import time

from agent.config import load
from agent.core import Core, WallClock
from agent.ledger import attach as attach_ledger
from agent.mqtt import attach
from tests.mqtt.harness import MODEM_STATE

DAY_S = 86400.0


def scaled_clocks(k: float) -> tuple:
    m0, w0 = time.monotonic(), time.time()
    return (lambda: m0 + (time.monotonic() - m0) * k), (lambda: w0 + (time.time() - w0) * k)


class SyntheticDay:
    """A plausible day for a fixed router: RSRP wandering slowly with +-1.5 dB reading noise, fiber RTT ~12 ms,
    cellular ~45 ms, a few short loss bursts, a 25-minute and a 3-minute fiber outage, one cell change."""

    OUTAGES = ((10 * 3600.0, 25 * 60.0), (17 * 3600.0, 3 * 60.0))

    def __init__(self, core: Core, seed: int, noise: float = 1.0):
        self.core = core
        self.noise = noise     # x4: a radio and a cellular path noisier than any we have seen
        self.rng = random.Random(seed)
        self.t0: float | None = None
        self.drift = 0.0
        self.rx = self.tx = 0
        self.active = "primary"
        self.loss_until = -1.0
        self.cell_changed = False
        core.state["failover"] = {"state": "normal", "active_uplink": "primary", "mode": "auto",
                                  "links": {"primary": {"status": "up", "up": True},
                                            "backup": {"status": "up", "up": True}}}
        core.state["cellular"] = {"usage": {"rx_bytes": 0, "tx_bytes": 0}, "sim_slot": 1}

    def tick(self, now: float) -> None:
        if self.t0 is None:
            self.t0 = now
        t = now - self.t0
        rng, state = self.rng, self.core.state
        # Signal: an AR(1) drift (slow fading, people, weather) plus per-reading noise, read every 30 s.
        k = self.noise
        self.drift = 0.995 * self.drift + rng.gauss(0, 0.25 * k)
        sig = state["modem"]["signal"]
        sig["rsrp_dbm"] = int(round(-95 + self.drift + rng.gauss(0, 1.5 * k)))
        sig["rsrq_db"] = int(round(-11 + self.drift / 3 + rng.gauss(0, 1.0 * k)))
        sig["sinr_db"] = int(round(13 + self.drift / 2 + rng.gauss(0, 2.0 * k)))
        sig["rssi_dbm"] = int(round(-67 + self.drift + rng.gauss(0, 1.5 * k)))
        if rng.random() < 3 * 30 / DAY_S:   # about three loss bursts a day on the fiber
            self.loss_until = t + 120
        links = state["failover"]["links"]
        out = any(start <= t < start + length for start, length in self.OUTAGES)
        primary_loss = 100.0 if out else (rng.uniform(5, 15) if t < self.loss_until else 0.0)
        links["primary"].update(rtt_ms=None if out else round(12 * math.exp(rng.gauss(0, 0.15 * k)), 1),
                                loss=primary_loss / 100, status="down" if out else "up", up=not out,
                                jitter_ms=round(rng.uniform(0.5, 3), 1), probes_sent=int(t * 5))
        links["backup"].update(rtt_ms=round(45 * math.exp(rng.gauss(0, 0.3 * k)), 1),
                               loss=rng.choice((0.0, 0.0, 0.0, 0.02)), jitter_ms=round(rng.uniform(2, 15), 1),
                               probes_sent=int(t / 20))
        state["failover"]["since"] = self.core.wall.now()[0] - rng.random()   # recomputed, like the real one
        # Cellular data: the standby trickle probes, much more while it carries the site's traffic.
        self.rx += 60 if self.active == "primary" else 400_000
        self.tx += 60 if self.active == "primary" else 80_000
        state["cellular"]["usage"].update(rx_bytes=self.rx, tx_bytes=self.tx)
        if out and self.active == "primary":
            self.active = "backup"
            state["failover"].update(active_uplink="backup", state="failed_over")
            self.core.emit("failover", reason="primary_down", to="backup", outage_start=self.core.wall.now()[0])
        elif not out and self.active == "backup":
            self.active = "primary"
            state["failover"].update(active_uplink="primary", state="normal")
            self.core.emit("failback", reason="primary_up")
        if not self.cell_changed and t > 14 * 3600:
            self.cell_changed = True
            state["modem"]["cell_id"] = "1A2B3C5"
            self.core.emit("registration_changed", cell_id="1A2B3C5", previous={"cell_id": "1A2B3C4"})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    p.add_argument("--emit-every", type=float, default=0.0)
    p.add_argument("--tag", default="run")
    p.add_argument("--accepted", default="")
    p.add_argument("--time-scale", type=float, default=1.0)
    p.add_argument("--day", type=int, default=None, help="play a synthetic day with this seed, then exit")
    p.add_argument("--noise", type=float, default=1.0, help="scale the synthetic day's noise")
    args = p.parse_args(argv)

    config = load(args.config)
    k = args.time_scale
    if k != 1.0:   # the MQTT and TCP keepalives run on real time: shrink them by the same factor
        mqtt = dataclasses.replace(config.mqtt, keepalive=max(1, round(config.mqtt.keepalive / k)),
                                   nat_keepalive_s=config.mqtt.nat_keepalive_s and
                                   max(1, round(config.mqtt.nat_keepalive_s / k)))
        config = dataclasses.replace(config, mqtt=mqtt)
        mono, wall = scaled_clocks(k)
        core = Core(monotonic=mono, wall=WallClock(now=wall, source=lambda: "ntp"))
    else:
        core = Core(wall=WallClock(source=lambda: "ntp"))
    core.state["modem"] = copy.deepcopy(MODEM_STATE)
    reporter = attach(core, config)
    attach_ledger(core, config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    accepted = open(args.accepted, "a", buffering=1) if args.accepted else None
    counter = iter(range(10**9))
    if args.emit_every > 0:
        def emit(now: float) -> None:
            tag = f"{args.tag}-{next(counter)}"
            core.emit("test_event", tag=tag)
            if accepted is not None:   # only now is it accepted: the outbox row is committed
                accepted.write(tag + "\n")
        core.call_every(args.emit_every, emit)
    if args.day is not None:
        day = SyntheticDay(core, args.day, args.noise)
        core.call_every(30.0, day.tick)
        start = core.now()
        core.call_every(60.0, lambda now: stop.set() if now - start >= DAY_S else None, first_in=60.0)

    reporter.start()
    print("agent_proc: running", flush=True)
    core.run(stop, tick_s=0.2 if k == 1.0 else 0.005)
    if args.day is not None:   # the day is over: let the last messages reach the broker before leaving
        deadline = time.monotonic() + 10
        while reporter.outbox.count() and time.monotonic() < deadline:
            time.sleep(0.05)
    reporter.stop()
    print(f"agent_proc: stopped, {reporter.link.stats}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
