"""u-blox: +UCGED? (TOBY-L2/LARA-R2 mode 2, SARA-R4 mode 5) and +UBANDSEL?."""
from __future__ import annotations

from modem.parsers.common import (LTE_BW_RB_MHZ, band_name, hex_id, level, lines_with, mcc_mnc_fields,
                                  set_band_from_channel, split_fields, to_float, to_int)

# <rat> of +UCGED mode 2
_UCGED_RAT = {2: "GSM", 3: "UMTS", 4: "LTE", 6: "LTE"}


def _lte_row(f: list[str], rat: str) -> dict:
    """<EARFCN>,<Lband>,<ul_BW>,<dl_BW>,<TAC>,<LcellId>,<P-CID>,<mTmsi>,<mmeGrId>,<mmeCode>,<RSRP>,<RSRQ>,
    <Lsinr>,<Lrrc>,<RI>,<CQI>,<avg_rsrp>,...   RSRP/RSRQ as 27.007 levels, SINR in dB, BW in resource blocks"""
    g = f + [""] * 13
    out = {"rat": rat, "earfcn": to_int(g[0]), "band": band_name(g[1], "LTE"),
           "bandwidth_mhz": LTE_BW_RB_MHZ.get(to_int(g[3]) or -1),
           "lac_tac": hex_id(g[4]), "cell_id": hex_id(g[5]), "pci": to_int(g[6], unknown=(255,)),
           "rsrp_dbm": level(to_int(g[10]), 0, 97, -141, 1), "rsrq_db": level(to_int(g[11]), 0, 34, -20, 0.5),
           "sinr_db": to_float(g[12])}
    if out["cell_id"] is not None and set(out["cell_id"]) == {"0"}:
        out["cell_id"] = None
    set_band_from_channel(out, rat)
    return out


# +UCGED: 2                                    (mode 2, TOBY-L2 / LARA-R2 / SARA-R4)
# <rat>,<svc>,<MCC>,<MNC>                      rat 6 = LTE; fff = unknown
# <EARFCN>,<Lband>,<ul_BW>,<dl_BW>,<TAC>,<LcellId>,<P-CID>,<mTmsi>,<mmeGrId>,<mmeCode>,<RSRP>,<RSRQ>,<Lsinr>,...
#   e.g. '+UCGED: 2' / '6,4,001,01' / '2525,5,25,50,2b67,69f6bc7,111,00000000,ffff,ff,67,19,0.00,255,...'
# +UCGED: 5                                    (mode 5, SARA-R4 short form)
# +RSRP: <PCI>,<EARFCN>,"<rsrp dBm>",          e.g. '+RSRP: 162,5110,"-095.00",'
# +RSRQ: <PCI>,<EARFCN>,"<rsrq dB>",           e.g. '+RSRQ: 162,5110,"-10.50",'
def parse_ucged(lines: list[str]) -> dict:
    out: dict = {}
    rsrp = lines_with(lines, "+RSRP")
    rsrq = lines_with(lines, "+RSRQ")
    if rsrp or rsrq:
        for body, key in ((rsrp[0] if rsrp else None, "rsrp_dbm"), (rsrq[0] if rsrq else None, "rsrq_db")):
            if body is None:
                continue
            f = split_fields(body) + ["", "", ""]
            out.update({"rat": "LTE", "pci": to_int(f[0]), "earfcn": to_int(f[1]), key: to_float(f[2])})
        set_band_from_channel(out, "LTE")
        return out
    rows = [ln.strip() for ln in lines if ln.strip() and not ln.strip().upper().startswith("+UCGED")]
    if not rows:
        return {}
    head = split_fields(rows[0])
    rat_code = to_int(head[0]) if head else None
    rat = _UCGED_RAT.get(rat_code)
    mcc, mnc = mcc_mnc_fields(head[2] if len(head) > 2 else None, head[3] if len(head) > 3 else None)
    out.update({"rat": rat, "mcc": mcc, "mnc": mnc})
    if rat == "LTE" and len(rows) > 1:
        out.update(_lte_row(split_fields(rows[1]), "LTE"))
    return out


# +UBANDSEL: <band_1>[,<band_2>...]     LTE modules (SARA-R4): band numbers;  2G/3G modules: MHz (850,900,1800)
#   e.g. '+UBANDSEL: 2,4,5,12,13'  '+UBANDSEL: 850,900,1800,1900'
def parse_ubandsel(lines: list[str]) -> dict:
    body = (lines_with(lines, "+UBANDSEL") or [None])[0]
    if body is None:
        return {}
    values = [v for v in (to_int(x) for x in split_fields(body)) if v is not None and v > 0]
    if values and all(v >= 450 for v in values):
        return {"bands_mhz": values}
    return {"bands": [band_name(v, "LTE") for v in values if v < 450]}


# +UACT: [<rat>],[<mcc>],[<mnc>][,<band_1>[,<band_2>...]]     read form (SARA-U2, LARA-R2/R6, TOBY-L4)
#   bands of all RATs in one list, told apart by their range: 2G as MHz (850, 900, 1800, 1900), 3G as the UTRAN
#   band number 1..19, 4G as 100 + the E-UTRAN band number (101 = B1, 120 = B20, 138 = B38)
#   e.g. '+UACT: ,,,900,1800,1,8,101,103,107,108,120,138'  (ModemManager's u-blox helpers)
def parse_uact(lines: list[str]) -> dict:
    body = (lines_with(lines, "+UACT") or [None])[0]
    if body is None or "(" in body:
        return {}
    values = [v for v in (to_int(x) for x in split_fields(body)[3:]) if v is not None and v > 0]
    out: dict = {"bands": [f"B{v - 100}" for v in values if 100 < v < 400]}
    utran = [v for v in values if v < 100]
    gsm = [v for v in values if v >= 400]
    if utran:
        out["umts_bands"] = utran
    if gsm:
        out["bands_mhz"] = gsm
    return out
