"""Status LED: the pattern chosen from the agent's state, and the sysfs writes that show it.

The sysfs tests use a directory laid out like /sys/class/leds/NAME (a fake tree: the real one needs an LED)."""
import pytest

from agent.led_status import pattern_for
from board.led import SysfsLed, open_led


def state(active="primary", primary_up=True, backup_up=True, connected=True, registration="home"):
    return {"failover": {"active_uplink": active, "links": {"primary": {"up": primary_up},
                                                            "backup": {"up": backup_up}}},
            "modem": {"connected": connected, "registration": registration}}


@pytest.mark.parametrize("s, pattern", [
    (state(), "on"),
    (state(active="backup", primary_up=False), "slow_blink"),
    (state(registration="denied"), "double"),
    (state(connected=False), "double"),
    (state(primary_up=False, connected=False), "fast_blink"),
    (state(active="backup", primary_up=False, backup_up=False, connected=False), "fast_blink"),
    ({}, "double"),                       # nothing known yet: the backup is not known to be ready
])
def test_pattern_for_state(s, pattern):
    assert pattern_for(s) == pattern


def test_sysfs_led_blink_and_steady(tmp_path):
    led_dir = tmp_path / "relais:green"
    led_dir.mkdir()
    (led_dir / "max_brightness").write_text("255\n")
    led = SysfsLed("relais:green", root=tmp_path)
    led.show("slow_blink")
    assert (led_dir / "trigger").read_text() == "timer"
    assert ((led_dir / "delay_on").read_text(), (led_dir / "delay_off").read_text()) == ("500", "500")
    led.show("on")
    assert (led_dir / "trigger").read_text() == "none"
    assert (led_dir / "brightness").read_text() == "255"


def test_open_led_rejects_bad_spec_and_missing_led(tmp_path):
    with pytest.raises(ValueError):
        open_led("blinky")
    with pytest.raises(FileNotFoundError):
        open_led("sysfs:nope", root=tmp_path)
