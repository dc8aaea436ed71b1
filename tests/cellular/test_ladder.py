"""The recovery ladder as tables of (t, input) -> actions.

Settings: troubles start the ladder after 10 s (port_gone 20 s); windows reregister 30, radio 30, reset 60, usb 60,
power 100 s; at most 2 disruptive steps (reset, usb, power) per hour.
"""
from __future__ import annotations

from types import MappingProxyType

import pytest

from tests import tables
from agent.config import LadderConfig
from agent.cellular.ladder import (Emit, Hold, LadderSettings, Requested, RunStep, StepDone, Tick, Trouble, decide,
                                   initial, refusal, view)

S = LadderSettings(
    triggers=MappingProxyType({"port_gone": 20.0, "unresponsive": 10.0, "no_service": 10.0, "data_down": 10.0}),
    windows=MappingProxyType({"reregister": 30.0, "radio": 30.0, "reset": 60.0, "usb": 60.0, "power": 100.0}),
    max_resets_per_hour=2)


def E(kind, **data):
    return Emit(kind, data)


def run_table(rows, settings=S, state=None):
    return tables.run_table(decide, state or initial(settings), rows)


def climb(trouble="no_service", t0=0.0):
    """Trouble at t0; every step runs fine but does not help."""
    return [(t0, Trouble(trouble, t0), []),
            (t0 + 9.9, Tick(), []),
            (t0 + 10, Tick(), [RunStep("reregister", trouble, 1)]),
            (t0 + 11, StepDone("reregister", True, "AT+COPS=0"),
             [E("recovery_step", step="reregister", reason=trouble, attempt=1, result="ok")]),
            (t0 + 40.9, Tick(), []),
            (t0 + 41, Tick(), [RunStep("radio", trouble, 1)]),
            (t0 + 42, StepDone("radio", True, "AT+CFUN=0, AT+CFUN=1"), [E("recovery_step", step="radio", result="ok")]),
            (t0 + 72, Tick(), [RunStep("reset", trouble, 1)]),
            (t0 + 73, StepDone("reset", True, "AT+CFUN=1,1"), [E("recovery_step", step="reset", result="ok")]),
            (t0 + 133, Tick(), [RunStep("usb", trouble, 1)])]


def test_each_step_only_after_the_lower_one_ran_and_did_not_help_within_its_window():
    st = run_table(climb() + [
        (134.0, StepDone("usb", True, "USB device 1-1.3 unbound and bound again"),
         [E("recovery_step", step="usb", result="ok")]),
        (194.0, Tick(), [E("recovery_step", step="power", result="rate_limited", retry_in_s=3600.0 - 121.0)]),
        (1000.0, Tick(), []),                                  # said once
    ])
    assert st.limited and view(st, 1000.0)["resets_last_hour"] == 2


def test_the_ladder_stops_when_the_trouble_is_gone_and_says_after_what():
    run_table(climb()[:5] + [
        (20.0, Trouble(None), [E("modem_recovered", trouble="no_service", last_step="reregister", steps=1,
                                 took_s=20.0)]),
        (100.0, Tick(), [])])


def test_a_step_that_cannot_run_hands_over_at_once():
    run_table([(0.0, Trouble("unresponsive", 0.0), []),
               (10.0, Tick(), [RunStep("reregister", "unresponsive", 1)]),
               (13.0, StepDone("reregister", False, "AT: no final result within 3 s"),
                [E("recovery_step", step="reregister", result="failed: AT: no final result within 3 s"),
                 RunStep("radio", "unresponsive", 1)]),
               (16.0, StepDone("radio", False, "AT: no final result within 3 s"),
                [E("recovery_step", step="radio"), RunStep("reset", "unresponsive", 1)]),
               (19.0, StepDone("reset", False, "AT: no final result within 3 s"),
                [E("recovery_step", step="reset"), RunStep("usb", "unresponsive", 1)]),
               (19.0, StepDone("usb", False, "skipped: /tmp/x is a pseudo-terminal"),
                [E("recovery_step", step="usb", result="skipped: /tmp/x is a pseudo-terminal"),
                 RunStep("power", "unresponsive", 1)])])        # nothing disruptive happened yet: not rate-limited


