"""make bench-memory: how much memory `relais run` holds, how fast it starts probing, and what each import costs.

    python -m tests.bench.bench_memory [--minutes 10] [--day-scale 720] [--payload json|cbor] [--short] [--json F]

1. The agent as shipped: `relais sim` (quectel-rm500q, real modem speed) and `relais run` (board "simulated",
   MQTT to a Mosquitto started here on a free port, or to a closed port when Mosquitto is missing), each its own
   process. RSS (VmRSS in /proc/PID/status) and PSS (smaps_rollup) of `relais run` 1 s after start (its first
   probe is out by then), after 1 minute and after --minutes. MB are 1000 kB, as the issue counted them.
2. Start to first probe: the same command in a child that records the `sent_at` of the first ProbeResult posted
   to the core (CLOCK_MONOTONIC is machine-wide, so it compares with the parent's clock read just before spawning
   the process). Median of FIRST_PROBE_RUNS starts.
3. Growth per day: a day replayed at --day-scale times real speed through the real Core, MQTT reporter and
   ledger (tests/mqtt/agent_proc.py --day: signal noise, RTT/loss, two outages with failover/failback, a cell
   change; its MQTT keepalives are shortened by the same factor). RSS is sampled 100 times a day (at most once
   a second); growth is the last sample minus the sample one replayed hour in (after the outbox, sqlite and
   paho have warmed up). That process loads OpenSSL (it is not `relais run`): its level is higher, its slope
   is what counts.
4. Imports: for each top module of relais and each dependency, RSS of `python -c "import X"` and the
   cumulative import time from `python -X importtime` (median of IMPORT_RUNS).

--short (for tests): 20 s instead of minutes, a day at 7200x (12 s), one import run; the day and the imports run
while `relais run` does (separate processes: each one's memory is its own), so their times are no benchmark figures.
Children run from this file's checkout (cwd and PYTHONPATH), so a copy of another commit measures that commit.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOAL_RSS_KB = 30_000           # MB here are 1000 of the kB /proc reports (the 51.5 MB: 51532 kB)
GOAL_FIRST_PROBE_S = 1.0
GOAL_GROWTH_KB_PER_DAY = 1024
WARM_S = 2.0                   # python, imports, sqlite, paho: a sample before this measures the start, not growth
FIRST_PROBE_RUNS = 5
IMPORT_RUNS = 3
MOSQUITTO = "/usr/sbin/mosquitto"
VENDOR = "quectel-rm500q"

RELAIS_MODULES = ("agent.runtime", "agent.config", "agent.core", "agent.failover", "agent.linkmon.netlink",
                  "agent.linkmon.methods", "agent.modem_service", "agent.cellular", "agent.cellular.sms",
                  "agent.cellular.usage", "agent.timesource", "agent.mqtt", "agent.ledger", "board.routes",
                  "board.routes.iproute2", "board.routes.networkmanager", "modem.at", "modem.device",
                  "modem.simulator")
DEPENDENCIES = ("serial", "tenacity", "cbor2", "paho.mqtt.client", "pyroute2", "icmplib", "sdbus", "asyncio",
                "ssl", "http.client", "sqlite3", "json", "tomllib")

# The first probe, seen from inside the agent: Core.post wrapped before anything is built.
FIRST_PROBE_CHILD = """
import sys, time
from agent.core import Core
from agent.linkmon.inputs import ProbeResult
out, post = sys.argv[1], Core.post
def first(self, item):
    if isinstance(item, ProbeResult) and not first.done:
        first.done = True
        with open(out, "w") as f:
            f.write(repr(item.sent_at))
    post(self, item)
