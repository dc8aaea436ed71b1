"""How good a cellular signal is, in words a technician acts on: one table for `relais doctor` and `relais signal`.

A reading is graded metric by metric against GRADES (best row first): each metric lands on the first row whose
minimum it reaches (a row without a minimum for a metric takes any value of it), and the reading gets the worst
row any of its metrics landed on. RSRP says how much of the cell reaches the antenna — what moving the antenna
changes; RSRQ and SINR say how clean it is (load, interference). RSSI grades 2G/3G, where there is no RSRP.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.doctor.check import Level

ANTENNA_ADVICE = "move the antenna out of the rack or use an external antenna"


@dataclass(frozen=True)
class Grade:
    verdict: str                 # excellent | good | fair | poor | no signal
    level: Level                 # what `relais doctor` makes of it
    rsrp_dbm: float | None       # minimum to reach this row (None: any value)
    rsrq_db: float | None
    sinr_db: float | None
    rssi_dbm: float | None
    advice: str = ""


# Sources: the excellent / good / fair bands of RSRP, RSRQ, SINR (LTE) and RSSI (3G) are Teltonika's "Mobile
# Signal Strength Recommendations" (wiki.teltonika-networks.com), which routers of this class are installed by;
# -110 dBm RSRP, below which the antenna must move, is issue 12's rule and where data starts dropping in practice;
# the rest of the poor band down to the 3GPP TS 36.133 floor (-140 dBm) is a FAIL: a modem there loses the cell
# under load. RSRQ and SINR never grade worse than a WARN: a crowded or noisy cell is not fixed by the antenna alone.
GRADES: tuple[Grade, ...] = (
    Grade("excellent", Level.OK, -80, -10, 20, -70),
    Grade("good", Level.OK, -90, -15, 13, -85),
    Grade("fair", Level.OK, -100, -20, 0, -100),
    Grade("poor", Level.WARN, -110, None, None, -105,
          "weak: data is slow and may drop; move the antenna higher, nearer a window, out of the rack"),
    Grade("poor", Level.FAIL, None, None, None, None, ANTENNA_ADVICE),
)
NO_SIGNAL = Grade("no signal", Level.FAIL, None, None, None, None,
                  "no signal measured: check that the antenna is screwed onto the modem's main connector, then "
                  + ANTENNA_ADVICE)

_METRICS = ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm")


@dataclass(frozen=True)
class Judgement:
    grade: Grade
    worst: str | None          # the metric that set the grade (None: no metric at all)

    @property
    def verdict(self) -> str:
        return self.grade.verdict


def _number(value: Any) -> float | None:
    """A metric as a float; None for anything else (the reading came over a socket or from a modem: untrusted)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:   # NaN
        return None
    return float(value)


def judge(signal: Any) -> Judgement:
    """The grade of a reading {"rsrp_dbm": -95, "rsrq_db": -11, "sinr_db": 12, ...}; NO_SIGNAL without one."""
    values = {m: _number(signal.get(m)) for m in _METRICS} if isinstance(signal, dict) else {}
    values = {m: v for m, v in values.items() if v is not None}
    if values.get("rsrp_dbm") is not None:
        values.pop("rssi_dbm", None)        # LTE/NR: RSSI adds the cell's load to its power; RSRP is the power
    if not values:
        return Judgement(NO_SIGNAL, None)
    worst_index, worst = -1, None
    for metric, value in values.items():
        index = next(i for i, g in enumerate(GRADES) if getattr(g, metric) is None or value >= getattr(g, metric))
        if index > worst_index:
            worst_index, worst = index, metric
    return Judgement(GRADES[worst_index], worst)


BAR_WIDTH = 20
BAR_LOW_DBM, BAR_HIGH_DBM = -130.0, -70.0     # RSRP: an empty bar near the floor, a full one past "excellent"
RSSI_OFFSET_DB = 28.0                           # RSSI of a loaded 20 MHz carrier ~ RSRP + 28 dB (modem/simulator)


def bar(signal: Any, width: int = BAR_WIDTH) -> str:
    """'[##########          ]': RSRP between BAR_LOW_DBM and BAR_HIGH_DBM (RSSI shifted onto that scale)."""
    values = signal if isinstance(signal, dict) else {}
    rsrp = _number(values.get("rsrp_dbm"))
    if rsrp is None and _number(values.get("rssi_dbm")) is not None:
        rsrp = _number(values.get("rssi_dbm")) - RSSI_OFFSET_DB
    filled = 0 if rsrp is None else round(width * (rsrp - BAR_LOW_DBM) / (BAR_HIGH_DBM - BAR_LOW_DBM))
    filled = max(0, min(width, filled))
    return "[" + "#" * filled + " " * (width - filled) + "]"
