"""IPv6 in the failover lab: every probe kind over IPv6 bound to its uplink, and failover decided by IPv6 probes,
with the IPv6 default route switched along (checked with `ip -6 route`). Waits are generous; how fast is
measured by tests/bench/bench_ipv6.py."""
from __future__ import annotations

import time

import pytest

from agent.linkmon.methods import Binding, ProbeFailed, ProbeOptions, probe
from agent.linkmon.targets import parse_target
from tests.conftest import require_root
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import TARGETS, FailoverLab, in_netns
from tests.lab.netlab6 import DNS_HOST6, HTTP_HOST6, TARGETS6, add_ipv6_services, with_ipv6_gateways
from tests.routes.netlab import sh
from tests.routes.netlab6 import ADDRESS6, GATEWAY6, blackhole6, exit_taken6

pytestmark = [pytest.mark.root, pytest.mark.slow]
QUICK = {"hold_down_s": 2.0}


@pytest.fixture
def lab6():
    require_root()
    with FailoverLab() as lab:
        add_ipv6_services(lab)
        yield lab


def probe_in_router(lab, spec: str, interface: str, source6: str | None = None) -> float:
    return in_netns(lab.router, lambda: probe(parse_target(spec), Binding(interface, None, source6),
                                              ProbeOptions(timeout_s=1.0, icmp_raw=True)))


def defaults6(lab) -> list[str]:
    return [line.strip() for line in lab.ip("-6", "route", "show", "default").splitlines()]


@pytest.mark.parametrize("spec", [TARGETS6[0], f"tcp:[{TARGETS6[0]}]:443", f"dns:{DNS_HOST6}",
                                  f"http://[{HTTP_HOST6}]/generate_204"])
def test_each_ipv6_probe_kind_tests_the_link_it_is_bound_to(lab6, spec):
    # the main table prefers the primary: only the interface binding takes probes to the backup
    lab6.ip("-6", "route", "add", "default", "via", GATEWAY6, "dev", "wan0")
    lab6.ip("-6", "route", "add", "default", "via", GATEWAY6, "dev", "wwan0", "metric", "2000")
    assert probe_in_router(lab6, spec, "wan0") >= 0
    assert probe_in_router(lab6, spec, "wwan0") >= 0
    assert probe_in_router(lab6, spec, "wwan0", ADDRESS6["backup"]) >= 0
    blackhole6(lab6, "backup", True)   # the backup's IPv6 dead, its IPv4 and the primary fine
    assert probe_in_router(lab6, spec, "wan0") >= 0
    with pytest.raises(ProbeFailed):
        probe_in_router(lab6, spec, "wwan0")


def test_an_ipv6_probe_cannot_take_an_ipv4_source(lab6):
    with pytest.raises(ProbeFailed, match="cannot bind to 2001:db8:9::1"):
        probe_in_router(lab6, TARGETS6[0], "wan0", "2001:db8:9::1")   # not the router's: refused, said so


def test_a_blackhole_on_the_primarys_ipv6_path_fails_over_through_ipv6_probes(lab6):
    config = with_ipv6_gateways(lab_config(lab6, probes={"targets": list(TARGETS6)}, failover=QUICK))
    with AgentUnderTest(lab6, config) as agent:
        agent.wait_healthy()
        assert defaults6(lab6) == [f"default via {GATEWAY6} dev wan0 proto 82 metric 10 pref medium",
                                   f"default via {GATEWAY6} dev wwan0 proto 82 metric 20 pref medium"]
        assert exit_taken6(lab6) == "primary"
        cut = time.monotonic()
        blackhole6(lab6, "primary", True)    # IPv4 on the primary is fine: only IPv6 probes can see this
        _, failover = agent.wait_event("failover", cut, 10)
        assert failover.data["reason"] == "no_answer" and failover.data["to"] == "backup"
        assert defaults6(lab6) == [f"default via {GATEWAY6} dev wwan0 proto 82 metric 10 pref medium",
                                   f"default via {GATEWAY6} dev wan0 proto 82 metric 20 pref medium"]
        assert exit_taken6(lab6) == "backup" and lab6.exit_taken() == "backup"
        rules = lab6.ip("-6", "rule")
        assert f"from {ADDRESS6['primary']} lookup 101 proto 82" in rules
        assert f"from {ADDRESS6['backup']} lookup 102 proto 82" in rules

        back = time.monotonic()
        blackhole6(lab6, "primary", False)
        agent.wait_event("failback", back, 20)
        assert defaults6(lab6)[0] == f"default via {GATEWAY6} dev wan0 proto 82 metric 10 pref medium"
        assert exit_taken6(lab6) == "primary" and lab6.exit_taken() == "primary"


