"""Telit: #RFSTS, #SERVINFO, #MONI, #CSURVC, #QSS, #BND (LE910Cx, LE866, ME910, LM940/LM960, FN980)."""
from __future__ import annotations

import re

from modem.bands import lte_band_from_earfcn
from modem.parsers.common import (at, band_name, dec_to_hex, hex_id, is_unknown, lines_with, number, plmn,
                                  set_band_from_channel, sim_slot_answer, split_fields, split_fields_q, to_float,
                                  to_int)



def _neg_int(text: str | None) -> bool:
    v = to_float(text)
    return v is not None and v < 0


def _abnd(raw: str | None, earfcn: int | None) -> str | None:
    """LTE <ABND> is the band number; prefer the band derived from the EARFCN when both exist."""
    derived = lte_band_from_earfcn(earfcn)
    if derived:
        return f"B{derived}"
    n = to_int(raw)
    return f"B{n}" if n and 0 < n < 255 else None


# #RFSTS: (GSM)   <PLMN>,<ARFCN>,<RSSI>,<LAC>,<RAC>,<TXPWR>,<MM>,<RR>,<NOM>,<CID>,<IMSI>,<NetNameAsc>,<SD>,<ABND>
# #RFSTS: (WCDMA) <PLMN>,<UARFCN>,<PSC>,<Ec/Io>,<RSCP>,<RSSI>,<LAC>,<RAC>,<TXPWR>,<DRX>,<MM>,<RRC>,<NOM>,<BLER>,
#                 <CID>,<IMSI>,<NetNameAsc>,<SD>,<nAST>[,<nUARFCN>,<nPSC>,<nEc/Io>]...
# #RFSTS: (LTE)   <PLMN>,<EARFCN>,<RSRP>,<RSSI>,<RSRQ>,<TAC>,<RAC>,[<TXPWR>],<DRX>,<MM>,<RRC>,<CID>,<IMSI>,
#                 [<NetNameAsc>],<SD>,<ABND>[,<SINR>]           SINR 0..250 = -20..+30 dB in 0.2 dB steps
#   PLMN "MCC MNC" quoted; LAC/TAC/CID hex. Some LE910 firmware drop <RAC>, so the fields after TAC are
#   located from the quoted <IMSI>, the first quoted field after the PLMN.
#   e.g. '#RFSTS: "310 260",66786,-101,-68,-13,2D18,255,,640,1,0,3089F02,"000000000000000","T-Mobile",3,66'
def parse_rfsts(lines: list[str]) -> dict:
    body = (lines_with(lines, "#RFSTS") or [None])[0]
    if body is None:
        return {}
    fq = split_fields_q(body)
    f = [v for v, _ in fq]
    if len(f) < 4:
        return {}
    mcc, mnc = plmn(f[0])
    out: dict = {"mcc": mcc, "mnc": mnc}
    imsi_i = next((i for i, (v, q) in enumerate(fq) if i > 1 and q), None)
    if imsi_i is None:   # unquoted firmware: the IMSI is the 14-15 digit field
        imsi_i = next((i for i, v in enumerate(f) if i > 5 and re.fullmatch(r"\d{14,15}", v)), None)
    if not _neg_int(f[2]) and _neg_int(f[3]):                  # WCDMA: PSC, Ec/Io, RSCP, RSSI, LAC
        out.update({"rat": "UMTS", "uarfcn": to_int(f[1]), "psc": to_int(f[2]), "ecio_db": number(f[3]),
                    "rscp_dbm": number(at(f, 4)), "rssi_dbm": number(at(f, 5)), "lac_tac": hex_id(at(f, 6))})
        if imsi_i:
            out["cell_id"] = hex_id(f[imsi_i - 1])
    elif _neg_int(f[2]) and _neg_int(f[3]) and _neg_int(at(f, 4)):   # LTE: RSRP, RSSI, RSRQ, TAC
        earfcn = to_int(f[1])
        out.update({"rat": "LTE", "earfcn": earfcn, "rsrp_dbm": number(f[2]), "rssi_dbm": number(f[3]),
                    "rsrq_db": number(f[4]), "lac_tac": hex_id(at(f, 5))})
        if imsi_i:
            out["cell_id"] = hex_id(f[imsi_i - 1])
            out["band"] = _abnd(at(f, imsi_i + 3), earfcn)
            sinr = to_int(at(f, imsi_i + 4))
            if sinr is not None:
                out["sinr_db"] = round(sinr / 5 - 20, 1) if 0 <= sinr <= 250 else None
        else:
            out["band"] = _abnd(None, earfcn)
        if out.get("band") is None:
            out.pop("band")
    else:                                                       # GSM: RSSI, LAC
        out.update({"rat": "GSM", "gsm_arfcn": to_int(f[1]), "rssi_dbm": number(f[2]), "lac_tac": hex_id(f[3])})
        if imsi_i:
            out["cell_id"] = hex_id(f[imsi_i - 1])
    if imsi_i is not None:
        imsi = f[imsi_i]
        if re.fullmatch(r"\d{6,15}", imsi) and set(imsi) != {"0"}:
            out["imsi"] = imsi
        name = at(f, imsi_i + 1)
        if name and not is_unknown(name):
            out["operator_name"] = name
    return out


