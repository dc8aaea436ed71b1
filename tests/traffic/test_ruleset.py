"""The table text and the tc commands from a Plan: tables of rules -> the nft lines they must give; and the whole
text read by the real `nft` in a namespace (tests/traffic/test_apply.py)."""
import ipaddress

import pytest

from board.traffic import ClassRule, Limit, Match, Plan, qdisc_commands, ruleset

SET_CRITICAL = ("ct mark set ct mark and 0xf0ffffff or 0x01000000 "
                "meta mark set meta mark and 0xf0ffffff or 0x01000000 return")
SET_BULK = SET_CRITICAL.replace("0x01000000", "0x03000000")
net = ipaddress.ip_network


@pytest.mark.parametrize("klass,match,lines", [
    ("critical", Match(ports=(5060, 5061)),
     [f'meta l4proto {{ tcp, udp }} th dport 5060-5061 {SET_CRITICAL} comment "r"']),
    ("critical", Match(ports=(5060, 5060), proto="udp"), [f'udp dport 5060 {SET_CRITICAL} comment "r"']),
    ("critical", Match(dscp=46), [f'ip dscp 46 {SET_CRITICAL} comment "r"', f'ip6 dscp 46 {SET_CRITICAL} comment "r"']),
    ("critical", Match(dscp=46, dst=net("2001:db8::/32")),
     [f'ip6 daddr 2001:db8::/32 ip6 dscp 46 {SET_CRITICAL} comment "r"']),
    ("critical", Match(mac="00:11:22:AA:BB:CC", src=net("192.168.1.7")),
     [f'ether saddr 00:11:22:aa:bb:cc ip saddr 192.168.1.7 {SET_CRITICAL} comment "r"']),
    ("critical", Match(proto="esp"), [f'meta l4proto esp {SET_CRITICAL} comment "r"']),
    ("bulk", Match(dst=net("198.51.100.0/24"), proto="tcp", ports=(443, 443)),
     [f'ip daddr 198.51.100.0/24 tcp dport 443 {SET_BULK} comment "r"']),
    ("bulk", Match(dscp=8, proto="icmpv6"), [f'meta l4proto icmpv6 ip6 dscp 8 {SET_BULK} comment "r"']),
])
def test_each_rule_becomes_its_match_lines(klass, match, lines):
    text = ruleset(Plan((ClassRule("r", klass, match),)))
    found = [line.strip() for line in text.splitlines() if line.strip().endswith('comment "r"')]
    assert found == lines


def test_first_rule_wins_in_order_and_unmatched_flows_are_normal():
    plan = Plan((ClassRule("a", "critical", Match(dscp=46)), ClassRule("b", "bulk", Match(dscp=8))))
    body = [line.strip() for line in ruleset(plan).splitlines()]
    assert body.index(f'ip dscp 46 {SET_CRITICAL} comment "a"') < body.index(f'ip dscp 8 {SET_BULK} comment "b"')
    i_reply = body.index("ct direction reply return")
    assert i_reply < body.index(f'ip dscp 46 {SET_CRITICAL} comment "a"')
    classify_end = body.index("}")
    assert body[classify_end - 1] == ("ct mark set ct mark and 0xf0ffffff or 0x02000000 "
                                      "meta mark set meta mark and 0xf0ffffff or 0x02000000")


def test_whole_table_replaced_in_one_transaction():
    lines = ruleset(Plan(())).splitlines()
    assert lines[:3] == ["table inet relais_traffic", "delete table inet relais_traffic", "table inet relais_traffic {"]
    assert sum(line.startswith("table ") for line in lines) == 2 and "flush ruleset" not in lines


@pytest.mark.parametrize("limits,expected", [
    ((("bulk", Limit("block")),),
     ['meta mark and 0x0f000000 == 0x03000000 oifname "wwan0" counter reject comment "bulk blocked on cellular"',
      'meta mark and 0x0f000000 == 0x03000000 iifname "wwan0" counter drop comment "bulk blocked on cellular"']),
    ((("bulk", Limit("limit", 1000)), ("normal", Limit("limit", 80))),
     ['meta mark and 0x0f000000 == 0x03000000 oifname "wwan0" limit rate over 125000 bytes/second burst 12500 bytes'
      ' counter drop comment "bulk up limited on cellular"',
      'meta mark and 0x0f000000 == 0x03000000 iifname "wwan0" limit rate over 125000 bytes/second burst 12500 bytes'
      ' counter drop comment "bulk down limited on cellular"',
      'meta mark and 0x0f000000 == 0x02000000 oifname "wwan0" limit rate over 10000 bytes/second burst 8192 bytes'
      ' counter drop comment "normal up limited on cellular"',
      'meta mark and 0x0f000000 == 0x02000000 iifname "wwan0" limit rate over 10000 bytes/second burst 8192 bytes'
      ' counter drop comment "normal down limited on cellular"']),
])
def test_cellular_chain(limits, expected):
    text = ruleset(Plan((), "wwan0", limits))
    chain = text.split("chain cellular {")[1].split("}")[0]
    assert [line.strip() for line in chain.splitlines()[2:] if line.strip()] == expected


def test_fixed_line_has_marks_only():
    text = ruleset(Plan((ClassRule("a", "bulk", Match(dscp=8)),), "", (("bulk", Limit("block")),), 5000))
    assert "chain classify" in text and "chain cellular" not in text and "chain egress" not in text
    assert qdisc_commands(Plan((), "", (), 5000)) == []


def test_egress_classes_only_with_an_upload_rate():
    assert "chain egress" not in ruleset(Plan((), "wwan0", (("bulk", Limit("block")),)))
    assert qdisc_commands(Plan((), "wwan0", (("bulk", Limit("block")),))) == []
    text = ruleset(Plan((), "wwan0", (("bulk", Limit("block")),), 5000))
    assert 'oifname "wwan0" meta mark and 0x0f000000 == 0x01000000 meta priority set 7e1a:10' in text


def test_htb_classes_under_the_link_rate_bulk_capped_at_its_rate():
    cmds = qdisc_commands(Plan((), "wwan0", (("bulk", Limit("limit", 1000)),), 5000))
    assert cmds[0] == ["qdisc", "replace", "dev", "wwan0", "root", "handle", "7e1a:", "htb", "default", "20"]
    by_class = {c[c.index("classid") + 1]: c for c in cmds[1:]}
    assert by_class["7e1a:1"][-4:] == ["rate", "4750kbit", "ceil", "4750kbit"]
    assert by_class["7e1a:10"][-6:] == ["rate", "1900kbit", "ceil", "4750kbit", "prio", "0"]
    assert by_class["7e1a:30"][-6:] == ["rate", "950kbit", "ceil", "1000kbit", "prio", "2"]


@pytest.mark.parametrize("name", ['wwan0"; flush ruleset', "a b", "x" * 16, ""])
def test_an_interface_name_cannot_inject(name):
    if not name:
        assert "chain cellular" not in ruleset(Plan((), name, (("bulk", Limit("block")),)))
        return
    with pytest.raises(ValueError):
        ruleset(Plan((), name, (("bulk", Limit("block")),)))


def test_a_rule_name_cannot_inject():
    text = ruleset(Plan((ClassRule('x"; flush ruleset; "', "bulk", Match(dscp=8)),)))
    assert 'comment "x__ flush ruleset_ _"' in text and "flush ruleset;" not in text