first.done = False
Core.post = first
from agent.cli import main
sys.exit(main(["run", "--config", sys.argv[2]]))
"""


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"^VmRSS:\s+(\d+)", status, re.M).group(1))
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        pss = int(re.search(r"^Pss:\s+(\d+)", rollup, re.M).group(1))
    except (OSError, AttributeError):
        pss = -1
    return rss, pss


_COMPILED = False


def child_env() -> dict[str, str]:
    """The agent as installed runs byte-compiled (the .deb's postinst runs compileall; OpenWrt ships .pyc): a
    process that compiles its modules from source keeps the compiler's memory (about 1 MB more here, and on a
    machine with PYTHONDONTWRITEBYTECODE set nothing is ever cached). So the checkout is compiled once, into its
    usual __pycache__ directories (ignored by git). Not a PYTHONPYCACHEPREFIX: the standard library's .pyc would
    then be looked for there too, and compiled from source."""
    global _COMPILED
    if not _COMPILED:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "agent", "board", "modem", "common"], cwd=REPO,
                       check=True, stdout=subprocess.DEVNULL)
        _COMPILED = True
    return {**os.environ, "PYTHONPATH": str(REPO)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A simulator on a pty, a broker (when there is one) and a config for `relais run`, in a temp dir."""

    def __init__(self, payload: str = "json") -> None:
        self.payload = payload
        self.dir = Path(tempfile.mkdtemp(prefix="relais-mem-"))
        self.procs: list[subprocess.Popen] = []
        self.port = free_port()
        self.broker = "none (closed port)"
        if os.access(MOSQUITTO, os.X_OK):
            conf = self.dir / "mosquitto.conf"
            conf.write_text(f"user root\nallow_anonymous true\npersistence false\nlistener {self.port} 127.0.0.1\n")
            self.procs.append(subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))
            if listening(self.port, 5.0):
                self.broker = f"mosquitto on 127.0.0.1:{self.port}"
        self.tty = self.dir / "ttyUSB2"
        self.procs.append(subprocess.Popen([sys.executable, "-m", "agent.cli", "sim", "--vendor", VENDOR,
                                            "--link", str(self.tty)], cwd=REPO, env=child_env(),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while not self.tty.exists():
            if time.monotonic() > deadline:
                raise SystemExit("relais sim: no pty within 10 s")
            time.sleep(0.05)
        self.config = self.write_config("run")

    def write_config(self, name: str, device: str = "bench-memory") -> Path:
        path = self.dir / f"{name}.toml"
        path.write_text(f'[device]\nid = "{device}"\n[modem]\nport = "{self.tty}"\n'
                        f'[board]\nbackend = "simulated"\n[storage]\ndir = "{self.dir / name}"\n'
                        f'[mqtt]\nhost = "127.0.0.1"\nport = {self.port}\npayload = "{self.payload}"\n')
        return path

    def close(self) -> None:
        for p in reversed(self.procs):
            stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)


def listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def run_agent(lab: Lab, seconds: float) -> dict:
    """`relais run` for `seconds`; RSS/PSS at its first probe (approximated by 1 s), after 1 minute and at the end."""
    log = lab.dir / "run.log"   # a file, not a pipe: 10 minutes of warnings must not fill a pipe and block it
    with log.open("w") as err:
        agent = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", "--config", str(lab.config)],
                                 cwd=REPO, env=child_env(), stdout=subprocess.DEVNULL, stderr=err)
    lab.procs.append(agent)
    t0 = time.monotonic()
    marks = {"start (1 s)": 1.0, "end": seconds}
    if seconds > 60:
        marks["1 min"] = 60.0
    result, samples = {}, []
    try:
        for label, at in sorted(marks.items(), key=lambda kv: kv[1]):
            while time.monotonic() - t0 < at:
                if agent.poll() is not None:
                    raise SystemExit(f"relais run exited ({agent.returncode}): {log.read_text()[-2000:]}")
                time.sleep(min(1.0, max(0.01, at - (time.monotonic() - t0))))
                samples.append((round(time.monotonic() - t0, 1), *memory_kb(agent.pid)))
            result[label] = memory_kb(agent.pid)
    finally:
        stop(agent)
    result["seconds"] = seconds
    result["peak_rss_kb"] = max(s[1] for s in samples)
    result["samples"] = samples   # (seconds, RSS kB, PSS kB), about one a second: the whole curve, in --json
    return result


