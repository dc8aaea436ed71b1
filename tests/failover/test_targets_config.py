"""Probe targets as written in the config, the [probes] and [failover] sections, and small probe helpers."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, FailoverConfig, ProbesConfig, from_dict
from agent.linkmon.methods import dns_query, icmp_raw_needed, is_dns_response
from agent.linkmon.targets import Target, parse_target


@pytest.mark.parametrize("text, default, expected", [
    ("1.1.1.1", "icmp", Target("1.1.1.1", "icmp", "1.1.1.1")),
    ("1.1.1.1", "tcp", Target("1.1.1.1", "tcp", "1.1.1.1", 443)),
    ("icmp:9.9.9.9", "tcp", Target("icmp:9.9.9.9", "icmp", "9.9.9.9")),
    ("tcp:1.1.1.1:80", "icmp", Target("tcp:1.1.1.1:80", "tcp", "1.1.1.1", 80)),
    ("dns:9.9.9.9", "icmp", Target("dns:9.9.9.9", "dns", "9.9.9.9", 53)),
    ("dns:9.9.9.9:5353", "icmp", Target("dns:9.9.9.9:5353", "dns", "9.9.9.9", 5353)),
    ("http://connectivitycheck.gstatic.com/generate_204", "icmp",
     Target("http://connectivitycheck.gstatic.com/generate_204", "http", "connectivitycheck.gstatic.com", 80,
            "/generate_204")),
    ("https://example.net:8443/204", "icmp", Target("https://example.net:8443/204", "http", "example.net", 8443,
                                                    "/204", tls=True)),
    ("192.0.2.80", "http", Target("192.0.2.80", "http", "192.0.2.80", 80, "/generate_204")),
])
def test_target_forms(text, default, expected):
    assert parse_target(text, default) == expected


@pytest.mark.parametrize("text, error", [
    ("", "empty"),
    ("one.one.one.one", "not an IPv4 or IPv6 address"),
    ("tcp:1.1.1.1:99999", "not 1..65535"),
    ("tcp:1.1.1.1:https", "not 1..65535"),
    ("http://:80/", "no host"),
    ("http://host:port/", "port"),
])
def test_bad_targets_are_named_in_the_error(text, error):
    with pytest.raises(ValueError, match=error):
        parse_target(text)


def test_defaults_are_valid_and_documented_values():
    ProbesConfig().validate()
    FailoverConfig().validate()
    cfg = from_dict({})
    assert cfg.probes.targets == ("1.1.1.1", "8.8.8.8", "9.9.9.9") and cfg.failover.standby == "hot"


def test_sections_load_from_toml_values():
    cfg = from_dict({"probes": {"targets": ["192.0.2.1", "tcp:192.0.2.2:443"], "interval_s": 0.25},
                     "failover": {"standby": "cold", "hold_down_s": 30, "max_failures": 50}})
    assert cfg.probes.targets == ("192.0.2.1", "tcp:192.0.2.2:443") and cfg.probes.interval_s == 0.25
    assert cfg.failover.hold_down_s == 30.0 and cfg.failover.standby == "cold"


@pytest.mark.parametrize("raw, error", [
    ({"probes": {"targets": []}},
     '[probes] targets: expected at least one item, got []'),
    ({"probes": {"targets": ["example.com"]}},
     '[probes] targets: expected targets written as 1.1.1.1, 2001:db8::1, tcp:IP:PORT, tcp:[IPv6]:PORT, dns:IP '
     'or http(s)://..., got "example.com" (\'example.com\' is not an IPv4 or IPv6 address (names are only allowed in http targets: resolving '
     'one would use whichever link is active))'),
    ({"probes": {"method": "smoke"}},
     '[probes] method: expected one of "icmp", "tcp", "dns", "http", got "smoke"'),
    ({"probes": {"interval_s": 0.01}},
     '[probes] interval_s: expected a number from 0.05 to 3600, got 0.01'),
    ({"probes": {"timeout_s": 0}},
     '[probes] timeout_s: expected a number above 0 and at most 60, got 0'),
    ({"probes": {"icmp_socket": "maybe"}},
     '[probes] icmp_socket: expected one of "auto", "raw", "datagram", got "maybe"'),
    ({"probes": {"history_s": 5}},
     '[probes] history_s: expected at least window_s (10), got 5'),
    ({"probes": {"targets": "1.1.1.1"}},
     '[probes] targets: expected a list, got "1.1.1.1"'),
    ({"failover": {"standby": "warm"}},
     '[failover] standby: expected one of "hot", "cold", got "warm"'),
    ({"failover": {"min_failures": 50}},
     '[failover] min_failures: expected at most max_failures (40), got 50'),
    ({"failover": {"false_down_probability": 2}},
     '[failover] false_down_probability: expected a number above 0 and below 1, got 2'),
    ({"failover": {"hold_down_s": 500}},
     '[failover] hold_down_s: expected at most hold_down_max_s (120), got 500'),
    ({"failover": {"hold_down": 5}},
     '[failover] hold_down: expected a known key (did you mean hold_down_s?), got an unknown key'),
    ({"failover": {"failover_when_degraded": "yes"}},
     '[failover] failover_when_degraded: expected true or false, got "yes"'),
])
def test_bad_config_is_a_clear_error(raw, error):
    with pytest.raises(ConfigError) as e:
        from_dict(raw, source="relais.toml")
    assert str(e.value) == f"relais.toml: {error}"


def test_dns_query_and_response_matching():
    q = dns_query(0x1234, "example.com")
    assert q[:2] == b"\x12\x34" and b"\x07example\x03com\x00" in q
    response = q[:2] + b"\x81\x83" + q[4:]
    assert is_dns_response(response, 0x1234)
    assert not is_dns_response(q, 0x1234)            # a query is not a response
    assert not is_dns_response(response, 0x4321)     # not ours
    assert not is_dns_response(b"\x12", 0x1234)      # garbage


def test_icmp_socket_kind_follows_ping_group_range(tmp_path):
    f = tmp_path / "range"
    f.write_text("1\t0\n")          # the kernel default: nobody may use datagram ICMP sockets
    assert icmp_raw_needed(str(f)) is True
    f.write_text("0\t2147483647\n")  # everyone may
    assert icmp_raw_needed(str(f)) is False
    assert icmp_raw_needed(str(tmp_path / "missing")) is True
