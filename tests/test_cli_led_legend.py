"""The README's LED legend is what the code shows: each row's look matches board/led.py's timing and each situation
named in a row gets that row's pattern from agent/led_status.py (issue 12, defect 8: the legend said 4 Hz for a
modem that does not answer, the code shows `double`)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.led_status import LedStatus, pattern_for
from agent.core import Core
from board.led import PATTERNS, Led

README = Path(__file__).resolve().parents[1] / "README.md"


def legend() -> dict[str, tuple[str, str]]:
    """pattern name -> (how the LED looks, what it means), from the README's table."""
    rows = {}
    for line in README.read_text().splitlines():
        m = re.fullmatch(r"\s*\|\s*([^|`]+?)\s*\|\s*`(\w+)`\s*\|\s*(.+?)\s*\|\s*", line)
        if m:
            look, name, means = m.groups()
            assert name not in rows, f"README: LED pattern {name} twice"
            rows[name] = (look, means)
    return rows


def test_the_legend_names_every_pattern_once():
    assert set(legend()) == set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_the_legend_says_how_each_pattern_looks(name):
    look, _ = legend()[name]
    timing = PATTERNS[name]
    if look == "solid":
        assert timing is None and name == "on"
    elif look == "off":
        assert timing is None and name == "off"
    elif m := re.fullmatch(r"(\d+(?:\.\d+)?) Hz blink", look):
        on_ms, off_ms = timing
        assert on_ms == off_ms and on_ms + off_ms == pytest.approx(1000 / float(m.group(1)))
    elif look == "short flash every second":
        on_ms, off_ms = timing
        assert on_ms + off_ms == 1000 and on_ms <= off_ms / 3
    else:
        pytest.fail(f"README: LED look {look!r} is not one this test can check against board/led.py")


def state(active="primary", primary_up=True, backup_up=None, connected=True, registration="home", **modem):
    return {"failover": {"active_uplink": active, "links": {"primary": {"up": primary_up},
                                                            "backup": {"up": backup_up}}},
            "modem": {"connected": connected, "registration": registration, **modem}}


# situations a technician meets, the words the legend uses for them, and the state the agent then holds
SITUATIONS = [
    ("the backup ready", state()),
    ("on cellular", state(active="backup", primary_up=False, backup_up=True)),
    ("no SIM", state(connected=False, registration=None, sim_state="NOT INSERTED")),
    ("not registered", state(registration="searching")),
    ("the modem not answering", state(connected=False, registration=None)),   # as modem_service sets it
    ("rebooting", state(connected=False, registration=None)),
    ("both links down", state(primary_up=False, connected=False, registration=None)),
    ("it carries nothing", state(active="backup", primary_up=False, backup_up=False, connected=False)),
]


@pytest.mark.parametrize("words, s", SITUATIONS, ids=[w for w, _ in SITUATIONS])
def test_each_situation_in_the_legend_gets_its_rows_pattern(words, s):
    rows = [name for name, (_, means) in legend().items() if words in means]
    assert len(rows) == 1, f"README's LED legend: {words!r} in {rows or 'no row'}"
    assert pattern_for(s) == rows[0]


def test_off_is_what_a_stopped_agent_leaves():
    shown = []

    class Recording(Led):
        def show(self, pattern: str) -> None:
            shown.append(pattern)

    _, means = legend()["off"]
    assert "not running" in means
    LedStatus(Core(), Recording()).stop()
    assert shown == ["off"]
