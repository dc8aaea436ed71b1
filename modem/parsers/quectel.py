"""Quectel: +QENG, +QNWINFO, +QCAINFO, +QCSQ, +QRSRP/+QSINR/+QRSSI, +QSCAN, +QUIMSLOT, +QDSIM, +QSIMSTAT.

Field orders follow the EC2x/EG2x, BG9x and RG50xQ/RM5xxQ AT manuals. Quectel prints '-' or -32768 for a
value it does not have; both become None.
"""
from __future__ import annotations

from modem.parsers.common import (LTE_BW_INDEX_MHZ, LTE_BW_RB_MHZ, NR_BW_INDEX_MHZ, at, band_name, drop_none_keys,
                                  hex_id, is_unknown, lines_with, mcc_mnc_fields, plmn, rat_from_name,
                                  set_band_from_channel, number, sim_slot_answer, split_fields, to_int)



def _rat(word: str | None) -> str | None:
    w = (word or "").upper()
    if w in ("CAT-M", "CAT-M1", "EMTC"):
        return "LTE-M"
    if w in ("CAT-NB", "CAT-NB1", "NBIOT", "NB-IOT"):
        return "NB-IoT"
    return rat_from_name(w)


def _lte(fields: list[str], i: int, rat: str) -> dict:
    """<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,<freq_band_ind>,<UL_bw>,<DL_bw>,<TAC>,<RSRP>,<RSRQ>,<RSSI>,
    <SINR>[,<CQI>,<tx_power>],<srxlev>   starting at fields[i] = <is_tdd>"""
    mcc, mnc = mcc_mnc_fields(at(fields, i + 1), at(fields, i + 2))
    bw = to_int(at(fields, i + 8))
    out = {
        "rat": rat, "mcc": mcc, "mnc": mnc,
        "cell_id": hex_id(at(fields, i + 3)), "pci": to_int(at(fields, i + 4)),
        "earfcn": to_int(at(fields, i + 5)), "band": band_name(at(fields, i + 6), "LTE"),
        "bandwidth_mhz": LTE_BW_INDEX_MHZ.get(bw) if bw is not None else None,
        "lac_tac": hex_id(at(fields, i + 9)),
        "rsrp_dbm": number(at(fields, i + 10)), "rsrq_db": number(at(fields, i + 11)),
        "rssi_dbm": number(at(fields, i + 12)), "sinr_db": number(at(fields, i + 13)),
    }
    set_band_from_channel(out, rat)
    return out


def _nr_sa(fields: list[str], i: int) -> dict:
    """<duplex_mode>,<MCC>,<MNC>,<cellID>,<PCID>,<TAC>,<ARFCN>,<band>,<NR_DL_bandwidth>,<RSRP>,<RSRQ>,<SINR>,
    <scs>,<srxlev>   starting at fields[i] = <duplex_mode>"""
    mcc, mnc = mcc_mnc_fields(at(fields, i + 1), at(fields, i + 2))
    bw = to_int(at(fields, i + 8))
    out = {
        "rat": "NR5G-SA", "mcc": mcc, "mnc": mnc,
        "cell_id": hex_id(at(fields, i + 3)), "pci": to_int(at(fields, i + 4)),
        "lac_tac": hex_id(at(fields, i + 5)), "arfcn": to_int(at(fields, i + 6)),
        "band": band_name(at(fields, i + 7), "NR5G-SA"),
        "bandwidth_mhz": NR_BW_INDEX_MHZ.get(bw) if bw is not None else None,
        "rsrp_dbm": number(at(fields, i + 9)), "rsrq_db": number(at(fields, i + 10)),
        "sinr_db": number(at(fields, i + 11)),
    }
    set_band_from_channel(out, "NR5G-SA")
    return out


