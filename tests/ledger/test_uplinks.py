"""The ledger with three [[uplinks]] (fiber, second, lte): incidents by uplink name, the fiber's outage open from
the first failover until traffic is back on the fiber (not when it climbs back to the second line), and a total
outage only when every uplink is down."""
from __future__ import annotations

from agent.ledger.records import ALL_LINKS, DOWN, TOTAL
from tests.ledger.rig import LedgerRig
from tests.ledger.test_incidents import approx, incidents

LINKS = {"fiber": {"kind": "ethernet"}, "second": {"kind": "ethernet"}, "lte": {"kind": "cellular"}}
MODEM = {"operator_name": "Orange F", "mcc": 208, "mnc": 1, "rat": "LTE", "cell_id": "01A2B3C", "lac_tac": "00C1",
         "sim_slot": 1}


def switch(rig, kind, frm, to, **data):
    rig.emit(kind, **{"from": frm, "to": to}, **data)


def test_the_fibers_outage_lasts_until_traffic_is_back_on_the_fiber(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state.update(failover={"links": LINKS}, modem=dict(MODEM))
    start = rig.wall()
    rig.emit("link_down", link="fiber", reason="carrier_lost")
    switch(rig, "failover", "fiber", "second", reason="carrier_lost")
    rig.advance(10)
    rig.emit("link_down", link="second", reason="no_answer")
    switch(rig, "failover", "second", "lte", reason="no_answer")
    rig.advance(10)
    rig.emit("link_restored", link="second", was="down")
    rig.advance(5)
    switch(rig, "failback", "lte", "second", reason="recovered")
    assert [i.end for i in incidents(rig, DOWN, "fiber")] == [None]    # still out: traffic on the second line
    rig.advance(10)
    back = rig.wall()
    rig.emit("link_restored", link="fiber", was="down")
    rig.advance(5)
    switch(rig, "failback", "second", "fiber", reason="recovered")
    (fiber,) = incidents(rig, DOWN, "fiber")
    assert fiber.start == approx(start) and fiber.end == approx(back)
    assert "operator" not in fiber.evidence           # carried by a fixed line: no cellular evidence
    (second,) = incidents(rig, DOWN, "second")
    assert second.carried_by == "lte" and second.evidence["operator"] == "Orange F"
    assert incidents(rig, TOTAL) == []                                  # lte carried the traffic throughout


def test_a_total_outage_needs_every_uplink_down(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state["failover"] = {"links": LINKS}
    for link in ("fiber", "second"):
        rig.emit("link_down", link=link, reason="carrier_lost")
    assert incidents(rig, TOTAL) == []
    rig.emit("link_down", link="lte", reason="carrier_lost")
    (total,) = incidents(rig, TOTAL)
    assert total.link == ALL_LINKS and set(total.evidence["links"]) == {"fiber", "second", "lte"}


def test_before_any_switch_the_carrier_is_the_uplink_in_use_by_name(tmp_path):
    rig = LedgerRig(tmp_path)
    rig.core.state.update(failover={"active_uplink": "fiber", "links": LINKS}, modem=dict(MODEM))
    rig.emit("link_down", link="second", reason="no_answer")      # a standby line lost: traffic stays on the fiber
    (second,) = incidents(rig, DOWN, "second")
    assert second.carried_by == "fiber"                           # not "primary": no uplink has that name here


def test_a_sim_switch_is_evidence_of_an_incident_carried_by_the_cellular_uplink(tmp_path):
    rig = LedgerRig(tmp_path)
    # no operator known yet (the modem not registered): the incident is the cellular uplink's by its kind alone
    rig.core.state.update(failover={"active_uplink": "fiber", "links": LINKS}, modem={"sim_slot": 1})
    rig.emit("link_down", link="fiber", reason="carrier_lost")
    rig.emit("link_down", link="second", reason="carrier_lost")
    switch(rig, "failover", "fiber", "lte", reason="carrier_lost")
    rig.emit("sim_switch", from_slot=1, to_slot=2, reason="no_service")
    rig.advance(5)
    rig.emit("link_restored", link="fiber", was="down")
    switch(rig, "failback", "lte", "fiber", reason="recovered")
    (fiber,) = incidents(rig, DOWN, "fiber")
    assert fiber.carried_by == "lte" and [s["kind"] for s in fiber.evidence["switches"]] == ["sim_switch"]
