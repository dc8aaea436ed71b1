"""Speed measurements in the netns lab (real namespaces, veth, NAT, tc tbf shaping): a link shaped to a known rate
is measured within a tolerance of that rate; the socket bound to the backup goes through the backup (the server
sees the backup ISP's address and the backup ISP's nftables counters count the bytes); iperf3 against a real
iperf3 server; failures give one line. The ISPs masquerade, so the address a server sees says which uplink a
measurement took (100.64.12.1: the backup)."""
from __future__ import annotations

import dataclasses

import pytest

from agent.config import SpeedtestConfig
from agent.speedtest import attach_speedtest
from agent.speedtest.measure import Plan
from agent.speedtest.service import cost_estimate
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab import SEEN_AS
from tests.speedtest.lab import (IPERF3_HOST, SPEED_HOST, SpeedInternet, from_router, shape_down,
                                 shape_up)

pytestmark = [pytest.mark.root, pytest.mark.slow]
TOLERANCE = (0.85, 1.05)     # measured / shaped: TCP and HTTP headers take a few %, tbf's burst adds a little


@pytest.fixture
def internet(lab, tls):
    net = SpeedInternet(lab, tls=tls["lab"])
    yield lab, net
    net.close()


def ratio(measured_bps: int, shaped_mbit: float) -> float:
    return measured_bps / (shaped_mbit * 1e6)


def test_a_shaped_backup_download_is_measured_at_its_rate_and_through_the_backup(internet):
    lab, net = internet
    shape_down(lab, "backup", 20)
    before = {link: lab.bytes_through(link) for link in ("primary", "backup")}
    plan = Plan(url=f"http://{SPEED_HOST}/bytes/100000000", max_bytes=10_000_000, timeout_s=10)
    result = from_router(lab, plan, "backup")
    assert result.ok and result.error is None, result
    assert TOLERANCE[0] <= ratio(result.down_bps, 20) <= TOLERANCE[1], result.down_bps
    assert [SEEN_AS[p] for p in net.http.peers] == ["backup"]           # not the preferred primary
    through = {link: lab.bytes_through(link) - before[link] for link in before}
    assert result.bytes == 10_000_000 <= through["backup"] <= cost_estimate(plan)     # what the budget allows for
    assert through["primary"] < 2_000        # not a byte of the measurement (a stray packet of the lab at most)


def test_the_binding_not_the_route_decides_which_link_is_measured(internet):
    lab, net = internet
    shape_down(lab, "primary", 40)
    shape_down(lab, "backup", 10)
    plan = Plan(url=f"http://{SPEED_HOST}/bytes/100000000", max_bytes=5_000_000, timeout_s=10)
    primary, backup = from_router(lab, plan, "primary"), from_router(lab, plan, "backup")
    assert [SEEN_AS[p] for p in net.http.peers] == ["primary", "backup"]
    assert TOLERANCE[0] <= ratio(primary.down_bps, 40) <= TOLERANCE[1], primary
    assert TOLERANCE[0] <= ratio(backup.down_bps, 10) <= TOLERANCE[1], backup


def test_a_shaped_upload_is_measured_at_its_rate(internet):
    lab, net = internet
    shape_up(lab, "backup", 10)
    result = from_router(lab, Plan(url=f"http://{SPEED_HOST}/bytes/2000000", upload_url=f"http://{SPEED_HOST}/upload",
                                   max_bytes=5_000_000, timeout_s=10), "backup")
    assert result.ok and result.error is None, result
    assert net.http.received == 5_000_000 and result.bytes == 7_000_000
    assert TOLERANCE[0] <= ratio(result.up_bps, 10) <= TOLERANCE[1], result.up_bps


def test_https_through_the_backup_with_the_test_ca(internet, tls):
    lab, net = internet
    shape_down(lab, "backup", 20)
    result = from_router(lab, Plan(url=f"https://{SPEED_HOST}/bytes/100000000", ca_file=tls["ca"],
                                   max_bytes=5_000_000), "backup")
    assert result.ok and result.method == "https" and result.server == SPEED_HOST, result
    assert TOLERANCE[0] <= ratio(result.down_bps, 20) <= TOLERANCE[1], result.down_bps
    assert [SEEN_AS[p] for p in net.https.peers] == ["backup"]


def test_iperf3_through_the_shaped_backup(internet):
    lab, _ = internet
    shape_down(lab, "backup", 20)
    shape_up(lab, "backup", 10)
    before = lab.bytes_through("backup")
    result = from_router(lab, Plan(iperf3=IPERF3_HOST, max_bytes=5_000_000, timeout_s=10), "backup")
    assert result.ok and result.error is None and result.method == "iperf3", result
    # iperf3 counts from its own start, slow start included: a little lower than the HTTP figure
    assert 0.75 <= ratio(result.down_bps, 20) <= TOLERANCE[1], result.down_bps
    assert 0.75 <= ratio(result.up_bps, 10) <= TOLERANCE[1], result.up_bps
    assert lab.bytes_through("backup") - before >= result.bytes


def test_failures_through_the_lab_each_give_one_line(internet, tls):
    lab, _ = internet
    refused = from_router(lab, Plan(url=f"http://{SPEED_HOST}:8080/bytes/1000000", timeout_s=2), "backup")
    assert refused.error == "connection refused"
    other_ca = from_router(lab, Plan(url=f"https://{SPEED_HOST}/bytes/1000000", ca_file=tls["other_ca"]), "backup")
    assert other_ca.error == "certificate: unable to get local issuer certificate"
    lab.blackhole("backup", True)
    lost = from_router(lab, Plan(url=f"http://{SPEED_HOST}/bytes/1000000", timeout_s=1), "backup")
    assert not lost.ok and lost.error == "no answer within 1 s"
    no_iperf3 = from_router(lab, Plan(iperf3=f"{SPEED_HOST}:5999", timeout_s=2), "primary")
    assert not no_iperf3.ok and no_iperf3.error.startswith("iperf3: unable to connect to server"), no_iperf3


def test_the_speedtest_command_of_a_running_agent_measures_the_link_it_names(internet):
    """The agent's failover state gives the binding (interface and learnt address): the real probers, netlink
    watcher and iproute2 backend run in the router namespace."""
    lab, net = internet
    shape_down(lab, "backup", 10)
    config = lab_config(lab)
    config = dataclasses.replace(config, speedtest=SpeedtestConfig(
        url=f"http://{SPEED_HOST}/bytes/100000000", cellular=True, cellular_max_bytes=2_000_000))
    with AgentUnderTest(lab, config, attach_more=lambda core, cfg: attach_speedtest(core, cfg)) as agent:
        agent.wait_healthy()
        backup = agent.command("speedtest", {"link": "backup"}, timeout=20)
        primary = agent.command("speedtest", {"link": "primary"}, timeout=20)
    assert backup["ok"] and backup["result"]["ok"] and backup["result"]["bytes"] == 2_000_000, backup
    assert TOLERANCE[0] <= ratio(backup["result"]["down_bps"], 10) <= TOLERANCE[1], backup
    assert primary["ok"] and primary["result"]["ok"] and primary["result"]["bytes"] == 50_000_000, primary
    assert [SEEN_AS[p] for p in net.http.peers] == ["backup", "primary"]
    assert [e.data["link"] for _, e in agent.events if e.kind == "speed_measured"] == ["backup", "primary"]
