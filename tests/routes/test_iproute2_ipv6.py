"""The iproute2 backend's IPv6 half against the real kernel, in the route lab with IPv6 (root; run in CI)."""
from __future__ import annotations

import pytest

from board.routes import RouteError, check_options, open_backend
from tests.conftest import require_root
from tests.routes.netlab import Lab, main_defaults_after_each
from tests.routes.netlab6 import ADDRESS6, GATEWAY6, add_ipv6, exit_taken6, route6_monitor

pytestmark = pytest.mark.root

OPTIONS = {"primary_interface": "wan0", "cellular_interface": "wwan0", "primary_gateway": "100.64.1.1",
           "backup_gateway": "100.64.2.1", "primary_gateway6": GATEWAY6, "backup_gateway6": GATEWAY6}


@pytest.fixture
def lab():
    require_root()
    with Lab() as lab:
        add_ipv6(lab)
        yield lab


@pytest.fixture
def backend(lab):
    opened = []

    def open_routes(**options):
        opened.append(open_backend("iproute2", **{**OPTIONS, "netns": lab.router, **options}))
        return opened[-1]
    yield open_routes
    for routes in opened:
        routes.close()


def defaults6(lab: Lab, table: str = "main") -> list[str]:
    return [line.strip() for line in lab.ip("-6", "route", "show", "default", "table", table).splitlines()]


def rules6(lab: Lab) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in lab.ip("-6", "rule").splitlines() if "proto 82" in line]


def test_prefer_switches_the_ipv6_default_with_the_ipv4_one(lab, backend):
    routes = backend()
    routes.prefer("primary")
    assert defaults6(lab) == [f"default via {GATEWAY6} dev wan0 proto 82 metric 10 pref medium",
                              f"default via {GATEWAY6} dev wwan0 proto 82 metric 20 pref medium"]
    assert exit_taken6(lab) == "primary" and lab.exit_taken() == "primary"

    routes.prefer("backup")
    assert defaults6(lab) == [f"default via {GATEWAY6} dev wwan0 proto 82 metric 10 pref medium",
                              f"default via {GATEWAY6} dev wan0 proto 82 metric 20 pref medium"]
    assert exit_taken6(lab) == "backup" and lab.exit_taken() == "backup"
    status = routes.status()["ipv6"]
    assert status["preferred"] == "backup"
    assert status["uplinks"]["backup"] == {"address": ADDRESS6["backup"], "gateway": GATEWAY6, "metric": 10,
                                           "table_route": True, "rule": True}
    assert status["uplinks"]["primary"]["metric"] == 20

    routes.prefer("primary")
    assert exit_taken6(lab) == "primary"


def test_per_uplink_rules_keep_a_bound_socket_on_its_uplink(lab, backend):
    routes = backend()
    routes.prefer("primary")
    assert rules6(lab) == [f"from {ADDRESS6['primary']} lookup 101 proto 82",
                           f"from {ADDRESS6['backup']} lookup 102 proto 82"]
    assert defaults6(lab, "101") == [f"default via {GATEWAY6} dev wan0 proto 82 metric 1024 pref medium"]
    assert defaults6(lab, "102") == [f"default via {GATEWAY6} dev wwan0 proto 82 metric 1024 pref medium"]
    # the main table says primary; a socket bound to the backup's address still leaves through the backup
    assert exit_taken6(lab, bind=ADDRESS6["backup"]) == "backup"
    assert exit_taken6(lab, bind=ADDRESS6["primary"]) == "primary"
    # and once the main table has only the primary, the rule alone carries it
    lab.ip("-6", "route", "del", "default", "dev", "wwan0", "metric", "20")
    assert exit_taken6(lab, bind=ADDRESS6["backup"]) == "backup"


def test_switching_never_leaves_ipv6_without_a_default_route(lab, backend):
    routes = backend()
    routes.prefer("primary")
    index = {name: int(lab.ip("-o", "link", "show", name).split(":")[0]) for name in ("wan0", "wwan0")}
    monitor = route6_monitor(lab)
    for uplink in ("backup", "primary", "backup"):
        routes.prefer(uplink)
    events = monitor.collect()
    monitor.close()
    snapshots = main_defaults_after_each({10: index["wan0"], 20: index["wwan0"]}, events)
    assert len(snapshots) >= 6     # each switch re-points both slots
    assert all(10 in s for s in snapshots)
    assert snapshots[-1] == {10: index["wwan0"], 20: index["wan0"]}


def test_prefer_is_idempotent_for_ipv6(lab, backend):
    routes = backend()
    routes.prefer("backup")
    before = (defaults6(lab), rules6(lab), defaults6(lab, "101"), defaults6(lab, "102"))
    monitor = route6_monitor(lab)
    routes.prefer("backup")
    routes.prefer("backup")
    assert monitor.collect() == []
    monitor.close()
    assert (defaults6(lab), rules6(lab), defaults6(lab, "101"), defaults6(lab, "102")) == before


