"""LAN flows across a switch (board/traffic/flows.py, agent/flows.py): the table's text, the fwmark rules wanted,
when critical is pinned and sticky flows held (tables), the part on a fake clock with a recording backend, and
the config's one line per mistake. In the lab: tests/lab/test_lan_flows6.py."""
import queue

import pytest

from agent.config import Config, from_dict
from agent.config.loader import problems
from agent.core import Core
from agent.flows import LanFlows, pin_critical_now, wanted_flows
from board.routes.conntrack import KEEP_MARK_MASK, Forgotten
from board.traffic import FlowPlan, TrafficError, flows_ruleset
from board.traffic.flows import PIN_RULE_PRIORITY, STICKY_MARK, STICKY_MASK, STICKY_RULE_PRIORITY
from board.traffic.ruleset import CLASS_MASK, MARKS
from tests.traffic.test_part import RecordingRules, run_until_applied
from tests.virtual import FakeClock

CFG = from_dict({"traffic": {"enabled": True, "lan_interface": "br-lan", "nat6": True, "sticky": "critical",
                             "pin_critical": True}, "board": {"primary_interface": "eth0",
                                                              "cellular_interface": "wwan0"}})
TWO = CFG.effective_uplinks()     # a site without [[uplinks]]: primary (eth0, table 101), backup (wwan0, 102)


def failover(phase, active="primary", backup="up", primary="up"):
    return {"failover": {"state": phase, "active_uplink": active,
                         "links": {"primary": {"status": primary}, "backup": {"status": backup}}}}


@pytest.mark.parametrize("state,pinned", [
    ({}, False),                                               # nothing known yet
    (failover("primary"), False),
    (failover("degraded", primary="degraded"), True),          # the only phase that pins
    (failover("degraded", primary="degraded", backup="degraded"), False),   # no more stable than the primary
    (failover("degraded", primary="degraded", backup="down"), False),
    (failover("degraded", primary="degraded", backup="unknown"), False),
    (failover("backup", active="backup", primary="down"), False),   # everything is on the backup already
    (failover("recovering", active="backup"), False),
    (failover("drill", active="backup"), False),
])
def test_critical_is_pinned_only_while_the_primary_is_degraded_and_the_backup_up(state, pinned):
    assert pin_critical_now(state) is pinned
    plan = wanted_flows(CFG.traffic, TWO, state)
    assert plan.pin_critical is pinned
    assert ((PIN_RULE_PRIORITY, MARKS["critical"], CLASS_MASK, 102, "br-lan") in plan.rules()) is pinned


@pytest.mark.parametrize("backup,held", [("up", True), ("degraded", True), ("down", False), ("unknown", False)])
def test_sticky_flows_are_held_on_the_backup_only_while_it_is_up(backup, held):
    plan = wanted_flows(CFG.traffic, TWO, failover("primary", backup=backup))
    assert plan.sticky_active is held
    assert ((STICKY_RULE_PRIORITY, STICKY_MARK, STICKY_MASK, 102, "br-lan") in plan.rules()) is held


def test_nothing_asked_nothing_planned():
    plan = wanted_flows(Config().traffic, TWO, failover("degraded", primary="degraded"))
    assert plan.rules() == () and plan.uplink_interfaces == () and plan.sticky_uplinks == ()
    text = flows_ruleset(plan)
    assert "chain" not in text and text.startswith("table inet relais_flows\ndelete table inet relais_flows\n")


def test_the_table_masquerades_the_lans_ipv6_through_each_uplink_and_remembers_backup_flows():
    text = flows_ruleset(wanted_flows(CFG.traffic, TWO, failover("primary")))
    assert 'meta nfproto ipv6 iifname "br-lan" oifname "eth0" masquerade' in text
    assert 'meta nfproto ipv6 iifname "br-lan" oifname "wwan0" masquerade' in text
    assert "meta nfproto ipv4" not in text and "ip saddr" not in text     # IPv4 NAT stays the firewall's
    remember = next(line for line in text.splitlines() if "ct mark set" in line)
    # the first packet of a LAN flow leaving through the backup, critical only (sticky = "critical")
    assert remember.strip().startswith('ct state new iifname "br-lan" oifname "wwan0" meta mark and 0x0f000000 == '
                                       '0x01000000 ct mark set ct mark and 0xff0fffff or 0x00100000')
    assert 'iifname "br-lan" ct mark and 0x00f00000 == 0x00100000 meta mark set meta mark and 0xff0fffff or ' \
           '0x00100000' in text
    everything = from_dict({"traffic": {"lan_interface": "br-lan", "sticky": "all"}}).traffic
    text = flows_ruleset(wanted_flows(everything, TWO, failover("primary")))
    assert "0x0f000000" not in text and "nat6" not in text