# #SERVINFO: (GSM)   <B-ARFCN>,<dBM>,<NetNameAsc>,<NetCode>,<BSIC>,<LAC>,<TA>,<GPRS>[,[<PB-ARFCN>],[<NOM>],<RAC>,[<PAT>]]
# #SERVINFO: (WCDMA) <UARFCN>,<dBM>,<NetNameAsc>,<NetCode>,<PSC>,<LAC>,<DRX>,<SD>,<RSSI>,<NOM>,<RAC>
# #SERVINFO: (LTE)   <EARFCN>,<dBM>,<NetNameAsc>,<NetCode>,<CellID>,<TAC>,<DRX>,<SD>,<RSRP>   (ME910: <PhysicalCellId> for <CellID>)
#   e.g. '#SERVINFO: 66786,-68,"T-Mobile","310260",3089F02,2D18,640,3,-101'   (LM960A18)
def parse_servinfo(lines: list[str]) -> dict:
    body = (lines_with(lines, "#SERVINFO") or [None])[0]
    if body is None:
        return {}
    f = split_fields(body)
    mcc, mnc = plmn(at(f, 3))
    out: dict = {"mcc": mcc, "mnc": mnc}
    name = at(f, 2)
    if name and not is_unknown(name):
        out["operator_name"] = name
    chan = to_int(at(f, 0))
    if len(f) == 9 and _neg_int(f[8]) and hex_id(at(f, 4)):
        out.update({"rat": "LTE", "earfcn": chan, "rssi_dbm": number(f[1]), "lac_tac": hex_id(f[5]),
                    "rsrp_dbm": number(f[8])})
        # field 5 is the cell id on LM9x0 ('3089F02') and the physical cell id on ME910 ('00000AF' = 175): an
        # E-UTRAN cell id is eNB id * 256 + cell, so a value up to 503 can only be a PCI
        ident = to_int(f[4], base=16)
        if ident is not None and ident <= 503:
            out["pci"] = ident
        else:
            out["cell_id"] = hex_id(f[4])
        set_band_from_channel(out, "LTE")
    elif len(f) >= 10 or (len(f) >= 9 and chan is not None and chan > 1023):
        out.update({"rat": "UMTS", "uarfcn": chan, "rscp_dbm": number(f[1]), "psc": to_int(at(f, 4)),
                    "lac_tac": hex_id(at(f, 5)), "rssi_dbm": number(at(f, 8))})
    else:
        out.update({"rat": "GSM", "gsm_arfcn": chan, "rssi_dbm": number(at(f, 1)), "bsic": to_int(at(f, 4)),
                    "lac_tac": hex_id(at(f, 5))})
    return out


