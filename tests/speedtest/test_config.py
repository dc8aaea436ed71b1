"""[speedtest] in relais.toml: each mistake is one line naming the key (the loader's wording), and the defaults
measure nothing until a server is set."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict


def test_off_until_a_server_is_set_and_the_primary_by_default():
    cfg = from_dict({}).speedtest
    assert not cfg.enabled and cfg.daily_links == ("primary",) and cfg.hour == 3
    on = from_dict({"speedtest": {"iperf3": "speed.example.net:5300", "cellular": True}}).speedtest
    assert on.enabled and on.daily_links == ("primary", "backup")
    assert from_dict({"speedtest": {"url": "https://u:p@speed.example.net/f?t=1", "links": ["primary", "backup"],
                                    "cellular": True}}).speedtest.daily_links == ("primary", "backup")


@pytest.mark.parametrize("section, message", [
    ({"url": "ftp://speed.example.net/f"},
     '[speedtest] url: expected an http:// or https:// URL, or "", got "ftp://speed.example.net/f"'),
    ({"url": "https://speed.example.net:99999/f"},
     '[speedtest] url: expected an http:// or https:// URL, or "", got "https://speed.example.net:99999/f"'),
    ({"url": "http://a/", "iperf3": "b"},
     '[speedtest] iperf3: expected nothing ("") when url is set (one method), got "b"'),
    ({"upload_url": "http://a/up"}, '[speedtest] url: expected a download URL when upload_url is set, got ""'),
    ({"iperf3": "host:0"}, '[speedtest] iperf3: expected "host" or "host:port", or "", got "host:0"'),
    ({"links": ["backup"]}, '[speedtest] cellular: expected true when links has "backup" (measuring the cellular '
                            'uplink costs data), got false'),
    ({"links": ["lte"]}, '[speedtest] links: expected names of uplinks (primary, backup), got "lte"'),
    ({"links": ["Fiber"]}, '[speedtest] links: expected uplink names in every item, got "Fiber"'),
    ({"hour": 24}, "[speedtest] hour: expected an integer from 0 to 23, got 24"),
    ({"cellular_max_bytes": 1000},
     "[speedtest] cellular_max_bytes: expected an integer from 100000 to 10000000000, got 1000"),
])
def test_mistakes_are_one_line(section, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"speedtest": section}, source="relais.toml")
    assert str(e.value) == f"relais.toml: {message}"
    assert "\n" not in str(e.value)


THREE = [{"name": "fiber", "interface": "eth0", "priority": 1}, {"name": "fiber2", "interface": "eth1", "priority": 2},
         {"name": "lte", "kind": "cellular", "priority": 3}]


@pytest.mark.parametrize("links, cellular, expected", [
    (["fiber2"], False, ("fiber2",)),
    (["fiber", "fiber2"], True, ("fiber", "fiber2", "lte")),
    (["primary"], False, ("fiber",)),                     # "primary": the best uplink when none has that name
    (["fiber2", "backup"], True, ("fiber2", "lte")),      # "backup": the cellular one
    (["lte"], True, ("lte",)),
])
def test_any_configured_uplink_by_name(links, cellular, expected):
    from agent.config.speedtest import daily_uplinks
    cfg = from_dict({"uplinks": THREE, "board": {"cellular_interface": "wwan0"},
                     "speedtest": {"url": "http://s/f", "links": links, "cellular": cellular}})
    assert daily_uplinks(cfg.speedtest, cfg.effective_uplinks()) == expected


@pytest.mark.parametrize("section, message", [
    ({"links": ["dsl"]}, '[speedtest] links: expected names of uplinks (fiber, fiber2, lte), got "dsl"'),
    ({"links": ["lte"]}, '[speedtest] cellular: expected true when links has "lte" (measuring the cellular uplink '
                         'costs data), got false'),
    ({"links": ["fiber", "backup"]}, '[speedtest] cellular: expected true when links has "backup" (measuring the '
                                     'cellular uplink costs data), got false'),
])
def test_names_that_are_no_uplink_of_the_site_are_one_line(section, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"uplinks": THREE, "board": {"cellular_interface": "wwan0"}, "speedtest": section},
                  source="relais.toml")
    assert str(e.value) == f"relais.toml: {message}"
