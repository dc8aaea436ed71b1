"""make bench-sim-switch: how long from "the network rejects the SIM in use" until the agent sees the modem
registered on the other SIM, with a modem that takes a real modem's time.

Method: the simulator runs in its own process (`relais sim --vendor quectel-rm500q --speed 1`: its delays are
those of Timing in modem/simulator/personalities.py — 1.0 s to leave the slot, 1.5 s to read the other SIM, 2.0 s to
register, 4.5 s in all). The agent side runs in this process as `relais run` wires it: a Core on its own thread,
the ModemService with its default 30 s poll (registration URCs trigger early polls), the cellular manager.
The registration_denied rule waits 0 s here so that the mechanics are measured, not the configured wait
(default 30 s: add it). Each run denies the slot in use (`deny`, through the control socket) and allows the
other; the clock starts when the simulator has applied the fault and stops when the core handles the first modem
status showing the other slot registered. Runs alternate 1 -> 2 and 2 -> 1, with a pause longer than the
dwell and the memory of the bad slot between them. We report the median over the runs, the median of the
sim_switch event's took_s (switch command -> registered), and the ratio to the simulated modem's own 4.5 s.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from agent.cellular import attach
from agent.config import from_dict
from agent.core import Core
from agent.modem_service import ModemService, ModemStatus
from modem.simulator import control
from modem.simulator.personalities import Timing
from tests.cellular.rig import wait_for

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
SPEED = float(os.environ.get("BENCH_SIM_SPEED", "1"))
PAUSE_S = 4.0          # > 2 x min_dwell_s: the slot left last time is neither dwelling nor remembered bad
MODEM_S = (Timing.slot_switch + Timing.sim_read + Timing.register) * SPEED


def main() -> int:
    tmp = tempfile.mkdtemp(prefix="rlc-bench-")
    link = os.path.join(tmp, "modem")
    sim = subprocess.Popen([sys.executable, "-m", "agent.cli", "sim", "--vendor", "quectel-rm500q", "--link", link,
                            "--speed", str(SPEED)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    modem = None
    try:
        wait_for(lambda: os.path.exists(link + ".ctl"), 15, "the simulator")
        config = from_dict({"cellular": {"min_dwell_s": 1.0, "rules": {"registration_denied": {"duration_s": 0}}}})
        core = Core()
        seen: list[tuple[float, dict]] = []
        switches: list[dict] = []
        lock = threading.Lock()

        def on_status(item: ModemStatus, now: float) -> None:
            with lock:
                seen.append((now, item.status))
        modem = ModemService(core, link)                       # the default 30 s poll, as in relais run
        attach(core, config, modem, None)
        core.subscribe(ModemStatus, on_status)                 # after the manager: sees what it saw
        core.add_sink(lambda e: e.kind == "sim_switch" and switches.append(e.data))
        threading.Thread(target=core.run, args=(stop,), daemon=True).start()
        modem.start()

        def registered_on(slot: int, after: float = 0.0):
            with lock:
                return next((t for t, s in seen if t >= after and s.get("sim_slot") == slot
                             and s.get("registration") in ("home", "roaming")), None)
        wait_for(lambda: registered_on(1), 30, "registered on slot 1")
        totals, took = [], []
        active = 1
        for run in range(RUNS):
            other = 3 - active
            control.request(link, "allow", [str(other)])
            time.sleep(PAUSE_S)
            t0 = time.monotonic()
            reply = control.request(link, "deny", [str(active)])
            assert reply.startswith("ok:"), reply
            t1 = wait_for(lambda: registered_on(other, t0), 60, f"registered on slot {other}")
            wait_for(lambda: len(switches) > run, 10, "the sim_switch event")
            totals.append(t1 - t0)
            took.append(switches[run]["took_s"])
            print(f"run {run + 1}: slot {active} -> {other}: {t1 - t0:.3f} s (took_s {switches[run]['took_s']:.3f})",
                  flush=True)
            active = other
    finally:
        stop.set()
        if modem is not None:
            modem.stop()
        sim.terminate()
        sim.wait(10)
    total_median, took_median = statistics.median(totals), statistics.median(took)
    result = {"runs": RUNS, "sim_speed": SPEED, "modem_s": MODEM_S, "deny_to_registered_median_s": round(total_median, 3),
              "deny_to_registered_min_s": round(min(totals), 3), "deny_to_registered_max_s": round(max(totals), 3),
              "switch_took_median_s": round(took_median, 3), "ratio_to_modem": round(total_median / MODEM_S, 3)}
    print(f"deny -> registered on the other SIM: median {total_median:.3f} s over {RUNS} runs "
          f"(min {min(totals):.3f}, max {max(totals):.3f}); switch command -> registered (took_s) median "
          f"{took_median:.3f} s; the simulated modem itself takes {MODEM_S:.1f} s: ratio {total_median / MODEM_S:.3f}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
