"""Helpers shared by every parser: field splitting, unknown markers, hex ids, PLMNs, AcT and RAT names.

Parsers take the information lines of one response (echo and final result already removed, but they
tolerate both) and return a dict of the output keys documented in modem/decoder.py. A value the modem
reports as unknown becomes None; a value it does not carry is left out.
"""
from __future__ import annotations

import re

# Strings that modems print for "no value" in place of a number.
UNKNOWN_STRINGS = frozenset({"", "-", "--", "---", "----", "na", "n/a", "nan", "null", "none", "unknown",
                             "invalid", "x", "ff", "fff", "ffff"})
# Integer sentinels used for "invalid" by Qualcomm-based firmware (Quectel, SIMCom, Sierra, Telit).
INVALID_INTS = frozenset({-32768, 32767, -32767, 65535, 2147483647, -2147483648, 4294967295, -999, 999})

_FLOAT_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")
_INT_UNIT_RE = re.compile(r"([-+]?\d+)\s*(?:[A-Za-z%]+)?")


def split_fields(text: str) -> list[str]:
    """Split a comma-separated parameter list, honouring double quotes; fields are stripped and unquoted."""
    return [value for value, _ in split_fields_q(text)]


def split_fields_q(text: str) -> list[tuple[str, bool]]:
    """Like split_fields() but each field comes with whether it was quoted."""
    fields: list[tuple[str, bool]] = []
    cur: list[str] = []
    quoted = False
    in_quotes = False
    for ch in text:
        if ch == '"':
            in_quotes = not in_quotes
            quoted = True
            continue
        if ch == "," and not in_quotes:
            fields.append(("".join(cur).strip(), quoted))
            cur, quoted = [], False
            continue
        cur.append(ch)
    fields.append(("".join(cur).strip(), quoted))
    return fields


