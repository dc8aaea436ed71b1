"""Fault catalogue, links that only real probes can tell apart (the netns lab of tests/lab, real kernels): a fiber
whose DNS alone fails, and a fiber behind a captive portal. Needs root."""
from __future__ import annotations

import http.server
import threading
import time

import pytest

from tests.faults.catalogue import Outcome, kinds
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import DNS_HOST, HTTP_HOST, TARGETS, in_netns

pytestmark = pytest.mark.root

MIXED = [TARGETS[0], f"tcp:{TARGETS[1]}:443", f"dns:{DNS_HOST}"]           # ICMP, TCP and DNS


def target_alive(agent: AgentUnderTest, link: str, target: str):
    return ((agent.state.get("links", {}).get(link, {}).get("targets") or {}).get(target) or {}).get("alive")


def test_dns_only_failure_is_not_an_outage(lab):
    with AgentUnderTest(lab, lab_config(lab, probes={"targets": MIXED})) as agent:
        agent.wait_healthy()
        t0 = time.monotonic()
        # The fiber's ISP drops DNS (its resolvers are down); everything else goes through.
        lab.nft("primary", "table inet rlf_dns {\n chain through {\n type filter hook forward priority 0;\n"
                           " udp dport 53 drop\n }\n}")
        dns = f"dns:{DNS_HOST}"
        agent.wait_for(lambda: target_alive(agent, "primary", dns) is False, 30, "the DNS target seen dead")
        seen = time.monotonic() - t0
        # The decision was taken with the DNS target dead: the link is up on its other targets, traffic stays.
        assert agent.state["links"]["primary"]["status"] == "up"
        assert agent.state["state"] == "primary"
        assert "failover" not in agent.kinds(t0)
        Outcome("links", "DNS-only failure on the fiber", f"DNS target marked dead after {seen:.1f} s; link up on "
                "ICMP and TCP, no failover", len(agent.kinds(t0)), 0, None, kinds(e for _, e in agent.events
                                                                             if _ >= t0)).report()


class _Portal(http.server.BaseHTTPRequestHandler):
    """What a hotel's or an unpaid line's portal answers to every HTTP request: a login page."""

    def do_GET(self) -> None:
        body = b"<html>Please log in</html>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_captive_portal_is_an_outage(lab):
    probes = {"targets": [f"http://{HTTP_HOST}/generate_204", TARGETS[0], f"tcp:{TARGETS[1]}:443"]}
    with AgentUnderTest(lab, lab_config(lab, probes=probes)) as agent:
        agent.wait_healthy()
        isp = lab.isp["primary"]
        portal = in_netns(isp, lambda: http.server.ThreadingHTTPServer(("0.0.0.0", 8080), _Portal))
        threading.Thread(target=portal.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        try:
            t0 = time.monotonic()
            # The ISP now sends every web request to its portal and lets nothing else through.
            lab.nft("primary", "table ip rlf_portal {\n"
                               " chain pre {\n type nat hook prerouting priority -100;\n"
                               "  tcp dport 80 redirect to :8080\n }\n"
                               " chain through {\n type filter hook forward priority 0;\n"
                               '  iifname "down0" drop\n }\n}')
            at, _ = agent.wait_event("failover", t0, 30)
            took = at - t0
            assert agent.state["active_uplink"] == "backup"
            Outcome("links", "captive portal on the fiber", f"HTTP probe got 200 instead of 204, other probes "
                    f"blocked: failover in {took:.1f} s", len(agent.kinds(t0)), 0, took,
                    kinds(e for t, e in agent.events if t >= t0)).report()
        finally:
            portal.shutdown()
            portal.server_close()
