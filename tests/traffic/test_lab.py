"""Traffic classes in network namespaces (tests/traffic/lab.py): the real nft and tc, a LAN device's phone call
during a bulk download over the shaped cellular link, and the agent part switching the table with the uplink."""
import json
import time

import pytest

from agent.config import from_dict
from agent.core import Core
from agent.traffic import TrafficClasses, board_rules
from board.traffic import Limit, Plan, TrafficRules
from tests.routes.netlab import sh
from tests.traffic.lab import BULK_PORT, LAN_HOST, LAN_MAC
from tests.virtual import FakeClock

RAW = {"traffic": {"enabled": True, "bulk_rate_kbit": 1000, "cellular_upload_kbit": 4000,
                   "bulk": [{"name": "downloads", "proto": "tcp", "port": BULK_PORT}],
                   "critical": [{"name": "pos", "mac": LAN_MAC, "src": LAN_HOST, "proto": "tcp", "port": 7000}]}}
CFG = from_dict(RAW)
RULES = board_rules(CFG.traffic)
MAX_LOSS_PCT, MAX_JITTER_MS = 1.0, 20.0


def chains(lab) -> set[str]:
    out = json.loads(lab.nft("-j", "list", "ruleset"))["nftables"]
    return {f'{c["chain"]["table"]}/{c["chain"]["name"]}' for c in out if "chain" in c}


def root_qdisc(lab) -> str:
    return sh("ip", "netns", "exec", lab.router, "tc", "qdisc", "show", "dev", "wwan0", "root")


def test_own_table_replaced_whole_and_removed_other_tables_untouched(cell_lab):
    lab = cell_lab
    lab.nft("add table inet site_rules; add chain inet site_rules through { type filter hook forward priority 0; };"
            " add rule inet site_rules through counter")
    before = chains(lab)
    rules = TrafficRules(lab.router)
    rules.apply(Plan(RULES))
    assert chains(lab) - before == {"relais_traffic/classify"}
    rules.apply(Plan(RULES, "wwan0", (("bulk", Limit("block")),), 4000))
    assert chains(lab) - before == {"relais_traffic/classify", "relais_traffic/cellular", "relais_traffic/egress"}
    assert "htb 7e1a:" in root_qdisc(lab)
    rules.apply(Plan(RULES))            # back on a fixed line: the cellular chains and the qdisc go
    assert chains(lab) - before == {"relais_traffic/classify"}
    assert "htb 7e1a:" not in root_qdisc(lab)
    rules.remove()
    rules.remove()                      # twice: nothing there is no error
    assert chains(lab) == before        # the site's own table, chain and rule are as they were
    assert "counter" in lab.nft("list", "table", "inet", "site_rules")


def test_a_qdisc_that_is_not_relais_is_left_alone(cell_lab):
    lab = cell_lab
    sh("ip", "netns", "exec", lab.router, "tc", "qdisc", "add", "dev", "wwan0", "root", "handle", "1:", "tbf",
       "rate", "10mbit", "burst", "32kbit", "latency", "50ms")
    TrafficRules(lab.router).remove_qdisc("wwan0")
    assert "tbf 1:" in root_qdisc(lab)


def test_a_bad_ruleset_is_one_line_and_changes_nothing(cell_lab):
    from board.traffic import TrafficError
    lab = cell_lab
    rules = TrafficRules(lab.router)
    rules.apply(Plan(RULES))
    before = lab.nft("list", "table", "inet", "relais_traffic")
    with pytest.raises(TrafficError) as failed:
        rules.apply(Plan(RULES, "wwan0", (("bulk", Limit("limit", 0)),)))    # a rate of 0: nft refuses it
    assert "\n" not in str(failed.value) and str(failed.value).startswith("nft -f -:")
    assert lab.nft("list", "table", "inet", "relais_traffic") == before     # the transaction left all as it was


