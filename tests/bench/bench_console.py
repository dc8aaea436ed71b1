"""How long `relais status` takes through the console socket, against reading the status file.

    python -m tests.bench.bench_console [--runs 50] [--json FILE]

A real `relais sim` (quectel-rm500q) and `relais run` on the simulated board (tests/console/agent_run.py). For
each way, the median (and 90th percentile) of --runs:
- process start included: the whole `relais status` command as a technician types it (fork, exec, Python start,
  imports, the answer, the render), timed by the parent around subprocess.run;
- process start excluded: the same work inside one process (ask() through the socket + render; the file's read
  + render), timed with perf_counter;
- `python -c pass` for the interpreter's own start, which both commands pay.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from agent import status_file
from agent.console.client import Connection, ask
from tests.console.agent_run import ENV, RELAIS, ROOT, Site, wait_for


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def command(args: list[str], expect: int) -> None:
    r = subprocess.run(args, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=60)
    if r.returncode != expect:
        raise SystemExit(f"{' '.join(args)}: exit {r.returncode}, expected {expect}: {r.stderr}")


def summary(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=10)
    return {"median_ms": round(statistics.median(samples), 2), "p90_ms": round(q[-1], 2),
            "min_ms": round(min(samples), 2)}


def measure(runs: int) -> dict:
    site = Site().start()
    try:
        sock, storage = str(site.socket), str(site.storage)
        wait_for((site.storage / "status.json").exists, 10, "the status file")
        # The whole commands, interleaved round by round: a machine shared with other jobs slows them alike.
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], 0),
            "relais status (socket, live agent)": (RELAIS + ["status", "--socket", sock, "--storage", storage], 0),
            "relais status --json (socket)": (RELAIS + ["status", "--json", "--socket", sock], 0),
            # no socket there: the file, after a failed connect (what the command does when the agent is away)
            "relais status (the status file)": (RELAIS + ["status", "--socket", f"{site.dir}/none.sock",
                                                          "--storage", storage], 0),
        }
        results: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, (args, expect) in commands.items():
                results[name] += timed(lambda: command(args, expect), 1)
        results["ask() + render, in process"] = \
            timed(lambda: status_file.render(ask(sock, "status")["result"]), runs)
        with Connection(sock) as console:
            results["ask() on a kept connection (relais watch)"] = timed(lambda: console.ask("status"), runs)
        results["status file read + render, in process"] = \
            timed(lambda: status_file.render(status_file.read(storage)[0]), runs)
        size = len(json.dumps(ask(sock, "status")["result"]))
    finally:
        site.close()
    return {"runs": runs, "answer_bytes": size, "python": sys.version.split()[0],
            "results": {k: summary(v) for k, v in results.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    r = measure(args.runs)
    print(f"`relais status`, {r['runs']} runs each, Python {r['python']}; the live answer is {r['answer_bytes']} "
          "bytes of JSON")
    print("| way | median ms | p90 ms | min ms |\n|---|---:|---:|---:|")
    for name, s in r["results"].items():
        print(f"| {name} | {s['median_ms']} | {s['p90_ms']} | {s['min_ms']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
