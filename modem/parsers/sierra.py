"""Sierra Wireless: !GSTATUS? (MC73xx/MC74xx/EM75xx/EM919x layouts) and !LTEINFO?."""
from __future__ import annotations

import re

from modem.parsers.common import (LTE_BW_INDEX_MHZ, band_name, dec_to_hex, hex_id, is_unknown, mcc_mnc_fields,
                                  number, plmn, rat_from_name, set_band_from_channel, to_int)


def gstatus_pairs(lines: list[str]) -> dict[str, str]:
    """'Label: value' pairs of a !GSTATUS-style table. Pairs are separated by tabs or 2+ spaces; a chunk
    without a colon continues the previous value ('EMM state:  Registered \\tNormal Service'). The first
    occurrence of a label wins (the PCC before the SCC lines)."""
    pairs: dict[str, str] = {}
    for line in lines:
        s = line.rstrip()
        if s.upper().startswith("!GSTATUS"):
            s = s.split(":", 1)[1] if ":" in s else ""
        s = re.sub(r"(?<=\S)[ ]+:", ":", s)       # 'LTE SSC1 bw  : 10 MHz' (EM7565): the label ends at the colon
        last = None
        for chunk in re.split(r"\t+|\s{2,}", s.strip()):
            chunk = chunk.strip()
            if not chunk:
                continue
            if ":" in chunk:
                label, _, value = chunk.partition(":")
                label = re.sub(r"\s+", " ", label.strip()).lower()
                if not label:
                    continue
                last = label
                if label not in pairs:
                    pairs[label] = value.strip()
                else:
                    last = None          # a repeated label: ignore its value and continuations
            elif last is not None:
                pairs[last] = (pairs[last] + " " + chunk).strip()
    return pairs


def _first(pairs: dict[str, str], *labels: str) -> str | None:
    for label in labels:
        if label in pairs and not is_unknown(pairs[label]):
            return pairs[label]
    return None


def _hex_with_dec(text: str | None) -> str | None:
    """'8C65 (35941)' / '01a2d001 (27447297)' / '84(3)' -> the hex part."""
    if text is None:
        return None
    return hex_id(re.split(r"[\s(]", text.strip(), maxsplit=1)[0])


def _bw(text: str | None) -> float | int | None:
    return number(text.split()[0]) if text and text.split() else None


