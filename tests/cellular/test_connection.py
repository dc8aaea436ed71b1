"""The cellular connection (the modem's trouble, the data session) as tables of (t, input) -> actions.

Settings: data on, the address re-read every 60 s, a failed bring-up retried after 30 s doubling up to 600 s.
The SIM in use is slot 1 unless a row says otherwise.
"""
from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as hst

from tests import tables
from agent.cellular.connection import (DATA_RETRY_MAX_S, BringUp, BringUpFailed, BroughtUp, CheckAddress, Checked,
                                       Emit, Flowing, Hold, Job, ModemLost, Polled, PollFailed, Port, Settings,
                                       SimInUse, SimSwitch, Started, Tick, answering, decide, initial, trouble,
                                       view)
from common.backoff import Backoff

S = Settings(data=True, check_s=60.0, retry=Backoff(30.0, DATA_RETRY_MAX_S))
HOME = Polled("home", "READY")
SEARCHING = Polled("searching", "READY")
UP = BroughtUp(1, "internet", "database", "10.1.2.3", "qmi", wall=1_700_000_000.0)


def E(kind, **data):
    return Emit(kind, data)


def run_table(rows, settings=S, state=None):
    return tables.run_table(decide, state or _on_slot(initial(settings)), rows)


def _on_slot(st, slot=1):
    st, _ = decide(st, SimInUse(slot, False), 0.0)
    return st


def registered_and_up(t=0.0):
    """Registered at t, the session up a second later."""
    return [(t, HOME, []),
            (t, Tick(), [BringUp(1)]),
            (t + 1, UP, [E("data_session", up=True, slot=1, apn="internet", address="10.1.2.3", via="qmi")])]


# ---- the data session -------------------------------------------------------------------------------------------

def test_a_registered_modem_gets_its_session_and_its_address_is_reread_every_check_s():
    st = run_table(registered_and_up() + [
        (60.9, Tick(), []),
        (61.0, Tick(), [CheckAddress(1)]),
        (121.5, Tick(), []),                                          # one check at a time: the first is not back
        (122.0, Checked(1, "10.1.2.3"), []),                          # same address: nothing to say
        (122.5, Tick(), [CheckAddress(1)]),
        (123.0, Checked(1, "10.9.9.9"), [E("data_session", up=True, slot=1, address="10.9.9.9", via="qmi")]),
    ])
    assert view(st) == {"up": True, "slot": 1, "apn": "internet", "apn_source": "database", "address": "10.9.9.9",
                        "via": "qmi", "since": 1_700_000_000.0, "error": None, "flowing": None}
    assert trouble(st) == (None, None)


def test_an_address_gone_is_a_lost_session_brought_up_again_at_once():
    run_table(registered_and_up() + [
        (61.0, Tick(), [CheckAddress(1)]),
        (62.0, Checked(1, None), [E("data_session", up=False, slot=1, address="10.1.2.3", reason="address lost")]),
        (63.0, Tick(), [BringUp(1)]),
    ])


def test_a_failed_check_learns_nothing():
    st = run_table(registered_and_up() + [
        (61.0, Tick(), [CheckAddress(1)]),
        (62.0, Checked(1, None, failed=True), []),
    ])
    assert st.session.up and st.job is None


def test_failures_back_off_exponentially_up_to_the_cap_and_each_reason_is_said_once():
    rows = [(0.0, HOME, []), (0.0, Tick(), [BringUp(1)]),
            (1.0, BringUpFailed(1, "+CME ERROR: 30"), [E("data_session", up=False, slot=1, error="+CME ERROR: 30")])]
    t, delay = 1.0, 30.0
    for i in range(6):
        rows += [(t + delay - 0.5, Tick(), []),
                 (t + delay, Tick(), [BringUp(1)]),
                 (t + delay + 1, BringUpFailed(1, "+CME ERROR: 30"), [])]      # the same reason again: silent
        t, delay = t + delay + 1, min(delay * 2, DATA_RETRY_MAX_S)
    assert delay == DATA_RETRY_MAX_S
    rows += [(t + delay - 0.5, Tick(), []),
             (t + delay, Tick(), [BringUp(1)]),
             (t + delay + 1, BringUpFailed(1, "no address"), [E("data_session", up=False, error="no address")])]
    st = run_table(rows)
    assert st.failures == 8 and view(st)["error"] == "no address"