def _nr_nsa(fields: list[str], i: int) -> dict:
    """<MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,<RSRQ>,<ARFCN>,<band>,<NR_DL_bandwidth>,<scs>  (note SINR before RSRQ)"""
    mcc, mnc = mcc_mnc_fields(at(fields, i), at(fields, i + 1))
    bw = to_int(at(fields, i + 8))
    out = {
        "mcc": mcc, "mnc": mnc, "pci": to_int(at(fields, i + 2)),
        "rsrp_dbm": number(at(fields, i + 3)), "sinr_db": number(at(fields, i + 4)),
        "rsrq_db": number(at(fields, i + 5)), "arfcn": to_int(at(fields, i + 6)),
        "band": band_name(at(fields, i + 7), "NR5G-NSA"),
        "bandwidth_mhz": NR_BW_INDEX_MHZ.get(bw) if bw is not None else None,
    }
    if out["arfcn"] is not None and out["arfcn"] < 100:      # old firmware omits ARFCN: band is next
        out["arfcn"] = None
    set_band_from_channel(out, "NR5G-NSA")
    return out


def _wcdma(fields: list[str], i: int) -> dict:
    """<MCC>,<MNC>,<LAC>,<cellID>,<uarfcn>,<PSC>,<RAC>,<RSCP>,<ecio>,<phych>,<SF>,<slot>,<speech_code>,<comMod>"""
    mcc, mnc = mcc_mnc_fields(at(fields, i), at(fields, i + 1))
    return {
        "rat": "UMTS", "mcc": mcc, "mnc": mnc, "lac_tac": hex_id(at(fields, i + 2)),
        "cell_id": hex_id(at(fields, i + 3)), "uarfcn": to_int(at(fields, i + 4)),
        "psc": to_int(at(fields, i + 5)), "rscp_dbm": number(at(fields, i + 7)),
        "ecio_db": number(at(fields, i + 8)),
    }


def _gsm(fields: list[str], i: int) -> dict:
    """<mcc>,<mnc>,<lac>,<cellid>,<bsic>,<arfcn>,<band>,<rxlev>,<txp>,<rla>,<drx>,<c1>,<c2>,..."""
    mcc, mnc = mcc_mnc_fields(at(fields, i), at(fields, i + 1))
    return {
        "rat": "GSM", "mcc": mcc, "mnc": mnc, "lac_tac": hex_id(at(fields, i + 2)),
        "cell_id": hex_id(at(fields, i + 3)), "bsic": to_int(at(fields, i + 4)),
        "gsm_arfcn": to_int(at(fields, i + 5)), "rssi_dbm": number(at(fields, i + 7)),
    }


_STATES = {"SEARCH": "searching", "LIMSRV": "limited", "NOCONN": "idle", "CONNECT": "connected"}
_IDENTITY = ("mcc", "mnc", "cell_id", "lac_tac")
_SIGNAL = ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm")


