"""make bench-mqtt: bytes on the wire per day at default settings (goal <= 150 KB/day), CBOR vs JSON, and the
kill -9 campaign (accepted events lost: goal 0).

How the bytes are measured: the agent runs in its own network namespace, joined to the broker's namespace by a
veth pair and nothing else, so every byte on that veth is the agent's MQTT connection: TCP/IP headers, ACKs,
TLS records and handshakes included. We read the veth's counters before and after (`ip -s link`) and report IP
bytes (link bytes minus the 14-byte Ethernet header of each frame).

A day at accelerated time: the agent process (tests/mqtt/agent_proc.py, the real Core + reporter + ledger)
runs its clocks K times faster (K = 120: a day in 12 minutes) and plays a synthetic day (signal noise, RTT/loss, two
fiber outages with their failover/failback reconnects, a cell change). Its MQTT and TCP keepalives are divided
by K too (600 s -> 5 s, 240 s -> 2 s), so pings and probes keep their real per-day count; everything else (heartbeat, deadbands, debounce) runs on
the scaled core clock. Counts of messages and pings come from a subscriber inside the broker's namespace and
from the broker's log.

Unit costs (what one ping, one event, one reconnect cost on the wire) are measured by a probe in the same lab,
then multiplied by the day's counts: that is the budget arithmetic in BENCHMARKS.md, and its total is checked
against the measured day.

Needs root (network namespaces), Debian's mosquitto and openssl. Namespaces are named rlm-* and deleted at exit.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import dataclasses
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

from agent.mqtt.config_update import dump_toml
from tests.mqtt.broker import Broker, make_pki

REPO = Path(__file__).resolve().parents[2]
SCALE = 120   # divides the default keepalives exactly: MQTT 600 s -> 5 s, TCP 240 s -> 2 s
TAG = f"{os.getpid() % 100000}"
BROKER_NS = f"rlm-b{TAG}"
ETH_HEADER = 14
GOAL_BYTES_PER_DAY = 150_000
TLS_PORT, PLAIN_PORT, LOCAL_PORT = 8883, 1883, 1884


def sh(*args: str, check: bool = True) -> str:
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {r.returncode}\n{r.stderr[-3000:]}")
    return r.stdout


@dataclasses.dataclass
class Seat:
    """One agent namespace and its veth to the broker's namespace."""
    index: int

    @property
    def ns(self) -> str:
        return f"rlm-a{TAG}-{self.index}"

    @property
    def dev(self) -> str:
        return f"rlma{TAG}{self.index}"[:15]

    @property
    def peer(self) -> str:
        return f"rlmb{TAG}{self.index}"[:15]

    @property
    def addr(self) -> str:
        return f"100.100.{self.index}.1"

    @property
    def broker_addr(self) -> str:
        return f"100.100.{self.index}.2"

    def tcp_keepalives(self) -> int:
        """TCP keepalive probes sent from this namespace (Linux TcpExt TCPKeepAlive)."""
        rows = [line.split() for line in sh("ip", "netns", "exec", self.ns, "cat", "/proc/net/netstat").splitlines()
                if line.startswith("TcpExt:")]
        return int(rows[1][rows[0].index("TCPKeepAlive")])

    def counters(self) -> tuple[int, int]:
        """(IP bytes, frames) through the agent's veth, both directions."""
        (link,) = json.loads(sh("ip", "-n", self.ns, "-s", "-j", "link", "show", "dev", self.dev))
        st = link["stats64"]
        frames = st["rx"]["packets"] + st["tx"]["packets"]
        return st["rx"]["bytes"] + st["tx"]["bytes"] - ETH_HEADER * frames, frames