def test_the_hang_forever_path_reaches_the_power_cycle():
    wide = LadderSettings(triggers=S.triggers, windows=S.windows, max_resets_per_hour=4)
    run_table([(0.0, Trouble("unresponsive", 0.0), []),
               (10.0, Tick(), [RunStep("reregister", "unresponsive", 1)]),
               (13.0, StepDone("reregister", False, "timeout"), [E("recovery_step"), RunStep("radio", "unresponsive", 1)]),
               (16.0, StepDone("radio", False, "timeout"), [E("recovery_step"), RunStep("reset", "unresponsive", 1)]),
               (19.0, StepDone("reset", False, "timeout"), [E("recovery_step"), RunStep("usb", "unresponsive", 1)]),
               (19.0, StepDone("usb", False, "skipped: pty"), [E("recovery_step"), RunStep("power", "unresponsive", 1)]),
               (24.0, StepDone("power", True, "GPIO 17 off for 3 s, then on"),
                [E("recovery_step", step="power", result="ok", detail="GPIO 17 off for 3 s, then on")]),
               (25.0, Trouble("port_gone", 24.0), []),         # the power cycle takes the port away: same episode
               (60.0, Trouble(None), [E("modem_recovered", trouble="unresponsive", last_step="power", steps=5)])],
              settings=wide)


def test_the_last_step_repeats_after_its_window_within_the_hourly_bound():
    st = run_table([(0.0, Trouble("port_gone", 0.0), []),
                    (20.0, Tick(), [RunStep("usb", "port_gone", 1)]),       # no port: no AT step
                    (21.0, StepDone("usb", False, "cannot write 1-1.3 to /sys/bus/usb/drivers/usb/unbind"),
                     [E("recovery_step", step="usb"), RunStep("power", "port_gone", 1)]),
                    (25.0, StepDone("power", True, "ok"), [E("recovery_step", step="power", result="ok")]),
                    (124.9, Tick(), []),
                    (125.0, Tick(), [RunStep("power", "port_gone", 2)]),
                    (129.0, StepDone("power", True, "ok"), [E("recovery_step", step="power", attempt=2)]),
                    (229.0, Tick(), [E("recovery_step", step="power", result="rate_limited", attempt=3,
                                       retry_in_s=3600.0 - 204.0)]),
                    (2000.0, Tick(), [])])
    assert view(st, 2000.0)["resets_last_hour"] == 2
    run_table([(3625.0, Tick(), [RunStep("power", "port_gone", 3)])], state=st)   # the first cycle left the hour


def test_power_not_configured_is_skipped_and_waits_its_window_before_trying_again():
    wide = LadderSettings(triggers=S.triggers, windows=S.windows, max_resets_per_hour=10)
    run_table([(0.0, Trouble("port_gone", 0.0), []),
               (20.0, Tick(), [RunStep("usb", "port_gone", 1)]),
               (20.0, StepDone("usb", False, "skipped: not a USB device"), [E("recovery_step"),
                                                                           RunStep("power", "port_gone", 1)]),
               (20.0, StepDone("power", False, "skipped: no power control configured ([board] power_gpio)"),
                [E("recovery_step", result="skipped: no power control configured ([board] power_gpio)")]),
               (60.0, Tick(), []),
               (120.0, Tick(), [RunStep("power", "port_gone", 2)])], settings=wide)


def test_held_during_a_sim_switch():
    run_table([(0.0, Hold(True), []),
               (0.0, Trouble("no_service", 0.0), []),
               (50.0, Tick(), []),
               (51.0, Hold(False), [RunStep("reregister", "no_service", 1)])])


def test_a_late_step_answer_is_ignored():
    run_table([(0.0, Trouble("no_service", 0.0), []),
               (10.0, Tick(), [RunStep("reregister", "no_service", 1)]),
               (11.0, StepDone("radio", True, "?"), []),
               (12.0, StepDone("reregister", True, "AT+COPS=0"), [E("recovery_step")]),
               (13.0, StepDone("reregister", True, "AT+COPS=0"), [])])


def test_commanded_reset_runs_now_counts_against_the_bound_and_is_refused_beyond():
    st = run_table([(0.0, Requested("reset"), [RunStep("reset", "command", 1)]),
                    (1.0, StepDone("reset", True, "AT+CFUN=1,1"),
                     [E("recovery_step", step="reset", reason="command", result="ok")]),
                    (2.0, Requested("reset"), [RunStep("reset", "command", 2)])])
    assert refusal(st, "reset", 3.0) == "the recovery step reset is running"
    st, _ = decide(st, StepDone("reset", True, ""), 3.0)
    assert "2 modem resets in the last hour" in refusal(st, "reset", 4.0)
    with pytest.raises(ValueError):
        decide(st, Requested("reset"), 4.0)
    assert refusal(st, "reregister", 4.0) is None            # not disruptive


def test_disabled_ladder_does_nothing():
    off = LadderSettings(enabled=False, triggers=S.triggers, windows=S.windows)
    run_table([(0.0, Trouble("unresponsive", 0.0), []), (1000.0, Tick(), [])], settings=off)


def test_settings_from_config():
    s = LadderSettings.from_config(LadderConfig(unresponsive_s=7, power_window_s=9, max_resets_per_hour=1))
    assert s.triggers["unresponsive"] == 7 and s.windows["power"] == 9 and s.max_resets_per_hour == 1
