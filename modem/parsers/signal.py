"""3GPP signal quality: +CSQ and +CESQ (TS 27.007 8.5 and 8.69)."""
from __future__ import annotations

from modem.parsers.common import first_with, level, split_fields, to_int


def csq_rssi_dbm(n: int | None) -> int | None:
    """<rssi>: 0 = -113 dBm or less, 1 = -111, 2..30 = -109..-53, 31 = -51 or more, 99 unknown.
    TD-SCDMA: 100 = -116 or less, 101..190 = -115..-26, 191 = -25 or more, 199 unknown."""
    if n is None:
        return None
    if 0 <= n <= 31:
        return -113 + 2 * n
    if 100 <= n <= 191:
        return -116 + (n - 100)
    return None


# +CSQ: <rssi>,<ber>          e.g. "+CSQ: 20,99"  "+CSQ: 99,99" (no signal)  "+CSQ: 131,99" (TD-SCDMA)
def parse_csq(lines: list[str]) -> dict:
    body = first_with(lines, "+CSQ")
    if body is None:
        return {}
    fields = split_fields(body)
    rssi = to_int(fields[0]) if fields else None
    ber = to_int(fields[1]) if len(fields) > 1 else None
    if rssi is None:
        return {}           # "+CSQ: abc" is not an answer with unknown values (that is 99,99): cannot decode
    return {"rssi_dbm": csq_rssi_dbm(rssi), "ber": ber if ber is not None and 0 <= ber <= 7 else None}


# +CESQ: <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>]
#   rxlev 0..63 (99 unknown): -111 + n dBm        ber 0..7 (99)
#   rscp 0..96 (255): -121 + n dBm                ecno 0..49 (255): -24.5 + n/2 dB
#   rsrq 0..34 (255): -20 + n/2 dB                rsrp 0..97 (255): -141 + n dBm
#   ss_rsrq 0..127 (255): -43.5 + n/2 dB          ss_rsrp 0..127 (255): -157 + n dBm
#   ss_sinr 0..127 (255): -23.5 + n/2 dB          (Rel-15 NR extension)
# e.g. "+CESQ: 99,99,255,255,26,50" (Nordic nRF9160 / u-blox LTE)   "+CESQ: 99,99,255,255,255,255,65,75,75" (NR)
# The modem fills only the fields of the RAT it is camped on, so the RAT is read from which fields are valid:
# rsrq/rsrp -> LTE, rscp/ecno -> UMTS, rxlev -> GSM, ss_* -> NR (NR5G-NSA when the LTE fields are valid too).
def parse_cesq(lines: list[str]) -> dict:
    body = first_with(lines, "+CESQ")
    if body is None:
        return {}
    f = [to_int(x) for x in split_fields(body)] + [None] * 9
    if all(x is None for x in f):
        return {}           # no number at all: not an answer (an unknown value is 99 or 255, a number)
    out = {
        "rssi_dbm": level(f[0], 0, 63, -111, 1),
        "ber": f[1] if f[1] is not None and 0 <= f[1] <= 7 else None,
        "rscp_dbm": level(f[2], 0, 96, -121, 1),
        "ecio_db": level(f[3], 0, 49, -24.5, 0.5),
        "rsrq_db": level(f[4], 0, 34, -20, 0.5),
        "rsrp_dbm": level(f[5], 0, 97, -141, 1),
    }
    if len(split_fields(body)) >= 9:
        nr = {
            "rsrq_db": level(f[6], 0, 127, -43.5, 0.5),
            "rsrp_dbm": level(f[7], 0, 127, -157, 1),
            "sinr_db": level(f[8], 0, 127, -23.5, 0.5),
        }
        if any(v is not None for v in nr.values()):
            out["nr"] = nr
            if out["rsrp_dbm"] is None and out["rsrq_db"] is None:
                out["rsrp_dbm"], out["rsrq_db"], out["sinr_db"] = nr["rsrp_dbm"], nr["rsrq_db"], nr["sinr_db"]
                out["rat"] = "NR5G-SA"
            else:
                out["rat"] = "NR5G-NSA"
    if "rat" not in out:
        rat = _cesq_rat(out)
        if rat:
            out["rat"] = rat
    return out


def _cesq_rat(values: dict) -> str | None:
    if values["rsrp_dbm"] is not None or values["rsrq_db"] is not None:
        return "LTE"
    if values["rscp_dbm"] is not None or values["ecio_db"] is not None:
        return "UMTS"
    if values["rssi_dbm"] is not None:
        return "GSM"
    return None