# +QENG: "servingcell",<state>,"LTE",<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,<freq_band_ind>,<UL_bandwidth>,
#        <DL_bandwidth>,<TAC>,<RSRP>,<RSRQ>,<RSSI>,<SINR>[,<CQI>,<tx_power>],<srxlev>       (also "CAT-M"/"CAT-NB")
# +QENG: "servingcell",<state>,"NR5G-SA",<duplex_mode>,<MCC>,<MNC>,<cellID>,<PCID>,<TAC>,<ARFCN>,<band>,
#        <NR_DL_bandwidth>,<RSRP>,<RSRQ>,<SINR>,<scs>,<srxlev>
# +QENG: "servingcell",<state>,"WCDMA",<MCC>,<MNC>,<LAC>,<cellID>,<uarfcn>,<PSC>,<RAC>,<RSCP>,<ecio>,...
# +QENG: "servingcell",<state>,"GSM",<mcc>,<mnc>,<lac>,<cellid>,<bsic>,<arfcn>,<band>,<rxlev>,...
# EN-DC, three lines:
# +QENG: "servingcell",<state>
# +QENG: "LTE",<is_tdd>,<MCC>,<MNC>,<cellID>,<PCID>,<earfcn>,<freq_band_ind>,<UL_bw>,<DL_bw>,<TAC>,<RSRP>,<RSRQ>,
#        <RSSI>,<SINR>,<CQI>,<tx_power>,<srxlev>
# +QENG: "NR5G-NSA",<MCC>,<MNC>,<PCID>,<RSRP>,<SINR>,<RSRQ>,<ARFCN>,<band>,<NR_DL_bandwidth>,<scs>
# <state>: SEARCH | LIMSRV | NOCONN | CONNECT
def parse_qeng_servingcell(lines: list[str]) -> dict:
    out: dict = {}
    lte: dict | None = None
    nr: dict | None = None
    for body in lines_with(lines, "+QENG"):
        f = split_fields(body)
        if not f:
            continue
        head = f[0].lower()
        if head == "servingcell":
            state = (at(f, 1) or "").upper()
            if state in _STATES:
                out["state"] = _STATES[state]
            rat = _rat(at(f, 2))
            if rat in ("LTE", "LTE-M", "NB-IoT"):
                lte = _lte(f, 3, rat)
            elif rat == "NR5G-SA" or (at(f, 2) or "").upper() == "NR5G-SA":
                out.update(_nr_sa(f, 3))
            elif rat == "UMTS":
                out.update(_wcdma(f, 3))
            elif rat == "GSM":
                out.update(_gsm(f, 3))
        elif head == "lte":
            lte = _lte(f, 1, "LTE")
        elif head in ("nr5g-nsa", "nr5g_nsa"):
            nr = _nr_nsa(f, 1)
    if nr is not None and all(nr.get(k) is None for k in ("pci", "arfcn", "rsrp_dbm", "band")):
        nr = None       # '+QENG: "NR5G-NSA",' with no values: the NR leg is not up
    if nr is not None:
        out["rat"] = "NR5G-NSA"
        if lte is not None:
            lte.pop("rat", None)
            out["lte"] = lte
            for k in _IDENTITY + _SIGNAL + ("band", "earfcn", "pci", "bandwidth_mhz"):
                if lte.get(k) is not None:
                    out[k] = lte[k]
        for k in ("mcc", "mnc"):
            if nr.get(k) is None and lte is not None:
                nr[k] = lte.get(k)
        out["nr"] = nr
        if out.get("band") and nr.get("band"):
            out["bands"] = [out["band"], nr["band"]]
    elif lte is not None:
        out.update(lte)
    return out


def _neigh_lte(f: list[str], kind: str) -> dict:
    """"neighbourcell intra|inter","LTE",<earfcn>,<PCID>,<RSRQ>,<RSRP>,<RSSI>,<SINR>,<srxlev>,..."""
    cell = {"type": kind, "rat": "LTE", "earfcn": to_int(at(f, 2)), "pci": to_int(at(f, 3)),
            "rsrq_db": number(at(f, 4)), "rsrp_dbm": number(at(f, 5)), "rssi_dbm": number(at(f, 6)),
            "sinr_db": number(at(f, 7))}
    set_band_from_channel(cell, "LTE")
    return cell


