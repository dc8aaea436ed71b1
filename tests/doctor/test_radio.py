"""The signal table: verdicts, the level the doctor gives them, the antenna advice, the bar."""
from __future__ import annotations

import pytest

from agent.doctor import radio
from agent.doctor.check import Level


@pytest.mark.parametrize("signal, verdict, level, worst", [
    ({"rsrp_dbm": -75, "rsrq_db": -8, "sinr_db": 25}, "excellent", Level.OK, "rsrp_dbm"),
    ({"rsrp_dbm": -80, "rsrq_db": -10, "sinr_db": 20}, "excellent", Level.OK, "rsrp_dbm"),   # bounds included
    ({"rsrp_dbm": -85, "rsrq_db": -8, "sinr_db": 25}, "good", Level.OK, "rsrp_dbm"),
    ({"rsrp_dbm": -75, "rsrq_db": -8, "sinr_db": 15}, "good", Level.OK, "sinr_db"),        # the worst metric
    ({"rsrp_dbm": -95, "rsrq_db": -11, "sinr_db": 12}, "fair", Level.OK, "rsrp_dbm"),       # the simulator's
    ({"rsrp_dbm": -105, "rsrq_db": -15, "sinr_db": 8}, "poor", Level.WARN, "rsrp_dbm"),
    ({"rsrp_dbm": -110, "sinr_db": 6}, "poor", Level.WARN, "rsrp_dbm"),
    ({"rsrp_dbm": -111}, "poor", Level.FAIL, "rsrp_dbm"),                                   # issue 12's -110
    ({"rsrp_dbm": -125, "rsrq_db": -17, "sinr_db": 0}, "poor", Level.FAIL, "rsrp_dbm"),     # sim-ctl signal -125
    ({"rsrp_dbm": -75, "rsrq_db": -19.5, "sinr_db": -5}, "poor", Level.WARN, "sinr_db"),    # noise alone: WARN
    ({"rssi_dbm": -65}, "excellent", Level.OK, "rssi_dbm"),                                 # 3G: RSSI grades
    ({"rssi_dbm": -103}, "poor", Level.WARN, "rssi_dbm"),
    ({"rssi_dbm": -109}, "poor", Level.FAIL, "rssi_dbm"),
    ({"rsrp_dbm": -75, "rssi_dbm": -109}, "excellent", Level.OK, "rsrp_dbm"),               # RSRP wins over RSSI
])
def test_grades(signal, verdict, level, worst):
    j = radio.judge(signal)
    assert (j.verdict, j.grade.level, j.worst) == (verdict, level, worst)


@pytest.mark.parametrize("signal", [{}, None, "weak", {"rsrp_dbm": None}, {"rsrp_dbm": "x"},
                                    {"rsrp_dbm": True}, {"rsrp_dbm": float("nan")}, {"band": "B3"}])
def test_no_reading_is_no_signal(signal):
    j = radio.judge(signal)
    assert j.grade is radio.NO_SIGNAL and j.grade.level == Level.FAIL and "antenna" in j.grade.advice


def test_below_minus_110_says_move_the_antenna():
    assert radio.judge({"rsrp_dbm": -115}).grade.advice == radio.ANTENNA_ADVICE
    assert "out of the rack" in radio.ANTENNA_ADVICE
    assert radio.judge({"rsrp_dbm": -90}).grade.advice == ""


def test_table_is_ordered_best_first():
    """A row further down must not ask more than the row above it, or a reading would skip a row."""
    for above, below in zip(radio.GRADES, radio.GRADES[1:]):
        assert below.level >= above.level
        for metric in ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm"):
            a, b = getattr(above, metric), getattr(below, metric)
            assert b is None or (a is not None and b <= a), (above, below, metric)
    assert all(getattr(radio.GRADES[-1], m) is None for m in ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm"))


@pytest.mark.parametrize("signal, filled", [
    ({"rsrp_dbm": -130}, 0), ({"rsrp_dbm": -140}, 0), ({"rsrp_dbm": -100}, 10), ({"rsrp_dbm": -70}, 20),
    ({"rsrp_dbm": -50}, 20), ({"rssi_dbm": -72}, 10), ({}, 0), ({"rsrp_dbm": "?"}, 0),
])
def test_bar(signal, filled):
    b = radio.bar(signal)
    assert len(b) == radio.BAR_WIDTH + 2 and b.count("#") == filled