def test_the_sticky_bits_are_the_ones_the_flush_keeps_and_not_the_classes():
    assert STICKY_MASK == KEEP_MARK_MASK and STICKY_MARK & STICKY_MASK == STICKY_MARK
    assert STICKY_MASK & CLASS_MASK == 0


def test_an_interface_name_that_would_break_the_ruleset_is_refused():
    with pytest.raises(ValueError, match="not an interface name"):
        flows_ruleset(FlowPlan('lan0" accept', ("eth0",)))


@pytest.mark.parametrize("raw,message", [
    ({"nat6": True}, "[traffic] lan_interface: expected the LAN's interface with nat6 (only the LAN's flows are "
                     'moved), got ""'),
    ({"sticky": "all"}, "[traffic] lan_interface: expected the LAN's interface with sticky"),
    ({"sticky": "critical", "lan_interface": "br-lan"},
     "[traffic] enabled: expected true with sticky (class critical is known only with the classes on), got false"),
    ({"pin_critical": True, "enabled": True}, "[traffic] lan_interface: expected the LAN's interface with pin_"),
    ({"pin_critical": True, "lan_interface": "br-lan"}, "[traffic] enabled: expected true with pin_critical"),
    ({"sticky": "yes"}, '[traffic] sticky: expected one of "none", "critical", "all", got "yes"'),
    ({"lan_interface": "br lan"}, "[traffic] lan_interface: expected an interface name"),
])
def test_each_mistake_is_one_line(raw, message):
    found = problems(Config, {"traffic": raw}, "relais.toml")
    assert len(found) == 1 and "\n" not in found[0], found
    assert found[0].startswith("relais.toml: " + message), found


ADDRESSES = {("eth0", "-4"): [("100.64.1.2", 24)], ("eth0", "-6"): [("2001:db8:1::2", 64)],
             ("wwan0", "-4"): [("100.64.2.2", 24)], ("wwan0", "-6"): [("2001:db8:2::2", 64)],
             ("br-lan", "-6"): [("fd00:50::1", 64)], ("br-lan", "-4"): [("192.168.1.1", 24)]}
CRITICAL = (MARKS["critical"], CLASS_MASK)


class RecordingFlows(RecordingRules):
    """The traffic part's recording stand-in, plus the addresses the flows part reads."""
    def __init__(self, fail: str = "", addresses=None):
        super().__init__(fail)
        self.known = addresses or ADDRESSES

    def addresses(self, interface, family="-6"):
        return self.known[(interface, family)]


class RecordingConntrack:
    """What the part asks conntrack to forget, in order, from its worker thread."""

    def __init__(self):
        self.calls: queue.SimpleQueue = queue.SimpleQueue()

    def forget_nat(self, addresses, netns, mark=None):
        self.calls.put(("forget_nat", tuple(addresses), mark))
        return Forgotten(tuple(addresses), 1, 0.0)

    def forget_sticky(self, marks, netns):
        self.calls.put(("forget_sticky", tuple(marks), None))
        return Forgotten((), 1, 0.0)

    def forget_untranslated(self, networks, netns):
        self.calls.put(("forget_untranslated", tuple(networks), None))
        return Forgotten(tuple(networks), 1, 0.0)

    def next(self):
        return self.calls.get(timeout=5)


