"""SIMCom: +CPSI? (SIM7000/SIM7080/SIM7500/SIM7600/SIM8200/A76xx)."""
from __future__ import annotations

import re

from modem.parsers.common import (LTE_BW_INDEX_MHZ, at, band_name, dec_to_hex, hex_id, lines_with, plmn,
                                  rat_from_name, set_band_from_channel, split_fields, to_float, to_int)



def _mode_rat(mode: str) -> str | None:
    m = mode.upper().replace("_", "-")
    if "NB" in m and "LTE" in m:
        return "NB-IoT"
    if "CAT-M" in m or "CATM" in m:
        return "LTE-M"
    if m.startswith("NR5G-NSA"):
        return "NR5G-NSA"
    if m.startswith("NR5G"):
        return "NR5G-SA"
    return rat_from_name(m)


def _tenths_if(values: list[str | None], tenths: bool) -> list[float | int | None]:
    """Tenths become floats (-850 -> -85.0); whole-unit values stay as printed."""
    out = []
    for v in values:
        x = to_float(v)
        if x is not None:
            x = round(x / 10, 1) if tenths else (int(x) if float(x).is_integer() else x)
        out.append(x)
    return out


def _rssnr_db(raw: str | None) -> float | int | None:
    """SIM7080/SIM7600 manuals: SINR = 2 * <RSSNR> - 20, range -20..30 dB (RSSNR 0..25). Values outside
    that range are taken as dB, which is what some SIM7600 firmware prints."""
    n = to_float(raw)
    if n is None:
        return None
    if float(n).is_integer() and 0 <= n <= 25:
        return int(2 * n - 20)
    return int(n) if float(n).is_integer() else n


def _powers(fields: list[str], i: int, names: tuple[str, ...]) -> dict:
    """RSRQ/RSRP/RSSI/SNR in tenths on SIM7600/SIM8200 (-850 = -85.0 dBm), in units on SIM7000 (-72 dBm)."""
    raw = [at(fields, i + k) for k in range(len(names))]
    rsrp_raw = to_float(raw[names.index("rsrp_dbm")]) if "rsrp_dbm" in names else None
    tenths = rsrp_raw is not None and abs(rsrp_raw) > 200
    return dict(zip(names, _tenths_if(raw, tenths)))