class Lab:
    def __init__(self, seats: int, workdir: Path):
        self.seats = [Seat(i) for i in range(seats)]
        self.workdir = workdir
        self.broker: Broker | None = None
        self.sub: subprocess.Popen | None = None

    def __enter__(self) -> "Lab":
        try:
            self._up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _up(self) -> None:
        sh("ip", "netns", "add", BROKER_NS)
        self._quiet(BROKER_NS)
        for s in self.seats:
            sh("ip", "netns", "add", s.ns)
            self._quiet(s.ns)
            sh("ip", "link", "add", s.dev, "netns", s.ns, "type", "veth", "peer", "name", s.peer, "netns", BROKER_NS)
            sh("ip", "-n", s.ns, "addr", "add", f"{s.addr}/30", "dev", s.dev)
            sh("ip", "-n", BROKER_NS, "addr", "add", f"{s.broker_addr}/30", "dev", s.peer)
            sh("ip", "-n", s.ns, "link", "set", s.dev, "up")
            sh("ip", "-n", BROKER_NS, "link", "set", s.peer, "up")
        pki = make_pki(self.workdir / "pki", [], server_ips=tuple(s.broker_addr for s in self.seats))
        self.ca = pki["ca"]
        extra = (f"listener {TLS_PORT}\ncafile {pki['ca']}\ncertfile {pki['server_cert']}\n"
                 f"keyfile {pki['server_key']}\n"
                 f"listener {LOCAL_PORT} 127.0.0.1\n")
        self.broker = Broker(self.workdir / "broker", host="0.0.0.0", port=PLAIN_PORT, netns=BROKER_NS,
                             extra=extra).start()
        self.client_certs = make_pki(self.workdir / "pki-clients", [f"bench-{s.index}" for s in self.seats])
        self.sub_out = self.workdir / "sub.txt"
        self.sub = subprocess.Popen(["ip", "netns", "exec", BROKER_NS, "mosquitto_sub", "-h", "127.0.0.1",
                                     "-p", str(LOCAL_PORT), "-t", "relais/#", "-q", "1", "-F", "%t %l"],
                                    stdout=open(self.sub_out, "a"), stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    @staticmethod
    def _quiet(ns: str) -> None:
        """No IPv6 (router solicitations, MLD) on the measured link: only the agent's traffic is counted."""
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        sh("ip", "-n", ns, "link", "set", "lo", "up")

    def __exit__(self, *exc: object) -> None:
        if self.sub is not None:
            self.sub.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.sub.wait(5)
        if self.broker is not None:
            self.broker.stop()
        for s in self.seats:
            sh("ip", "netns", "del", s.ns, check=False)
        sh("ip", "netns", "del", BROKER_NS, check=False)

    def config(self, seat: Seat, tls: bool, payload: str, **mqtt: object) -> Path:
        """Default [mqtt] settings; only where the broker is and who the device is."""
        device = f"bench-{seat.index}"
        section: dict[str, object] = {"host": seat.broker_addr, "payload": payload, **mqtt}
        if tls:
            section.update(tls=True, ca=str(self.ca), cert=str(self.client_certs[f"{device}_cert"]),
                           key=str(self.client_certs[f"{device}_key"]), port=TLS_PORT)
        else:
            section["port"] = PLAIN_PORT
        store = self.workdir / f"store-{device}-{time.monotonic_ns()}"
        doc = {"device": {"id": device}, "mqtt": section, "storage": {"dir": str(store)}}
        path = self.workdir / f"{device}.toml"
        path.write_text(dump_toml(doc))
        return path

    def pings(self, device: str) -> int:
        return len(re.findall(rf"Received PINGREQ from {re.escape(device)}$", self.broker.tail(10**7), re.M))

    def connects(self, device: str) -> int:
        return len(re.findall(rf"New client connected from \S+ as {re.escape(device)} ", self.broker.tail(10**7)))

    def messages(self, device: str) -> dict[str, list[int]]:
        """Payload sizes by topic kind (`state` for every state part), as the broker delivered them. An empty
        payload clears a retained topic (the agent clears the old whole-state topic at start): counted as `clear`."""
        out: dict[str, list[int]] = {}
        for line in self.sub_out.read_text().splitlines():
            topic, _, size = line.rpartition(" ")
            parts = topic.split("/")
            if len(parts) >= 4 and parts[2] == device:
                out.setdefault(parts[3] if int(size) else "clear", []).append(int(size))
        return out


# ---- the probe: unit costs, measured from inside an agent namespace ----------------------------------------

def probe_main(config_path: str) -> None:
    """Runs inside the agent's namespace (ip netns exec). Prints JSON: bytes per phase."""
    from agent.config import load
    from tests.mqtt.harness import MODEM_STATE, Agent

    def wire() -> int:
        total = 0
        for line in Path("/proc/net/dev").read_text().splitlines()[2:]:
            name, data = line.split(":", 1)
            if name.strip().startswith("rlma"):
                f = data.split()
                total += int(f[0]) + int(f[8]) - ETH_HEADER * (int(f[1]) + int(f[9]))
        return total

    import paho.mqtt.client as paho
    pings = [0]
    send_pingreq = paho.Client._send_pingreq

    def counting_pingreq(self):   # probe only: count the pings this process sends
        pings[0] += 1
        return send_pingreq(self)
    paho.Client._send_pingreq = counting_pingreq

    def tcp_keepalives() -> int:
        lines = [line.split() for line in Path("/proc/net/netstat").read_text().splitlines()
                 if line.startswith("TcpExt:")]
        return int(lines[1][lines[0].index("TCPKeepAlive")])

    config = load(config_path)
    # Short keepalive so that idle pings come quickly; what a ping costs does not depend on the period.
    config = dataclasses.replace(config, mqtt=dataclasses.replace(config.mqtt, keepalive=2, heartbeat_s=10**6,
                                                                  state_debounce_s=0.2,
                                                                  state_max_per_hour=10**6))
    out: dict[str, object] = {}
    agent = Agent(config, state={"modem": copy.deepcopy(MODEM_STATE)})
    t0 = wire()
    agent.start()
    assert agent.reporter.link.connected.wait(20)
    time.sleep(1.5)           # birth, state, first telemetry and their acknowledgements
    out["session_start"] = wire() - t0

    t0, start, p0 = wire(), time.monotonic(), pings[0]
    time.sleep(20.0)
    out["idle_bytes"], out["idle_s"], out["idle_pings"] = wire() - t0, time.monotonic() - start, pings[0] - p0
    out["ping"] = out["idle_bytes"] / max(1, out["idle_pings"])

    # A TCP keepalive probe and its ACK: a new session with an MQTT keepalive long enough to stay out of the way
    # (the broker does not count TCP keepalives as MQTT activity), probes every second of silence.
    link = agent.reporter.link
    link.cfg = dataclasses.replace(link.cfg, keepalive=60)
    link.connected.clear()
    link.reconnect()
    assert link.connected.wait(20)
    time.sleep(1.5)
    sock = link._session.client.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    t0, k0 = wire(), tcp_keepalives()
    time.sleep(10.0)
    out["tcp_probe"] = (wire() - t0) / max(1, tcp_keepalives() - k0)
    out["tcp_probes_seen"] = tcp_keepalives() - k0
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 240)

    def phase(name: str, n: int, act) -> None:
        t0 = wire()
        for i in range(n):
            act(i)
            time.sleep(0.4)
        out[name] = (wire() - t0) / n

    phase("event", 20, lambda i: agent.emit("registration_changed", old={"state": "home", "cell_id": "1A2B3C4"},
                                            new={"state": "home", "cell_id": f"1A2B3C{i % 10}"}))
    r = agent.reporter

    def telemetry(i: int) -> None:
        values = {"rsrp_dbm": -95 - i % 3, "rsrq_db": -11, "sinr_db": 13, "rssi_dbm": -67, "primary_rtt_ms": 12,
                  "primary_loss_pct": 0, "backup_rtt_ms": 45, "backup_loss_pct": 0, "rx_bytes": 123456 + i,
                  "tx_bytes": 65432 + i}
        r.outbox.add("telemetry", r.topics.telemetry, r.cfg.telemetry_qos,
                     lambda seq: r._encode(seq, time.time(), "ntp", {"why": "heartbeat", "metrics": values}))
        r.link.wake()

    phase("telemetry", 20, telemetry)
    # One part of the retained state (the modem's, the biggest of the synthetic day's parts) per change.
    phase("state", 10, lambda i: agent.on_core(
        lambda now: agent.core.state["modem"].update(cell_id=f"1A2B3C{i}")) or time.sleep(0.6))
    out["reconnects_before"] = agent.reporter.link.stats.connects

    def reconnect(i: int) -> None:
        agent.reporter.link.reconnect()
        time.sleep(1.5)

    phase("reconnect", 5, reconnect)
    out["reconnects_after"] = agent.reporter.link.stats.connects
    agent.stop()
    print(json.dumps(out), flush=True)


