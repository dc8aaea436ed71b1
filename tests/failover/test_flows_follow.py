"""After each switch the controller asks the route backend to forget the NAT of flows mapped to the old uplinks'
addresses (the real flush is board/routes/conntrack.py, measured in tests/lab/test_lan_flows.py)."""
from __future__ import annotations

from agent.linkmon.inputs import AddressChanged, CarrierChanged
from tests.failover.test_controller import Rig


def test_failover_and_failback_forget_the_old_uplinks_nat():
    rig = Rig()
    rig.up()
    assert rig.routes.forgotten == []        # no switch yet: the start's route is not one
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    assert rig.routes.status()["preferred"] == "backup"
    assert rig.routes.forgotten == [["100.64.1.2"]]
    rig.post(CarrierChanged("eth0", True, rig.clock.t))
    rig.advance(11, answer={"primary": True, "backup": True})
    assert rig.routes.status()["preferred"] == "primary"
    assert rig.routes.forgotten == [["100.64.1.2"], ["100.64.2.2"]]


def test_an_address_taken_away_is_still_forgotten():
    """The primary's address removed (a lease lost): flows NATed to it are still in conntrack under that address."""
    rig = Rig()
    rig.up()
    rig.post(AddressChanged("eth0", None, rig.clock.t))
    assert rig.state["active_uplink"] == "backup"
    assert rig.routes.forgotten == [["100.64.1.2"]]


def test_nothing_is_forgotten_until_the_route_has_moved():
    rig = Rig()
    rig.up()
    rig.routes.fail_next("prefer", "netlink busy")
    rig.post(CarrierChanged("eth0", False, rig.clock.t))
    assert rig.routes.forgotten == []        # the default route still points at the primary: its flows work
    rig.advance(5.1)                         # the reconcile moves it
    assert rig.routes.status()["preferred"] == "backup" and rig.routes.forgotten == [["100.64.1.2"]]
    rig.advance(10.1)                        # reconciles that find nothing to change flush nothing more
    assert rig.routes.forgotten == [["100.64.1.2"]]
