"""[[uplinks]]: N uplinks declared by name, checked with the loader's one wording; configurations without them
keep meaning "primary" and "backup" from [board]."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict, problems_in

FIBER = {"name": "fiber", "interface": "eth0", "priority": 1}
SECOND = {"name": "second", "interface": "eth1", "priority": 2}
LTE = {"name": "lte", "kind": "cellular", "priority": 3}


def error(raw: dict) -> str:
    with pytest.raises(ConfigError) as e:
        from_dict(raw, source="relais.toml")
    text = str(e.value)
    assert "\n" not in text
    return text.removeprefix("relais.toml: ")


def test_without_uplinks_the_site_has_primary_and_backup_from_board():
    uplinks = from_dict({"board": {"primary_interface": "enp1s0", "cellular_interface": "wwan1",
                                   "primary_gateway": "192.0.2.1", "backup_table": 202}}).effective_uplinks()
    assert [(u.name, u.interface, u.kind, u.gateway, u.table) for u in uplinks] == [
        ("primary", "enp1s0", "ethernet", "192.0.2.1", 101), ("backup", "wwan1", "cellular", "", 202)]


def test_uplinks_in_priority_order_with_the_modems_interface_and_tables_filled_in():
    config = from_dict({"board": {"cellular_interface": "wwan1"}, "uplinks": [LTE, SECOND, FIBER]})
    assert [(u.name, u.interface, u.table) for u in config.effective_uplinks()] == [
        ("fiber", "eth0", 103), ("second", "eth1", 102), ("lte", "wwan1", 101)]


@pytest.mark.parametrize("uplinks, message", [
    ([FIBER, {**SECOND, "name": "fiber"}],
     '[uplinks #2] name: expected a name no other [[uplinks]] has, got "fiber" again'),
    ([FIBER, {**SECOND, "interface": "eth0"}],
     '[uplinks #2] interface: expected an interface no other [[uplinks]] has, got "eth0"'),
    ([{**FIBER, "name": "Fiber 1"}],
     '[uplinks #1] name: expected a name of 1 to 24 lower-case letters, digits or _, starting with a letter, '
     'got "Fiber 1"'),
    ([{"interface": "eth0"}], '[uplinks #1] name: expected a name for the uplink, got ""'),
    ([{"name": "fiber"}], '[uplinks #1] interface: expected the uplink\'s interface name, got ""'),
    ([LTE, {**LTE, "name": "lte2", "interface": "wwan0"}],
     '[uplinks #2] kind: expected at most one cellular uplink (one [modem] is configured), got "cellular"'),
    ([{**LTE, "interface": "wwan7"}],
     '[uplinks #1] interface: expected the modem\'s interface ([board] cellular_interface = "wwan0") or "", '
     'got "wwan7"'),
    ([{**FIBER, "kind": "dsl"}],
     '[uplinks #1] kind: expected one of "ethernet", "cellular", "starlink", "wifi", got "dsl"'),
    ([{**FIBER, "table": 254}],
     '[uplinks #1] table: expected a table other than 253, 254, 255 (reserved), got 254'),
    ([{**FIBER, "table": 102}, SECOND],
     '[uplinks #2] table: expected a table no other [[uplinks]] has (0 = 100 + the position), got 102'),
    ([{**FIBER, "targets": ["tcp:1.1.1.1:99999"]}],
     '[uplinks #1] targets: expected targets written as 1.1.1.1, 2001:db8::1, tcp:IP:PORT, tcp:[IPv6]:PORT, '
     'dns:IP or http(s)://..., got "tcp:1.1.1.1:99999" (port \'99999\' is not 1..65535)'),
])
def test_each_mistake_is_one_line_naming_the_uplink_and_the_key(uplinks, message):
    assert error({"uplinks": uplinks}) == message


def test_config_check_lists_problems_across_sections_too(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text('[[uplinks]]\nname = "a"\ninterface = "eth0"\n[[uplinks]]\nname = "b"\ninterface = "eth0"\n')
    assert problems_in(path) == [f'{path}: [uplinks #2] interface: expected an interface no other [[uplinks]] '
                                 f'has, got "eth0"']


def test_a_contract_names_one_of_the_uplinks():
    config = from_dict({"uplinks": [FIBER, LTE], "contracts": [{"uplink": "fiber", "provider": "Orange Pro"}]})
    assert config.contracts[0].uplink == "fiber"
    assert error({"uplinks": [FIBER, LTE], "contracts": [{"uplink": "primary"}]}) == \
        '[contracts #1] uplink: expected the name of an uplink (fiber, lte), got "primary"'
    assert error({"contracts": [{"uplink": "fiber"}]}) == \
        '[contracts #1] uplink: expected the name of an uplink (primary, backup), got "fiber"'
