"""LAN flows across a switch with relais's own flows table (agent/flows.py, board/traffic/flows.py), the agent
running for real in the LAN lab (tests/lab/lan.py):
- a LAN host's IPv6 flow (ULA-numbered LAN, NAT66 by relais) is answered again within 3 s of a failover and of
  the failback, and relais's conntrack flush finds and deletes its IPv6 NAT entry;
- a "VPN" flow begun during the outage stays on the backup after the failback (sticky), not flushed, while a new
  connection takes the primary.
How fast, as medians of 10, is `make bench-failover` (BENCHMARKS.md "LAN flows across failover: IPv4 and IPv6")."""
from __future__ import annotations

import dataclasses
import time

import pytest

from agent.config import from_dict
from agent.flows import LanFlows
from board.routes.conntrack import forget_nat
from tests.conftest import require_root
from tests.lab.agent import AgentUnderTest, lab_config
from tests.lab.netlab6 import with_ipv6_gateways
from tests.routes.netlab6 import ADDRESS6, blackhole6

pytestmark = [pytest.mark.root, pytest.mark.slow]
QUICK = {"hold_down_s": 1.0, "flap_window_s": 0.1}
RECOVERY_S = 3.0   # issue 13: answered again within 3 s of each switch and each failback


def flows_config(lab, **traffic):
    config = lab_config(lab, failover=QUICK)
    if lab.ipv6:
        config = with_ipv6_gateways(config)
    config = dataclasses.replace(config, traffic=dataclasses.replace(config.traffic, lan_interface="lan0",
                                                                     **traffic))
    config.traffic.validate()
    return config


class FlowsPart:
    """attach_more for AgentUnderTest: the LanFlows part on the agent's core, started like the runtime does."""

    def __init__(self, start: bool = True):
        self.part: LanFlows | None = None
        self.start = start

    def __call__(self, core, config) -> None:
        self.part = LanFlows(core, config)
        if self.start:
            self.part.start()


def test_a_lan_hosts_ipv6_flow_is_answered_again_within_3_s_of_failover_and_failback():
    require_root()
    from tests.lab.lan import LAN_HOST6, PHONE_PORT, LanLab
    with LanLab("masquerade", ipv6=True) as lab:
        flows = FlowsPart(start=False)
        with AgentUnderTest(lab, flows_config(lab, nat6=True), attach_more=flows) as agent:
            try:
                agent.wait_healthy()
                # the control: a ULA-numbered LAN without NAT66 does not reach the IPv6 internet
                early = lab.phone(ipv6=True, port=PHONE_PORT + 10)
                agent.wait_for(lambda: len(early.sent_at) > 25, 5, "half a second of datagrams")
                assert early.answers == []
                agent.core.call_later(0, lambda now: flows.part.start())
                agent.wait_for(lambda: flows.part.requested and agent.core.state["flows"].get("applied"), 5,
                               "the flows table applied")
                # its un-NATed entry, kept alive by its datagrams, would never be NATed: the part forgets it
                revived = time.monotonic()
                agent.wait_for(lambda: early.first_answer(revived, "primary"), RECOVERY_S, "the early flow revived")
                early.close()
                phone6 = lab.phone(ipv6=True)
                agent.wait_for(lambda: phone6.first_answer(0, "primary"), 5, "IPv6 answered via the primary")

                t0 = time.monotonic()
                lab.blackhole("primary", True)
                blackhole6(lab, "primary", True)
                switched, _ = agent.wait_event("failover", t0, 20)
                answered = agent.wait_for(lambda: phone6.first_answer(switched, "backup"), 10, "IPv6 via the backup")
                assert answered - switched < RECOVERY_S
                assert lab.conntrack_nat_addresses(PHONE_PORT, LAN_HOST6) == [ADDRESS6["backup"]]

                t1 = time.monotonic()
                lab.blackhole("primary", False)
                blackhole6(lab, "primary", False)
                switched, _ = agent.wait_event("failback", t1, 20)
                answered = agent.wait_for(lambda: phone6.first_answer(switched, "primary"), 10,
                                          "IPv6 via the primary")
                assert answered - switched < RECOVERY_S
                assert lab.conntrack_nat_addresses(PHONE_PORT, LAN_HOST6) == [ADDRESS6["primary"]]

                # relais's flush reads the IPv6 NAT66 entries: the phone's is the one NATed to the primary
                phone6.close()
                done = forget_nat([ADDRESS6["primary"]], lab.router)
                assert done.deleted == 1 and lab.conntrack_nat_addresses(PHONE_PORT, LAN_HOST6) == []
            finally:
                flows.part.stop()
        assert "relais_flows" not in _nft_tables(lab)        # removed on stop


