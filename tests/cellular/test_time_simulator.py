"""Network time from the modem simulator, in virtual time: with the system clock unsynchronised the agent takes the
modem's NITZ time and every recorded timestamp says "modem" (events, the outage ledger); with NTP it leaves the
modem alone; a modem that never got network time is not believed; setting the system clock is opt-in.

The simulated network's clock runs OFFSET ahead of the agent's (virtual) system clock: a timestamp near
a.clock.wall() + OFFSET can only have come from the modem. Waits for a modem reading allow READING_S: a reading
that fails (the modem restarting during AT+CTZU, say) is retried RETRY_S later, and virtual seconds cost nothing.
"""
from __future__ import annotations

import logging

from agent.ledger import attach as attach_ledger
from agent.timesource import RETRY_S
from tests.cellular.agent_rig import agent_factory  # noqa: F401  (fixture)

OFFSET = 40 * 86400 + 1234.0
READING_S = RETRY_S + 20.0


def near(ts: float, expected: float, slack: float = 10.0) -> bool:
    return abs(ts - expected) <= slack


def test_unsynced_clock_takes_modem_time_and_every_timestamp_says_modem(agent_factory):
    a = agent_factory(ntp=False, network_offset_s=OFFSET)
    ledger = attach_ledger(a.core, a.config)
    assert a.ready()
    assert a.pump(lambda: a.core.state["time"]["source"] == "modem", READING_S), a.core.state["time"]
    assert a.sim.call(lambda e: e.model.ctzu) == 1          # Quectel's CTZU=3 refused by this firmware: 27.007's 1
    t = a.core.state["time"]
    assert near(t["modem_offset_s"], OFFSET, 5) and t["ntp_synced"] is False and t["modem_error"] is None
    assert a.core.run_command("time_status", {})["result"]["source"] == "modem"
    (change,) = a.events_of("time_source")
    assert (change.data["source"], change.data["previous"], change.time_source) == ("modem", "unsynced", "modem")

    event = a.core.emit("probe_for_test")
    assert event.time_source == "modem" and near(event.ts, a.clock.wall() + OFFSET)

    a.uplinks.set("primary", reachable=False)              # a real outage, recorded by the ledger
    assert a.pump(lambda: a.events_of("failover"), timeout=30)
    (failover,) = a.events_of("failover")
    assert failover.time_source == "modem" and near(failover.ts, a.clock.wall() + OFFSET)
    outage = ledger.current()
    assert outage.start_source == "modem" and near(outage.start, a.clock.wall() + OFFSET)
    a.uplinks.set("primary", reachable=True)
    assert a.pump(lambda: a.events_of("outage_closed"), timeout=30)
    (closed,) = a.events_of("outage_closed")
    assert closed.data["end_source"] == "modem" and closed.time_source == "modem"
    # every event this run, from whichever subsystem, after the first modem reading carries its source
    later = a.events[a.events.index(change):]
    assert later and {e.time_source for e in later} == {"modem"}
    assert all(near(e.ts, a.clock.wall() + OFFSET, 60) for e in later)


def test_synchronised_clock_stays_ntp_and_the_modem_clock_is_not_read(agent_factory):
    a = agent_factory(ntp=True, network_offset_s=OFFSET)
    assert a.ready()
    a.advance(2.0)
    assert a.core.state["time"]["source"] == "ntp" and a.core.state["time"]["modem_read_at"] is None
    assert a.sim.call(lambda e: e.model.ctzu) == 0
    event = a.core.emit("probe_for_test")
    assert event.time_source == "ntp" and near(event.ts, a.clock.wall())


def test_modem_without_network_time_is_not_believed_until_nitz_arrives(agent_factory, caplog):
    caplog.set_level(logging.WARNING, logger="agent.timesource")
    def no_network(sim):                   # denied, then powered up again: the clock never got NITZ
        sim.fault("deny", 1)
        sim.power_cycle()
    a = agent_factory(ntp=False, network_offset_s=OFFSET, before_start=no_network)
    assert a.pump(lambda: "not set by the network yet (1980-01-06" in (a.core.state["time"]["modem_error"] or "")), \
        a.core.state["time"]
    assert a.core.state["time"]["source"] == "unsynced"
    assert a.core.emit("probe_for_test").time_source == "unsynced"
    a.sim.fault("allow", 1)        # registration brings NITZ and a +CTZE URC: read at once, not after a minute
    assert a.pump(lambda: a.core.state["time"]["source"] == "modem", timeout=15), a.core.state["time"]
    assert near(a.core.emit("probe_for_test").ts, a.clock.wall() + OFFSET)
    assert caplog.text.count("not set by the network yet") == 1     # said once, not at every retry


def test_set_system_clock_is_opt_in_and_survives_a_refusal(agent_factory):
    stepped: list[float] = []
    a = agent_factory(ntp=False, network_offset_s=OFFSET, time_cfg={"set_system_clock": True},
                      set_clock=stepped.append)
    assert a.pump(lambda: stepped, READING_S)
    assert near(stepped[0], a.clock.wall() + OFFSET)
    (ev,) = a.events_of("clock_set")
    assert near(ev.data["step_s"], OFFSET, 10) and ev.time_source == "modem"

    def refuse(ts: float) -> None:
        raise PermissionError(1, "Operation not permitted")
    b = agent_factory(ntp=False, network_offset_s=OFFSET, time_cfg={"set_system_clock": True}, set_clock=refuse)
    assert b.pump(lambda: b.core.state["time"]["source"] == "modem", READING_S)
    assert b.events_of("clock_set") == [] and b.core.emit("x").time_source == "modem"

    c = agent_factory(ntp=False, network_offset_s=OFFSET, set_clock=stepped.append)   # not configured
    assert c.pump(lambda: c.core.state["time"]["source"] == "modem", READING_S)
    assert len(stepped) == 1