_MONI_KV = re.compile(r"([A-Za-z][A-Za-z0-9_/]*)\s*:\s*(\S+)")


# #MONI: <netname> RSRP:<rsrp> RSRQ:<rsrq> TAC:<tac> Id:<id> EARFCN:<earfcn> PWR:<dBm>dbm DRX:<drx>  (LTE)
# #MONI: <netname> PSC:<psc> RSCP:<rscp> LAC:<lac> Id:<id> EcIo:<ecio> UARFCN:<uarfcn> PWR:<dBm>dbm DRX:<drx> (WCDMA)
# #MONI: <netname> BSIC:<bsic> RxQual:<q> LAC:<lac> Id:<id> ARFCN:<arfcn> PWR:<dBm>dbm TA:<ta>          (GSM)
#   e.g. '#MONI: AT&T RSRP:-92 RSRQ:-17 TAC:8B1E Id:A204... EARFCN:800 PWR:-54dbm DRX:1280'  (LM940, MikroTik forum)
#   #MONI=7 prints one line per cell ('#MONI: Cc:310 Nc:260 ...'); every line becomes a cell
# #MONI: <netname> NR_BAND:<band> NR_BW:<MHz> NR_ULBW:<MHz> NR_CH:<arfcn> NR_ULCH:<arfcn> NR_PWR:<dBm>dbm NR_RSRP:<rsrp>
#        NR_RSRQ:<rsrq> NR_PCI:<pci> NR_SINR:<x> ...     (FN990, NR serving cell; the SINR scale is not documented, so
#        it is left out)
def parse_moni(lines: list[str]) -> dict:
    cells = []
    for body in lines_with(lines, "#MONI"):
        kv = {k.lower(): v for k, v in _MONI_KV.findall(body)}
        if not kv:
            continue
        first_key = _MONI_KV.search(body)
        name = body[:first_key.start()].strip() if first_key else ""
        cell: dict = {}
        if "nr_band" in kv or "nr_ch" in kv:
            cell.update({"rat": "NR5G-SA", "band": band_name(kv.get("nr_band"), "NR5G-SA"),
                         "bandwidth_mhz": number(kv.get("nr_bw")), "arfcn": to_int(kv.get("nr_ch")),
                         "rssi_dbm": number(kv.get("nr_pwr")), "rsrp_dbm": number(kv.get("nr_rsrp")),
                         "rsrq_db": number(kv.get("nr_rsrq")), "pci": to_int(kv.get("nr_pci"))})
            if cell["band"] is None:
                cell.pop("band")
                set_band_from_channel(cell, "NR5G-SA")
        elif "earfcn" in kv or "rsrp" in kv:
            cell.update({"rat": "LTE", "earfcn": to_int(kv.get("earfcn")), "rsrp_dbm": number(kv.get("rsrp")),
                         "rsrq_db": number(kv.get("rsrq")), "lac_tac": hex_id(kv.get("tac")),
                         "rssi_dbm": number(kv.get("pwr"))})
            if "pci" in kv:
                cell["pci"] = to_int(kv.get("pci"))
            set_band_from_channel(cell, "LTE")
        elif "uarfcn" in kv or "psc" in kv:
            cell.update({"rat": "UMTS", "uarfcn": to_int(kv.get("uarfcn")), "psc": to_int(kv.get("psc")),
                         "rscp_dbm": number(kv.get("rscp")), "ecio_db": number(kv.get("ecio")),
                         "lac_tac": hex_id(kv.get("lac")), "rssi_dbm": number(kv.get("pwr"))})
        else:
            cell.update({"rat": "GSM", "gsm_arfcn": to_int(kv.get("arfcn")), "bsic": to_int(kv.get("bsic")),
                         "lac_tac": hex_id(kv.get("lac")), "rssi_dbm": number(kv.get("pwr"))})
        if "tac" not in kv and "lac" not in kv:
            cell.pop("lac_tac", None)          # a neighbour row: the area code is not printed, not unknown
        if "id" in kv and cell["rat"] == "LTE" and "tac" not in kv:
            # neighbour rows (#MONI=1..7 on LM940/LM960) carry no TAC, and their Id is the PCI in hex
            pci = to_int(kv["id"].rstrip("."), base=16)
            cell["pci"] = pci if pci is not None and pci <= 503 else None
        elif "id" in kv:
            cell["cell_id"] = hex_id(kv["id"].rstrip("."))
        if "cc" in kv and "nc" in kv:
            cell["mcc"], cell["mnc"] = kv["cc"], kv["nc"].zfill(2)
        if name and not name.isdigit():
            cell["operator_name"] = name
        cells.append(cell)
    if not cells:
        return {}
    out = dict(cells[0])
    if len(cells) > 1:
        out["cells"] = cells[1:]
    return out