def test_a_vpn_begun_on_the_backup_stays_there_after_the_failback_while_new_flows_take_the_primary():
    require_root()
    from tests.lab.lan import UPLINK_ADDRESS, VPN_PORT, LanLab
    with LanLab("snat") as lab:     # snat: the failback's flush would cut the VPN if it did not skip it
        flows = FlowsPart()
        with AgentUnderTest(lab, flows_config(lab, sticky="all"), attach_more=flows) as agent:
            try:
                agent.wait_healthy()
                t0 = time.monotonic()
                lab.blackhole("primary", True)
                agent.wait_event("failover", t0, 20)
                vpn = lab.phone(period_s=0.05, port=VPN_PORT)
                agent.wait_for(lambda: vpn.first_answer(t0, "backup"), 5, "the VPN via the backup")
                agent.wait_for(lambda: "fwmark 0x100000/0xf00000 iif lan0 lookup 102" in lab.ip("rule"), 2,
                               "the sticky rule")

                t1 = time.monotonic()
                lab.blackhole("primary", False)
                switched, _ = agent.wait_event("failback", t1, 20)
                assert lab.lan_exit_taken() == "primary"          # a new connection takes the primary
                agent.wait_for(lambda: len(agent.controller.routes.nat.results) == 2, 5, "the failback's flush")
                agent.wait_for(lambda: vpn.sent_at[-1] - switched > 1.0, 5, "a second of the VPN after failback")
                since = [up for _, up, seq in list(vpn.answers) if vpn.sent_at[seq] >= switched]
                assert len(since) >= 15 and set(since) == {"backup"}
                assert lab.conntrack_nat_addresses(VPN_PORT) == [UPLINK_ADDRESS["backup"]]
                assert agent.controller.routes.nat.results[-1].deleted == 0   # the VPN's entry was skipped
            finally:
                flows.part.stop()
        assert "proto 83" not in lab.ip("rule") + lab.ip("-6", "rule")     # the sticky rules removed on stop


def _nft_tables(lab) -> str:
    from tests.routes.netlab import sh
    return sh("ip", "netns", "exec", lab.router, "nft", "list", "tables")


def test_pinned_critical_flows_take_the_backup_while_others_stay_on_the_primary():
    """The rules and the flush alone (no agent: when to pin is a pure decision, tests/traffic/test_flows.py): a LAN
    flow of class critical leaves through the backup while the pin rule is there, a normal one through the
    preferred primary; with SNAT the critical flow's old mapping is forgotten by its class, not the others'."""
    require_root()
    from agent.traffic import board_rules
    from board.traffic import FlowPlan, FlowRules, Plan, TrafficRules
    from board.traffic.ruleset import CLASS_MASK, MARKS
    from tests.lab.lan import ECHO_PORT, UPLINK_ADDRESS, LanLab
    from tests.lab.netlab import GATEWAYS
    with LanLab("snat") as lab:
        for table, link, dev, metric in ((101, "primary", "wan0", "10"), (102, "backup", "wwan0", "20")):
            lab.ip("route", "add", "default", "via", GATEWAYS[link], "dev", dev, "metric", metric)
            lab.ip("route", "add", "default", "via", GATEWAYS[link], "dev", dev, "table", str(table))
        echo_critical = from_dict({"traffic": {"enabled": True, "builtin": False, "critical": [
            {"name": "phone", "proto": "udp", "port": ECHO_PORT}]}}).traffic
        classes, flows = TrafficRules(lab.router), FlowRules(lab.router)
        classes.apply(Plan(board_rules(echo_critical)))
        unpinned, pinned = FlowPlan("lan0"), FlowPlan("lan0", pin_table=102, pin_interface="wwan0")
        flows.apply(unpinned)
        try:
            phone = lab.phone()
            wait(lambda: phone.first_answer(0, "primary"), "the phone answered through the primary")
            flows.apply(pinned)
            assert lab.lan_exit_taken() == "primary"             # a normal flow: the main table's choice
            # that TCP connection's entry is normal and goes; the phone's, critical, is kept
            assert forget_nat([UPLINK_ADDRESS["primary"]], lab.router, mark=(MARKS["normal"], CLASS_MASK)).deleted \
                == 1
            assert lab.conntrack_nat_addresses() == [UPLINK_ADDRESS["primary"]]
            assert forget_nat([UPLINK_ADDRESS["primary"]], lab.router,
                              mark=(MARKS["critical"], CLASS_MASK)).deleted == 1
            moved = time.monotonic()
            wait(lambda: phone.first_answer(moved, "backup"), "the phone through the backup")
            flows.apply(unpinned)
            assert forget_nat([UPLINK_ADDRESS["backup"]], lab.router, mark=(MARKS["critical"], CLASS_MASK)).deleted \
                == 1
            back = time.monotonic()
            wait(lambda: phone.first_answer(back, "primary"), "the phone back on the primary")
            flows.apply(pinned)
            flows.apply(pinned)                                   # idempotent: one rule per family, not two
            assert lab.ip("rule").count("iif lan0 lookup 102 proto 83") == 1
            assert lab.ip("-6", "rule").count("iif lan0 lookup 102 proto 83") == 1
        finally:
            flows.remove()
            classes.remove()
        assert "proto 83" not in lab.ip("rule") + lab.ip("-6", "rule")


def wait(predicate, what: str, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
