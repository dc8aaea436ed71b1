"""The GPIO LED's blink thread on this machine: how late its edges are and what it costs.

Method: GpioLed drives a line that only records time.monotonic() at each write, for SECONDS of each blinking
pattern. Lateness = when the level was written minus when the pattern says the edge is (blinker.since + the
pattern's on/off timings). CPU = the process's CPU time over the run (nothing else runs in it), per hour of
blinking. A line write on a real chip adds one ioctl (microseconds) to each edge.

    python -m tests.bench.bench_led [SECONDS]
"""
from __future__ import annotations

import statistics
import sys
import time

from board.led import PATTERNS
from board.led_gpio import GpioLed

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0


class TimedLine:
    what = "timed line"

    def __init__(self) -> None:
        self.writes: list[tuple[float, bool]] = []

    def set(self, lit: bool) -> None:
        self.writes.append((time.monotonic(), lit))

    def close(self) -> None:
        pass


def run(pattern: str) -> dict:
    line = TimedLine()
    led = GpioLed(line)
    cpu0 = time.process_time()
    led.show(pattern)
    time.sleep(SECONDS)
    cpu = time.process_time() - cpu0
    since = led._blinker.since           # close() starts "off": read the pattern's start before
    led.close()
    on_s, off_s = (ms / 1000 for ms in PATTERNS[pattern])
    late_ms, edge, lit = [], since, True
    for t, level in line.writes[:-1]:           # the last write is close()'s "off"
        assert level is lit, "a level out of turn"
        late_ms.append((t - edge) * 1000)
        edge, lit = edge + (on_s if lit else off_s), not lit
    late_ms.sort()
    return {"pattern": pattern, "edges": len(late_ms), "late_median_ms": statistics.median(late_ms),
            "late_p99_ms": late_ms[int(0.99 * (len(late_ms) - 1))], "late_max_ms": late_ms[-1],
            "cpu_s_per_hour": cpu / SECONDS * 3600}


def main() -> None:
    print(f"{'pattern':<12} {'edges':>6} {'late median':>12} {'p99':>8} {'max':>8} {'CPU s/hour':>11}")
    for pattern in ("fast_blink", "slow_blink", "double"):
        r = run(pattern)
        print(f"{r['pattern']:<12} {r['edges']:>6} {r['late_median_ms']:>9.3f} ms {r['late_p99_ms']:>5.2f} ms "
              f"{r['late_max_ms']:>5.2f} ms {r['cpu_s_per_hour']:>11.2f}")


if __name__ == "__main__":
    main()
