"""The iproute2 backend against the real kernel, in a lab of network namespaces (root; run, not skipped, in CI)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from board.routes import RouteError, open_backend
from tests.conftest import require_root
from tests.routes.netlab import INTERNET_HOST, Lab, in_netns, main_defaults_after_each

pytestmark = pytest.mark.root

PRIMARY_GW, BACKUP_GW = "100.64.1.1", "100.64.2.1"
PRIMARY_ADDR, BACKUP_ADDR = "100.64.1.2", "100.64.2.2"


@pytest.fixture
def lab():
    require_root()
    with Lab() as lab:
        yield lab


@pytest.fixture
def backend(lab):
    """Opens the backend on the lab's router (options override the lab's defaults); closes it afterwards."""
    opened = []

    def open_routes(**options):
        options = {"primary_interface": "wan0", "cellular_interface": "wwan0", "backup_gateway": BACKUP_GW,
                   "primary_gateway": PRIMARY_GW, "netns": lab.router, **options}
        opened.append(open_backend("iproute2", **options))
        return opened[-1]
    yield open_routes
    for routes in opened:
        routes.close()


def defaults(lab: Lab, table: str = "main") -> list[str]:
    return [line.strip() for line in lab.ip("route", "show", "default", "table", table).splitlines()]


def test_prefer_sets_metrics_and_traffic_follows(lab, backend):
    routes = backend()
    routes.prefer("primary")
    assert defaults(lab) == [f"default via {PRIMARY_GW} dev wan0 proto 82 metric 10",
                             f"default via {BACKUP_GW} dev wwan0 proto 82 metric 20"]
    assert lab.exit_taken() == "primary"

    routes.prefer("backup")
    assert defaults(lab) == [f"default via {BACKUP_GW} dev wwan0 proto 82 metric 10",
                             f"default via {PRIMARY_GW} dev wan0 proto 82 metric 20"]
    assert lab.exit_taken() == "backup"
    status = routes.status()
    assert status["preferred"] == "backup" and status["default_interface"] == "wwan0"
    assert status["uplinks"]["backup"] | {"metric": 10, "up": True, "address": BACKUP_ADDR} == \
        status["uplinks"]["backup"]
    assert status["uplinks"]["primary"]["metric"] == 20

    routes.prefer("primary")
    assert lab.exit_taken() == "primary"


def test_prefer_is_idempotent(lab, backend):
    routes = backend()
    routes.prefer("backup")
    before = (defaults(lab), lab.ip("rule"), defaults(lab, "101"), defaults(lab, "102"))
    monitor = lab.route_monitor()
    routes.prefer("backup")
    routes.prefer("backup")
    assert monitor.collect() == []    # nothing rewritten, not even with the same values
    monitor.close()
    assert (defaults(lab), lab.ip("rule"), defaults(lab, "101"), defaults(lab, "102")) == before


def test_switch_never_leaves_main_table_without_default_route(lab, backend):
    routes = backend()
    routes.prefer("primary")
    index = {name: int(lab.ip("-o", "link", "show", name).split(":")[0]) for name in ("wan0", "wwan0")}
    initial = {10: index["wan0"], 20: index["wwan0"]}
    monitor = lab.route_monitor()
    routes.prefer("backup")
    routes.prefer("primary")
    events = monitor.collect()
    monitor.close()
    snapshots = main_defaults_after_each(initial, events)
    assert snapshots, "no route notifications seen: the replay would prove nothing"
    assert all(snapshots), f"a moment without default route: {events}"
    # and the lowest metric moved straight from one uplink to the other
    assert [min(s.items())[1] for s in snapshots][:1] == [index["wwan0"]]
    assert snapshots[-1] == initial


def test_policy_rules_keep_bound_sockets_on_their_uplink(lab, backend):
    routes = backend()
    routes.prefer("backup")
    assert f"from {PRIMARY_ADDR} lookup 101 proto 82" in lab.ip("rule")
    assert defaults(lab, "101") == [f"default via {PRIMARY_GW} dev wan0 proto 82"]
    assert lab.exit_taken(bind=PRIMARY_ADDR) == "primary"
    assert lab.exit_taken(bind=BACKUP_ADDR) == "backup"
    routes.prefer("primary")
    assert lab.exit_taken(bind=BACKUP_ADDR) == "backup"


def test_without_policy_rules_a_bound_socket_is_lost(lab, backend):
    # The control for the test above. Without the rule a probe bound to the primary's address leaves through the
    # backup ISP, which has no way back to that address: the connection never completes (as on a real ISP).
    routes = backend(policy_routing=False)
    routes.prefer("backup")
    assert "lookup 101" not in lab.ip("rule")
    with pytest.raises(OSError):
        lab.exit_taken(bind=PRIMARY_ADDR, timeout=1.5)


def test_established_connection_survives_a_switch(lab, backend):
    routes = backend()
    routes.prefer("primary")
    client = in_netns(lab.router, lambda: socket.create_connection((INTERNET_HOST, lab.port), timeout=5))
    conn, _ = lab.accept()
    with client, conn:
        routes.prefer("backup")
        assert lab.exit_taken() == "backup"
        client.sendall(b"ping")
        assert conn.recv(4) == b"ping"
        conn.sendall(b"pong")
        assert client.recv(4) == b"pong"


def test_routes_of_others_are_left_alone_and_gateway_is_discovered(lab, backend):
    lab.ip("route", "add", "default", "via", PRIMARY_GW, "dev", "wan0", "proto", "dhcp", "metric", "100")
    routes = backend(primary_gateway="")
    routes.prefer("backup")
    routes.prefer("primary")
    assert defaults(lab) == [f"default via {PRIMARY_GW} dev wan0 proto 82 metric 10",
                             f"default via {BACKUP_GW} dev wwan0 proto 82 metric 20",
                             f"default via {PRIMARY_GW} dev wan0 proto dhcp metric 100"]


def test_foreign_route_at_our_metric_is_refused(lab, backend):
    lab.ip("route", "add", "default", "via", PRIMARY_GW, "dev", "wan0", "proto", "dhcp", "metric", "10")
    routes = backend()
    with pytest.raises(RouteError, match="metric 10 that relais did not install"):
        routes.prefer("backup")
    assert f"default via {PRIMARY_GW} dev wan0 proto dhcp metric 10" in defaults(lab)


def test_cold_standby_takes_link_down_and_back(lab, backend):
    routes = backend()
    routes.prefer("primary")
    routes.set_standby("backup", False)
    assert "state DOWN" in lab.ip("link", "show", "wwan0")
    assert defaults(lab) == [f"default via {PRIMARY_GW} dev wan0 proto 82 metric 10"]
    backup = routes.status()["uplinks"]["backup"]
    assert (backup["up"], backup["admin_up"], backup["metric"], backup["table_route"]) == (False, False, None, False)
    with pytest.raises(RouteError, match=r"backup \(wwan0\): interface is down"):
        routes.prefer("backup")

    routes.set_standby("backup", True)   # back as standby, primary still preferred
    assert defaults(lab) == [f"default via {PRIMARY_GW} dev wan0 proto 82 metric 10",
                             f"default via {BACKUP_GW} dev wwan0 proto 82 metric 20"]
    assert defaults(lab, "102") == [f"default via {BACKUP_GW} dev wwan0 proto 82"]
    routes.prefer("backup")
    assert lab.exit_taken() == "backup"


def test_failover_with_primary_down_keeps_working(lab, backend):
    routes = backend()
    routes.prefer("primary")
    routes.set_standby("primary", False)     # the fiber interface gone: its routes go with it
    routes.prefer("backup")
    assert defaults(lab) == [f"default via {BACKUP_GW} dev wwan0 proto 82 metric 10"]
    assert routes.status()["preferred"] == "backup"
    routes.set_standby("primary", True)
    assert defaults(lab)[1] == f"default via {PRIMARY_GW} dev wan0 proto 82 metric 20"


def test_a_restarted_agent_carries_on_from_the_kernel_state(lab, backend):
    first = backend()
    first.prefer("backup")
    first.close()
    second = backend()
    assert second.status()["preferred"] == "backup"
    second.set_standby("primary", True)   # re-applies the intent it read back: backup stays preferred
    assert defaults(lab)[0] == f"default via {BACKUP_GW} dev wwan0 proto 82 metric 10"


def test_new_address_moves_the_rule(lab, backend):
    routes = backend()
    routes.prefer("backup")
    lab.ip("addr", "del", f"{BACKUP_ADDR}/24", "dev", "wwan0")
    lab.ip("addr", "add", "100.64.2.7/24", "dev", "wwan0")
    routes.prefer("backup")    # the agent re-applies after the cellular session came back with a new address
    rules = lab.ip("rule")
    assert "from 100.64.2.7 lookup 102" in rules and f"from {BACKUP_ADDR} " not in rules
    assert lab.exit_taken(bind="100.64.2.7") == "backup"


def test_point_to_point_uplink_gets_a_device_route(lab, backend):
    lab.ip("link", "set", "wwan0", "arp", "off")     # as a raw-IP wwan interface: no gateway needed
    routes = backend(backup_gateway="")
    routes.prefer("primary")
    assert defaults(lab)[1] == "default dev wwan0 proto 82 scope link metric 20"


def test_missing_interface_is_named(lab, backend):
    routes = backend(cellular_interface="wwan9")
    with pytest.raises(RouteError, match=r"backup \(wwan9\): no such interface in network namespace"):
        routes.prefer("backup")
    routes.prefer("primary")     # a missing standby does not stop the preferred uplink
    assert defaults(lab) == [f"default via {PRIMARY_GW} dev wan0 proto 82 metric 10"]
    assert routes.status()["uplinks"]["backup"]["exists"] is False


def test_no_gateway_is_reported(lab, backend):
    routes = backend(primary_gateway="")
    with pytest.raises(RouteError, match=r"primary \(wan0\): no gateway"):
        routes.prefer("primary")


def test_missing_namespace_and_bad_options():
    with pytest.raises(RouteError, match="namespace 'rlr-does-not-exist' does not exist"):
        open_backend("iproute2", netns="rlr-does-not-exist")
    assert not os.path.exists("/var/run/netns/rlr-does-not-exist")
    with pytest.raises(RouteError, match="not an IPv4 address"):
        open_backend("iproute2", primary_gateway="fe80::1")
    with pytest.raises(RouteError, match="preferred_metric"):
        open_backend("iproute2", preferred_metric=20, standby_metric=20)
    with pytest.raises(RouteError, match="reserved"):
        open_backend("iproute2", backup_table=254)


def test_without_privileges_the_error_says_so(lab):
    # A real process without CAP_NET_ADMIN in the router's namespace (root with every capability dropped, as a
    # service unit without it): the kernel answers EPERM. Not uid nobody: it cannot reach a checkout in a private
    # home directory (mode 0700, Debian's default), where `make test` must pass too.
    script = textwrap.dedent("""
        from board.routes import RouteError, open_backend
        routes = open_backend("iproute2", primary_interface="wan0", cellular_interface="wwan0",
                              primary_gateway="100.64.1.1", backup_gateway="100.64.2.1")
        try:
            routes.prefer("backup")
        except RouteError as e:
            print(e)
    """)
    done = subprocess.run(["ip", "netns", "exec", lab.router, "setpriv", "--bounding-set=-all", "--inh-caps=-all",
                           "--ambient-caps=-all", sys.executable, "-c", script],
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                              os.path.abspath(__file__)))), timeout=60)
    assert done.returncode == 0, done.stderr
    assert "not permitted (needs root or CAP_NET_ADMIN)" in done.stdout
    assert "backup (wwan0)" in done.stdout
