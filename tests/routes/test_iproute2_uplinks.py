"""The iproute2 backend with three uplinks (fiber, a second operator's line, cellular) against the real kernel:
one default route per uplink in the main table (the preferred at preferred_metric, the others at standby_metric,
+1 in priority order), a table and a rule per uplink, IPv4 and IPv6 alike (root; run in CI)."""
from __future__ import annotations

import pytest

from board.routes import RouteError, open_backend
from tests.conftest import require_root
from tests.routes.netlab import Lab, main_defaults_after_each
from tests.routes.netlab6 import ADDRESS6, GATEWAY6, add_ipv6, exit_taken6

pytestmark = pytest.mark.root

UPLINKS = ({"name": "primary", "interface": "wan0", "gateway": "100.64.1.1", "gateway6": GATEWAY6, "table": 101},
           {"name": "second", "interface": "wan1", "gateway": "100.64.3.1", "gateway6": GATEWAY6, "table": 103},
           {"name": "backup", "interface": "wwan0", "cellular": True, "gateway": "100.64.2.1", "gateway6": GATEWAY6,
            "table": 102})
DEVICE = {"primary": "wan0", "second": "wan1", "backup": "wwan0"}
GATEWAY = {u["name"]: u["gateway"] for u in UPLINKS}


@pytest.fixture(scope="module")
def lab():
    require_root()
    with Lab(third=True) as lab:
        add_ipv6(lab)
        yield lab


@pytest.fixture(scope="module")
def routes(lab):
    routes = open_backend("iproute2", netns=lab.router, uplinks=UPLINKS)
    yield routes
    routes.close()


def defaults(lab: Lab, family: str = "-4", table: str = "main") -> list[str]:
    return [line.strip() for line in lab.ip(family, "route", "show", "default", "table", table).splitlines()]


@pytest.mark.parametrize("preferred, order", [
    ("primary", ("primary", "second", "backup")),
    ("second", ("second", "primary", "backup")),
    ("backup", ("backup", "primary", "second")),
])
def test_the_preferred_uplink_carries_the_traffic_and_the_others_stand_by_in_priority_order(lab, routes, preferred,
                                                                                          order):
    routes.prefer(preferred)
    metrics = (10, 20, 21)
    assert defaults(lab) == [f"default via {GATEWAY[u]} dev {DEVICE[u]} proto 82 metric {m}"
                             for u, m in zip(order, metrics)]
    assert defaults(lab, "-6") == [f"default via {GATEWAY6} dev {DEVICE[u]} proto 82 metric {m} pref medium"
                                   for u, m in zip(order, metrics)]
    assert lab.exit_taken() == preferred and exit_taken6(lab) == preferred
    status = routes.status()
    assert status["preferred"] == preferred and status["ipv6"]["preferred"] == preferred
    assert {u: info["metric"] for u, info in status["uplinks"].items()} == dict(zip(order, metrics))


def test_each_uplink_has_its_table_and_rule_for_sockets_bound_to_it(lab, routes):
    routes.prefer("primary")
    for u in UPLINKS:
        assert defaults(lab, table=str(u["table"])) == [f"default via {u['gateway']} dev {u['interface']} proto 82"]
        assert routes.status()["uplinks"][u["name"]]["rule"]
    assert lab.exit_taken(bind="100.64.3.2") == "second"
    assert exit_taken6(lab, bind=ADDRESS6["second"]) == "second"


def test_switching_between_three_uplinks_never_leaves_the_main_table_without_a_default_route(lab, routes):
    routes.prefer("primary")
    index = {name: int(lab.ip("-o", "link", "show", name).split(":")[0]) for name in DEVICE.values()}
    initial = {10: index["wan0"], 20: index["wan1"], 21: index["wwan0"]}
    monitor = lab.route_monitor()
    for uplink in ("second", "backup", "second", "primary"):
        routes.prefer(uplink)
    events = monitor.collect()
    monitor.close()
    snapshots = main_defaults_after_each(initial, events)
    assert snapshots and all(snapshots), f"a moment without default route: {events}"
    assert snapshots[-1] == initial


def test_an_unknown_uplink_is_refused_by_name(routes):
    with pytest.raises(RouteError, match=r"unknown uplink 'dsl' \(known: primary, second, backup\)"):
        routes.prefer("dsl")


def test_uplinks_sharing_a_table_are_refused():
    clash = (UPLINKS[0], {**UPLINKS[1], "table": 101})
    with pytest.raises(RouteError, match="each uplink needs a table of its own"):
        open_backend("iproute2", uplinks=clash)
