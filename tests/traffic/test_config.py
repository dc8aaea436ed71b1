"""[traffic] and its rules: what loads, and the one line each mistake gets."""
import pytest

from agent.config import Config, from_dict
from agent.config.loader import problems
from agent.config.traffic import BUILTIN_BULK, BUILTIN_CRITICAL, dscp_value, port_range


def test_rules_in_matching_order_builtin_last():
    cfg = from_dict({"traffic": {"enabled": True,
                                 "bulk": [{"name": "backups", "dst": "198.51.100.0/24", "port": 443}],
                                 "normal": [{"name": "ceo-laptop", "mac": "00:11:22:AA:BB:CC"}],
                                 "critical": [{"name": "pos", "src": "192.168.1.50"}]}}).traffic
    order = [(klass, rule.name) for klass, rule in cfg.rules()]
    assert order[:3] == [("critical", "pos"), ("normal", "ceo-laptop"), ("bulk", "backups")]
    assert order[3:] == [("critical", r.name) for r in BUILTIN_CRITICAL] + [("bulk", r.name) for r in BUILTIN_BULK]
    assert [name for _, name in order[3:]][:2] == ["voice-ef", "sip"]


def test_builtin_rules_can_be_left_out():
    cfg = from_dict({"traffic": {"builtin": False, "bulk": [{"name": "b", "dscp": 8}]}}).traffic
    assert [(k, r.name) for k, r in cfg.rules()] == [("bulk", "b")]


def test_defaults_are_off_and_limit():
    cfg = Config().traffic
    assert (cfg.enabled, cfg.bulk_on_cellular, cfg.budget_pct) == (False, "limit", 90.0)


@pytest.mark.parametrize("value,expected", [("ef", 46), ("EF", 46), (46, 46), ("46", 46), ("cs1", 8), ("le", 1),
                                            (0, 0), (63, 63)])
def test_dscp_values(value, expected):
    assert dscp_value(value) == expected


@pytest.mark.parametrize("value,expected", [(5060, (5060, 5060)), ("5060", (5060, 5060)),
                                            ("10000-20000", (10000, 20000)), (" 1 - 2 ", (1, 2))])
def test_port_values(value, expected):
    assert port_range(value) == expected


@pytest.mark.parametrize("raw,message", [
    ({"bulk": [{"name": "x"}]},
     '[traffic.bulk #1] name: expected a rule matching something (dscp, dst, port, proto, src or mac), got "x"'),
    ({"bulk": [{"name": "x", "port": "70000"}]},
     '[traffic.bulk #1] port: expected a port 1 to 65535 or a range "10000-20000", got "70000"'),
    ({"bulk": [{"name": "x", "port": "20-10"}]},
     '[traffic.bulk #1] port: expected a port 1 to 65535 or a range "10000-20000", got "20-10"'),
    ({"bulk": [{"name": "x", "port": 0}]}, "[traffic.bulk #1] port: expected a port 1 to 65535"),
    ({"critical": [{"name": "x", "dscp": "zz"}]},
     '[traffic.critical #1] dscp: expected a DSCP name ("ef", "af41", "cs1") or 0 to 63, got "zz"'),
    ({"critical": [{"name": "x", "dscp": 64}]}, "[traffic.critical #1] dscp: expected a DSCP name"),
    ({"critical": [{"name": "x", "dscp": True}]}, "[traffic.critical #1] dscp: expected a DSCP name"),
    ({"bulk": [{"name": "x", "dst": "updates.example.com"}]},
     '[traffic.bulk #1] dst: expected an IP address or network ("198.51.100.0/24"), got "updates.example.com"'),
    ({"bulk": [{"name": "x", "src": "192.168.1.300"}]}, "[traffic.bulk #1] src: expected an IP address or network"),
    ({"bulk": [{"name": "x", "port": 80, "proto": "icmp"}]},
     '[traffic.bulk #1] proto: expected "tcp", "udp", "sctp" or "" with a port, got "icmp"'),
    ({"bulk": [{"name": "x", "proto": "igmp"}]}, '[traffic.bulk #1] proto: expected one of "", "tcp"'),
    ({"bulk": [{"name": "x", "dst": "2001:db8::/32", "src": "10.0.0.0/8"}]},
     '[traffic.bulk #1] src: expected the same IP version as dst, got "10.0.0.0/8"'),
    ({"bulk": [{"name": "x", "dst": "2001:db8::/32", "proto": "icmp"}]}, "[traffic.bulk #1] proto: expected the IP"),
    ({"bulk": [{"name": "x", "mac": "00:11:22:33:44"}]},
     '[traffic.bulk #1] mac: expected a MAC address ("00:11:22:aa:bb:cc"), got "00:11:22:33:44"'),
    ({"bulk": [{"name": "a b", "dscp": 8}]}, "[traffic.bulk #1] name: expected 1 to 32 letters"),
    ({"bulk": [{"name": "x", "dscp": 8}], "critical": [{"name": "x", "dscp": 46}]},
     '[traffic.bulk] name: expected a name no other traffic rule has, got "x"'),
    ({"bulk": [{"name": "x", "dscp": 8}, {"name": "x", "dscp": 1}]}, "[traffic.bulk #2] name: expected a name"),
    ({"bulk": [{"name": "x", "dscp": 8, "class": "bulk"}]}, "[traffic.bulk #1] class: expected"),
    ({"bulk_on_cellular": "drop"}, '[traffic] bulk_on_cellular: expected one of "block", "limit", got "drop"'),
    ({"bulk_rate_kbit": 0}, "[traffic] bulk_rate_kbit: expected an integer from 8 to 10000000, got 0"),
    ({"budget_pct": 120}, "[traffic] budget_pct: expected a number from 0 to 100, got 120"),
    ({"bulk": {"name": "x"}}, "[traffic] bulk: expected tables ([[traffic.bulk]]), got a table"),
])
def test_each_mistake_is_one_line(raw, message):
    found = problems(Config, {"traffic": raw}, "relais.toml")
    assert len(found) == 1 and "\n" not in found[0], found
    assert found[0].startswith("relais.toml: " + message), found


def test_the_commented_example_in_the_sample_config_loads():
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "packaging" / "relais.toml").read_text()
    block = text[text.index("# [traffic]\n"):].split("\n\n")[0]
    example = "\n".join(line[2:] if line.startswith("# ") else line for line in block.splitlines())
    import tomllib
    cfg = from_dict(tomllib.loads(example)).traffic
    assert cfg.enabled and [(k, r.name) for k, r in cfg.rules()][:2] == [("critical", "card-terminal"),
                                                                         ("bulk", "nas-backup")]


def test_not_attached_on_the_simulated_board():
    from agent.core import Core
    from agent.traffic import attach
    sim = from_dict({"traffic": {"enabled": True}, "board": {"backend": "simulated"}})
    assert attach(Core(), sim) is None
    real = from_dict({"traffic": {"enabled": True}, "board": {"backend": "iproute2"}})
    assert attach(Core(), real) is not None


def test_config_show_gives_back_what_loads_the_same():
    import tomllib

    from agent.config.render import to_toml
    cfg = from_dict({"traffic": {"enabled": True, "bulk": [{"name": "b", "dscp": 8, "port": 443}],
                                 "critical": [{"name": "rtp", "port": "10000-20000", "proto": "udp"}]}})
    assert from_dict(tomllib.loads(to_toml(cfg))).traffic == cfg.traffic