def first_probe(lab: Lab, runs: int) -> list[float]:
    times = []
    for i in range(runs):
        out = lab.dir / f"first-probe-{i}"
        config = lab.write_config(f"first-{i}")
        t0 = time.monotonic()
        p = subprocess.Popen([sys.executable, "-c", FIRST_PROBE_CHILD, str(out), str(config)], cwd=REPO,
                             env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = t0 + 30
            while not (out.exists() and out.read_text()):
                if time.monotonic() > deadline or p.poll() is not None:
                    raise SystemExit("no probe within 30 s of starting relais run")
                time.sleep(0.01)
            times.append(float(out.read_text()) - t0)
        finally:
            stop(p)
    return times


def replay_day(lab: Lab, scale: float) -> dict:
    config = lab.write_config("day", device="bench-memory-day")   # its own MQTT client, beside `relais run`'s
    log = lab.dir / "day.log"
    with log.open("w") as err:
        p = subprocess.Popen([sys.executable, "-m", "tests.mqtt.agent_proc", "--config", str(config),
                              "--time-scale", str(scale), "--day", "1"], cwd=REPO, env=child_env(),
                             stdout=subprocess.DEVNULL, stderr=err)
    lab.procs.append(p)
    t0 = time.monotonic()
    samples: list[tuple[float, int, int]] = []
    day_s = 86400 / scale
    try:
        while p.poll() is None and time.monotonic() - t0 < day_s + 60:
            try:
                samples.append((time.monotonic() - t0, *memory_kb(p.pid)))
            except (OSError, AttributeError):
                break   # it is leaving: the day is over
            time.sleep(min(1.0, day_s / 100))
    finally:
        stop(p)
    if p.returncode not in (0, -15) or not samples:
        raise SystemExit(f"agent_proc failed ({p.returncode}): {log.read_text()[-2000:]}")
    # one replayed hour in, and never within the process's first WARM_S: at 7200x an hour is 0.5 s, still its start
    hour = next(s for s in samples if s[0] >= max(day_s / 24, WARM_S))
    last = samples[-1]
    return {"scale": scale, "replayed_h": round(last[0] * scale / 3600, 1), "rss_1h_kb": hour[1],
            "rss_end_kb": last[1], "pss_end_kb": last[2], "peak_rss_kb": max(s[1] for s in samples),
            "growth_kb_per_day": round((last[1] - hour[1]) * 86400 / ((last[0] - hour[0]) * scale))}


IMPORT_PROBE = "import sys, {m}; print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"


def import_cost(module: str, runs: int) -> dict:
    """RSS (kB) after `import module` alone, its cumulative import time (µs, median) and what it drags in."""
    rss, us = [], []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-X", "importtime", "-c", IMPORT_PROBE.format(m=module)], cwd=REPO,
                           env=child_env(), capture_output=True, text=True)
        if r.returncode != 0:
            return {"module": module, "error": (r.stderr.strip().splitlines() or ["?"])[-1]}
        rss.append(int(r.stdout.split()[-1]))
        for line in r.stderr.splitlines():
            fields = [f.strip() for f in line.removeprefix("import time:").split("|")]
            if len(fields) == 3 and fields[2] == module:
                us.append(int(fields[1]))
    heavy = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(*sorted(m for m in "
                            f"('asyncio', 'ssl', 'pyroute2', 'icmplib', 'sdbus', 'paho') if m in sys.modules))"],
                           cwd=REPO, env=child_env(), capture_output=True, text=True).stdout.split()
    return {"module": module, "rss_kb": int(statistics.median(rss)),
            "import_ms": round(statistics.median(us) / 1000, 1) if us else None, "heavy": heavy}


