"""agent/traffic.py: which plan for which state (a table), and the part following failover, failback and the
data budget on a fake clock, with a backend that records what it is asked to apply."""
import queue

import pytest

from agent.config import from_dict
from agent.core import Core
from agent.traffic import TrafficClasses, board_rules, wanted
from board.traffic import Limit, TrafficError
from tests.virtual import FakeClock

CFG = from_dict({"traffic": {"enabled": True, "bulk_on_cellular": "block", "cellular_upload_kbit": 4000,
                             "bulk": [{"name": "nas", "src": "192.168.1.20"}]}})


def failover(active, backup_iface="wwan0"):
    return {"active_uplink": active, "links": {"primary": {"interface": "eth0"},
                                               "backup": {"interface": backup_iface}}}


def usage(total, cap):
    return {"usage": {"total_bytes": total, "cap_bytes": cap}}


@pytest.mark.parametrize("state,iface,limits,upload", [
    ({}, "", (), 0),                                                         # nothing known yet: marks only
    ({"failover": failover("primary")}, "", (), 0),
    ({"failover": failover("backup")}, "wwan0", (("bulk", Limit("block", 1000)),), 4000),
    ({"failover": failover("backup"), "cellular": usage(89, 100)}, "wwan0", (("bulk", Limit("block", 1000)),), 4000),
    ({"failover": failover("backup"), "cellular": usage(90, 100)}, "wwan0",
     (("bulk", Limit("block", 1000)), ("normal", Limit("limit", 1000))), 4000),
    ({"failover": failover("primary"), "cellular": usage(99, 100)}, "", (), 0),  # the budget is cellular's
    ({"failover": failover("backup"), "cellular": usage(99, None)}, "wwan0", (("bulk", Limit("block", 1000)),), 4000),
    ({"failover": failover("backup", "eth1")}, "", (), 0),    # a backup that is not the cellular interface
])
def test_wanted(state, iface, limits, upload):
    plan = wanted(CFG.traffic, board_rules(CFG.traffic), state, "wwan0")
    assert (plan.cellular_interface, plan.limits, plan.upload_kbit) == (iface, limits, upload)
    assert plan.rules[0].name == "nas" and plan.rules[0].klass == "bulk"


class RecordingRules:
    def __init__(self, fail: str = ""):
        self.applied: queue.SimpleQueue = queue.SimpleQueue()
        self.removed = 0
        self.fail = fail

    def apply(self, plan):
        self.applied.put(plan)
        if self.fail:
            raise TrafficError(self.fail)

    def remove(self):
        self.removed += 1


def run_until_applied(core: Core, rules: RecordingRules):
    core.drain()
    plan = rules.applied.get(timeout=5)      # the worker thread applies it
    for _ in range(100):                      # its answer comes back to the core as an input
        if core.step(timeout=0.05):
            break
    return plan


def test_follows_failover_failback_and_the_budget_then_removes_at_stop():
    clock = FakeClock()
    core = Core(monotonic=clock)
    events = []
    core.add_sink(lambda e: events.append((e.kind, e.data)))
    rules = RecordingRules()
    part = TrafficClasses(core, CFG, rules)
    core.state["failover"] = failover("primary")
    part.start()
    try:
        assert run_until_applied(core, rules).cellular_interface == ""
        assert core.state["traffic"] == {"mode": "marks", "error": None}

        core.state["failover"] = failover("backup")
        core.emit("failover", **{"from": "primary", "to": "backup"})
        plan = run_until_applied(core, rules)
        assert (plan.cellular_interface, plan.limits) == ("wwan0", (("bulk", Limit("block", 1000)),))
        assert ("traffic_classes", {"mode": "cellular bulk block", "interface": "wwan0"}) in events

        core.state["cellular"] = usage(95, 100)        # no event: the slow tick sees it
        clock.now += 30
        plan = run_until_applied(core, rules)
        assert dict(plan.limits)["normal"] == Limit("limit", 1000)

        core.state["failover"] = failover("primary")
        core.emit("failback", **{"from": "backup", "to": "primary"})
        assert run_until_applied(core, rules).cellular_interface == ""
        assert core.state["traffic"]["mode"] == "marks"
    finally:
        part.stop()
    assert rules.removed == 1


def test_an_unchanged_state_applies_nothing_again():
    clock = FakeClock()
    core = Core(monotonic=clock)
    rules = RecordingRules()
    part = TrafficClasses(core, CFG, rules)
    part.start()
    try:
        run_until_applied(core, rules)
        first = part.requested
        for _ in range(5):
            clock.now += 30
            core.emit("data_cap_warning")
            core.drain()
        assert part.requested is first      # the same plan is not queued again
    finally:
        part.stop()
    assert rules.applied.qsize() == 0


def test_a_failure_is_one_event_and_state_line():
    core = Core(monotonic=FakeClock())
    events = []
    core.add_sink(lambda e: events.append((e.kind, e.data)))
    rules = RecordingRules(fail="nft: not installed")
    part = TrafficClasses(core, CFG, rules)
    part.start()
    try:
        run_until_applied(core, rules)
    finally:
        part.stop()
    assert core.state["traffic"] == {"mode": "marks", "error": "nft: not installed"}
    assert ("traffic_error", {"mode": "marks", "error": "nft: not installed"}) in events