# !GSTATUS:
# Current Time:  22016          Temperature: 40
# Reset Counter: 1              Mode:        ONLINE
# System mode:   LTE            PS state:    Attached
# LTE band:      B2             LTE bw:      20 MHz
# LTE Rx chan:   800            LTE Tx chan: 18800
# LTE CA state:  ACTIVE         LTE Scell band:B12        (MC7455)   |  LTE SSC1 state:ACTIVE / LTE SSC1 band: B7 (EM75xx)
# LTE SSC1 bw  : 10 MHz          LTE SSC1 chan: 1599       (EM7565)   |  LTE SCC1 state:INACTIVE / LTE SCC1 Rx chan: 500
#                                                                        (EM919x; System mode: ENDC -> NR5G-NSA)
# EMM state:     Registered     Normal Service
# PCC RxM RSSI:  -45            RSRP (dBm):  -81          (MC7455)   |  PCC RxM RSRP:  -117  (EM7565)
# Tx Power:      15             TAC:         8C65 (35941)
# RSRQ (dB):     -14.0          Cell ID:     0A14666A (169106666)
# SINR (dB):     23.8
# NR5G band:     n78            NR5G bw:     100 MHz  ... NR5G RSRP (dBm): -95  NR5G RSRQ (dB): -11  NR5G SINR (dB): 12.0
# 3G: WCDMA band / WCDMA channel / LAC / RxM RSSI C0 / RxM ECIO C0 / RSCP ;  unknown values print as -- or ---
def parse_gstatus(lines: list[str]) -> dict:
    p = gstatus_pairs(lines)
    if not p:
        return {}
    mode = (_first(p, "system mode") or "").upper()
    out: dict = {}
    lte: dict = {}
    band = _first(p, "lte band")
    if band or mode == "LTE" or mode == "ENDC":
        lte = {
            "band": band_name(band, "LTE"), "bandwidth_mhz": _bw(_first(p, "lte bw")),
            "earfcn": to_int(_first(p, "lte rx chan")),
            "rssi_dbm": number(_first(p, "pcc rxm rssi", "rssi (dbm)")),
            "rsrp_dbm": number(_first(p, "pcc rxm rsrp", "rsrp (dbm)")),
            "rsrq_db": number(_first(p, "rsrq (db)")), "sinr_db": number(_first(p, "sinr (db)")),
            "lac_tac": _hex_with_dec(_first(p, "tac")), "cell_id": _hex_with_dec(_first(p, "cell id")),
        }
        set_band_from_channel(lte, "LTE")
    nr: dict = {}
    nr_band = _first(p, "nr5g band")
    if nr_band:
        nr = {
            "band": band_name(nr_band, "NR5G-SA"),
            "bandwidth_mhz": _bw(_first(p, "nr5g bw", "nr5g dl bw")),
            "arfcn": to_int(_first(p, "nr5g rx chan")),
            "rsrp_dbm": number(_first(p, "nr5g rsrp (dbm)", "nr5g rsrp")),
            "rsrq_db": number(_first(p, "nr5g rsrq (db)", "nr5g rsrq")),
            "sinr_db": number(_first(p, "nr5g sinr (db)", "nr5g sinr")),
        }
        tac, cid = _hex_with_dec(_first(p, "nr5g tac")), _hex_with_dec(_first(p, "nr5g cell id"))
        if tac:
            nr["lac_tac"] = tac
        if cid:
            nr["cell_id"] = cid
        mccmnc = _first(p, "nr5g mcc-mnc")
        if mccmnc:
            nr["mcc"], nr["mnc"] = plmn(mccmnc)
        set_band_from_channel(nr, "NR5G-SA")
    if nr and (mode.startswith("NR") or not lte):
        out.update(nr)
        out["rat"] = "NR5G-SA"
    elif lte and (nr or mode == "ENDC"):
        # 'System mode: ENDC' says EN-DC even when the NR5G lines are missing or all '---': the NR leg is then
        # not reported (no "nr" dict), the LTE anchor is
        out.update(lte)
        out.update({"rat": "NR5G-NSA", "lte": lte})
        if nr:
            out["nr"] = nr
            if lte.get("band") and nr.get("band"):
                out["bands"] = [lte["band"], nr["band"]]
        _scells(p, out, lines)
    elif lte:
        out.update(lte)
        out["rat"] = "LTE"
        _scells(p, out, lines)
    elif mode in ("WCDMA", "UMTS", "HSPA", "TD-SCDMA"):
        ecio = _first(p, "rxm ecio c0", "ecio (db)", "ecio")
        out.update({
            "rat": "UMTS", "rssi_dbm": number(_first(p, "rxm rssi c0", "rssi (dbm)")),
            "rscp_dbm": number(_first(p, "rxm rscp c0", "rscp (dbm)", "rscp")), "ecio_db": number(ecio),
            "uarfcn": to_int(_first(p, "wcdma channel", "wcdma rx chan")),
            "lac_tac": _hex_with_dec(_first(p, "lac")), "cell_id": _hex_with_dec(_first(p, "cell id")),
        })
    elif mode in ("GSM", "GPRS", "EDGE"):
        out.update({"rat": "GSM", "rssi_dbm": number(_first(p, "rxm rssi", "rssi (dbm)")),
                    "lac_tac": _hex_with_dec(_first(p, "lac")), "cell_id": _hex_with_dec(_first(p, "cell id"))})
    else:
        out["rat"] = rat_from_name(mode)
    state = _first(p, "mode")
    if state:
        out["state"] = state.split()[0].lower()
    temp = _first(p, "temperature")
    if temp is not None and to_int(temp) is not None:
        out["temperature_c"] = to_int(temp)
    return out


_PATH_ROW = re.compile(r"^\s*(PCC|SCC)\s+RxM\s+RSSI:\s*(\S+)\s+(?:(?:PCC|SCC)\s+RxM\s+)?RSRP(?:\s*\(dBm\))?:\s*(\S+)",
                       re.I)


def _carrier_signal(lines: list[str]) -> dict[str, dict]:
    """The main-antenna rows per carrier: 'SCC RxM RSSI:  -52   RSRP (dBm):  -83' (MC7455 repeats the RSRP label on
    every row, so the label table keeps only the first; the row names the carrier)."""
    found: dict[str, dict] = {}
    for line in lines:
        m = _PATH_ROW.match(line)
        if m and m.group(1).upper() not in found:
            found[m.group(1).upper()] = {"rssi_dbm": number(m.group(2)), "rsrp_dbm": number(m.group(3))}
    return found