def test_the_part_pins_on_degraded_moves_the_flows_each_change_concerns_and_removes_at_stop():
    core = Core(monotonic=FakeClock())
    events = []
    core.add_sink(lambda e: events.append((e.kind, e.data)))
    conntrack = RecordingConntrack()
    rules = RecordingFlows()
    part = LanFlows(core, CFG, rules, conntrack=conntrack)
    core.state.update(failover("primary"))
    part.start()
    try:
        plan = run_until_applied(core, rules)
        assert (plan.pin_critical, plan.sticky_active, plan.uplink_interfaces) == (False, True, ("eth0", "wwan0"))
        # NAT66 in force: the LAN's IPv6 flows begun without it are forgotten (they would never be translated)
        assert conntrack.next() == ("forget_untranslated", ("fd00:50::1/64",), None)

        core.state.update(failover("degraded", primary="degraded"))
        core.emit("link_degraded", link="primary")
        assert run_until_applied(core, rules).pin_critical
        assert core.state["flows"]["critical_pinned"] and ("critical_pinned", {"interface": "wwan0"}) in events
        # the critical flows NATed through the primary, both families, and only them
        assert conntrack.next() == ("forget_nat", ("100.64.1.2", "2001:db8:1::2"), CRITICAL)

        core.state.update(failover("backup", active="backup", primary="down"))
        core.emit("failover", **{"from": "primary", "to": "backup"})
        assert not run_until_applied(core, rules).pin_critical
        assert ("critical_unpinned", {"interface": "eth0"}) in events
        assert conntrack.next() == ("forget_nat", ("100.64.2.2", "2001:db8:2::2"), CRITICAL)
        assert conntrack.next() == ("forget_nat", ("2001:db8:1::2",), None)    # the primary's IPv6, left

        core.state.update(failover("primary"))
        core.emit("failback", **{"from": "backup", "to": "primary"})
        core.drain()
        assert conntrack.next() == ("forget_nat", ("2001:db8:2::2",), None)
        assert rules.applied.qsize() == 0            # the same plan as before the failback: not applied again
    finally:
        part.stop()
    assert rules.removed == 1 and conntrack.calls.qsize() == 0


def test_a_failure_is_one_event_and_state_line():
    core = Core(monotonic=FakeClock())
    events = []
    core.add_sink(lambda e: events.append((e.kind, e.data)))
    rules = RecordingFlows(fail="nft: not installed")
    part = LanFlows(core, CFG, rules)
    part.start()
    try:
        run_until_applied(core, rules)
    finally:
        part.stop()
    assert core.state["flows"]["error"] == "nft: not installed" and not core.state["flows"]["applied"]
    assert ("flows_error", {"error": "nft: not installed"}) in events


def test_a_missing_namespace_is_one_line_not_a_traceback():
    from board.traffic import FlowRules
    rules = FlowRules("relais-no-such-namespace")
    with pytest.raises(TrafficError) as e:
        rules.apply(FlowPlan("lan0", ("eth0",)))
    assert "\n" not in str(e.value) and str(e.value).startswith("nft -f -: ")
    assert rules.addresses("lan0") == []


# ---- N uplinks: fiber, a second operator's line, cellular ([[uplinks]]) ----------------------------------------

THREE_CFG = from_dict({
    "traffic": {"enabled": True, "lan_interface": "br-lan", "nat6": True, "sticky": "all", "pin_critical": True},
    "board": {"cellular_interface": "wwan0"},
    "uplinks": [{"name": "lte", "kind": "cellular", "priority": 30},        # listed first, preferred last
                {"name": "fiber", "interface": "eth0", "priority": 10},
                {"name": "second", "interface": "eth1", "priority": 20, "table": 120}]})
THREE = THREE_CFG.effective_uplinks()    # fiber (eth0, 102), second (eth1, 120), lte (wwan0, 101)
TABLE = {u.name: u.table for u in THREE}


def three(phase, active="fiber", **status):
    links = {name: {"status": status.get(name, "up"), "priority": priority}
             for name, priority in (("fiber", 10), ("second", 20), ("lte", 30))}
    return {"failover": {"state": phase, "active_uplink": active, "links": links}}


