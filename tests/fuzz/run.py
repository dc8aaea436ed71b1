"""`make fuzz`: every outside surface fed N generated inputs (default 100,000 each).

    python -m tests.fuzz.run [--count N] [--surface NAME ...] [--seed S]

Prints one row per surface (inputs, crashes, tracebacks and secrets in logs, inputs per second) and the first
findings with the seed and index that reproduce them; exits 1 on any finding.
"""
from __future__ import annotations

import argparse
import logging
import random
import sys
import time
import traceback
from dataclasses import dataclass, field

from tests.fuzz.surfaces import SURFACES, Finding, LogWatch


@dataclass
class Result:
    surface: str
    inputs: int = 0
    crashes: int = 0
    findings: int = 0
    log_findings: int = 0
    seconds: float = 0.0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.crashes or self.findings or self.log_findings)


def fuzz(name: str, count: int, seed: int = 1) -> Result:
    surface = SURFACES[name]
    result = Result(name)
    watch = LogWatch()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)        # secrets and tracebacks hide in debug lines too (the AT trace)
    start = time.perf_counter()
    try:
        for i in range(count):
            rng = random.Random(f"{seed}:{name}:{i}")
            case = surface.make(rng)
            try:
                surface.check(case)
            except Finding as e:
                result.findings += 1
                _keep(result, f"seed {seed} index {i}: {e} -- input {case!r:.300}")
            except Exception as e:     # a crash: the surface raised what it must not
                result.crashes += 1
                tb = traceback.format_exception_only(type(e), e)[-1].strip()
                _keep(result, f"seed {seed} index {i}: CRASH {tb} -- input {case!r:.300}")
            if watch.findings:
                result.log_findings += len(watch.findings)
                _keep(result, f"seed {seed} index {i}: {watch.findings[0]} -- input {case!r:.300}")
                watch.findings.clear()
            result.inputs += 1
    finally:
        root.removeHandler(watch)
        root.setLevel(old_level)
    result.seconds = time.perf_counter() - start
    return result


def _keep(result: Result, text: str) -> None:
    if len(result.examples) < 5:
        result.examples.append(text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz.run")
    ap.add_argument("--count", type=int, default=100_000)
    ap.add_argument("--surface", action="append", choices=sorted(SURFACES))
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    logging.disable(logging.NOTSET)
    ok = True
    print(f"{'surface':<12} {'inputs':>8} {'crashes':>8} {'findings':>9} {'log':>5} {'per s':>8}")
    for name in args.surface or sorted(SURFACES):
        r = fuzz(name, args.count, args.seed)
        print(f"{r.surface:<12} {r.inputs:>8} {r.crashes:>8} {r.findings:>9} {r.log_findings:>5} "
              f"{r.inputs / max(r.seconds, 1e-9):>8.0f}", flush=True)
        for example in r.examples:
            print(f"    {example}")
        ok = ok and r.clean
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
