"""What people see of the UPS: the `relais status` line, the LED, the SMS alert; and the part's warnings when the
UPS cannot be read (a real Core in virtual time, readings posted as the polling thread posts them)."""
from __future__ import annotations

import logging

import pytest

from agent.cellular.sms_alerts import alert_text
from agent.config import from_dict
from agent.core import Core, Event, WallClock
from agent.led_status import pattern_for
from agent.power import PowerReading, attach
from agent.power.nut import Reading
from agent.status_file import render
from tests.test_cli_led_legend import legend, state
from tests.virtual import FakeClock


def test_on_battery_has_its_own_led_pattern_and_the_legend_says_it():
    on_battery = {"mains": "on_battery"}
    assert pattern_for({**state(), "power": on_battery}) == "on_battery"
    assert pattern_for({**state(active="backup", primary_up=False, backup_up=True), "power": on_battery}) == \
        "on_battery"
    both_down = state(primary_up=False, connected=False, registration=None)
    assert pattern_for({**both_down, "power": on_battery}) == "fast_blink"     # nothing works: that first
    assert pattern_for({**state(), "power": {"mains": "on_line"}}) == "on"
    look, means = legend()["on_battery"]
    assert look == "0.5 Hz blink" and "power is cut" in means


def test_the_status_line_says_on_battery_since_when_with_the_charge_and_runtime_left():
    text = render({"state": {"power": {"ups": "ups@nas", "mains": "on_battery", "since": 1764748800.0,
                                       "charge_pct": 54.0, "runtime_s": 720.0, "battery_low": False}}})
    (line,) = [x for x in text.splitlines() if x.startswith("  power")]
    assert "ON BATTERY since " in line and "battery 54 %, 12 min left" in line and "(UPS ups@nas)" in line
    text = render({"state": {"power": {"ups": "ups@nas", "mains": "unknown",
                                       "problem": "the NUT server knows no UPS named ups"}}})
    assert "unknown (not read: the NUT server knows no UPS named ups) (UPS ups@nas)" in text
    assert "power" not in render({"state": {}})          # no [power]: no line
    odd = render({"state": {"power": {"mains": "on_battery", "since": "yesterday", "charge_pct": True}}})
    assert "ON BATTERY (UPS ?)" in odd                    # a hand-edited file: shown, never a traceback


@pytest.mark.parametrize("kind, data, text", [
    ("power_lost", {"charge_pct": 97.0}, "POWER CUT 14:02, on UPS battery, battery 97%"),
    ("power_restored", {"duration_s": 125.0, "charge_pct": 80.0}, "POWER BACK 14:02 after 2m05s, battery 80%"),
    ("battery_low", {"charge_pct": 6.0, "stopping": True}, "UPS BATTERY LOW 14:02, battery 6%, relais stopping"),
])
def test_the_sms_alert_for_each_power_event(kind, data, text):
    ts = 1764770520.0
    event = Event(kind, ts, "ntp", data)
    assert alert_text(event, "shop-1", {}) == f"relais shop-1: {text.replace('14:02', local_hhmm(ts))}"


def local_hhmm(ts: float) -> str:
    import time
    return time.strftime("%H:%M", time.localtime(ts))     # the SMS says the router's local time


def test_power_events_are_sms_alerts_by_default():
    assert {"power_lost", "power_restored", "battery_low"} <= set(from_dict({}).sms.alert_events)


def test_readings_that_fail_are_warned_once_then_on_change_and_invent_nothing(caplog):
    clock = FakeClock()
    core = Core(monotonic=clock, wall=WallClock(clock.wall, lambda: "ntp"))
    events: list = []
    core.add_sink(events.append)
    monitor = attach(core, from_dict({"power": {"ups": "ups@nas", "confirm_s": 10}}))
    caplog.set_level(logging.WARNING, logger="agent.power")

    def post(item: PowerReading, after: float = 5.0) -> None:
        clock.now += after
        core.post(item)
        core.drain()

    post(PowerReading(Reading(("OL",), 100.0, 1800.0)))
    for _ in range(5):
        post(PowerReading(None, "the NUT server nas:3493 cannot be reached (Connection refused)"))
    assert core.state["power"]["mains"] == "on_line" and "cannot be reached" in core.state["power"]["problem"]
    for _ in range(3):
        post(PowerReading(None, "the NUT server knows no UPS named ups"))
    post(PowerReading(Reading(("OL",), 100.0, 1800.0)))
    assert [r.getMessage() for r in caplog.records] == [
        "power: UPS ups@nas not read: the NUT server nas:3493 cannot be reached (Connection refused); power "
        "events wait for a reading",
        "power: UPS ups@nas not read: the NUT server knows no UPS named ups; power events wait for a reading",
        "power: UPS ups@nas read again"]
    assert "problem" not in core.state["power"]
    # silence during a cut is no restore, and no new cut when it is read again on battery
    post(PowerReading(Reading(("OB",), 90.0, 900.0)))
    post(PowerReading(Reading(("OB",), 89.0, 880.0)), after=11)
    for _ in range(20):
        post(PowerReading(None, "the NUT server nas:3493 did not answer within 3 s"))
    post(PowerReading(Reading(("OB",), 60.0, 500.0)))
    assert [e.kind for e in events] == ["power_lost"] and core.state["power"]["mains"] == "on_battery"
    assert monitor.stop_agent is None


def test_the_email_notices_of_a_power_cut():
    from datetime import timezone

    from agent.notify.notice import power_notice
    over = power_notice("power_restored", {"ended_at": 1764770645.0, "duration_s": 125.0, "charge_pct": 80.0,
                                           "ups": "ups@nas"}, 1764770655.0, "shop-1", "en", timezone.utc)
    assert over.subject == "shop-1: power cut over, 2 min 05 s (3 December 2025 14:04)"
    assert "Start: Wednesday 3 December 2025 at 14:02:00 UTC" in over.body
    assert "End: Wednesday 3 December 2025 at 14:04:05 UTC" in over.body and "UPS: ups@nas" in over.body
    low = power_notice("battery_low", {"charge_pct": 6.0, "runtime_s": 95.0, "stopping": True, "ups": "ups@nas"},
                       1764770520.0, "shop-1", "fr", timezone.utc)
    assert low.subject == "shop-1 : batterie de l'onduleur faible, relais s'arrête (3 décembre 2025 14:02)"
    assert "Charge de la batterie : 6 %" in low.body and "Autonomie restante : 1 min 35 s" in low.body
    odd = power_notice("power_restored", {"ended_at": "later", "duration_s": None}, 1764770520.0, "shop-1", "en",
                       timezone.utc)
    assert "Start: unknown" in odd.body and "Duration: unknown" in odd.body


def test_the_email_notifier_writes_them_and_nothing_for_power_lost():
    from agent.notify.email import EmailNotifier
    cfg = from_dict({"email": {"recipients": ["a@example.com"], "host": "smtp.example.com",
                               "sender": "relais@example.com", "lang": "en", "tz": "UTC"}}).email
    notifier = EmailNotifier(Core(), cfg, "shop-1", send=lambda message: None)
    assert notifier.notice_for(Event("power_lost", 1764770520.0, "ntp", {"started_at": 1764770510.0})) is None
    assert notifier.notice_for(Event("battery_low", 1764770520.0, "ntp", {"charge_pct": 5})).kind == "battery_low"
    assert notifier.notice_for(Event("power_restored", 1764770520.0, "ntp",
                                     {"ended_at": 1764770500.0, "duration_s": 60})).kind == "power_restored"