# +CPSI: <System Mode>,<Operation Mode>[,...]
#   NO SERVICE,Online
#   GSM,Online,<MCC>-<MNC>,<LAC>,<Cell ID>,<Absolute RF Ch Num>,<RxLev>,<Track LO Adjust>,<C1-C2>
#   WCDMA,Online,<MCC>-<MNC>,<LAC>,<Cell ID>,<Frequency Band>,<PSC>,<Freq>,<SSC>,<EC/IO>,<RSCP>,<Qual>,<RxLev>,<TXPWR>
#   LTE|LTE CAT-M1|LTE NB-IOT,Online,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<Frequency Band>,<earfcn>,<dlbw>,<ulbw>,
#       <RSRQ>,<RSRP>,<RSSI>,<RSSNR>                       (RSRQ/RSRP/RSSI in 1/10 dB on SIM7600, in dB on SIM7000)
#   NR5G_SA,Online,<MCC>-<MNC>,<TAC>,<SCellID>,<PCellID>,<Frequency Band>,<earfcn>,<RSRP>,<RSRQ>,<SNR>  (1/10 dB)
#   NR5G_NSA,<PCellID>,<Frequency Band>,<earfcn>,<RSRP>,<RSRQ>,<SNR>        (second line after the LTE anchor)
#   LAC/TAC hex with 0x, cell ids decimal.
def parse_cpsi(lines: list[str]) -> dict:
    out: dict = {}
    lte: dict | None = None
    nr: dict | None = None
    for body in lines_with(lines, "+CPSI"):
        f = split_fields(body)
        mode = (at(f, 0) or "").strip()
        rat = _mode_rat(mode)
        if mode.upper().startswith("NO SERVICE") or rat is None:
            out.setdefault("rat", None)
            continue
        if rat == "NR5G-NSA" or (mode.upper() == "NR5G" and (at(f, 1) or "").isdigit()):
            nr = _cpsi_nsa(f)
            continue
        mcc, mnc = plmn(at(f, 2))
        cell: dict = {"rat": rat, "mcc": mcc, "mnc": mnc, "lac_tac": hex_id(at(f, 3))}
        if rat == "GSM":
            m = re.match(r"\s*(\d+)\s*(.*)", at(f, 5) or "")
            cell.update({"cell_id": dec_to_hex(at(f, 4)), "gsm_arfcn": int(m.group(1)) if m else None,
                         "rssi_dbm": to_int(at(f, 6))})
        elif rat == "UMTS":
            ecio = to_float(at(f, 9))
            rscp = to_int(at(f, 10))
            cell.update({"cell_id": dec_to_hex(at(f, 4)), "psc": to_int(at(f, 6)), "uarfcn": to_int(at(f, 7)),
                         # SIM5320/SIM7600 print Ec/Io and RSCP as magnitudes: 12.5 = -12.5 dB, 83 = -83 dBm
                         "ecio_db": -ecio if ecio is not None and ecio > 0 else ecio,
                         "rscp_dbm": -rscp if rscp is not None and rscp > 0 else rscp})
        elif rat in ("LTE", "LTE-M", "NB-IoT"):
            bw = to_int(at(f, 8))
            cell.update({"cell_id": dec_to_hex(at(f, 4)), "pci": to_int(at(f, 5)),
                         "band": band_name(at(f, 6), "LTE"), "earfcn": to_int(at(f, 7)),
                         "bandwidth_mhz": LTE_BW_INDEX_MHZ.get(bw) if bw is not None else None})
            cell.update(_powers(f, 10, ("rsrq_db", "rsrp_dbm", "rssi_dbm")))
            cell["sinr_db"] = _rssnr_db(at(f, 13))
            lte = cell
            continue
        elif rat == "NR5G-SA":
            cell.update({"cell_id": dec_to_hex(at(f, 4)), "pci": to_int(at(f, 5)),
                         "band": band_name(at(f, 6), "NR5G-SA"), "arfcn": to_int(at(f, 7))})
            p = _powers(f, 8, ("rsrp_dbm", "rsrq_db", "sinr_db"))
            cell.update(p)
        set_band_from_channel(cell, rat)
        out.update(cell)
    if lte is not None:
        set_band_from_channel(lte, lte["rat"])
        if nr is not None:
            out.update({k: v for k, v in lte.items() if k != "rat"})
            out["rat"] = "NR5G-NSA"
            out["lte"] = {k: v for k, v in lte.items() if k != "rat"}
            out["nr"] = nr
            if lte.get("band") and nr.get("band"):
                out["bands"] = [lte["band"], nr["band"]]
        else:
            out.update(lte)
    elif nr is not None:
        out.update({"rat": "NR5G-NSA", "nr": nr})
    return out


def _cpsi_nsa(f: list[str]) -> dict:
    """NR5G_NSA,<PCellID>,<Frequency Band>,<earfcn>,<RSRP>,<RSRQ>,<SNR>   (SIM8200, tenths)
    NR5G,<PCellID>,<earfcn>,<RSRQ>,<RSRP>,<SNR>                            (SIM8200 v1.00.01, dB)"""
    if (at(f, 2) or "").upper().startswith("NR"):
        nr = {"pci": to_int(at(f, 1)), "band": band_name(at(f, 2), "NR5G-NSA"), "arfcn": to_int(at(f, 3))}
        nr.update(_powers(f, 4, ("rsrp_dbm", "rsrq_db", "sinr_db")))
    else:
        a, b = to_float(at(f, 3)), to_float(at(f, 4))
        rsrp, rsrq = (a, b) if a is not None and b is not None and a < b else (b, a)
        nr = {"pci": to_int(at(f, 1)), "arfcn": to_int(at(f, 2)), "rsrp_dbm": rsrp, "rsrq_db": rsrq,
              "sinr_db": to_float(at(f, 5))}
        nr = {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in nr.items()}
    set_band_from_channel(nr, "NR5G-NSA")
    return nr
