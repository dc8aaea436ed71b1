"""The status LED and `relais status` with three [[uplinks]]: "on a backup uplink" is any uplink but the one of
best priority, and a second fixed line that answers is a backup ready."""
import pytest

from agent.led_status import pattern_for
from agent.status_file import render


def state(active="fiber", fiber=True, second=True, lte=True, connected=True):
    links = {"fiber": {"up": fiber, "kind": "ethernet", "priority": 1},
             "second": {"up": second, "kind": "ethernet", "priority": 2},
             "lte": {"up": lte, "kind": "cellular", "priority": 3}}
    return {"failover": {"active_uplink": active, "links": links},
            "modem": {"connected": connected, "registration": "home"}}


@pytest.mark.parametrize("s, pattern", [
    (state(), "on"),
    (state(connected=False), "on"),                                 # the second line is the backup ready
    (state(second=False, connected=False), "double"),               # on the fiber, nothing behind it
    (state(active="second", fiber=False), "slow_blink"),            # on a backup: the second operator
    (state(active="lte", fiber=False, second=False), "slow_blink"),
    (state(active="second", fiber=False, second=False, lte=False, connected=False), "fast_blink"),
    (state(fiber=False, second=False, connected=False), "fast_blink"),
])
def test_pattern_with_three_uplinks(s, pattern):
    assert pattern_for(s) == pattern


def test_priority_not_the_name_says_which_uplink_is_preferred():
    s = state(active="second", fiber=False)
    assert pattern_for(s) == "slow_blink"
    s["failover"]["links"]["second"]["priority"] = 0     # the second line is the preferred one now
    assert pattern_for(s) == "on"


def test_status_warns_when_traffic_is_on_a_backup_uplink():
    def paint(role, text):
        return f"<{role}>{text}" if role == "warn" else text
    assert "traffic via : <warn>second" in render({"state": state(active="second", fiber=False)}, paint)
    assert "traffic via : fiber " in render({"state": state()}, paint)
    text = render({"state": state()})
    assert all(f"  {name:<12}: " in text for name in ("fiber", "second", "lte"))
