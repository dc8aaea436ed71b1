"""Drills in the netns lab (real namespaces, veth, NAT, the iproute2 backend, the real probers, route check and
service checks): a SIP-like UDP responder and an HTTPS server (a CA made for the test) in the "internet"
namespace. The ISPs masquerade, so the address a server sees says which uplink a check took (SEEN_AS).

The scheduled drill runs on the agent's wall clock set a few seconds before its slot (the clock is the agent's
own, passed in: nothing waits for a real 03:00)."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.drills.lab_agent import HTTPS_HOST, SIP_HOST, DrillAgent, drill_config
from tests.drills.servers import HttpsServer, UdpResponder, make_ca, make_server_cert, sip_reply, udp_socket
from tests.lab.netlab import SEEN_AS, TARGETS, in_netns
from tests.routes.netlab import sh

pytestmark = [pytest.mark.root, pytest.mark.slow]
LEAD_S = 12.0      # the agent starts this long before the slot: time to see both links healthy


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca = make_ca(d, "relais-lab-ca")
    return {"ca": str(ca[0]), "server": make_server_cert(d, ca, HTTPS_HOST)}


@pytest.fixture
def internet(lab, tls):
    for host in (SIP_HOST, HTTPS_HOST):
        sh("ip", "-n", lab.net, "addr", "add", f"{host}/32", "dev", "lo")
    sip = in_netns(lab.net, lambda: UdpResponder(udp_socket(SIP_HOST, 5060), sip_reply("200 OK")))
    https = in_netns(lab.net, lambda: HttpsServer(HTTPS_HOST, *tls["server"]))
    yield lab, sip, https
    sip.close()
    https.close()


def test_a_scheduled_full_drill_fires_at_its_time_and_checks_each_service_through_the_backup(
        internet, tls, tmp_path):
    lab, sip, https = internet
    now = time.time()
    # the agent's clock reads LEAD_S before the next 03:00 UTC
    slot = datetime.fromtimestamp(now, timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0).timestamp()
    slot += 86400 if slot < now + LEAD_S else 0
    config = drill_config(lab, tmp_path, https, tls, drills={"schedule": "0 3 * * *", "kind": "full",
                                                               "duration_s": 5})
    with DrillAgent(lab, config, offset=slot - LEAD_S - now) as agent:
        agent.wait_healthy()
        assert agent.core.state["drills"]["next"] == slot
        assert agent.wall() < slot and "drill_started" not in agent.kinds()
        _, started = agent.wait_event("drill_started", 0, LEAD_S + 5)
        assert slot <= started.ts < slot + 1.0                  # at its time, by the agent's clock
        assert lab.exit_taken() == "backup"                      # traffic moved
        _, result = agent.wait_event("drill_result", 0, 30)
        d = result.data
        assert (d["kind"], d["trigger"], d["ok"], d["reason"]) == ("full", "schedule", True, "completed"), d
        assert d["route"]["uplink"] == "backup" and 0 < d["recovery_s"] < 5
        assert [(s["name"], s["ok"], s["detail"]) for s in d["services"]] == [
            ("Téléphonie", True, "SIP/2.0 200 OK"), ("Cloud", True, "HTTP 200"),
            ("DNS", True, "NXDOMAIN for example.com")]   # the lab resolver knows no names: it works
        assert all(s["rtt_ms"] > 0 for s in d["services"])
        assert [SEEN_AS[p] for p in sip.peers] == ["backup"] and [SEEN_AS[p] for p in https.peers] == ["backup"]
        agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "back on the primary")
        assert lab.exit_taken() == "primary"
        assert agent.kinds().count("drill_started") == 1 and agent.kinds().count("drill_result") == 1
        assert (tmp_path / "drills.json").exists()


def test_a_failing_service_makes_the_drill_fail(internet, tls, tmp_path):
    lab, sip, https = internet
    services = [{"name": "Téléphonie", "check": f"sip:{SIP_HOST}"},
                {"name": "Cloud", "check": f"https://{HTTPS_HOST}:{https.port}/broken", "ca": tls["ca"]},
                {"name": "VPN", "check": f"udp:{SIP_HOST}:1194"}]
    with DrillAgent(lab, drill_config(lab, tmp_path, https, tls, services=services)) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        assert agent.command("drill", {"kind": "full", "duration_s": 5})["ok"]
        _, result = agent.wait_event("drill_result", start, 30)
        d = result.data
        assert d["ok"] is False and d["route"]["uplink"] == "backup"           # the path itself was fine
        assert [(s["name"], s["ok"], s["detail"]) for s in d["services"]] == [
            ("Téléphonie", True, "SIP/2.0 200 OK"), ("Cloud", False, "HTTP 500, expected 2xx or 3xx"),
            ("VPN", False, "port unreachable (ICMP)")]
        assert d["reason"] == "service Cloud failed: HTTP 500, expected 2xx or 3xx (and 1 more)"


def test_a_passive_drill_does_not_move_traffic(internet, tls, tmp_path):
    lab, sip, https = internet
    with DrillAgent(lab, drill_config(lab, tmp_path, https, tls)) as agent:
        agent.wait_healthy()
        routes_before = lab.ip("route", "show", "table", "all")
        flow = lab.flow()
        start = time.monotonic()
        reply = agent.command("drill", {"kind": "passive", "wait": True}, timeout=20)
        assert reply["ok"], reply
        d = reply["result"]
        assert (d["kind"], d["trigger"], d["ok"]) == ("passive", "command", True), d
        assert [(s["name"], s["ok"]) for s in d["path"]] == [("data", True), ("latency", True)]
        assert d["path"][0]["detail"] == "wwan0 100.64.2.2" and d["backup"]["sent"] == len(TARGETS)
        assert [s["ok"] for s in d["services"]] == [True, True, True]
        assert [SEEN_AS[p] for p in sip.peers] == ["backup"] and [SEEN_AS[p] for p in https.peers] == ["backup"]
        # nothing moved: the routes are as they were, the flow never left the primary, no failover event
        assert lab.ip("route", "show", "table", "all") == routes_before
        assert flow.first_through("backup", start) is None and flow.first_through("primary", start) is not None
        assert lab.exit_taken() == "primary"
        assert not {"drill_started", "failover"} & set(agent.kinds(start))
        flow.close()
