"""The controller's reconcile also puts IPv6 right (docs/ipv6.md): the backend's status() carries an "ipv6"
part (iproute2); an uplink with an IPv6 address but no IPv6 route, or the IPv6 default elsewhere, is re-applied."""
from __future__ import annotations

from board.routes.simulated import SimulatedRoutes
from tests.failover.test_controller import Rig


class RoutesWithIpv6(SimulatedRoutes):
    """The simulated backend plus an IPv6 part written by the test, the way iproute2's status() reports it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ipv6 = {"preferred": None, "uplinks": {"primary": {"address": None, "metric": None},
                                                    "backup": {"address": None, "metric": None}}}
        self.prefers = 0

    def prefer(self, uplink):
        self.prefers += 1
        super().prefer(uplink)

    def status(self):
        return {**super().status(), "ipv6": self.ipv6}


def rig_with_ipv6() -> tuple[Rig, RoutesWithIpv6]:
    rig = Rig()
    routes = RoutesWithIpv6("eth0", "wwan0", clock=rig.clock)
    rig.ctl.routes = routes    # before up(): every route call from the first decision on goes to it
    rig.up()
    return rig, routes


def test_an_uplink_without_ipv6_does_not_make_the_reconcile_work():
    rig, routes = rig_with_ipv6()
    before = routes.prefers
    rig.advance(11)             # two periodic reconciles
    assert routes.prefers == before


def test_a_late_ipv6_address_gets_its_route_at_the_next_reconcile():
    rig, routes = rig_with_ipv6()
    before = routes.prefers
    routes.ipv6["uplinks"]["primary"] = {"address": "2001:db8:1::2", "metric": None}   # a router advertisement
    rig.advance(5.1)
    assert routes.prefers == before + 1 and routes.status()["preferred"] == "primary"


def test_the_ipv6_default_pointing_elsewhere_is_put_back():
    rig, routes = rig_with_ipv6()
    routes.ipv6 = {"preferred": "backup", "uplinks": {"primary": {"address": "2001:db8:1::2", "metric": 20},
                                                      "backup": {"address": "2001:db8:2::2", "metric": 10}}}
    before = routes.prefers
    rig.advance(5.1)
    assert routes.prefers == before + 1
    # an IPv6 default on the backup when the primary has no IPv6 at all is right: nothing to do
    routes.ipv6["uplinks"]["primary"]["address"] = None
    before = routes.prefers
    rig.advance(5.1)
    assert routes.prefers == before