# +QENG: "neighbourcell intra","LTE",<earfcn>,<PCID>,<RSRQ>,<RSRP>,<RSSI>,<SINR>,<srxlev>,<cell_resel_priority>,...
# +QENG: "neighbourcell inter","LTE",<earfcn>,<PCID>,<RSRQ>,<RSRP>,<RSSI>,<SINR>,<srxlev>,<cell_resel_priority>,...
# +QENG: "neighbourcell","WCDMA",<uarfcn>,<cell_resel_priority>,<thresh_Xhigh>,<thresh_Xlow>,<PSC>,<RSCP>,<ecno>,
#        <srxlev>
# +QENG: "neighbourcell","GSM",<MCC>,<MNC>,<LAC>,<cellID>,<BSIC>,<ARFCN>,<RXlev>,...
# +QENG: "neighbourcell","NR5G",<ARFCN>,<PCID>,<RSRP>,<RSRQ>[,<SINR>]        (RM5xx SA)
def parse_qeng_neighbourcell(lines: list[str]) -> dict:
    cells = []
    for body in lines_with(lines, "+QENG"):
        f = split_fields(body)
        head = (at(f, 0) or "").lower()
        if not head.startswith("neighbourcell"):
            continue
        kind = head.replace("neighbourcell", "").strip() or None
        rat = _rat(at(f, 1))
        if rat == "LTE":
            cells.append(_neigh_lte(f, kind or "intra"))
        elif rat == "UMTS":
            cells.append({"type": kind, "rat": "UMTS", "uarfcn": to_int(at(f, 2)), "psc": to_int(at(f, 6)),
                          "rscp_dbm": number(at(f, 7)), "ecio_db": number(at(f, 8))})
        elif rat == "GSM":
            mcc, mnc = mcc_mnc_fields(at(f, 2), at(f, 3))
            cells.append({"type": kind, "rat": "GSM", "mcc": mcc, "mnc": mnc, "lac_tac": hex_id(at(f, 4)),
                          "cell_id": hex_id(at(f, 5)), "gsm_arfcn": to_int(at(f, 7)),
                          "rssi_dbm": number(at(f, 8))})
        elif rat in ("NR5G-SA", "NR5G-NSA"):
            cell = {"type": kind, "rat": "NR5G-SA", "arfcn": to_int(at(f, 2)), "pci": to_int(at(f, 3)),
                    "rsrp_dbm": number(at(f, 4)), "rsrq_db": number(at(f, 5)), "sinr_db": number(at(f, 6))}
            set_band_from_channel(cell, "NR5G-SA")
            cells.append(cell)
    return {"cells": cells}


# +QNWINFO: <AcT>,<oper>,<band>,<channel>
#   e.g. '+QNWINFO: "FDD LTE","46011","LTE BAND 3",1650'  '+QNWINFO: "TDD NR5G","46001","NR5G BAND 78",627264'
#        '+QNWINFO: No Service'
#   EN-DC: two lines, '"FDD LTE","51503","LTE BAND 1",150' then '"TDD NR5G","51503","NR5G BAND 41",528030'
#        -> rat NR5G-NSA, the LTE anchor in "lte", the NR leg in "nr"
def parse_qnwinfo(lines: list[str]) -> dict:
    out: dict = {}
    bands = []
    for body in lines_with(lines, "+QNWINFO"):
        f = split_fields(body)
        act = (at(f, 0) or "").upper()
        if "NO SERVICE" in act:
            out.setdefault("rat", None)
            continue
        word = act.replace("FDD ", "").replace("TDD ", "").strip()
        rat = _rat(word) or rat_from_name(act)
        if rat == "NR5G-SA" and "LTE" in out.get("rat", "") or (rat == "NR5G-SA" and bands):
            rat = "NR5G-NSA"
        mcc, mnc = plmn(at(f, 1))
        # "WCDMA 2100" / "GSM 1800" name a frequency, not a 3GPP band number: only LTE and NR bands are kept
        band = band_name(at(f, 2), rat) if rat in ("LTE", "LTE-M", "NB-IoT", "NR5G-SA", "NR5G-NSA") else None
        chan = to_int(at(f, 3))
        key = {"NR5G-SA": "arfcn", "NR5G-NSA": "arfcn", "UMTS": "uarfcn", "GSM": "gsm_arfcn"}.get(rat, "earfcn")
        entry = {key: chan}
        if band:
            entry["band"] = band
        if not out.get("rat") or rat == "NR5G-NSA":
            out["rat"] = rat
        if mcc and "mcc" not in out:
            out["mcc"], out["mnc"] = mcc, mnc
        for k, v in entry.items():
            out.setdefault(k, v)
        if band:
            bands.append(band)
    if len(bands) > 1:
        out["bands"] = bands
    if out.get("rat") == "NR5G-NSA":
        legs = [split_fields(b) for b in lines_with(lines, "+QNWINFO")]
        for f in legs:
            act = (at(f, 0) or "").upper()
            if "NR5G" in act or "NR" in act.split():
                out["nr"] = drop_none_keys({"band": band_name(at(f, 2), "NR5G-NSA"), "arfcn": to_int(at(f, 3))})
            elif "LTE" in act:
                out["lte"] = drop_none_keys({"band": band_name(at(f, 2), "LTE"), "earfcn": to_int(at(f, 3))})
    return out