def unquote(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text.strip()


def is_unknown(text: str | None) -> bool:
    return text is None or text.strip().strip('"').strip().lower() in UNKNOWN_STRINGS


def to_int(text: str | None, unknown: tuple[int, ...] = (), base: int = 10) -> int | None:
    """Parse an integer; None for an unknown marker, a sentinel, one of `unknown`, or garbage.

    A trailing unit ('-97dBm', '20 MHz') is tolerated; a fraction is not (use to_float)."""
    if is_unknown(text):
        return None
    text = text.strip().strip('"').strip()
    try:
        if base == 16:
            value = int(text[2:] if text.lower().startswith("0x") else text, 16)
        else:
            m = _INT_UNIT_RE.fullmatch(text)
            if not m:
                return None
            value = int(m.group(1))
    except ValueError:
        return None
    if value in unknown or value in INVALID_INTS:
        return None
    return value


def to_float(text: str | None, unknown: tuple[float, ...] = (), scale: float = 1.0) -> float | None:
    """Parse a number (a trailing unit like 'dBm' is allowed) and multiply it by `scale`."""
    if is_unknown(text):
        return None
    m = _FLOAT_RE.match(text.strip().strip('"').strip())
    if not m:
        return None
    value = float(m.group(0))
    if value in unknown or value in INVALID_INTS:
        return None
    return round(value * scale, 2)


def hex_id(text: str | None) -> str | None:
    """Normalise a hex LAC/TAC/cell id: uppercase, no 0x, no spaces; None when unknown or all Fs."""
    if is_unknown(text):
        return None
    text = text.strip().strip('"').replace(" ", "")
    if text.lower().startswith("0x"):
        text = text[2:]
    if not text or not _HEX_RE.match(text):
        return None
    text = text.upper()
    if len(text) >= 4 and set(text) == {"F"}:
        return None
    return text


def dec_to_hex(text: str | None) -> str | None:
    """A cell id printed in decimal, as uppercase hex."""
    value = to_int(text)
    if value is None or value < 0:
        return None
    return f"{value:X}"


def plmn(text: str | None) -> tuple[str | None, str | None]:
    """'26201', '262 01', '262-01', '310260' -> (mcc, mnc), keeping leading zeros."""
    if is_unknown(text):
        return None, None
    text = text.strip().strip('"').strip()
    m = re.fullmatch(r"(\d{3})\s*[-\s/]?\s*(\d{2,3})", text)
    if not m:
        return None, None
    return m.group(1), m.group(2)


def mcc_mnc_fields(mcc: str | None, mnc: str | None) -> tuple[str | None, str | None]:
    """MCC and MNC given as separate fields (Quectel prints '262','01' or 262,1)."""
    mcc = None if is_unknown(mcc) else mcc.strip().strip('"')
    mnc = None if is_unknown(mnc) else mnc.strip().strip('"')
    if mcc is not None and not (mcc.isdigit() and len(mcc) == 3 and mcc != "000"):
        mcc = None
    if mnc is not None and not (mnc.isdigit() and 1 <= len(mnc) <= 3):
        mnc = None
    if mnc is not None and len(mnc) == 1:
        mnc = "0" + mnc
    return mcc, mnc


# 27.007 <AcT> as used by +COPS, +CREG, +CGREG, +CEREG, +C5GREG.
# 8 is EC-GSM-IoT in the spec, but LTE-M modules (u-blox SARA-R4, Telit ME910, Quectel BG96) report Cat-M1 as 8.
_ACT_RAT = {0: "GSM", 1: "GSM", 2: "UMTS", 3: "GSM", 4: "UMTS", 5: "UMTS", 6: "UMTS", 7: "LTE",
            8: "LTE-M", 9: "NB-IoT", 10: "LTE", 11: "NR5G-SA", 12: "NR5G-SA", 13: "NR5G-NSA",
            14: "NB-IoT", 15: "LTE", 16: "NR5G-SA"}


def rat_from_act(act: int | None) -> str | None:
    return None if act is None else _ACT_RAT.get(act)


_RAT_WORDS = (
    ("NR5G-NSA", ("NR5G-NSA", "NR5G_NSA", "ENDC", "EN-DC", "NSA")),
    ("NR5G-SA", ("NR5G-SA", "NR5G_SA", "NR5G", "NR SA", "5G NR", "NR", "SA")),
    ("LTE-M", ("CAT-M", "CATM", "CAT-M1", "EMTC", "LTE-M", "LTE CAT-M1", "LTE-M1")),
    ("NB-IoT", ("CAT-NB", "CAT-NB1", "NBIOT", "NB-IOT", "NB1", "LTE CAT-NB1", "NB")),
    ("LTE", ("LTE", "FDD LTE", "TDD LTE", "E-UTRAN", "EUTRAN", "4G", "LTE-A")),
    ("UMTS", ("WCDMA", "UMTS", "HSPA", "HSPA+", "HSDPA", "HSUPA", "TD-SCDMA", "TDSCDMA", "3G", "UTRAN",
              "HSDPA+HSUPA", "DC-HSPA+")),
    ("GSM", ("GSM", "GPRS", "EDGE", "2G", "EGPRS", "GERAN")),
)


def rat_from_name(name: str | None) -> str | None:
    """Map a vendor's system-mode word ('WCDMA', 'NR5G_SA', 'CAT-M', 'FDD LTE') to our RAT names."""
    if is_unknown(name):
        return None
    key = name.strip().strip('"').upper().replace("  ", " ")
    for rat, words in _RAT_WORDS:
        if key in words:
            return rat
    return None


# LTE bandwidth index (Quectel QENG, SIMCom CPSI, TS 36.331 dl-Bandwidth order) -> MHz
LTE_BW_INDEX_MHZ = {0: 1.4, 1: 3, 2: 5, 3: 10, 4: 15, 5: 20}
# LTE bandwidth in resource blocks (Quectel QCAINFO, Sierra) -> MHz
LTE_BW_RB_MHZ = {6: 1.4, 15: 3, 25: 5, 50: 10, 75: 15, 100: 20}
# Quectel NR_DL_bandwidth index -> MHz
NR_BW_INDEX_MHZ = {0: 5, 1: 10, 2: 15, 3: 20, 4: 25, 5: 30, 6: 40, 7: 50, 8: 60, 9: 70, 10: 80, 11: 90,
                   12: 100, 13: 200, 14: 400}


def payload(line: str, prefix: str | None = None) -> str:
    """The part of '+CSQ: 20,99' after the prefix and colon (the whole line when there is no colon)."""
    if prefix and line.upper().startswith(prefix.upper()):
        rest = line[len(prefix):]
        return rest[1:].strip() if rest.startswith(":") else rest.strip()
    head, sep, rest = line.partition(":")
    if sep and re.fullmatch(r"\s*[+^!#$%*]?[A-Za-z0-9_ ]+\s*", head):
        return rest.strip()
    return line.strip()


def lines_with(lines: list[str], prefix: str) -> list[str]:
    """Payloads of the lines that start with `prefix` (case-insensitive, spaces before the colon allowed)."""
    out = []
    up = prefix.upper()
    for line in lines:
        s = line.strip()
        if s.upper().startswith(up):
            rest = s[len(prefix):].lstrip()
            if rest.startswith(":"):
                out.append(rest[1:].strip())
            elif not rest or prefix.endswith(":"):
                out.append(rest.strip())
    return out


def first_with(lines: list[str], prefix: str) -> str | None:
    found = lines_with(lines, prefix)
    return found[0] if found else None


def drop_none_keys(d: dict, keep: tuple[str, ...] = ()) -> dict:
    return {k: v for k, v in d.items() if v is not None or k in keep}


def set_band_from_channel(out: dict, rat: str | None) -> None:
    """Fill 'band' from earfcn/arfcn when the modem did not print it."""
    from modem import bands
    if out.get("band"):
        return
    if rat in ("LTE", "LTE-M", "NB-IoT") and out.get("earfcn") is not None:
        out["band"] = bands.lte_band_name(bands.lte_band_from_earfcn(out["earfcn"]))
    elif rat in ("NR5G-SA", "NR5G-NSA") and out.get("arfcn") is not None:
        out["band"] = bands.nr_band_name(bands.nr_band_from_arfcn(out["arfcn"]))
    if out.get("band") is None:
        out.pop("band", None)


def band_name(value: str | int | None, rat: str | None) -> str | None:
    """'3', 'B3', 'LTE BAND 3', 'EUTRAN-BAND3', 'NR5G_BAND78', 'n78', 78 -> 'B3' / 'n78'."""
    if value is None:
        return None
    text = str(value).strip().strip('"').upper()
    if is_unknown(text) or text in ("0", "255"):
        return None
    m = re.search(r"(\d+)\s*$", text)
    if not m:
        return None
    n = int(m.group(1))
    if n <= 0:
        return None
    nr = rat in ("NR5G-SA", "NR5G-NSA") or text.startswith("N") or "NR" in text
    if "LTE" in text or "EUTRAN" in text or text.startswith("B"):
        nr = False
    return f"n{n}" if nr else f"B{n}"


def at(fields: list, i: int) -> str | None:
    """fields[i], or None past the end (firmware drops trailing fields)."""
    return fields[i] if 0 <= i < len(fields) else None


def number(text: str | None) -> float | int | None:
    """A decimal as printed: '-14.0' -> -14.0 stays a float only when it has a fraction ('23.8')."""
    v = to_float(text)
    if v is None:
        return None
    return int(v) if float(v).is_integer() else v


def level(n: int | None, lo: int, hi: int, base: float, step: float) -> float | int | None:
    """A reported level n in lo..hi mapped to the lower edge of its interval, base + n * step (27.007 style
    tables: +CESQ, ^HCSQ, +XCESQ, +UCGED); anything outside lo..hi (99, 255) is unknown."""
    if n is None or not lo <= n <= hi:
        return None
    value = round(base + n * step, 2)
    return int(value) if float(value).is_integer() else value


def sim_slot_answer(lines: list[str], prefix: str, zero_based: bool) -> dict:
    """'<prefix>: <slot>[,...]' -> {"sim_slot": 1|2}; vendors count from 0 (QDSIM, GTDUALSIM) or 1."""
    body = first_with(lines, prefix)
    if body is None:
        return {}
    n = to_int(split_fields(body)[0])
    slot = None if n is None else n + 1 if zero_based else n
    return {"sim_slot": slot if slot in (1, 2) else None}
