"""The sheet's LED legend says what the LED does: a row for every pattern board/led.py shows, its look computed
from that pattern's timing, and each situation the words name gets that row's pattern from agent/led_status.py."""
from __future__ import annotations

import pytest

from agent.led_status import pattern_for
from agent.plan import words
from agent.plan.words import LED_MEANS, led_legend, led_look
from board import led as board_led
from board.led import PATTERNS
from tests.test_cli_led_legend import state


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_pattern_has_its_words(lang):
    assert set(LED_MEANS[lang]) == set(PATTERNS)
    assert [name for name, _, _ in led_legend(lang)] == list(PATTERNS)


def test_the_looks_follow_the_timings():
    assert [look for _, look, _ in led_legend("en")] == [
        "steady on", "slow blink (once a second)", "a short flash every second", "fast blink (4 times a second)",
        "very slow blink (every 2 s)", "off"]
    assert led_look("fast_blink", (125, 125), "fr") == "clignote vite (4 fois par seconde)"


def test_a_changed_timing_changes_the_sheet(monkeypatch):
    # if board/led.py blinks faster one day, the paper follows without anyone editing it
    monkeypatch.setitem(board_led.PATTERNS, "fast_blink", (100, 100))
    assert dict((n, look) for n, look, _ in led_legend("en"))["fast_blink"] == "fast blink (5 times a second)"
    monkeypatch.setitem(board_led.PATTERNS, "double", (200, 1800))
    assert dict((n, look) for n, look, _ in led_legend("fr"))["double"] == "un bref éclair toutes les 2 s"


# the situations a person on site meets, the words the sheet uses for them, and the state the agent then holds
SITUATIONS = [
    ("all is well", state()),
    ("the fiber is cut: the Internet goes through the cellular network", state(active="backup", primary_up=False,
                                                                               backup_up=True)),
    ("no SIM card", state(connected=False, registration=None, sim_state="NOT INSERTED")),
    ("no cellular network", state(registration="searching")),
    ("the modem not answering", state(connected=False, registration=None)),
    ("the fiber is cut and the backup does not work", state(primary_up=False, connected=False, registration=None)),
    ("the fiber is cut and the backup does not work", state(active="backup", primary_up=False, backup_up=False,
                                                            connected=False)),
]


@pytest.mark.parametrize("phrase, s", SITUATIONS, ids=[p for p, _ in SITUATIONS])
def test_each_situation_named_gets_its_rows_pattern(phrase, s):
    rows = [name for name, means in words.LED_MEANS["en"].items() if phrase in means]
    assert len(rows) == 1, f"the sheet's legend: {phrase!r} in {rows or 'no row'}"
    assert pattern_for(s) == rows[0]
