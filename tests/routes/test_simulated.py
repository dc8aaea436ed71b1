"""The sim backend, the registry and the config's [board] route keys."""
from __future__ import annotations

import pytest

from agent.config import ConfigError, from_dict
from board.routes import RouteError, check_options, open_backend
from board.routes.simulated import RouteChange, SimulatedRoutes


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return FakeClock()


def test_starts_on_primary_with_both_uplinks_up():
    status = open_backend("simulated").status()
    assert status == {"backend": "simulated", "preferred": "primary", "uplinks": {
        "primary": {"interface": "eth0", "up": True, "metric": 10},
        "backup": {"interface": "wwan0", "up": True, "metric": 20}}}


def test_changes_are_recorded_with_the_time_they_were_made(clock):
    routes = SimulatedRoutes(clock=clock)
    clock.t = 101.5
    routes.prefer("backup")
    clock.t = 130.25
    routes.prefer("primary")
    assert routes.changes == [RouteChange(101.5, "prefer", "backup", {"metric": 10}),
                              RouteChange(130.25, "prefer", "primary", {"metric": 10})]
    assert str(routes.changes[0]) == "101.500 prefer backup metric=10"


def test_repeated_calls_change_nothing(clock):
    routes = SimulatedRoutes(clock=clock)
    routes.prefer("primary")
    routes.set_standby("backup", True)
    assert routes.changes == []


def test_cold_standby_and_failover(clock):
    routes = SimulatedRoutes(clock=clock, backup_up=False)
    assert routes.status()["uplinks"]["backup"] == {"interface": "wwan0", "up": False, "metric": None}
    with pytest.raises(RouteError, match=r"backup \(wwan0\): interface is down"):
        routes.prefer("backup")
    assert routes.changes == []       # a refused request leaves no trace
    routes.set_standby("backup", True)
    routes.prefer("backup")
    assert [(c.op, c.uplink, c.detail) for c in routes.changes] == [
        ("standby", "backup", {"up": True}), ("prefer", "backup", {"metric": 10})]
    assert routes.status()["preferred"] == "backup"


def test_a_down_uplink_loses_its_route_like_in_the_kernel(clock):
    routes = SimulatedRoutes(clock=clock)
    routes.prefer("backup")
    routes.set_standby("backup", False)
    assert routes.status()["preferred"] == "primary"
    routes.set_standby("backup", True)     # back up: the last preference holds again
    assert routes.status()["preferred"] == "backup"
    routes.set_standby("primary", False)
    routes.set_standby("backup", False)
    assert routes.status()["preferred"] is None


def test_fail_next_fails_once(clock):
    routes = SimulatedRoutes(clock=clock)
    routes.fail_next("prefer", "netlink said no")
    with pytest.raises(RouteError, match=r"backup \(wwan0\): netlink said no"):
        routes.prefer("backup")
    routes.prefer("backup")
    assert routes.status()["preferred"] == "backup"
    with pytest.raises(ValueError):
        routes.fail_next("status")


@pytest.mark.parametrize("uplink", ["lte", "", None, 1])
def test_unknown_uplink_is_refused(uplink):
    routes = SimulatedRoutes()
    with pytest.raises(RouteError, match="unknown uplink"):
        routes.prefer(uplink)
    with pytest.raises(RouteError, match="unknown uplink"):
        routes.set_standby(uplink, True)


def test_registry_errors():
    with pytest.raises(RouteError, match=r"unknown route backend 'ifupdown' \(known: iproute2, networkmanager, simulated\)"):
        open_backend("ifupdown")
    with pytest.raises(RouteError, match="simulated backend: got an unexpected keyword argument 'netns'"):
        check_options("simulated", netns="x")
    with pytest.raises(RouteError, match="preferred_metric"):
        open_backend("simulated", preferred_metric=20, standby_metric=10)


def test_board_config_route_keys():
    board = from_dict({"board": {"backend": "iproute2", "netns": "rlr-x", "backup_gateway": "100.64.2.1",
                                 "preferred_metric": 5, "standby_metric": 50}}).board
    assert board.route_options() == {
        "primary_interface": "eth0", "cellular_interface": "wwan0", "preferred_metric": 5, "standby_metric": 50,
        "primary_gateway": "", "backup_gateway": "100.64.2.1", "primary_table": 101, "backup_table": 102,
        "rule_priority": 1000, "policy_routing": True, "netns": "rlr-x", "ipv6": True, "primary_gateway6": "",
        "backup_gateway6": ""}
    assert from_dict({}).board.route_options() == {"primary_interface": "eth0", "cellular_interface": "wwan0",
                                                   "preferred_metric": 10, "standby_metric": 20}
    # every backend accepts what the config hands it
    for name in ("simulated", "iproute2", "networkmanager"):
        check_options(name, **from_dict({"board": {"backend": name}}).board.route_options())


@pytest.mark.parametrize("board, message", [
    ({"backend": "ifupdown"},
     '[board] backend: expected one of "simulated", "iproute2", "networkmanager", got "ifupdown"'),
    ({"preferred_metric": 20},
     '[board] standby_metric: expected a metric above preferred_metric (20), got 20'),
    ({"backend": "iproute2", "primary_table": 254},
     '[board] primary_table: expected a table other than 253, 254, 255 (reserved), got 254'),
    ({"backend": "iproute2", "backup_table": 101},
     '[board] backup_table: expected a table other than primary_table (101), got 101'),
    ({"backend": "iproute2", "backup_gateway": "gateway.isp"},
     '[board] backup_gateway: expected an IPv4 address or "", got "gateway.isp"'),
    ({"preferred_metric": "10"},
     '[board] preferred_metric: expected an integer, got "10"'),
])
def test_bad_board_config_is_a_clear_error(board, message):
    with pytest.raises(ConfigError) as e:
        from_dict({"board": board})
    assert str(e.value) == f"<dict>: {message}"


def test_three_uplinks_by_name(clock):
    routes = SimulatedRoutes(clock=clock, backup_up=False, uplinks=(
        {"name": "fiber", "interface": "eth0"}, {"name": "second", "interface": "eth1"},
        {"name": "lte", "interface": "wwan0", "cellular": True}))
    assert routes.status()["preferred"] == "fiber"
    assert {u: i["metric"] for u, i in routes.status()["uplinks"].items()} == {"fiber": 10, "second": 20, "lte": None}
    routes.prefer("second")
    assert {u: i["metric"] for u, i in routes.status()["uplinks"].items()} == {"second": 10, "fiber": 20, "lte": None}
    with pytest.raises(RouteError, match=r"lte \(wwan0\): interface is down"):   # cold: off until asked
        routes.prefer("lte")
    with pytest.raises(RouteError, match=r"unknown uplink 'backup' \(known: fiber, second, lte\)"):
        routes.prefer("backup")