@pytest.mark.parametrize("state,pinned", [
    (three("primary"), None),
    (three("degraded", fiber="degraded"), "second"),                     # the best other uplink that is up
    (three("degraded", fiber="degraded", second="degraded"), "lte"),     # a degraded one is no more stable
    (three("degraded", fiber="degraded", second="down"), "lte"),
    (three("degraded", fiber="degraded", second="down", lte="unknown"), None),
    (three("backup", active="second", fiber="down", second="degraded"), "lte"),
    (three("backup", active="second", fiber="down"), None),              # the active one is healthy
    # the fiber answers again but is in its hold-down: not trusted yet, critical goes to the cellular line
    (three("recovering", active="second", second="degraded"), "lte"),
    (three("recovering", active="second", second="degraded", lte="degraded"), None),
    (three("backup", active="lte", fiber="down", second="down", lte="degraded"), None),   # nowhere better
    (three("drill", active="lte", lte="degraded"), None),                 # moved on purpose
    (three("outage", fiber="down", second="down", lte="down"), None),
])
def test_critical_goes_to_the_most_stable_other_uplink_while_the_active_one_is_degraded(state, pinned):
    from agent.flows import critical_pin
    assert critical_pin(state) == pinned
    plan = wanted_flows(THREE_CFG.traffic, THREE, state)
    assert plan.pin_interface == {"second": "eth1", "lte": "wwan0", None: ""}[pinned]
    pin_rules = [r for r in plan.rules() if r[0] == PIN_RULE_PRIORITY]
    assert pin_rules == ([(PIN_RULE_PRIORITY, MARKS["critical"], CLASS_MASK, TABLE[pinned], "br-lan")]
                         if pinned else [])


def test_equal_priorities_count_as_other_uplinks_not_better_ones():
    from agent.flows import critical_pin
    state = three("backup", active="second", fiber="down", second="degraded", lte="down")
    state["failover"]["links"]["lte"]["priority"] = 20          # lte now as good as the second line
    state["failover"]["links"]["lte"]["status"] = "up"
    assert critical_pin(state) == "lte"


@pytest.mark.parametrize("status,held", [
    ({}, ("eth1", "wwan0")),
    ({"second": "degraded", "lte": "down"}, ("eth1",)),
    ({"second": "down", "lte": "unknown"}, ()),
    ({"fiber": "down", "second": "unknown"}, ("wwan0",)),
])
def test_each_uplink_but_the_preferred_has_its_mark_and_its_rule_only_while_it_is_up(status, held):
    plan = wanted_flows(THREE_CFG.traffic, THREE, three("primary", **status))
    marks = {u.interface: u.mark for u in plan.sticky_uplinks}
    assert marks == {"eth1": 0x00100000, "wwan0": 0x00200000}         # by position; the fiber (preferred): none
    assert all(m & STICKY_MASK == m for m in marks.values()) and STICKY_MASK == KEEP_MARK_MASK
    sticky_rules = [r for r in plan.rules() if r[0] == STICKY_RULE_PRIORITY]
    by_table = {u.interface: u.table for u in THREE}
    assert sticky_rules == [(STICKY_RULE_PRIORITY, marks[i], STICKY_MASK, by_table[i], "br-lan") for i in held]
    assert plan.sticky_active is bool(held)


def test_the_table_masquerades_through_every_uplink_and_remembers_each_ones_flows():
    text = flows_ruleset(wanted_flows(THREE_CFG.traffic, THREE, three("primary")))
    for dev in ("eth0", "eth1", "wwan0"):
        assert f'meta nfproto ipv6 iifname "br-lan" oifname "{dev}" masquerade' in text
    remember = [line.strip() for line in text.splitlines() if "ct mark set" in line]
    assert remember == [
        ('ct state new iifname "br-lan" oifname "eth1" ct mark set ct mark and 0xff0fffff or 0x00100000 '
         'comment "a flow begun on eth1 stays there"'),
        ('ct state new iifname "br-lan" oifname "wwan0" ct mark set ct mark and 0xff0fffff or 0x00200000 '
         'comment "a flow begun on wwan0 stays there"')]
    restore = [line.strip() for line in text.splitlines() if "meta mark set" in line]
    assert restore == [f'iifname "br-lan" ct mark and 0x00f00000 == {m} meta mark set meta mark and 0xff0fffff or {m}'
                       for m in ("0x00100000", "0x00200000")]


def test_past_sixteen_uplinks_the_others_have_no_sticky_mark():
    from board.traffic.flows import sticky_mark
    many = from_dict({"traffic": {"lan_interface": "br-lan", "sticky": "all"},
                      "uplinks": [{"name": f"u{i}", "interface": f"eth{i}", "priority": i} for i in range(17)]})
    plan = wanted_flows(many.traffic, many.effective_uplinks(), {})
    assert [u.interface for u in plan.sticky_uplinks] == [f"eth{i}" for i in range(1, 16)]
    assert len({u.mark for u in plan.sticky_uplinks}) == 15 and sticky_mark(15) == KEEP_MARK_MASK
    with pytest.raises(ValueError):
        sticky_mark(16)