def _ca_bandwidth(raw: str | None, nr: bool) -> float | None:
    n = to_int(raw)
    if n is None:
        return None
    if nr:
        return NR_BW_INDEX_MHZ.get(n)
    return LTE_BW_RB_MHZ.get(n, LTE_BW_INDEX_MHZ.get(n))


# +QCAINFO: "PCC",<freq>,<bandwidth>,<band>,<pcell_state>,<PCID>,<RSRP>,<RSRQ>,<RSSI>,<RSSNR>
# +QCAINFO: "SCC",<freq>,<bandwidth>,<band>,<scell_state>,<PCID>,<RSRP>,<RSRQ>,<RSSI>,<RSSNR>[,<UL_configured>,...]
#   LTE bandwidth in resource blocks (6/15/25/50/75/100), NR bandwidth as Quectel's NR_DL_bandwidth index;
#   older EC25 firmware stops after <band>.
#   e.g. '+QCAINFO: "pcc",1300,100,"LTE BAND 3",1,262,-93,-11,-60,7'
def parse_qcainfo(lines: list[str]) -> dict:
    carriers = []
    for body in lines_with(lines, "+QCAINFO"):
        f = split_fields(body)
        role = (at(f, 0) or "").upper()
        if role not in ("PCC", "SCC"):
            continue
        band_raw = (at(f, 3) or "").upper()
        nr = "NR" in band_raw
        chan = to_int(at(f, 1))
        # LTE rows carry <state> before <PCID>; RM5xx NR rows do not: "PCC",721824,6,"NR5G BAND 79",347 (SA)
        # and "SCC",528030,8,"NR5G BAND 41",262,-91,-11,2681 (EN-DC), so the PCI is field 4 there.
        i = 4 if nr and len(f) in (5, 8) else 5
        c = {"role": role, ("arfcn" if nr else "earfcn"): chan,
             "bandwidth_mhz": _ca_bandwidth(at(f, 2), nr),
             "band": band_name(at(f, 3), "NR5G-NSA" if nr else "LTE"),
             "pci": to_int(at(f, i)), "rsrp_dbm": number(at(f, i + 1)), "rsrq_db": number(at(f, i + 2))}
        if i == 5:
            c.update({"rssi_dbm": number(at(f, 8)), "sinr_db": number(at(f, 9))})
        elif len(f) > 7:
            c["sinr_db"] = to_int(at(f, 7))
        set_band_from_channel(c, "NR5G-NSA" if nr else "LTE")
        carriers.append({k: v for k, v in c.items() if not (v is None and k not in _SIGNAL)})
    out: dict = {"carriers": carriers}
    bands = [c["band"] for c in carriers if c.get("band")]
    if bands:
        out["bands"] = bands
    return out


def _neg(value: int | None) -> int | None:
    """EG21-G prints some powers as positive magnitudes (+QCSQ: "LTE",77,... is -77 dBm)."""
    return -value if value is not None and value > 0 else value


