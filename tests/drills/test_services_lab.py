"""Service checks through the backup uplink in the netns lab (real namespaces, veth, NAT): a SIP-like UDP
responder and an HTTPS server (a CA made for the test) in the "internet" namespace, checked from the router with
the socket bound to wwan0 and its address. The ISPs masquerade, so the address a server sees says which uplink
the check took (100.64.12.1: the backup). Failures wait out short timeouts, measured, never a sleep."""
from __future__ import annotations

import time

import pytest

from agent.drills.services import Binding, ServiceResult, check
from tests.drills.servers import (HttpsServer, UdpResponder, make_ca, make_server_cert, sip_reply,
                                  udp_socket)
from tests.lab.netlab import DNS_HOST, SEEN_AS, TARGETS, in_netns
from tests.routes.netlab import sh

pytestmark = [pytest.mark.root, pytest.mark.slow]
SIP_HOST, HTTPS_HOST = "192.0.2.60", "192.0.2.43"
BACKUP = Binding(interface="wwan0", source="100.64.2.2")
PRIMARY = Binding(interface="wan0", source="100.64.1.2")
TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca, other_ca = make_ca(d, "relais-lab-ca"), make_ca(d, "someone-else")
    return {"ca": str(ca[0]), "other_ca": str(other_ca[0]), "server": make_server_cert(d, ca, HTTPS_HOST)}


@pytest.fixture
def internet(lab, tls):
    """The lab with routes on both uplinks (the primary preferred), a SIP responder and an HTTPS server."""
    lab.ip("route", "add", "default", "via", "100.64.1.1", "dev", "wan0")
    lab.ip("route", "add", "default", "via", "100.64.2.1", "dev", "wwan0", "metric", "20")
    for host in (SIP_HOST, HTTPS_HOST):
        sh("ip", "-n", lab.net, "addr", "add", f"{host}/32", "dev", "lo")
    sip = in_netns(lab.net, lambda: UdpResponder(udp_socket(SIP_HOST, 5060), sip_reply("404 Not Found")))
    https = in_netns(lab.net, lambda: HttpsServer(HTTPS_HOST, *tls["server"]))
    yield lab, sip, https
    sip.close()
    https.close()


def from_router(lab, target: str, binding: Binding = BACKUP, **kw) -> tuple[ServiceResult, float]:
    def run():
        start = time.monotonic()
        return check(target, binding, TIMEOUT_S, **kw), time.monotonic() - start
    return in_netns(lab.router, run)


def test_sip_options_answered_through_the_backup(internet):
    lab, sip, _ = internet
    result, _ = from_router(lab, f"sip:{SIP_HOST}")
    assert result == ServiceResult(True, result.rtt_ms, "SIP/2.0 404 Not Found") and result.rtt_ms > 0
    assert [SEEN_AS[p] for p in sip.peers] == ["backup"]        # not the preferred primary
    assert sip.requests[0].startswith(f"OPTIONS sip:{SIP_HOST}:5060 SIP/2.0\r\n".encode())
    from_router(lab, f"sip:{SIP_HOST}", PRIMARY)
    assert [SEEN_AS[p] for p in sip.peers] == ["backup", "primary"]   # the binding, not the route, decides


def test_https_with_the_test_ca_through_the_backup(internet, tls):
    lab, _, https = internet
    result, _ = from_router(lab, f"https://{HTTPS_HOST}:{https.port}/moved", ca_file=tls["ca"])
    assert result.ok and result.detail == "HTTP 301"
    assert [SEEN_AS[p] for p in https.peers] == ["backup"]


def test_https_with_a_certificate_the_ca_did_not_sign_fails(internet, tls):
    lab, _, https = internet
    result, _ = from_router(lab, f"https://{HTTPS_HOST}:{https.port}/", ca_file=tls["other_ca"])
    assert not result.ok and result.detail == "certificate: unable to get local issuer certificate"
    assert not https.peers


@pytest.mark.parametrize("target", [f"tcp:{TARGETS[0]}:443", f"dns:{DNS_HOST}:example.com"])
def test_tcp_and_dns_through_the_backup(internet, target):
    result, _ = from_router(internet[0], target)
    assert result.ok, result.detail


def test_a_dead_backup_is_a_timeout_with_a_clear_detail_while_the_primary_answers(internet, tls):
    lab, sip, https = internet
    lab.blackhole("backup", True)
    for target, kw in ((f"sip:{SIP_HOST}", {}), (f"https://{HTTPS_HOST}:{https.port}/", {"ca_file": tls["ca"]}),
                       (f"udp:{SIP_HOST}:5060", {})):
        result, took = from_router(lab, target, **kw)
        assert result == ServiceResult(False, None, f"no answer within {TIMEOUT_S:g} s"), target
        assert TIMEOUT_S <= took < TIMEOUT_S + 1.0, (target, took)
    assert not sip.peers and not https.peers
    assert from_router(lab, f"sip:{SIP_HOST}", PRIMARY)[0].ok      # the service itself is up


def test_udp_to_a_closed_port_is_port_unreachable_through_the_backup(internet):
    lab, _, _ = internet
    result, took = from_router(lab, f"udp:{SIP_HOST}:5999")
    assert result == ServiceResult(False, None, "port unreachable (ICMP)")
    assert took < TIMEOUT_S        # the ICMP error came back through the ISP's NAT and ended the wait


def test_the_backup_without_carrier_fails_at_once(internet):
    lab, _, _ = internet
    sh("ip", "-n", lab.router, "link", "set", "wwan0", "down")
    result, took = from_router(lab, f"sip:{SIP_HOST}")
    assert not result.ok and result.detail == "network is unreachable"
    assert took < TIMEOUT_S