_CELL_STATUS = ("CELL_SUITABLE", "CELL_LOW_PRIORITY", "CELL_FORBIDDEN", "CELL_BARRED", "CELL_LOW_LEVEL",
                "CELL_OTHER")


def _csurv_labelled(kv: dict[str, str]) -> dict | None:
    """#CSURV (text) records: 'earfcn: 6400 rxLev: -89 mcc: 262 mnc: 02 cellId: 1A2B tac: 3C4D ...'."""
    if "earfcn" in kv:
        cell = {"rat": "LTE", "earfcn": to_int(kv.get("earfcn")), "rssi_dbm": number(kv.get("rxlev")),
                "cell_id": hex_id(kv.get("cellid")), "lac_tac": hex_id(kv.get("tac")), "pci": to_int(kv.get("pci")),
                "rsrp_dbm": number(kv.get("rsrp")), "rsrq_db": number(kv.get("rsrq"))}
        rat = "LTE"
    elif "uarfcn" in kv:
        cell = {"rat": "UMTS", "uarfcn": to_int(kv.get("uarfcn")), "rssi_dbm": number(kv.get("rxlev")),
                "psc": to_int(kv.get("scrcode") or kv.get("psc")), "cell_id": hex_id(kv.get("cellid")),
                "lac_tac": hex_id(kv.get("lac")), "rscp_dbm": number(kv.get("rscp")), "ecio_db": number(kv.get("ecio"))}
        rat = "UMTS"
    elif "arfcn" in kv:
        cell = {"rat": "GSM", "gsm_arfcn": to_int(kv.get("arfcn")), "rssi_dbm": number(kv.get("rxlev")),
                "bsic": to_int(kv.get("bsic"), base=16), "cell_id": hex_id(kv.get("cellid")),
                "lac_tac": hex_id(kv.get("lac"))}
        rat = "GSM"
    else:
        return None
    if kv.get("mcc") and kv.get("mnc"):
        cell["mcc"], cell["mnc"] = kv["mcc"], kv["mnc"].zfill(2)
    set_band_from_channel(cell, rat)
    return cell