def test_the_part_follows_the_uplink_and_survives_a_crash(cell_lab):
    lab = cell_lab
    clock = FakeClock()
    config = from_dict({**RAW, "board": {"cellular_interface": "wwan0", "netns": lab.router}})

    def settle(core, part, want) -> None:
        part.check(clock.now)
        deadline = time.monotonic() + 10
        while core.state["traffic"]["mode"] != want and time.monotonic() < deadline:
            core.step(timeout=0.1)
        assert core.state["traffic"] == {"mode": want, "error": None}

    core = Core(monotonic=clock)
    part = TrafficClasses(core, config)
    core.state["failover"] = {"active_uplink": "backup", "links": {"backup": {"interface": "wwan0"}}}
    part.start()
    settle(core, part, "cellular bulk limit")
    assert "relais_traffic/cellular" in chains(lab)
    core.state["failover"] = {"active_uplink": "primary", "links": {"primary": {"interface": "eth0"}}}
    settle(core, part, "marks")
    assert "relais_traffic/cellular" not in chains(lab) and "relais_traffic/classify" in chains(lab)
    core.state["failover"] = {"active_uplink": "backup", "links": {"backup": {"interface": "wwan0"}}}
    settle(core, part, "cellular bulk limit")
    # a crash: no stop(); the table and qdisc stay. A new agent starts on the fixed line and replaces them.
    core2 = Core(monotonic=clock)
    part2 = TrafficClasses(core2, config)
    core2.state["failover"] = {"active_uplink": "primary", "links": {"primary": {"interface": "eth0"}}}
    part2.start()
    settle(core2, part2, "marks")
    assert "relais_traffic/cellular" not in chains(lab)
    part2.backend.remove_qdisc("wwan0")   # the crashed agent's qdisc, which the new one did not put there
    assert "htb 7e1a:" not in root_qdisc(lab)
    part2.stop()
    assert not any(c.startswith("relais_traffic/") for c in chains(lab))


def test_on_cellular_bulk_is_held_to_its_rate_and_the_phone_call_stays_clean(cell_lab):
    lab = cell_lab
    download = lab.download()
    time.sleep(1.0)
    free_kbit = download.rate_kbit(2.0)
    bloated = lab.phone_call(4.0)
    assert free_kbit > 3500, f"the download did not fill the 5 Mbit/s link ({free_kbit:.0f} kbit/s): no contention"
    TrafficRules(lab.router).apply(Plan(RULES, "wwan0", (("bulk", Limit("limit", 1000)),)))
    time.sleep(1.0)
    held_kbit = download.rate_kbit(3.0)
    call = lab.phone_call(6.0)
    print(f"\nwithout classes: download {free_kbit:.0f} kbit/s, {bloated}\n"
          f"with classes:    download {held_kbit:.0f} kbit/s, {call}")
    assert 300 < held_kbit <= 1000 * 1.15, held_kbit
    assert call.loss_pct < MAX_LOSS_PCT and call.jitter_ms < MAX_JITTER_MS, call
    assert call.rtt_median_ms < bloated.rtt_median_ms / 5, (call, bloated)


def dropped(lab, comment: str) -> int:
    """Packets counted by the cellular chain's rule with this comment."""
    out = json.loads(lab.nft("-j", "list", "chain", "inet", "relais_traffic", "cellular"))["nftables"]
    rules = [r["rule"] for r in out if "rule" in r and r["rule"].get("comment") == comment]
    return sum(e["counter"]["packets"] for r in rules for e in r["expr"] if "counter" in e)


def test_on_cellular_bulk_blocked_new_and_running_downloads(cell_lab):
    lab = cell_lab
    running = lab.download()
    time.sleep(1.0)
    assert running.received > 0
    TrafficRules(lab.router).apply(Plan(RULES, "wwan0", (("bulk", Limit("block")),)))
    fresh = lab.download(streams=1)
    call = lab.phone_call(4.0)
    # the running download's packets are dropped where they arrive (the server keeps sending, then retrying)
    assert dropped(lab, "bulk blocked on cellular") > 10
    assert fresh.received == 0 and fresh.error == "Connection refused"     # reject: told at once, no hang
    assert call.loss_pct < MAX_LOSS_PCT and call.jitter_ms < MAX_JITTER_MS, call