def test_registering_again_or_a_sim_switch_retries_at_once():
    run_table([(0.0, HOME, []), (0.0, Tick(), [BringUp(1)]),
               (1.0, BringUpFailed(1, "boom"), [E("data_session", up=False, error="boom")]),
               (2.0, Tick(), []),
               (3.0, SEARCHING, []), (3.0, Tick(), []),
               (4.0, HOME, []), (4.0, Tick(), [BringUp(1)]),
               (5.0, BringUpFailed(1, "boom"), [E("data_session", up=False, error="boom")]),   # error forgotten
               (6.0, SimSwitch(), []),
               (6.0, SimInUse(2, True), []),
               (7.0, Tick(), []),                                                  # switching
               (8.0, SimInUse(2, False), []),
               (8.0, Tick(), [BringUp(2)])])


def test_no_session_while_switching_or_held_and_none_kept_for_a_sim_left():
    run_table([(0.0, SimInUse(1, True), []),
               (0.0, HOME, []), (0.0, Tick(), []),
               (1.0, SimInUse(1, False), []),
               (1.0, Hold(True), []), (1.0, Tick(), []),
               (2.0, Hold(False), []), (2.0, Tick(), [BringUp(1)]),
               (3.0, SimInUse(2, True), []),
               (4.0, UP, []),                                                      # slot 1 is left: ignored
               (5.0, SimInUse(2, False), []),
               (5.0, Tick(), [BringUp(2)])])


def test_the_session_is_lost_with_the_registration_the_port_a_restart_or_a_switch():
    for event, reason, extra in [(SEARCHING, "not registered", []), (Port("port_lost"), "modem port lost", [ModemLost()]),
                                 (Port("rebooted"), "modem restarted", [ModemLost()]),
                                 (SimSwitch(), "sim_switch", [])]:
        st = run_table(registered_and_up() + [
            (10.0, Flowing(True), []),
            (20.0, event, extra + [E("data_session", up=False, slot=1, apn="internet", address="10.1.2.3",
                                     reason=reason)]),
            (21.0, event, [ModemLost()] if event == Port("port_lost") or event == Port("rebooted") else []),
        ])
        assert view(st)["up"] is False and view(st)["flowing"] is None and view(st)["address"] is None, reason


def test_no_data_wanted_no_session_and_no_data_trouble():
    st = run_table([(0.0, HOME, []), (0.0, Tick(), []), (1000.0, Tick(), [])], settings=Settings(data=False))
    assert trouble(st) == (None, None)


# ---- the modem's trouble (the ladder's input) -------------------------------------------------------------------

def test_registered_without_a_session_is_data_down_from_the_first_try():
    st = run_table([(0.0, HOME, []), (5.0, Tick(), [BringUp(1)]),
                    (6.0, BringUpFailed(1, "boom"), [E("data_session", up=False)]),
                    (40.0, Tick(), [BringUp(1)])])
    assert trouble(st) == ("data_down", 5.0)
    st = run_table([(41.0, UP, [E("data_session", up=True)])], state=st)
    assert trouble(st) == (None, None)


def test_no_apn_is_the_configurations_fault_not_data_down():
    st = run_table([(0.0, HOME, []), (0.0, Tick(), [BringUp(1)]),
                    (1.0, BringUpFailed(1, "no APN for this SIM", no_apn=True), [E("data_session", up=False)]),
                    (31.0, Tick(), [BringUp(1)])])                             # still retried, in case
    assert trouble(st) == (None, None)


def test_no_service_only_for_a_ready_sim_without_registration():
    st = run_table([(0.0, SEARCHING, []), (5.0, SEARCHING, [])])
    assert trouble(st) == ("no_service", 0.0)
    st = run_table([(6.0, Polled("denied", "READY"), [])], state=st)         # the SIM rules' business
    assert trouble(st) == (None, None)
    st = run_table([(7.0, Polled("not_registered", "SIM PIN"), [])], state=st)
    assert trouble(st) == (None, None)