def _scells(p: dict[str, str], out: dict, lines: list[str]) -> None:
    """LTE carrier aggregation: 'LTE Scell band/bw/chan' (MC7455) or 'LTE SSCn state/band/bw/chan' (EM75xx);
    the PCC and the first SCC get their main-antenna RSSI/RSRP when the table prints a row for them."""
    carriers = []
    if (_first(p, "lte ca state") or "").upper().startswith("ACTIVE") and _first(p, "lte scell band"):
        carriers.append({"role": "SCC", "band": band_name(_first(p, "lte scell band"), "LTE"),
                         "bandwidth_mhz": _bw(_first(p, "lte scell bw")),
                         "earfcn": to_int(_first(p, "lte scell chan"))})
    for i in range(1, 8):
        for scc in (f"lte ssc{i}", f"lte scc{i}"):          # EM75xx spell it SSC, EM919x SCC ('Rx chan')
            state = (_first(p, f"{scc} state") or "").upper()
            if state.startswith("ACTIVE"):
                band = _first(p, f"{scc} band")
                if not band and len(state.split()) > 1:
                    band = state.split()[-1]
                carriers.append({"role": "SCC", "band": band_name(band, "LTE"),
                                 "bandwidth_mhz": _bw(_first(p, f"{scc} bw")),
                                 "earfcn": to_int(_first(p, f"{scc} chan", f"{scc} rx chan"))})
    if carriers:
        signal = _carrier_signal(lines)
        carriers[0].update(signal.get("SCC", {}))
        out["carriers"] = [{"role": "PCC", "band": out.get("band"), "bandwidth_mhz": out.get("bandwidth_mhz"),
                            "earfcn": out.get("earfcn"), **signal.get("PCC", {})}] + carriers
        out["bands"] = [c["band"] for c in out["carriers"] if c.get("band")]


def _table_rows(lines: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Rows of the !LTEINFO tables as (section, {column: value})."""
    rows = []
    section, cols = None, []
    for line in lines:
        s = line.rstrip()
        if not s.strip() or s.strip().upper().startswith("!LTEINFO"):
            continue
        m = re.match(r"\s*([A-Za-z][A-Za-z ]*):\s*(.*)$", s)
        if m and re.search(r"[A-Za-z]{3}", m.group(2)):
            section, cols = m.group(1).strip().lower(), m.group(2).split()
            continue
        tokens = s.split()
        if section and cols and len(tokens) == len(cols):
            rows.append((section, dict(zip([c.lower() for c in cols], tokens))))
    return rows


# !LTEINFO:
# Serving:   EARFCN MCC MNC   TAC      CID Bd D U SNR PCI  RSRQ   RSRP   RSSI RXLV
#               800 310 410 35666 0A14666A  2 5 5  22 404 -14.1  -79.6  -45.5 --
# IntraFreq:                                          PCI  RSRQ   RSRP   RSSI RXLV
#                                                     404 -14.1  -79.6  -45.5 --
# InterFreq: EARFCN ThresholdLow ThresholdHi Priority PCI  RSRQ   RSRP   RSSI RXLV
#              5110            0           0        0 272 -12.1  -80.9  -50.6   0
#   TAC decimal, CID hex, Bd = band number, D/U = bandwidth index, SNR in dB
def parse_lteinfo(lines: list[str]) -> dict:
    out: dict = {}
    cells = []
    for section, row in _table_rows(lines):
        cell = {"earfcn": to_int(row.get("earfcn")), "pci": to_int(row.get("pci")),
                "rsrq_db": number(row.get("rsrq")), "rsrp_dbm": number(row.get("rsrp")),
                "rssi_dbm": number(row.get("rssi"))}
        if section == "serving":
            mcc, mnc = mcc_mnc_fields(row.get("mcc"), row.get("mnc"))
            bw = to_int(row.get("d"))
            out.update({"rat": "LTE", "mcc": mcc, "mnc": mnc, "lac_tac": dec_to_hex(row.get("tac")),
                        "cell_id": hex_id(row.get("cid")),
                        "band": band_name(row.get("bd"), "LTE"),
                        "bandwidth_mhz": LTE_BW_INDEX_MHZ.get(bw) if bw is not None else None,
                        "sinr_db": number(row.get("snr"))})
            out.update(cell)
            set_band_from_channel(out, "LTE")
        elif section in ("intrafreq", "interfreq"):
            cell["type"] = "intra" if section == "intrafreq" else "inter"
            cell["rat"] = "LTE"
            if cell["earfcn"] is None and section == "intrafreq":
                cell["earfcn"] = out.get("earfcn")
            set_band_from_channel(cell, "LTE")
            cells.append(cell)
        elif section == "wcdma":
            cells.append({"type": "inter", "rat": "UMTS", "uarfcn": to_int(row.get("uarfcn")),
                          "psc": to_int(row.get("psc")), "rscp_dbm": number(row.get("rscp")),
                          "ecio_db": number(row.get("ecn0"))})
    if cells:
        out["cells"] = cells
    return out
