"""`relais sim` and `relais sim-ctl` (the argparse lives in agent/cli.py)."""
from __future__ import annotations

import argparse
import sys
import threading

from common.stop_signal import stop_on_signals
from modem.simulator import control
from modem.simulator.faults import FAULTS
from modem.simulator.personalities import PERSONALITIES

FAULT_HELP = ("hang SECONDS|forever, garbage [BYTES], urc-storm [N], reboot SECONDS, sim-remove SLOT, "
              "sim-insert SLOT, deny SLOT, allow SLOT, signal RSRP_DBM, sms-in NUMBER TEXT..., pin SLOT PIN|none, "
              "power-cycle, clear, status")


def _list() -> None:
    width = max(len(n) for n in PERSONALITIES)
    for name, p in PERSONALITIES.items():
        print(f"{name:<{width}}  {p.slots} slot{'s' if p.slots > 1 else ' '}  {p.description}")


def run_sim(args: argparse.Namespace) -> int:
    from modem.simulator.simulator import Simulator

    if getattr(args, "list", False):
        _list()
        return 0
    if args.vendor not in PERSONALITIES:
        print(f"relais sim: unknown vendor {args.vendor!r}; known: {', '.join(PERSONALITIES)} "
              f"(see relais sim --list)", file=sys.stderr)
        return 2
    if args.speed < 0:
        print("relais sim: --speed must be >= 0", file=sys.stderr)
        return 2
    sim = Simulator(vendor=args.vendor, link=args.link, speed=args.speed)
    try:
        sim.start()
    except (OSError, RuntimeError, ValueError) as e:
        print(f"relais sim: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    restore = stop_on_signals(stop)
    try:
        print(f"relais sim: {args.vendor} on {sim.pty_name}, linked at {sim.link} "
              f"(faults: relais sim-ctl {sim.link} FAULT)", flush=True)
        while not stop.wait(0.5):
            if not sim.alive:
                print(f"relais sim: simulator thread died: {sim.error!r}", file=sys.stderr)
                return 1
    finally:
        sim.stop()
        restore()
    return 0


def run_sim_ctl(args: argparse.Namespace) -> int:
    fault = args.fault
    if fault.lower() not in FAULTS:
        print(f"relais sim-ctl: unknown fault {fault!r}; faults: {FAULT_HELP}", file=sys.stderr)
        return 1
    try:
        reply = control.request(args.link, fault, list(args.args))
    except control.NoSimulator as e:
        print(f"relais sim-ctl: {e}", file=sys.stderr)
        return 2
    except (TimeoutError, OSError) as e:
        print(f"relais sim-ctl: {e}", file=sys.stderr)
        return 2
    if reply.startswith("ok:"):
        print(reply)
        return 0
    print(f"relais sim-ctl: {reply}", file=sys.stderr)
    return 1