def _csurv_numeric(f: list[str]) -> dict | None:
    """#CSURVC (numeric) records, told apart by their shape:
    GSM BCCH    <arfcn>,<bsic>,<rxLev>,<ber>,<mcc>,<mnc>,<lac>,<cellId>,<cellStatus>,<numArfcn>[,<arfcn>...]
    GSM other   <arfcn>,<rxLev>
    UMTS        <uarfcn>,<rxLev>,<mcc>,<mnc>,<scrcode>,<cellId>,<lac>,<cellStatus>,<rscp>,<ecio>
    LTE (ME310) <earfcn>,<rsrp>,<mcc>,<mnc>,<pci>,<tac>,<cellId>           (tac and cellId in decimal)
    LTE (LM960) <earfcn>,<rxLev>,<mcc>,<mnc>,<cellId>,<tac>,<pci>,<cellStatus>,<rsrp>,<rsrq>,<x>   (decimal ids)
    MCC/MNC are printed as their digits; LAC/cellId of 2G/3G in hex. #CSURVC prints <cellStatus> as a number,
    #CSURV as its name (CELL_SUITABLE ...)."""
    if len(f) == 2 and all(to_int(x) is not None for x in f):
        return {"rat": "GSM", "gsm_arfcn": to_int(f[0]), "rssi_dbm": number(f[1])}
    if len(f) >= 10 and (at(f, 8) or "").upper().startswith("CELL_"):
        return {"rat": "GSM", "gsm_arfcn": to_int(f[0]), "bsic": to_int(f[1], base=16), "rssi_dbm": number(f[2]),
                "mcc": f[4] or None, "mnc": (f[5] or "").zfill(2) or None, "lac_tac": hex_id(f[6]),
                "cell_id": hex_id(f[7])}
    if len(f) == 11 and _neg_int(f[1]) and _neg_int(f[8]) and (f[7].isdigit() or f[7].upper().startswith("CELL_")):
        cell = {"rat": "LTE", "earfcn": to_int(f[0]), "rssi_dbm": number(f[1]), "mcc": f[2] or None,
                "mnc": (f[3] or "").zfill(2) or None, "cell_id": dec_to_hex(f[4]), "lac_tac": dec_to_hex(f[5]),
                "pci": to_int(f[6]), "rsrp_dbm": number(f[8]), "rsrq_db": number(f[9])}
        set_band_from_channel(cell, "LTE")
        return cell
    if len(f) >= 10 and ((at(f, 7) or "").upper().startswith("CELL_") or (len(f) == 10 and f[7].isdigit())):
        return {"rat": "UMTS", "uarfcn": to_int(f[0]), "rssi_dbm": number(f[1]), "mcc": f[2] or None,
                "mnc": (f[3] or "").zfill(2) or None, "psc": to_int(f[4]), "cell_id": hex_id(f[5]),
                "lac_tac": hex_id(f[6]), "rscp_dbm": number(at(f, 8)), "ecio_db": number(at(f, 9))}
    if len(f) == 7 and _neg_int(f[1]):
        cell = {"rat": "LTE", "earfcn": to_int(f[0]), "rsrp_dbm": number(f[1]), "mcc": f[2] or None,
                "mnc": (f[3] or "").zfill(2) or None, "pci": to_int(f[4]), "lac_tac": dec_to_hex(f[5]),
                "cell_id": dec_to_hex(f[6])}
        set_band_from_channel(cell, "LTE")
        return cell
    return None


# #CSURV / #CSURVC: a network survey, one cell per line, then "Network survey ended" (see _csurv_* for forms)
def parse_csurvc(lines: list[str]) -> dict:
    cells = []
    for line in lines:
        s = line.strip()
        if s.upper().startswith(("#CSURV", "NETWORK SURVEY")):
            s = s.split(":", 1)[1] if s.upper().startswith("#CSURV") and ":" in s else ""
        if not s:
            continue
        kv = {k.lower(): v.rstrip(",") for k, v in _MONI_KV.findall(s)}
        cell = _csurv_labelled(kv) if kv else _csurv_numeric(split_fields(s))
        if cell is not None:
            cells.append(cell)
    return {"cells": cells}


_QSS = {0: "NOT INSERTED", 1: "INSERTED", 2: "SIM PIN UNLOCKED", 3: "READY"}


# #QSS: <mode>,<status>     status 0 not inserted, 1 inserted, 2 inserted and PIN unlocked, 3 inserted and READY
#   (unsolicited: #QSS: <status>)
def parse_qss(lines: list[str]) -> dict:
    body = (lines_with(lines, "#QSS") or [None])[0]
    if body is None:
        return {}
    f = split_fields(body)
    status = to_int(f[1]) if len(f) > 1 else to_int(f[0])
    if status not in _QSS:
        return {"sim_inserted": None}
    out: dict = {"sim_inserted": status != 0}
    if status in (0, 3):
        out["sim_state"] = _QSS[status]
    return out