def test_mixed_targets_keep_the_failover_semantics(lab6):
    """Three IPv4 and three IPv6 targets: a dead IPv6 path alone is half the targets lost (degraded, traffic
    stays); the whole line dead is an outage."""
    config = with_ipv6_gateways(lab_config(lab6, probes={"targets": [*TARGETS, *TARGETS6]}, failover=QUICK))
    with AgentUnderTest(lab6, config) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        blackhole6(lab6, "primary", True)
        agent.wait_event("link_degraded", start, 30)
        agent.wait_for(lambda: 0.3 < (agent.state["links"]["primary"]["loss"] or 0) < 0.7, 30,
                       "a window with the IPv6 half lost")
        assert "failover" not in agent.kinds(start) and agent.state["active_uplink"] == "primary"
        cut = time.monotonic()
        lab6.blackhole("primary", True)
        _, failover = agent.wait_event("failover", cut, 15)
        assert failover.data["reason"] == "no_answer"
        assert exit_taken6(lab6) == "backup" and lab6.exit_taken() == "backup"


def test_a_drill_with_ipv6_targets_proves_ipv6_traffic_through_the_backup(lab6):
    config = with_ipv6_gateways(lab_config(lab6, probes={"targets": list(TARGETS6)}))
    with AgentUnderTest(lab6, config) as agent:
        agent.wait_healthy()
        start = time.monotonic()
        assert agent.command("drill", {"duration_s": 5})["ok"]
        agent.wait_for(lambda: agent.state.get("state") == "drill", 5, "the drill")
        assert exit_taken6(lab6) == "backup"
        _, result = agent.wait_event("drill_result", start, 20)
        # the route check found the IPv6 source the kernel picks for the target on the backup's interface
        assert result.data["ok"] is True, result.data
        assert result.data["route"]["uplink"] == "backup"
        agent.wait_for(lambda: agent.state.get("state") == "primary", 5, "back on the primary")
        assert exit_taken6(lab6) == "primary"


def test_cold_standby_the_backups_late_ipv6_address_gets_its_route(lab6):
    """Cellular switched off loses its IPv6 addresses (keep_addr_on_down = 0); a real session brings one back by
    router advertisement some time after the link is up. The route follows the address."""
    lab6.ip("-6", "route", "flush", "proto", "82")
    config = with_ipv6_gateways(lab_config(lab6, probes={"targets": list(TARGETS6)},
                                           failover={**QUICK, "standby": "cold"}))
    with AgentUnderTest(lab6, config) as agent:
        agent.wait_for(lambda: agent.state.get("links", {}).get("primary", {}).get("status") == "up", 15,
                       "the primary up")
        # cellular off: the kernel dropped its routes; IPv6 has only the primary's default
        assert defaults6(lab6) == [f"default via {GATEWAY6} dev wan0 proto 82 metric 10 pref medium"]
        cut = time.monotonic()
        lab6.carrier("primary", False)
        agent.wait_event("failover", cut, 10)
        agent.wait_for(lambda: "UP" in lab6.ip("-o", "link", "show", "wwan0").split(">")[0], 5, "cellular up")
        assert ADDRESS6["backup"] not in lab6.ip("-6", "addr", "show", "dev", "wwan0")
        lab6.ip("-6", "addr", "add", f"{ADDRESS6['backup']}/64", "dev", "wwan0", "nodad")   # the session's RA
        came = time.monotonic()
        agent.wait_for(lambda: any("dev wwan0 proto 82 metric 10" in r for r in defaults6(lab6)), 10,
                       "the backup's IPv6 default")
        # the netlink watcher hears the address and the controller re-checks at once (not at its 5 s reconcile)
        assert time.monotonic() - came < 2
        assert f"from {ADDRESS6['backup']} lookup 102 proto 82" in lab6.ip("-6", "rule")
        assert exit_taken6(lab6) == "backup"


def test_icmpv6_over_a_datagram_socket(lab6):
    """systemd opens net.ipv4.ping_group_range to everyone, and the agent then uses datagram ICMP sockets
    (icmp_socket = "auto"): ICMPv6 goes through the same kind."""
    lab6.ip("-6", "route", "add", "default", "via", GATEWAY6, "dev", "wan0")
    lab6.ip("-6", "route", "add", "default", "via", GATEWAY6, "dev", "wwan0", "metric", "2000")
    sh("ip", "netns", "exec", lab6.router, "sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647")
    target = parse_target(TARGETS6[1])
    for interface in ("wan0", "wwan0"):
        assert in_netns(lab6.router, lambda i=interface: probe(target, Binding(i), ProbeOptions(
            timeout_s=1.0, icmp_raw=False))) >= 0
    blackhole6(lab6, "backup", True)
    with pytest.raises(ProbeFailed, match="timeout"):
        in_netns(lab6.router, lambda: probe(target, Binding("wwan0"), ProbeOptions(timeout_s=0.5, icmp_raw=False)))