def run_probe(lab: Lab, seat: Seat, tls: bool) -> dict:
    cfg = lab.config(seat, tls, "cbor")
    out = sh("ip", "netns", "exec", seat.ns, sys.executable, "-m", "tests.bench.bench_mqtt", "--probe", str(cfg))
    return json.loads(out.strip().splitlines()[-1])


# ---- a day ---------------------------------------------------------------------------------------------------

def start_day(lab: Lab, seat: Seat, tls: bool, payload: str, seed: int, noise: float = 1.0
              ) -> tuple[subprocess.Popen, tuple]:
    cfg = lab.config(seat, tls, payload)
    before = seat.counters() + (seat.tcp_keepalives(),)
    proc = subprocess.Popen(["ip", "netns", "exec", seat.ns, sys.executable, "-m", "tests.mqtt.agent_proc",
                             "--config", str(cfg), "--time-scale", str(SCALE), "--day", str(seed),
                             "--noise", str(noise)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, before


def finish_day(lab: Lab, seat: Seat, proc: subprocess.Popen, before: tuple, label: str) -> dict:
    out, _ = proc.communicate(timeout=86400 / SCALE + 120)
    if proc.returncode != 0:
        raise SystemExit(f"{label}: agent_proc failed:\n{out[-3000:]}")
    after = seat.counters() + (seat.tcp_keepalives(),)
    device = f"bench-{seat.index}"
    msgs = lab.messages(device)
    return {"label": label, "bytes": after[0] - before[0], "frames": after[1] - before[1],
            "pings": lab.pings(device), "tcp_probes": after[2] - before[2], "connects": lab.connects(device),
            "messages": {k: len(v) for k, v in msgs.items()},
            "payload_mean": {k: statistics.mean(v) for k, v in msgs.items() if v}}


# ---- report --------------------------------------------------------------------------------------------------

def kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--probe", help=argparse.SUPPRESS)
    p.add_argument("--tls-runs", type=int, default=3, help="TLS+CBOR days (medians over these)")
    p.add_argument("--kill9", type=int, default=50, help="kill -9 runs (0: skip)")
    p.add_argument("--units-only", action="store_true", help="only the unit costs")
    args = p.parse_args()
    if args.probe:
        probe_main(args.probe)
        return 0
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise SystemExit("bench-mqtt needs root and iproute2 (network namespaces)")
    work = Path(tempfile.mkdtemp(prefix="rlm-bench-mqtt-"))
    results: dict = {"scale": SCALE}
    seats_needed = args.tls_runs + 3
    try:
        with Lab(seats_needed, work) as lab:
            seats = lab.seats
            print(f"unit costs (probe, TLS then plain) ...", flush=True)
            results["units_tls"] = run_probe(lab, seats[0], tls=True)
            results["units_plain"] = run_probe(lab, seats[1], tls=False)
            if args.units_only:
                print(json.dumps(results, indent=1))
                return 0
            print(f"{seats_needed} simulated days at {SCALE}x in parallel ({86400 / SCALE:.0f} s) ...", flush=True)
            plan = [(s, True, "cbor", 1 + i, 1.0, f"TLS + CBOR #{i + 1}")
                    for i, s in enumerate(seats[:args.tls_runs])]
            plan += [(seats[args.tls_runs], False, "cbor", 1, 1.0, "plain TCP + CBOR"),
                     (seats[args.tls_runs + 1], True, "json", 1, 1.0, "TLS + JSON"),
                     (seats[args.tls_runs + 2], True, "cbor", 1, 4.0, "TLS + CBOR, 4x noisier radio and RTT")]
            # The probes used seats 0 and 1: count the days' pings, connects and messages from here on
            # (both files are appended to, so truncating them is safe).
            lab.broker.log.write_text("")
            lab.sub_out.write_text("")
            running = [(s, start_day(lab, s, tls, payload, seed, noise), label)
                       for s, tls, payload, seed, noise, label in plan]
            results["days"] = [finish_day(lab, s, proc, before, label) for s, (proc, before), label in running]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.kill9:
        print(f"kill -9 campaign: {args.kill9} runs ...", flush=True)
        results["kill9"] = kill9(args.kill9)
    print(json.dumps(results, indent=1, default=str))
    print(render(results, args.tls_runs))
    return 0


def kill9(runs: int) -> dict:
    from tests.mqtt.kill9 import campaign
    work = Path(tempfile.mkdtemp(prefix="rlm-bench-k9-"))
    broker = Broker(work / "broker").start()
    try:
        r = campaign(broker, work, runs=runs, seed=2024)
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    r["lost"] = len(r["lost"])
    return r


def render(results: dict, tls_runs: int) -> str:
    days = results["days"]
    tls_days = days[:tls_runs]
    med = statistics.median(d["bytes"] for d in tls_days)
    lines = ["", "### Bytes on the wire per simulated day (IP level: TCP/IP headers, ACKs, TLS included)", "",
             "| run | bytes/day | frames | MQTT pings | TCP keepalives | connects | event | telemetry | state | status |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in days:
        m = d["messages"]
        lines.append(f"| {d['label']} | {kb(d['bytes'])} | {d['frames']} | {d['pings']} | {d['tcp_probes']} | "
                     f"{d['connects']} | "
                     f"{m.get('event', 0)} | {m.get('telemetry', 0)} | {m.get('state', 0)} | {m.get('status', 0)} |")
    lines += ["", f"Median TLS + CBOR: **{kb(med)}/day** (goal <= {kb(GOAL_BYTES_PER_DAY)}; "
                  f"{med / GOAL_BYTES_PER_DAY:.2f} of the goal; Cradlepoint NetCloud defaults ~2.8 MB/day = "
                  f"{2_800_000 / med:.0f}x more).", ""]
    u = results["units_tls"]
    up = results["units_plain"]
    lines += ["### Unit costs on the wire (probe: mean over 5-20 repetitions each, bytes)", "",
              "| item | TLS | plain TCP |", "|---|---:|---:|"]
    for key, name in (("session_start", "session start (handshake, CONNECT, SUBSCRIBE, birth, state, telemetry)"),
                      ("reconnect", "reconnect after a route change (DISCONNECT + new session)"),
                      ("ping", "MQTT keepalive ping (PINGREQ, PINGRESP, ACKs)"),
                      ("tcp_probe", "TCP keepalive probe + ACK (NAT refresh)"), ("event", "event (QoS 1 + PUBACK)"),
                      ("telemetry", "telemetry (QoS 1 + PUBACK)"),
                      ("state", "retained state part: modem (QoS 1 + PUBACK)")):
        lines.append(f"| {name} | {u[key]:.0f} | {up[key]:.0f} |")
    d0 = tls_days[0]
    m = d0["messages"]
    est = (u["session_start"] + (d0["connects"] - 1) * u["reconnect"] + d0["pings"] * u["ping"]
           + d0["tcp_probes"] * u["tcp_probe"] + m.get("event", 0) * u["event"]
           + m.get("telemetry", 0) * u["telemetry"] + m.get("state", 0) * u["state"])
    lines += ["", f"Arithmetic for {d0['label']}: 1 x session start + {d0['connects'] - 1} x reconnect + "
                  f"{d0['pings']} x ping + {d0['tcp_probes']} x TCP keepalive + {m.get('event', 0)} x event + "
                  f"{m.get('telemetry', 0)} x telemetry + {m.get('state', 0)} x state = {kb(est)} "
                  f"(measured {kb(d0['bytes'])}; the probe's telemetry is a full heartbeat, most of the day's "
                  f"are smaller change messages).", ""]
    cbor = next(d for d in days if d["label"].startswith("TLS + CBOR"))
    js = next(d for d in days if d["label"] == "TLS + JSON")
    lines += ["### CBOR vs JSON (mean payload bytes per message, same synthetic day)", "",
              "| topic | CBOR | JSON | JSON/CBOR |", "|---|---:|---:|---:|"]
    for kind in ("event", "telemetry", "state"):
        c, j = cbor["payload_mean"].get(kind), js["payload_mean"].get(kind)
        if c and j:
            lines.append(f"| {kind} | {c:.0f} | {j:.0f} | {j / c:.2f} |")
    lines.append(f"| whole day on the wire (TLS) | {kb(cbor['bytes'])} | {kb(js['bytes'])} | "
                 f"{js['bytes'] / cbor['bytes']:.2f} |")
    if "kill9" in results:
        k = results["kill9"]
        lines += ["", f"### kill -9: {k['runs']} kills at random moments while emitting every 10 ms: "
                      f"{k['accepted']} events accepted, {k['delivered']} delivered, **{k['lost']} lost**, "
                      f"{k['duplicates']} repeated (in flight at a kill, same seq)."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
