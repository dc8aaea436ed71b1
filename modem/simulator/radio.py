"""Radio metrics derived from one number, the serving cell's RSRP, so that every command that reports signal
(+CSQ, +CESQ, +QENG, +CPSI, !GSTATUS, #RFSTS, ^HCSQ ...) tells the same story.

The relations are rough physics, not a channel model: RSSI is RSRP plus the 10*log10(12 * resource blocks) of a
loaded 20 MHz carrier (~ +28 dB), RSRQ and SINR degrade linearly as the cell gets weaker. Pure functions, no state.
"""
from __future__ import annotations

from dataclasses import dataclass

RSRP_MIN = -140          # 3GPP TS 36.133 reporting range
RSRP_MAX = -44
RSRP_DEFAULT = -95       # a decent indoor LTE signal
RSRP_NO_SERVICE = -130   # at or below this the modem loses the cell (no service)


def _clamp(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


@dataclass(frozen=True)
class Signal:
    rsrp: int       # dBm
    rssi: int       # dBm
    rsrq: float     # dB, one decimal
    sinr: float     # dB, one decimal

    @classmethod
    def from_rsrp(cls, rsrp: int) -> "Signal":
        rsrp = int(_clamp(rsrp, RSRP_MIN, RSRP_MAX))
        rssi = int(_clamp(rsrp + 28, -113, -25))
        rsrq = round(_clamp(-20 + (rsrp + 140) / 5.0, -19.5, -3.0), 1)
        sinr = round(_clamp((rsrp + 125) / 2.5, -10.0, 30.0), 1)
        return cls(rsrp, rssi, rsrq, sinr)

    # --- 3GPP TS 27.007 encodings -----------------------------------------------------------------------------
    @property
    def csq_rssi(self) -> int:
        """+CSQ <rssi>: 0 = -113 dBm or less, 31 = -51 dBm or more, 2 dB steps."""
        return int(_clamp((self.rssi + 113) // 2, 0, 31))

    @property
    def cesq_rsrq(self) -> int:
        """+CESQ <rsrq>: 0 = below -19.5 dB, 34 = -3 dB or more, 0.5 dB steps."""
        return int(_clamp(round((self.rsrq + 20) * 2), 0, 34))

    @property
    def cesq_rsrp(self) -> int:
        """+CESQ <rsrp>: 0 = below -140 dBm, 97 = -44 dBm or more, 1 dB steps."""
        return int(_clamp(self.rsrp + 141, 0, 97))

    # --- vendor encodings -------------------------------------------------------------------------------------
    @property
    def sinr_fifth_db(self) -> int:
        """Quectel LTE <sinr> (EC2x AT manual): 0..250 for -20..+30 dB in 1/5 dB steps."""
        return int(_clamp(round((self.sinr + 20) * 5), 0, 250))

    @property
    def srxlev(self) -> int:
        return int(max(0, self.rsrp + 127))

    # --- the NR leg (EN-DC secondary or SA cell), a little weaker than the LTE anchor ------------------------
    def nr(self) -> "Signal":
        return Signal.from_rsrp(self.rsrp - 3)

    @property
    def ss_rsrp(self) -> int:
        """+CESQ <ss_rsrp> (27.007 r15): 0 = below -156 dBm, 126 = -31 dBm or more, 1 dB steps."""
        return int(_clamp(self.rsrp + 157, 0, 126))

    @property
    def ss_rsrq(self) -> int:
        """+CESQ <ss_rsrq>: 0 = below -43 dB, 0.5 dB steps up to 127."""
        return int(_clamp(round((self.rsrq + 43.5) * 2), 0, 127))

    @property
    def ss_sinr(self) -> int:
        """+CESQ <ss_sinr>: 0 = below -23 dB, 0.5 dB steps up to 127."""
        return int(_clamp(round((self.sinr + 23.5) * 2), 0, 127))
