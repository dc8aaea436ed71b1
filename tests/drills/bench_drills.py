"""Bytes a drill costs on the cellular uplink, measured in the netns lab: the nftables counters at the backup ISP
(every byte the router exchanged through it, both directions, IP headers included) read before and after each
drill, with the real agent (probers, route check, service checks). Needs root.

    python -m tests.drills.bench_drills [--rounds N]

The services are the lab's SIP-like responder, an HTTPS server (a CA made for the run), a resolver and a TCP
port. A full drill also carries the site's own traffic over the backup; the lab has none, so what is measured is
the drill's own cost: probes at the active rate, the route check, the service checks.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from tests.drills.lab_agent import HTTPS_HOST, SIP_HOST, DrillAgent, drill_config
from tests.drills.servers import HttpsServer, UdpResponder, make_ca, make_server_cert, sip_reply, udp_socket
from tests.lab.netlab import DNS_HOST, TARGETS, FailoverLab, in_netns
from tests.routes.netlab import sh


def measure(agent, lab, args: dict, timeout: float) -> tuple[int, float, dict]:
    """Bytes through the backup during one drill, its wall time, its result."""
    before = lab.bytes_through("backup")
    start = time.monotonic()
    reply = agent.command("drill", {**args, "wait": True}, timeout=timeout)
    took = time.monotonic() - start
    assert reply["ok"] and reply["result"]["ok"], reply
    time.sleep(0.3)         # the last answers still in flight through the ISP's counters
    return lab.bytes_through("backup") - before, took, reply["result"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    with tempfile.TemporaryDirectory() as d, FailoverLab() as lab:
        ca = make_ca(Path(d), "bench-ca")
        cert = make_server_cert(Path(d), ca, HTTPS_HOST)
        for host in (SIP_HOST, HTTPS_HOST):
            sh("ip", "-n", lab.net, "addr", "add", f"{host}/32", "dev", "lo")
        sip = in_netns(lab.net, lambda: UdpResponder(udp_socket(SIP_HOST, 5060), sip_reply()))
        https = in_netns(lab.net, lambda: HttpsServer(HTTPS_HOST, *cert))
        services = [{"name": "SIP", "check": f"sip:{SIP_HOST}"},
                    {"name": "HTTPS", "check": f"https://{HTTPS_HOST}:{https.port}/", "ca": str(ca[0])},
                    {"name": "DNS", "check": f"dns:{DNS_HOST}"},
                    {"name": "TCP", "check": f"tcp:{TARGETS[0]}:443"}]
        cases = [("passive, no services", [], {"kind": "passive"}),
                 ("passive, 4 services", services, {"kind": "passive"}),
                 ("full 10 s, no services", [], {"kind": "full", "duration_s": 10}),
                 ("full 10 s, 4 services", services, {"kind": "full", "duration_s": 10}),
                 ("full 60 s, 4 services", services, {"kind": "full", "duration_s": 60})]
        # the hot standby's trickle (one probe per 45 s) is not the drill's: made rarer than any run here
        probes = {"trickle_interval_s": 3600}
        print(f"{'drill':24} {'bytes median':>12} {'min':>7} {'max':>7} {'seconds':>8}")
        for name, svc, args in cases:
            config = drill_config(lab, Path(d), https, {"ca": str(ca[0])}, services=svc, probes=probes)
            with DrillAgent(lab, config) as agent:
                agent.wait_healthy(timeout=30)
                n = rounds if args["kind"] == "passive" or args["duration_s"] <= 10 else max(1, rounds // 3)
                samples = [measure(agent, lab, args, timeout=args.get("duration_s", 0) + 60) for _ in range(n)]
                agent.wait_for(lambda: agent.state.get("state") == "primary", 10, "back on the primary")
            sizes = [s[0] for s in samples]
            print(f"{name:24} {statistics.median(sizes):12.0f} {min(sizes):7d} {max(sizes):7d} "
                  f"{statistics.median(s[1] for s in samples):8.2f}")
        sip.close()
        https.close()


if __name__ == "__main__":
    main()
