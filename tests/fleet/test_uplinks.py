"""Which uplink of a device is its preferred one, its cellular one, and whether it is on a backup, from the
failover state part as agents publish it: three named uplinks (fiber, fiber2, lte) and the legacy two."""
from __future__ import annotations

import pytest

from fleet import listing, uplinks
from fleet.sites import site_of, state_facts

THREE = {"fiber": {"interface": "eth0", "kind": "ethernet", "priority": 1, "status": "up"},
         "fiber2": {"interface": "eth1", "kind": "ethernet", "priority": 2, "status": "up"},
         "lte": {"interface": "wwan0", "kind": "cellular", "priority": 3, "status": "up"}}
LEGACY = {"primary": {"interface": "eth0", "status": "up"}, "backup": {"interface": "wwan0", "status": "up"}}
TWINS = {"fiber": {"kind": "ethernet", "priority": 1}, "fiber2": {"kind": "ethernet", "priority": 1},
         "lte": {"kind": "cellular", "priority": 5}}


@pytest.mark.parametrize("failover, preferred, cellular, on_backup", [
    ({"active_uplink": "fiber", "links": THREE}, "fiber", "lte", False),
    ({"active_uplink": "fiber2", "links": THREE}, "fiber", "lte", True),       # the second operator is a backup
    ({"active_uplink": "lte", "links": THREE}, "fiber", "lte", True),
    ({"active_uplink": "fiber2", "links": TWINS}, "fiber", "lte", False),      # an equal of the best is no backup
    ({"active_uplink": "primary", "links": LEGACY}, "primary", "backup", False),
    ({"active_uplink": "backup", "links": LEGACY}, "primary", "backup", True),
    ({"active_uplink": "backup"}, "primary", "backup", True),                  # an agent publishing no links
    ({"active_uplink": "primary", "links": {"primary": {"kind": "ethernet", "priority": 1},
                                            "backup": {"kind": "cellular", "priority": 2}}},
     "primary", "backup", False),                                              # a legacy config on a new agent
    ({"active_uplink": "backup", "links": {"primary": {"kind": "ethernet", "priority": 1},
                                           "backup": {"kind": "cellular", "priority": 2}}},
     "primary", "backup", True),
])
def test_roles_and_on_backup(failover, preferred, cellular, on_backup):
    assert uplinks.preferred(failover) == preferred
    assert uplinks.cellular(failover) == cellular
    assert uplinks.on_backup(failover) is on_backup


@pytest.mark.parametrize("failover", [
    None, "backup", [], {"active_uplink": 3}, {"active_uplink": None, "links": THREE},
    {"active_uplink": "fiber", "links": "x"}, {"active_uplink": "fiber", "links": {"fiber": {"priority": True}}},
    {"active_uplink": "fiber", "links": {"fiber": {"priority": float("nan")}, 7: {"priority": 0}}},
    {"active_uplink": "ghost", "links": THREE},
])
def test_a_malformed_part_is_not_on_backup_and_not_an_error(failover):
    assert uplinks.on_backup(failover) is False
    assert isinstance(uplinks.preferred(failover), str) and isinstance(uplinks.cellular(failover), str)


def _device(failover: dict) -> dict:
    return {"device_id": "shop-1", "online": True, "since": 0.0, "last_seen": 0.0, "latest": {},
            "state": {"failover": {**failover, "since": 1000.0},
                      "device": {"contracts": [{"uplink": "fiber", "provider": "Orange fibre", "repair_hours": 4},
                                               {"uplink": "fiber2", "provider": "Free", "repair_hours": 24}]}}}


@pytest.mark.parametrize("active, expected", [("fiber", False), ("fiber2", True), ("lte", True)])
def test_the_fleet_table_and_the_alerts_say_on_backup_for_any_uplink_but_the_best(active, expected):
    d = _device({"active_uplink": active, "links": THREE})
    assert listing.on_backup(d) is expected
    assert listing.on_backup(listing.slim(d)) is expected            # the console's slim copy says the same
    assert listing.slim(d)["state"]["failover"]["links"]["lte"] == {"kind": "cellular", "priority": 3}
    assert (state_facts(d).on_backup_since == 1000.0) is expected


def test_the_provider_is_the_preferred_uplinks_contract():
    site = site_of("shop-1", _device({"active_uplink": "fiber2", "links": THREE})["state"], {})
    assert (site.provider, site.preferred, site.cellular) == ("Orange fibre", "fiber", "lte")


def test_per_uplink_telemetry_is_kept_by_its_whole_name_old_and_new():
    from fleet.sites import Tracked, with_telemetry
    long = "a" * 24                                    # the longest uplink name the agent accepts
    t = with_telemetry(Tracked({}), 0.0, {"primary_rtt_ms": 12, "backup_loss_pct": 0, "fiber2_rtt_ms": 14,
                                          f"{long}_loss_pct": 3, "rsrp_dbm": -95})
    assert t.metrics == {"primary_rtt_ms": 12, "backup_loss_pct": 0, "fiber2_rtt_ms": 14, f"{long}_loss_pct": 3,
                         "rsrp_dbm": -95}
    assert f"{long}_loss_pct" not in with_telemetry(t, 1.0, {f"{long}_loss_pct": None}).metrics


def test_the_fleet_reads_the_failover_part_the_agent_publishes():
    """The real failover engine's state for [[uplinks]] fiber, second, lte (the part the agent publishes): the
    fleet finds the roles and the agent's telemetry has one series per uplink."""
    from agent.linkmon.inputs import CarrierChanged
    from agent.mqtt.telemetry import extract
    from tests.failover.test_controller_uplinks import ThreeUplinks
    rig = ThreeUplinks()
    rig.up()
    part = rig.core.state["failover"]
    assert (uplinks.preferred(part), uplinks.cellular(part), uplinks.on_backup(part)) == ("fiber", "lte", False)
    assert {"fiber_rtt_ms", "second_rtt_ms", "fiber_loss_pct", "second_loss_pct", "lte_loss_pct"} <= \
        set(extract(rig.core.state))
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    part = rig.core.state["failover"]
    assert part["active_uplink"] == "second" and uplinks.on_backup(part) is True
