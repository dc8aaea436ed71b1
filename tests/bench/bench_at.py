"""make bench-at: AT round-trip time through relais' engine vs raw pyserial, on the same simulator pty.

Method: the simulator runs in its own process (`relais sim --speed 0`, so it answers at once and the pty +
simulator cost is the same for both sides). Raw = pyserial write("AT+CSQ\\r") then read what is waiting until the
reply ends in OK, in the calling thread: the least any client can do (pyserial's read_until, which reads a byte
per call, is shown too, for what a typical script gets). Engine = AtPort.command("AT+CSQ"): framing, matching, URC
classification and the hand-off from the IO thread to the caller. Rounds alternate raw / engine so that machine
noise hits both alike; we report medians of per-command times and their ratio (goal <= 1.2).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import serial

from modem.at import AtPort

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "10"))
PER_ROUND = int(os.environ.get("BENCH_PER_ROUND", "200"))
COMMAND = "AT+CSQ"


def wait_for(path: str, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise SystemExit(f"simulator did not appear at {path}")
        time.sleep(0.05)


def read_until_ok(ser: serial.Serial) -> bytes:
    """The least a client can do: read whatever is waiting until the reply ends in OK."""
    reply = b""
    while not reply.endswith(b"OK\r\n"):
        chunk = ser.read(ser.in_waiting or 1)
        if not chunk:
            raise SystemExit(f"raw: timeout, got {reply!r}")
        reply += chunk
    return reply


def pyserial_read_until(ser: serial.Serial) -> bytes:
    """What most scripts do: pyserial's read_until (it reads one byte per call)."""
    reply = ser.read_until(b"OK\r\n")
    if not reply.endswith(b"OK\r\n"):
        raise SystemExit(f"raw: unexpected reply {reply!r}")
    return reply


def raw_round(path: str, read=read_until_ok) -> list[float]:
    times = []
    with serial.Serial(path, 115200, timeout=2) as ser:
        ser.reset_input_buffer()
        for _ in range(PER_ROUND):
            t0 = time.perf_counter()
            ser.write(COMMAND.encode() + b"\r")
            read(ser)
            times.append(time.perf_counter() - t0)
    return times


def engine_round(path: str) -> list[float]:
    times = []
    with AtPort(path) as port:
        for _ in range(PER_ROUND):
            t0 = time.perf_counter()
            r = port.command(COMMAND)
            times.append(time.perf_counter() - t0)
            if not r.lines:
                raise SystemExit("engine: empty answer")
    return times


def measure(speed: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        link = os.path.join(tmp, "modem")
        sim = subprocess.Popen([sys.executable, "-m", "agent.cli", "sim", "--vendor", "quectel-ec25", "--link", link,
                                "--speed", str(speed)], stdout=subprocess.DEVNULL)
        try:
            wait_for(link)
            raw, eng, until = [], [], []
            raw_round(link)          # warm-up: imports, first pty open
            engine_round(link)
            for _ in range(ROUNDS):
                raw += raw_round(link)
                eng += engine_round(link)
                until += raw_round(link, pyserial_read_until)
        finally:
            sim.terminate()
            sim.wait(10)
    r_med, e_med = statistics.median(raw), statistics.median(eng)
    return {
        "command": COMMAND, "sim_speed": speed, "samples_each": len(raw),
        "raw_median_us": round(r_med * 1e6, 1), "engine_median_us": round(e_med * 1e6, 1),
        "raw_p90_us": round(statistics.quantiles(raw, n=10)[-1] * 1e6, 1),
        "engine_p90_us": round(statistics.quantiles(eng, n=10)[-1] * 1e6, 1),
        "read_until_median_us": round(statistics.median(until) * 1e6, 1),
        "overhead_us": round((e_med - r_med) * 1e6, 1), "ratio": round(e_med / r_med, 3),
    }


def main() -> int:
    # speed 0: the simulator answers at once, the harshest case for any overhead of ours;
    # speed 0.1: 2 ms per query, a fast real modem (Quectel's manuals allow 300 ms).
    results = [measure(0.0), measure(0.1)]
    print(f"{'sim speed':>9} {'raw µs':>9} {'relais µs':>10} {'read_until µs':>14} {'overhead µs':>12} {'ratio':>6}")
    for r in results:
        print(f"{r['sim_speed']:>9} {r['raw_median_us']:>9} {r['engine_median_us']:>10} "
              f"{r['read_until_median_us']:>14} {r['overhead_us']:>12} {r['ratio']:>6}")
    print("medians of per-command times; goal: ratio <= 1.2")
    print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