# +QCSQ: "NOSERVICE" | "GSM",<gsm_rssi> | "WCDMA",<wcdma_rssi>,<wcdma_rscp>,<wcdma_ecio>
#      | "LTE"|"CAT-M1"|"CAT-NB1",<lte_rssi>,<lte_rsrp>,<lte_sinr>,<lte_rsrq>      lte_sinr 0..250 = -20..+30 dB
#      | "NR5G",<NR5G_RSRP>,<NR5G_SINR>,<NR5G_RSRQ>                                (RM5xx; EN-DC prints LTE + NR5G)
#      | "NR5G-SA",<rssi>,<rsrp>,<sinr>,<rsrq>                                      (RM520N)
#   e.g. '+QCSQ: "LTE",-52,-75,195,-5'   '+QCSQ: "CAT-M1",-91,-129,67,-20'   '+QCSQ: "LTE",77,-116,76,-17' (EG21-G)
def parse_qcsq(lines: list[str]) -> dict:
    out: dict = {}
    nr_part = None
    for body in lines_with(lines, "+QCSQ"):
        f = split_fields(body)
        mode = (at(f, 0) or "").upper()
        if mode in ("NOSERVICE", "NO SERVICE"):
            out["rat"] = None
        elif mode == "GSM":
            out.update({"rat": "GSM", "rssi_dbm": _neg(number(at(f, 1)))})
        elif mode in ("WCDMA", "TDSCDMA"):
            out.update({"rat": "UMTS", "rssi_dbm": _neg(number(at(f, 1))), "rscp_dbm": _neg(number(at(f, 2))),
                        "ecio_db": _neg(number(at(f, 3)))})
        elif mode in ("LTE", "CAT-M1", "CAT-M", "CAT-NB1", "CAT-NB", "EMTC", "NBIOT"):
            sinr = to_int(at(f, 3))
            out.update({"rat": _rat(mode) or "LTE", "rssi_dbm": _neg(number(at(f, 1))),
                        "rsrp_dbm": number(at(f, 2)),
                        "sinr_db": round(sinr / 5 - 20, 1) if sinr is not None and 0 <= sinr <= 250 else None,
                        "rsrq_db": number(at(f, 4))})
        elif mode.startswith("NR5G"):
            vals = f[1:]
            if len(vals) >= 4:      # RM520N: "NR5G-SA",<rssi>,<rsrp>,<sinr>,<rsrq> like the LTE line
                nr_part = {"rssi_dbm": number(vals[0]), "rsrp_dbm": number(vals[1]), "sinr_db": number(vals[2]),
                           "rsrq_db": number(vals[3])}
            else:                   # RM500Q: "NR5G",<rsrp>,<sinr>,<rsrq>
                nr_part = {"rsrp_dbm": number(at(vals, 0)), "sinr_db": number(at(vals, 1)),
                           "rsrq_db": number(at(vals, 2))}
    if nr_part is not None:
        if out.get("rat") == "LTE":
            out["rat"] = "NR5G-NSA"
            out["lte"] = {k: out.get(k) for k in ("rssi_dbm", "rsrp_dbm", "sinr_db", "rsrq_db")}
            out["nr"] = nr_part
        else:
            out.update(nr_part)
            out["rat"] = "NR5G-SA"
    return out


_ANTENNA_RANGE = {"rsrp_dbm": (-160, -20), "sinr_db": (-30, 60), "rssi_dbm": (-130, 0)}


def _per_antenna(lines: list[str], prefix: str, key: str) -> dict:
    """<PRX>,<DRX>,<RX2>,<RX3>,<sysmode>, one line per RAT (EN-DC prints an LTE and an NR5G line).
    -32768 (and -140 for RSRP) mark an antenna that is not measured. The main antenna (PRX) is the value."""
    parts: dict[str, dict] = {}
    for body in lines_with(lines, prefix):
        f = split_fields(body)
        mode = f[-1].upper() if len(f) > 1 and to_int(f[-1]) is None and not is_unknown(f[-1]) else ""
        values = [to_int(x) for x in (f[:-1] if mode else f)]
        lo, hi = _ANTENNA_RANGE[key]
        # -140 (RSRP) and -32768 mark an unmeasured branch; anything outside the physical range is firmware noise
        # ('+QRSRP: -88,-89,-32768,-37625,"NR5G"')
        values = [None if v is None or (v == -140 and key == "rsrp_dbm") or not lo <= v <= hi else v for v in values]
        valid = [v for v in values if v is not None]
        rat = "NR" if mode.startswith("NR") else "UMTS" if mode in ("WCDMA", "UMTS") else "LTE"
        parts[rat] = {key: values[0] if values and values[0] is not None else (valid[0] if valid else None),
                      key + "_per_antenna": values}
    out: dict = {}
    if "LTE" in parts and "NR" in parts:
        out.update(parts["LTE"])
        out.update({"rat": "NR5G-NSA", "lte": parts["LTE"], "nr": parts["NR"]})
    elif parts:
        rat, values = next(iter(parts.items()))
        out.update(values)
        out["rat"] = {"NR": "NR5G-SA", "UMTS": "UMTS"}.get(rat, "LTE")
    return out