def test_on_a_fixed_line_flows_are_only_marked(cell_lab):
    lab = cell_lab
    TrafficRules(lab.router).apply(Plan(RULES))
    download = lab.download()
    time.sleep(1.0)
    assert download.rate_kbit(2.0) > 3500
    classify = lab.nft("list", "chain", "inet", "relais_traffic", "classify")
    assert "counter" not in classify and "ct direction reply return" in classify


def test_on_cellular_the_upload_queue_stays_in_relais_classes_critical_first(cell_lab):
    # An upload of class normal (no rule matches it) fills the modem's 200 ms queue; with the link's upload rate
    # known, htb keeps the queue on the router, where the phone's critical packets go first. With htb first:
    # the other way round, the queue the upload filled without classes drains for seconds under htb.
    lab = cell_lab
    lab.shape_up("2mbit")
    rules = TrafficRules(lab.router)
    rules.apply(Plan(RULES, "wwan0", (("bulk", Limit("limit", 1000)),), upload_kbit=2000))
    upload = lab.upload()
    time.sleep(1.0)
    shaped_kbit = upload.rate_kbit(2.0)
    call = lab.phone_call(5.0)
    rules.remove()
    time.sleep(1.0)
    free_kbit = upload.rate_kbit(2.0)
    bloated = lab.phone_call(4.0)
    print(f"\nupload with htb:        {shaped_kbit:.0f} kbit/s, {call}\n"
          f"upload without classes: {free_kbit:.0f} kbit/s, {bloated}")
    assert free_kbit > 1500 and bloated.rtt_median_ms > 50, (free_kbit, bloated)   # the queue does fill
    assert 1500 < shaped_kbit <= 2000, shaped_kbit    # normal still has the link, just under its rate
    assert call.loss_pct < MAX_LOSS_PCT and call.jitter_ms < MAX_JITTER_MS, call
    assert call.rtt_median_ms < bloated.rtt_median_ms / 5, (call, bloated)


def test_over_the_budget_normal_is_held_too_critical_is_not(cell_lab):
    # The part's plan once 90 % of the budget is used (agent.traffic.wanted), applied for real: an unclassified
    # download (normal) is held to normal_rate_kbit, the phone's critical flow is not touched.
    from agent.traffic import wanted
    lab = cell_lab
    cfg = from_dict({"traffic": {"enabled": True, "normal_rate_kbit": 800}}).traffic     # no bulk rule: normal
    state = {"failover": {"active_uplink": "backup", "links": {"backup": {"interface": "wwan0"}}},
             "cellular": {"usage": {"total_bytes": 95, "cap_bytes": 100}}}
    plan = wanted(cfg, board_rules(cfg), state, "wwan0")
    assert dict(plan.limits)["normal"] == Limit("limit", 800)
    download = lab.download()
    TrafficRules(lab.router).apply(plan)
    time.sleep(1.0)
    held_kbit = download.rate_kbit(3.0)
    call = lab.phone_call(4.0)
    assert 200 < held_kbit <= 800 * 1.15, held_kbit
    assert call.loss_pct < MAX_LOSS_PCT and call.jitter_ms < MAX_JITTER_MS, call


def test_ipv6_flows_are_classed_and_blocked_like_ipv4(cell_lab):
    from tests.traffic.lab import SERVER6
    lab = cell_lab
    cfg = from_dict({"traffic": {"bulk": [{"name": "v6-downloads", "dst": "2001:db8:100::/64", "proto": "tcp",
                                           "port": BULK_PORT}]}}).traffic
    allowed = lab.download(streams=1, server=SERVER6)      # before the table: a normal IPv6 download flows
    deadline = time.monotonic() + 5
    while allowed.received == 0 and not allowed.error and time.monotonic() < deadline:
        time.sleep(0.05)
    assert allowed.received > 0, allowed.error
    TrafficRules(lab.router).apply(Plan(board_rules(cfg), "wwan0", (("bulk", Limit("block")),)))
    refused = lab.download(streams=1, server=SERVER6)
    deadline = time.monotonic() + 5
    while not refused.error and time.monotonic() < deadline:
        time.sleep(0.05)
    assert refused.error == "Connection refused" and refused.received == 0
    assert dropped(lab, "bulk blocked on cellular") > 0
