"""Fibocom / Intel XMM (L850-GL, L860-GL, FM350): +XCESQ."""
from __future__ import annotations

from modem.parsers.common import level, lines_with, sim_slot_answer, split_fields, to_int


# +XCESQ: <n>,<rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>,<rssnr>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>,...]
#   27.007 levels like +CESQ after the URC flag <n>; rssnr in 0.5 dB steps (-32 = -16 dB), 255 unknown
#   e.g. '+XCESQ: 0,99,99,255,255,19,46,32' (L850-GL)  '+XCESQ: 0,99,99,46,31,255,255,255' (UMTS)
def parse_xcesq(lines: list[str]) -> dict:
    body = (lines_with(lines, "+XCESQ") or [None])[0]
    if body is None:
        return {}
    f = [to_int(x) for x in split_fields(body)] + [None] * 12
    rssnr = f[7]
    out = {
        "rssi_dbm": level(f[1], 0, 63, -111, 1), "ber": f[2] if f[2] is not None and 0 <= f[2] <= 7 else None,
        "rscp_dbm": level(f[3], 0, 96, -121, 1), "ecio_db": level(f[4], 0, 49, -24.5, 0.5),
        "rsrq_db": level(f[5], 0, 34, -20, 0.5), "rsrp_dbm": level(f[6], 0, 97, -141, 1),
        "sinr_db": rssnr / 2 if rssnr is not None and rssnr != 255 and -100 <= rssnr <= 100 else None,
    }
    if out["rsrp_dbm"] is not None:
        out["rat"] = "LTE"
    elif out["rscp_dbm"] is not None:
        out["rat"] = "UMTS"
    elif out["rssi_dbm"] is not None:
        out["rat"] = "GSM"
    return out


# +GTDUALSIM: <sim>[,"<SUBn>","<service state>"]     sim 0 = first slot, 1 = second (often the eSIM)
#   e.g. '+GTDUALSIM: 0,"SUB1","NO SERVICE"'  (FM350-GL capture); also sent unsolicited
def parse_gtdualsim(lines: list[str]) -> dict:
    return sim_slot_answer(lines, "+GTDUALSIM", zero_based=True)