# +QRSRP: <PRX>,<DRX>,<RX2>,<RX3>,<sysmode>     e.g. '+QRSRP: -93,-96,-140,-140,LTE'
def parse_qrsrp(lines: list[str]) -> dict:
    return _per_antenna(lines, "+QRSRP", "rsrp_dbm")


# +QSINR: <PRX>,<DRX>,<RX2>,<RX3>,<sysmode>     e.g. '+QSINR: 12,9,-20,-20,NR5G'
def parse_qsinr(lines: list[str]) -> dict:
    return _per_antenna(lines, "+QSINR", "sinr_db")


# +QRSSI: <PRX>,<DRX>,<RX2>,<RX3>,<sysmode>
def parse_qrssi(lines: list[str]) -> dict:
    return _per_antenna(lines, "+QRSSI", "rssi_dbm")


# +QSCAN: <rat>,<MCC>,<MNC>,<freq>,<PCI>,<RSRP>,<RSRQ>,<srxlev>,<scs>,<cellID>,<TAC>[,<bandwidth>,<band>]
#   e.g. '+QSCAN: "LTE",460,01,1650,123,-90,-10,30,-,1234ABC,21A3'   '+QSCAN: "NR5G",...'
def parse_qscan(lines: list[str]) -> dict:
    cells = []
    for body in lines_with(lines, "+QSCAN"):
        f = split_fields(body)
        rat = _rat(at(f, 0))
        nr = rat in ("NR5G-SA", "NR5G-NSA")
        rat = "NR5G-SA" if nr else rat
        mcc, mnc = mcc_mnc_fields(at(f, 1), at(f, 2))
        cell = {"rat": rat, "mcc": mcc, "mnc": mnc, ("arfcn" if nr else "earfcn"): to_int(at(f, 3)),
                "pci": to_int(at(f, 4)), "rsrp_dbm": number(at(f, 5)), "rsrq_db": number(at(f, 6)),
                "cell_id": hex_id(at(f, 9)), "lac_tac": hex_id(at(f, 10))}
        if len(f) > 12:
            cell["band"] = band_name(at(f, 12), rat)
        set_band_from_channel(cell, rat)
        cells.append(cell)
    return {"cells": cells}


# +QUIMSLOT: <slot>      1 or 2
def parse_quimslot(lines: list[str]) -> dict:
    return sim_slot_answer(lines, "+QUIMSLOT", zero_based=False)


# +QDSIM: <mode>         0 = SIM1, 1 = SIM2
def parse_qdsim(lines: list[str]) -> dict:
    return sim_slot_answer(lines, "+QDSIM", zero_based=True)


# +QSIMSTAT: <enable>,<inserted_status>     inserted_status 0 removed, 1 inserted, 2 unknown
#   (URC form: same fields)
def parse_qsimstat(lines: list[str]) -> dict:
    body = (lines_with(lines, "+QSIMSTAT") or [None])[0]
    if body is None:
        return {}
    f = split_fields(body)
    status = to_int(at(f, 1)) if len(f) > 1 else to_int(at(f, 0))
    out: dict = {"sim_inserted": {0: False, 1: True}.get(status)}
    if status == 0:
        out["sim_state"] = "NOT INSERTED"
    return out
