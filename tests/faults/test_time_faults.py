"""Fault catalogue, time: the system clock steps while an outage is open, a router without RTC boots in 1970, NTP
is unreachable and only the network's NITZ time is there. Decisions run on the monotonic clock, so none of these
may cause a failover; durations in the ledger must be the real ones; every timestamp says where it came from."""
from __future__ import annotations

import pytest

from agent.timesource import RETRY_S
from tests.faults.catalogue import Outcome, kinds
from tests.faults.virtual_agent import WholeAgent
from tests.virtual import WALL_EPOCH

DEFAULTS = {"probes": {"targets": ["192.0.2.1", "192.0.2.2", "192.0.2.3"]}, "failover": {}}


def make(tmp_path, **kwargs) -> WholeAgent:
    a = WholeAgent(tmp_path, extra=DEFAULTS, **kwargs)
    assert a.pump(lambda: a.registered(1) and a.state("failover").get("state") == "primary", 120)
    return a


def record(a: WholeAgent, mark: int, scenario: str, behaviour: str, recovery_s: float | None) -> None:
    assert a.lost() == 0
    Outcome("time", scenario, behaviour, len(a.since(mark)), a.lost(), recovery_s, kinds(a.since(mark))).report()


@pytest.mark.parametrize("step_s", [3600.0, -3600.0])
def test_clock_step_during_an_outage(tmp_path, step_s):
    a = make(tmp_path)
    try:
        a.advance(15)
        mark = a.mark()
        a.uplinks.set("primary", reachable=False)
        assert a.pump(lambda: "failover" in kinds(a.since(mark)), 10)
        a.advance(30)
        a.clock.wall_step += step_s                      # settimeofday: NTP corrects a clock one hour off
        a.advance(30)
        a.uplinks.set("primary", reachable=True)
        assert a.pump(lambda: "outage_closed" in kinds(a.since(mark)), 60)
        closed = next(e for e in a.since(mark) if e.kind == "outage_closed")
        assert closed.data["duration_basis"] == "monotonic"
        assert 60 <= closed.data["duration_s"] <= 75, closed.data     # the real outage, not ±1 h
        assert kinds(a.since(mark)).count("failover") == 1
        sign = "+" if step_s > 0 else "-"
        record(a, mark, f"clock step {sign}1 h during an outage",
               f"no extra switch; outage recorded as {closed.data['duration_s']:.0f} s (monotonic), not "
               f"{closed.data['duration_s'] + step_s:.0f} s", None)
    finally:
        a.close()


def test_no_rtc_at_boot_no_ntp(tmp_path):
    # A router without a battery-backed clock boots in 1970; NTP cannot be reached; the modem's network has the time.
    a = make(tmp_path, ntp=False, network_offset_s=0.0)
    try:
        a.clock.wall_step = -WALL_EPOCH + 3600.0
        mark = a.mark()
        a.core.emit("probe_for_test")                  # stamped by the wrong clock: says so
        assert a.events[-1].time_source != "modem" and a.events[-1].ts < 10 ** 6
        took = a.time_until(lambda: a.state("time").get("source") == "modem", RETRY_S + 120)
        assert took is not None
        event = a.core.emit("probe_for_test")
        assert event.time_source == "modem" and abs(event.ts - (WALL_EPOCH + a.clock())) < 10
        record(a, mark, "no RTC at boot (clock in 1970), no NTP",
               "events stamped 'unsynced' until the modem's network time, then 'modem' with the right date", took)
    finally:
        a.close()


def test_nitz_only(tmp_path):
    offset = 40 * 86400.0             # the system clock is 40 days behind and NTP unreachable
    a = make(tmp_path, ntp=False, network_offset_s=offset)
    try:
        mark = a.mark()
        took = a.time_until(lambda: a.state("time").get("source") == "modem", RETRY_S + 120)
        assert took is not None
        a.uplinks.set("primary", reachable=False)
        assert a.pump(lambda: "failover" in kinds(a.since(mark)), 10)
        failover = next(e for e in a.since(mark) if e.kind == "failover")
        assert failover.time_source == "modem" and abs(failover.ts - (WALL_EPOCH + a.clock() + offset)) < 10
        a.uplinks.set("primary", reachable=True)
        assert a.pump(lambda: "outage_closed" in kinds(a.since(mark)), 60)
        record(a, mark, "NITZ only (NTP unreachable, clock 40 days off)",
               "took the modem's network time; outage stamped 'modem' with the network's date", took)
    finally:
        a.close()