THREE_ADDRESSES = {("eth0", "-4"): [("100.64.1.2", 24)], ("eth0", "-6"): [("2001:db8:1::2", 64)],
                   ("eth1", "-4"): [("100.64.3.2", 24)], ("eth1", "-6"): [("2001:db8:3::2", 64)],
                   ("wwan0", "-4"): [("100.64.2.2", 24)], ("wwan0", "-6"): [("2001:db8:2::2", 64)],
                   ("br-lan", "-6"): [("fd00:50::1", 64)]}


def test_over_three_uplinks_the_part_forgets_the_ipv6_flows_of_the_uplink_left_and_moves_critical():
    core = Core(monotonic=FakeClock())
    events = []
    core.add_sink(lambda e: events.append((e.kind, e.data)))
    conntrack, rules = RecordingConntrack(), RecordingFlows(addresses=THREE_ADDRESSES)
    part = LanFlows(core, THREE_CFG, rules, conntrack=conntrack)
    core.state.update(three("primary"))
    part.start()
    try:
        plan = run_until_applied(core, rules)
        assert plan.uplink_interfaces == ("eth0", "eth1", "wwan0")
        assert conntrack.next() == ("forget_untranslated", ("fd00:50::1/64",), None)

        core.state.update(three("backup", active="second", fiber="down"))
        core.emit("failover", **{"from": "fiber", "to": "second"})
        core.drain()
        assert conntrack.next() == ("forget_nat", ("2001:db8:1::2",), None)     # the fiber's IPv6, left

        core.state.update(three("backup", active="second", fiber="down", second="degraded"))
        core.emit("link_degraded", link="second")
        assert run_until_applied(core, rules).pin_interface == "wwan0"
        assert ("critical_pinned", {"interface": "wwan0"}) in events
        assert conntrack.next() == ("forget_nat", ("100.64.3.2", "2001:db8:3::2"), CRITICAL)   # they leave eth1

        core.state.update(three("primary"))
        core.emit("failback", **{"from": "second", "to": "fiber"})
        assert not run_until_applied(core, rules).pin_critical
        assert ("critical_unpinned", {"interface": "eth1"}) in events      # back from where it was pinned away
        assert core.state["flows"]["critical_pinned_to"] is None
        assert conntrack.next() == ("forget_nat", ("100.64.2.2", "2001:db8:2::2"), CRITICAL)   # they leave wwan0
        assert conntrack.next() == ("forget_nat", ("2001:db8:3::2",), None)    # the second line's IPv6, left
    finally:
        part.stop()
    assert conntrack.calls.qsize() == 0


def test_when_an_uplink_holding_sticky_flows_goes_down_their_nat_is_forgotten_by_its_mark():
    core = Core(monotonic=FakeClock())
    conntrack, rules = RecordingConntrack(), RecordingFlows(addresses=THREE_ADDRESSES)
    part = LanFlows(core, THREE_CFG, rules, conntrack=conntrack)
    core.state.update(three("primary"))
    part.start()
    try:
        run_until_applied(core, rules)
        assert conntrack.next()[0] == "forget_untranslated"
        core.state.update(three("primary", lte="down"))
        core.emit("link_down", link="lte")
        assert [u.held for u in run_until_applied(core, rules).sticky_uplinks] == [True, False]
        assert conntrack.next() == ("forget_sticky", (0x00200000,), None)     # the cellular line's flows only
        core.state.update(three("primary"))
        core.emit("link_restored", link="lte")
        run_until_applied(core, rules)
    finally:
        part.stop()
    assert conntrack.calls.qsize() == 0          # back up: nothing to forget


def test_forget_sticky_takes_only_sticky_marks():
    from board.routes import RouteError
    from board.routes.conntrack import forget_sticky
    with pytest.raises(RouteError, match="not a sticky mark"):
        forget_sticky([MARKS["critical"]])
    assert forget_sticky([]).deleted == 0