@pytest.mark.parametrize("rows, expected", [
    ([(0.0, Started(port_open=False), [])], ("port_gone", 0.0)),
    ([(0.0, Started(port_open=True), [])], (None, None)),
    ([(3.0, Port("port_lost"), [ModemLost()]), (4.0, Port("port_lost"), [ModemLost()])], ("port_gone", 3.0)),
    ([(3.0, Port("port_lost"), [ModemLost()]), (9.0, Port("port_opened"), [])], (None, None)),
    ([(3.0, Port("unresponsive"), []), (4.0, Port("unresponsive"), [])], ("unresponsive", 3.0)),
    ([(3.0, PollFailed(), [ModemLost()]), (4.0, PollFailed(), [])], ("unresponsive", 3.0)),   # stale once
    ([(3.0, PollFailed(), [ModemLost()]), (4.0, HOME, [])], (None, None)),
    ([(1.0, SEARCHING, []), (2.0, PollFailed(), [ModemLost()])], ("unresponsive", 2.0)),     # worse than no_service
    ([(1.0, PollFailed(), [ModemLost()]), (2.0, Port("port_lost"), [ModemLost()])], ("port_gone", 2.0)),
    ([(1.0, Port("port_lost"), [ModemLost()]), (2.0, Port("unresponsive"), [])], ("port_gone", 1.0)),
])
def test_trouble_onsets_and_their_order(rows, expected):
    st = run_table(rows)
    assert trouble(st) == expected
    assert answering(st) is (expected[0] not in ("port_gone", "unresponsive"))


def test_a_lost_port_is_not_registered_until_a_poll_says_so():
    st = run_table(registered_and_up() + [
        (5.0, Port("port_lost"), [ModemLost(), E("data_session", up=False, reason="modem port lost")]),
        (6.0, Port("port_opened"), []),
        (7.0, Tick(), []),                                   # no session to bring up: not known registered
        (8.0, HOME, []), (8.0, Tick(), [BringUp(1)])])
    assert st.job == Job.BRING_UP


def test_not_an_input():
    with pytest.raises(TypeError, match="not a connection input"):
        decide(initial(S), object(), 0.0)


# ---- properties over random histories ---------------------------------------------------------------------------

EVENTS = hst.sampled_from([
    Tick(), Tick(), Tick(), HOME, HOME, SEARCHING, Polled("denied", "READY"), Polled(None, "NOT INSERTED"),
    PollFailed(), Port("port_lost"), Port("port_opened"), Port("unresponsive"), Port("rebooted"),
    SimSwitch(), SimInUse(1, False), SimInUse(2, False), SimInUse(2, True), Hold(True), Hold(False),
    Flowing(True), Flowing(False),
    "result_ok", "result_fail", "result_no_apn", "check_same", "check_new", "check_none", "check_failed",
])


@hsettings(max_examples=300, deadline=None)
@given(hst.lists(hst.tuples(hst.floats(0.0, 400.0), EVENTS), max_size=80))
def test_one_job_at_a_time_never_while_switching_held_or_unregistered(steps):
    st, now = _on_slot(initial(S)), 0.0
    in_flight = None                                  # the job the modem worker has, as the manager would see it
    for dt, ev in steps:
        now += dt
        if isinstance(ev, str):                       # a job's answer: only for the job in flight
            if in_flight is None:
                continue
            slot = in_flight.slot
            ev = {"result_ok": BroughtUp(slot, "apn", "sim", "10.0.0.1", "3gpp", wall=now),
                  "result_fail": BringUpFailed(slot, "boom"),
                  "result_no_apn": BringUpFailed(slot, "no APN", no_apn=True),
                  "check_same": Checked(slot, st.session.address), "check_new": Checked(slot, "10.0.0.2"),
                  "check_none": Checked(slot, None), "check_failed": Checked(slot, None, failed=True)}[ev]
            if isinstance(in_flight, BringUp) != isinstance(ev, (BroughtUp, BringUpFailed)):
                continue
            in_flight = None
        before = st
        st, actions = decide(st, ev, now)
        jobs = [a for a in actions if isinstance(a, (BringUp, CheckAddress))]
        assert len(jobs) <= 1 and (not jobs or before.job is None), (ev, actions)
        for job in jobs:
            in_flight = job
            assert st.registered and st.job is not None
            if isinstance(job, BringUp):
                assert not st.switching and not st.held and job.slot == st.slot
                assert now >= before.next_try_at
            else:
                assert st.session.up and job.slot == st.session.slot
        for a in actions:
            if isinstance(a, Emit) and "reason" in a.data:         # a session lost: only one that was up
                assert before.session.up and not st.session.up
        kind, since = trouble(st)
        if st.port_down_since is not None:
            assert kind == "port_gone"
        if kind == "data_down":
            assert not st.no_apn and not st.session.up
        assert answering(st) == (kind not in ("port_gone", "unresponsive"))