def imports(runs: int) -> list[dict]:
    return [import_cost(m, runs) for m in ("sys", *RELAIS_MODULES, *DEPENDENCIES)]


def mb(kb: int) -> str:
    return f"{kb / 1000:.1f}"


def report(r: dict) -> None:
    print(f"\n== relais run on the simulator ({VENDOR}), board simulated, MQTT: {r['broker']}, "
          f"payload {r['payload']}, Python {r['python']}")
    run = r["run"]
    print("| when | RSS MB | PSS MB |\n|---|---:|---:|")
    for label in ("start (1 s)", "1 min", "end"):
        if label not in run:
            continue
        rss, pss = run[label]
        name = f"after {run['seconds'] / 60:.3g} min" if label == "end" else label
        print(f"| {name} | {mb(rss)} | {mb(pss)} |")
    print(f"peak RSS {mb(run['peak_rss_kb'])} MB; goal <= {mb(GOAL_RSS_KB)} MB: "
          f"{'met' if run['end'][0] <= GOAL_RSS_KB else 'NOT met'}")
    fp = r["first_probe_s"]
    print(f"\n== start to first probe: median {statistics.median(fp):.3f} s, max {max(fp):.3f} s of {len(fp)} starts"
          f" (goal < {GOAL_FIRST_PROBE_S:g} s: {'met' if max(fp) < GOAL_FIRST_PROBE_S else 'NOT met'})")
    d = r["day"]
    met = d["growth_kb_per_day"] <= GOAL_GROWTH_KB_PER_DAY
    print(f"\n== a day replayed at {d['scale']:g}x ({d['replayed_h']} h): RSS {mb(d['rss_1h_kb'])} MB after 1 h, "
          f"{mb(d['rss_end_kb'])} MB at the end (peak {mb(d['peak_rss_kb'])}); growth {d['growth_kb_per_day']} "
          f"kB/day (goal <= {GOAL_GROWTH_KB_PER_DAY}: {'met' if met else 'NOT met'})")
    print("\n== imports: RSS of `python -c 'import X'`, cumulative import time (-X importtime)")
    base = next(i["rss_kb"] for i in r["imports"] if i["module"] == "sys")
    print("| module | RSS MB | +MB over the interpreter | import ms | pulls in |\n|---|---:|---:|---:|---|")
    for i in r["imports"]:
        if "error" in i:
            print(f"| {i['module']} | - | - | - | cannot import: {i['error']} |")
            continue
        print(f"| {i['module']} | {mb(i['rss_kb'])} | {mb(i['rss_kb'] - base)} | {i['import_ms'] or '-'} | "
              f"{', '.join(i['heavy'])} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long `relais run` runs (default 10)")
    p.add_argument("--day-scale", type=float, default=720.0, help="replay speed of the day (720: 2 minutes)")
    p.add_argument("--short", action="store_true", help="20 s, a day at 7200x, one import run (tests)")
    p.add_argument("--payload", choices=("json", "cbor"), default="json",
                   help="MQTT payload: json like the demo (default), cbor the agent's default")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    seconds = 20.0 if args.short else args.minutes * 60
    scale = 7200.0 if args.short else args.day_scale
    lab = Lab(args.payload)
    try:
        r = {"broker": lab.broker, "payload": args.payload, "python": sys.version.split()[0]}
        r["first_probe_s"] = first_probe(lab, 1 if args.short else FIRST_PROBE_RUNS)
        if args.short:
            # `relais run` mostly waits: the rest fits in its 20 s instead of after them.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                run = pool.submit(run_agent, lab, seconds)
                r["day"] = replay_day(lab, scale)
                r["imports"] = imports(1)
                r["run"] = run.result()
        else:
            r["run"] = run_agent(lab, seconds)
            r["day"] = replay_day(lab, scale)
    finally:
        lab.close()
    if not args.short:
        r["imports"] = imports(IMPORT_RUNS)
    report(r)
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