def test_the_gateway_is_learned_from_a_router_advertisement_route(lab, backend):
    # what the kernel installs from a router advertisement: proto ra, metric 1024, link-local gateway (`ip route
    # add` refuses a second IPv6 default at one metric, which the kernel's own RA code does not: 1025 here)
    for metric, dev in ((1024, "wan0"), (1025, "wwan0")):
        lab.ip("-6", "route", "add", "default", "via", GATEWAY6, "dev", dev, "proto", "ra", "metric", str(metric))
    routes = backend(primary_gateway6="", backup_gateway6="")
    routes.prefer("backup")
    assert defaults6(lab)[:2] == [f"default via {GATEWAY6} dev wwan0 proto 82 metric 10 pref medium",
                                  f"default via {GATEWAY6} dev wan0 proto 82 metric 20 pref medium"]
    assert len([r for r in defaults6(lab) if "proto ra" in r]) == 2   # the advertised routes stay, beneath ours
    assert exit_taken6(lab) == "backup"


def test_an_uplink_without_ipv6_is_left_out_and_ipv4_still_switches(lab, backend):
    lab.ip("-6", "addr", "del", f"{ADDRESS6['backup']}/64", "dev", "wwan0")   # an IPv4-only cellular APN
    routes = backend(backup_gateway6="")
    routes.prefer("backup")
    assert lab.exit_taken() == "backup"
    # IPv6 stays on the only uplink that has it, in the standby slot; no rule for an address the backup lacks
    assert defaults6(lab) == [f"default via {GATEWAY6} dev wan0 proto 82 metric 20 pref medium"]
    assert rules6(lab) == [f"from {ADDRESS6['primary']} lookup 101 proto 82"]
    assert exit_taken6(lab) == "primary"
    assert routes.status()["ipv6"]["uplinks"]["backup"]["address"] is None


def test_an_ipv6_failure_is_logged_and_does_not_stop_the_ipv4_switch(lab, backend, caplog):
    # a gateway configured for an uplink that has no global IPv6 address: a configuration mistake, said once
    lab.ip("-6", "addr", "del", f"{ADDRESS6['backup']}/64", "dev", "wwan0")
    routes = backend()
    routes.prefer("backup")
    assert lab.exit_taken() == "backup"
    said = [r.message for r in caplog.records if "IPv6 route not installed" in r.message]
    assert len(said) == 1 and "backup (wwan0)" in said[0] and "no global IPv6 address" in said[0]
    routes.prefer("backup")      # the reconcile calling again: not said again while it lasts
    assert len([r for r in caplog.records if "IPv6 route not installed" in r.message]) == 1


def test_a_new_prefix_replaces_the_old_rule(lab, backend):
    routes = backend()
    routes.prefer("primary")
    lab.ip("-6", "addr", "del", f"{ADDRESS6['primary']}/64", "dev", "wan0")
    lab.ip("-6", "addr", "add", "2001:db8:1::99/64", "dev", "wan0", "nodad")
    routes.prefer("primary")
    assert sorted(rules6(lab)) == ["from 2001:db8:1::99 lookup 101 proto 82",
                                   f"from {ADDRESS6['backup']} lookup 102 proto 82"]


def test_ipv6_can_be_left_alone(lab, backend):
    routes = backend(ipv6=False, primary_gateway6="", backup_gateway6="")
    routes.prefer("backup")
    assert defaults6(lab) == [] and rules6(lab) == []
    assert routes.status()["ipv6"] is None and lab.exit_taken() == "backup"


@pytest.mark.parametrize("gateway, error", [("192.0.2.1", "is not an IPv6 address"),
                                            ("ff02::2", "is not a unicast"), ("fe80::1%wan0", "has a %zone")])
def test_bad_ipv6_gateways_are_refused_in_one_line(gateway, error):
    with pytest.raises(RouteError, match=f"^backup_gateway6 '{gateway}' {error}"):
        check_options("iproute2", backup_gateway6=gateway)


def test_a_raw_ip_modem_gets_an_ipv6_device_route(lab, backend):
    # as a raw-IP wwan interface (no gateway, no neighbours). Only the routes are checked, as for IPv4: a NOARP
    # veth addresses its frames to its own MAC, which its peer drops, so no traffic crosses it in the lab.
    lab.ip("link", "set", "wwan0", "arp", "off")
    routes = backend(backup_gateway="", backup_gateway6="")
    routes.prefer("backup")
    assert defaults6(lab)[0] == "default dev wwan0 proto 82 metric 10 pref medium"
    assert defaults6(lab, "102") == ["default dev wwan0 proto 82 metric 1024 pref medium"]


def test_a_restarted_agent_switches_ipv6_where_the_kernel_is(lab, backend):
    backend().prefer("backup")
    again = backend()              # a new process: it reads the intent back from the IPv4 routes
    again.set_standby("primary", True)
    assert defaults6(lab)[0] == f"default via {GATEWAY6} dev wwan0 proto 82 metric 10 pref medium"
    assert exit_taken6(lab) == "backup"
