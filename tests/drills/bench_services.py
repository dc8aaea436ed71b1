"""Service checks through the backup in the netns lab: time per check, timeout overshoot, bytes on the cellular
uplink per check (nftables counters at the backup ISP). Needs root. `python -m tests.drills.bench_services`."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from agent.drills.services import Binding, check
from tests.drills.servers import HttpsServer, UdpResponder, make_ca, make_server_cert, sip_reply, udp_socket
from tests.lab.netlab import DNS_HOST, TARGETS, FailoverLab, in_netns
from tests.routes.netlab import sh

SIP_HOST, HTTPS_HOST = "192.0.2.60", "192.0.2.43"
BACKUP = Binding(interface="wwan0", source="100.64.2.2")
ROUNDS = 20


def main() -> None:
    with tempfile.TemporaryDirectory() as d, FailoverLab() as lab:
        ca = make_ca(Path(d), "bench-ca")
        cert = make_server_cert(Path(d), ca, HTTPS_HOST)
        lab.ip("route", "add", "default", "via", "100.64.2.1", "dev", "wwan0")
        for host in (SIP_HOST, HTTPS_HOST):
            sh("ip", "-n", lab.net, "addr", "add", f"{host}/32", "dev", "lo")
        sip = in_netns(lab.net, lambda: UdpResponder(udp_socket(SIP_HOST, 5060), sip_reply()))
        echo = in_netns(lab.net, lambda: UdpResponder(udp_socket(SIP_HOST, 7), lambda data: data))
        https = in_netns(lab.net, lambda: HttpsServer(HTTPS_HOST, *cert))
        targets = {"sip": f"sip:{SIP_HOST}", "udp": f"udp:{SIP_HOST}:7", "tcp": f"tcp:{TARGETS[0]}:443",
                   "dns": f"dns:{DNS_HOST}", "https": f"https://{HTTPS_HOST}:{https.port}/"}
        print(f"{'check':6} {'median ms':>9} {'max ms':>7} {'bytes/check':>11}")
        for kind, target in targets.items():
            before = lab.bytes_through("backup")
            walls = []
            for _ in range(ROUNDS):
                def run():
                    start = time.monotonic()
                    result = check(target, BACKUP, 2.0, ca_file=str(ca[0]) if kind == "https" else "")
                    assert result.ok, (target, result)
                    return (time.monotonic() - start) * 1000
                walls.append(in_netns(lab.router, run))
            per_check = (lab.bytes_through("backup") - before) / ROUNDS
            print(f"{kind:6} {statistics.median(walls):9.2f} {max(walls):7.2f} {per_check:11.0f}")
        lab.blackhole("backup", True)
        for timeout_s in (0.2, 0.5, 1.0):
            def dead():
                start = time.monotonic()
                result = check(f"sip:{SIP_HOST}", BACKUP, timeout_s)
                assert not result.ok
                return time.monotonic() - start
            over = [(in_netns(lab.router, dead) - timeout_s) * 1000 for _ in range(5)]
            print(f"timeout {timeout_s:g} s: overshoot median {statistics.median(over):.2f} ms, max {max(over):.2f} ms")
        for server in (sip, echo, https):
            server.close()


if __name__ == "__main__":
    main()