def _mask_bands(mask: int, offset: int = 1) -> list[int]:
    return [i + offset for i in range(mask.bit_length()) if mask >> i & 1]


# #BND? read form, by firmware family (ModemManager's Telit helpers and tests; the LM9x0/FN980 reference guides):
#   #BND: <GSM>,<UMTS>                                                  2G/3G modules
#   #BND: <GSM>,<UMTS>,<LTE mask>                                       LE910 V2 / ME910: decimal ('5,0,168695967');
#                                                                       LE910C1-EUX: hex ('0,5,80800C5')
#   #BND: <GSM>,<UMTS>,<LTE mask>,<LTE ext mask>                        LN920 / LE910Cx / LM940: hex ('0,0,1003100185A,42')
#   #BND: <GSM>,<UMTS>,<LTE mask>,<TDSCDMA>,<LTE ext mask>              ME910G1 / ME310G1: decimal ('0,0,252582047,0,1048578')
#   #BND: <GSM>,<UMTS>,<LTE mask>,<LTE ext mask>,<NSA NR 1-64>,<NSA NR 65-128>,<SA NR 1-64>,<SA NR 65-128>
#                                                                       FN980 / LM960: hex
#   LTE mask bit 0 = B1, ext mask bit 0 = B65; NR masks bit 0 = n1 (n65 in the 65-128 mask). A 3-field mask is
#   hex only when it holds a hex letter (nothing else tells the two firmware apart). The GSM/UMTS values are Telit's
#   combination codes, reported as they are.
def parse_bnd(lines: list[str]) -> dict:
    body = (lines_with(lines, "#BND") or [None])[0]
    if body is None or "(" in body:
        return {}
    f = split_fields(body)
    out: dict = {"gsm_band_config": to_int(at(f, 0))}
    if len(f) > 1:
        out["umts_band_config"] = to_int(at(f, 1))
    raw = at(f, 2)
    if raw is None or not raw.strip():
        return out
    if len(f) == 5:                                   # ME910G1 layout: decimal, ext after the TDSCDMA field
        base, ext_raw = (16 if re.search(r"[A-Fa-f]", raw) else 10), at(f, 4)
    elif len(f) == 3:
        base, ext_raw = (16 if re.search(r"[A-Fa-f]", raw) else 10), None
    else:
        base, ext_raw = 16, at(f, 3)
    mask = _bnd_mask(raw, base)
    if mask is None:
        return out
    ext = _bnd_mask(ext_raw, base) if ext_raw else 0
    out["bands"] = [f"B{b}" for b in _mask_bands(mask) + _mask_bands(ext or 0, 65)]
    if len(f) >= 8:
        for key, lo, hi in (("nr_nsa_bands", 4, 5), ("nr_sa_bands", 6, 7)):
            low, high = _bnd_mask(at(f, lo), 16), _bnd_mask(at(f, hi), 16)
            if low is not None or high is not None:
                out[key] = [f"n{b}" for b in _mask_bands(low or 0) + _mask_bands(high or 0, 65)]
    return out


def _bnd_mask(raw: str | None, base: int) -> int | None:
    """A band mask field; None when it is not a number in `base` (a decimal mask never holds a hex letter)."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not re.fullmatch(r"[0-9A-Fa-f]{1,32}" if base == 16 else r"\d{1,39}", text):
        return None
    return int(text, base)


# #SIMSELECT: <sim>      1 or 2 (dual-SIM LE910Cx/LM960; the second slot needs AT#ENSIM2=1)
def parse_simselect(lines: list[str]) -> dict:
    return sim_slot_answer(lines, "#SIMSELECT", zero_based=False)