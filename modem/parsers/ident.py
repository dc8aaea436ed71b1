"""Identity and SIM: ATI, +CGMI, +CGMM, +CGMR, +CGSN, +CIMI, the ICCID commands and +CPIN."""
from __future__ import annotations

import re

from modem.parsers.common import first_with, is_unknown, split_fields, to_int, unquote

# Prefixes some firmware repeats in front of the bare identity answers.
_ECHO_PREFIX = re.compile(r"^\s*[+^!#$%]?(?:C?GM[IMR]|C?GSN|CIMI|QGMR|GMR|GMI|GMM)\s*:\s*", re.I)
_KEYS = {
    "manufacturer": "manufacturer", "model": "model", "revision": "revision", "imei": "imei",
    "firmware": "revision", "firmware version": "revision", "software version": "revision",
    "esn": "esn", "meid": "meid",
}
_VENDOR_WORDS = ("quectel", "simcom", "sierra", "telit", "huawei", "u-blox", "ublox", "fibocom", "zte",
                 "qualcomm", "novatel", "option", "nokia", "sony", "motorola", "cinterion", "gemalto",
                 "thales", "foxconn", "meig", "neoway", "intel", "samsung", "lg ", "dell", "netgear")


def _bare(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        s = _ECHO_PREFIX.sub("", line.strip()).strip()
        if s:
            out.append(unquote(s))
    return out


# ATI / ATI0 / AT+GMI etc.
#   "Quectel" / "EG25" / "Revision: EG25GGBR07A08M2G"                 (Quectel: two bare lines, then Revision)
#   "Manufacturer: huawei" / "Model: E1550" / "Revision: ..." / "IMEI: ..." / "+GCAP: ..."   (Huawei, Sierra, SIMCom)
#   "MD300"                                                           (one bare line: the model)
def parse_ati(lines: list[str]) -> dict:
    out: dict = {}
    bare: list[str] = []
    for line in _bare(lines):
        if line.upper().startswith("+GCAP"):
            continue
        key, sep, value = line.partition(":")
        k = key.strip().lower()
        if sep and k in _KEYS:
            value = _ECHO_PREFIX.sub("", value.strip()).strip()
            if value and _KEYS[k] not in out:
                out[_KEYS[k]] = value
        elif sep and k in ("imei sv", "svn", "fsn", "mpn", "esn", "3gpp release"):
            continue
        elif not sep or not re.fullmatch(r"[A-Za-z][A-Za-z ]{1,20}", key.strip()):
            bare.append(line)
    if bare and "manufacturer" not in out and "model" not in out:
        if len(bare) >= 2 or any(w in bare[0].lower() for w in _VENDOR_WORDS):
            out["manufacturer"] = bare[0]
            if len(bare) >= 2:
                out["model"] = bare[1]
            if len(bare) >= 3 and "revision" not in out:
                out["revision"] = re.sub(r"^revision\s*:?\s*", "", bare[2], flags=re.I)
        else:
            out["model"] = bare[0]
    if "imei" in out:
        imei = parse_cgsn([out["imei"]]).get("imei")
        if imei:
            out["imei"] = imei
        else:
            del out["imei"]
    return out


# +CGMI / +GMI:  "Quectel"  |  "+CGMI: \"SIMCOM INCORPORATED\""  |  "Sierra Wireless, Incorporated"
def parse_cgmi(lines: list[str]) -> dict:
    bare = _bare(lines)
    return {"manufacturer": bare[0]} if bare else {}


# +CGMM / +GMM:  "EC25"  |  "+CGMM: SIMCOM_SIM7600E-H"  |  "\"E2\""
#   |  "+CGMM: \"L850 LTE Module\",\"L850\""  (Fibocom: the model name, then the short name: the first is kept)
def parse_cgmm(lines: list[str]) -> dict:
    for line in lines:
        s = _ECHO_PREFIX.sub("", line.strip()).strip()
        if s.startswith('"') and s.count('"') >= 4:
            first = split_fields(s)[0]
            if first:
                return {"model": first}
    bare = _bare(lines)
    return {"model": bare[0]} if bare else {}


# +CGMR / +GMR / +QGMR:  "EC25EFAR06A03M4G"  |  "+CGMR: LE11B13SIM7600M22"  |  several lines (Nokia)
def parse_cgmr(lines: list[str]) -> dict:
    bare = [re.sub(r"^Revision\s*:\s*", "", b, flags=re.I) for b in _bare(lines)]
    return {"revision": " ".join(bare)} if bare else {}


# +CGSN / +GSN / +CGSN=1:  "867698040123456"  |  "+CGSN: \"358...\""  |  "129512359199159,SE393939TS"
#   |  "IMEI: 35..."  |  "0x3B0C4B98" (CDMA ESN)
def parse_cgsn(lines: list[str]) -> dict:
    for line in _bare(lines):
        line = re.sub(r"^(IMEI|SN)\s*:\s*", "", line, flags=re.I)
        first = split_fields(line)[0] if line else ""
        digits = first.replace(" ", "")
        if re.fullmatch(r"\d{14,17}", digits):
            return {"imei": digits[:15] if len(digits) >= 15 else digits}
        if re.fullmatch(r"(0x)?[0-9A-Fa-f]{8}", digits):
            return {"esn": digits.upper().replace("0X", "")}
    return {}


# +CIMI:  "262011234567890"  |  "+CIMI: 262011234567890"
def parse_cimi(lines: list[str]) -> dict:
    for line in _bare(lines):
        digits = line.strip('"').strip()
        if re.fullmatch(r"\d{6,15}", digits):
            return {"imsi": digits}
    return {}


def normalize_iccid(raw: str | None) -> str | None:
    """ICCID as printed on the card: nibble-swapped EF_ICCID ('98...') unswapped, F padding removed.

    Chinese operators put hex digits in the account part ('898602F9...'), so A-F inside are kept."""
    if is_unknown(raw):
        return None
    value = raw.strip().strip('"').strip().upper().replace(" ", "")
    if not re.fullmatch(r"[0-9A-F]+", value):
        return None
    if value.startswith("98"):
        if len(value) % 2:
            value += "F"
        value = "".join(value[i + 1] + value[i] for i in range(0, len(value), 2))
    value = value.rstrip("F")
    if not value.startswith("89") or not 18 <= len(value) <= 22:
        return None
    return value


# ICCID in all its spellings:
#   +CCID: 89...   +CCID: "89..."   +QCCID: 89...F   +ICCID: 89...   ^ICCID: "98..."   #CCID: 89...
#   !ICCID: 89...  +CICCID: 89...   bare 89... line
#   +CRSM: 144,0,"98101430121181157002"   (EF_ICCID read with AT+CRSM=176,12258,0,0,10: swapped nibbles)
def parse_iccid(lines: list[str]) -> dict:
    crsm = first_with(lines, "+CRSM")
    if crsm is not None:
        return parse_crsm_iccid(lines)
    for line in lines:
        s = line.strip()
        if ":" in s:
            s = s.split(":", 1)[1]
        for field in split_fields(s):
            iccid = normalize_iccid(field)
            if iccid:
                return {"iccid": iccid}
    return {}


# +CRSM: <sw1>,<sw2>[,<response>]    144,0 = 0x9000 success
def parse_crsm_iccid(lines: list[str]) -> dict:
    body = first_with(lines, "+CRSM")
    if body is None:
        return {}
    fields = split_fields(body)
    sw1 = to_int(fields[0]) if fields else None
    if sw1 not in (144, 145, 146) or len(fields) < 3:
        return {"iccid": None}
    return {"iccid": normalize_iccid(fields[2])}


_CPIN_STATES = {
    "READY": "READY", "SIM PIN": "SIM PIN", "SIM PUK": "SIM PUK", "SIM PIN2": "SIM PIN2", "SIM PUK2": "SIM PUK2",
    "PH-SIM PIN": "PH-SIM PIN", "PH-FSIM PIN": "PH-FSIM PIN", "PH-FSIM PUK": "PH-FSIM PUK",
    "PH-NET PIN": "PH-NET PIN", "PH-NET PUK": "PH-NET PUK", "PH-NETSUB PIN": "PH-NETSUB PIN",
    "PH-NETSUB PUK": "PH-NETSUB PUK", "PH-SP PIN": "PH-SP PIN", "PH-SP PUK": "PH-SP PUK",
    "PH-CORP PIN": "PH-CORP PIN", "PH-CORP PUK": "PH-CORP PUK", "NOT INSERTED": "NOT INSERTED",
    "SIM NOT INSERTED": "NOT INSERTED", "NO SIM": "NOT INSERTED", "NOT READY": "NOT READY",
    "SIM REMOVED": "NOT INSERTED", "SIM FAILURE": "SIM FAILURE", "SIM BUSY": "SIM BUSY",
    "SIM ERROR": "SIM FAILURE", "SIM WRONG": "SIM WRONG", "BLOCKED": "SIM PUK",
}

# CME errors that answer +CPIN? about the SIM rather than about the command (27.007 9.2.1).
CME_SIM_STATES = {10: "NOT INSERTED", 11: "SIM PIN", 12: "SIM PUK", 13: "SIM FAILURE", 14: "SIM BUSY",
                  15: "SIM WRONG", 17: "SIM PIN2", 18: "SIM PUK2"}
CME_TEXT_SIM_STATES = {"sim not inserted": "NOT INSERTED", "sim pin required": "SIM PIN",
                       "sim puk required": "SIM PUK", "sim failure": "SIM FAILURE", "sim busy": "SIM BUSY",
                       "sim wrong": "SIM WRONG", "sim not ready": "NOT READY"}


# +CPIN: <code>     READY | SIM PIN | SIM PUK | PH-SIM PIN | SIM PIN2 | SIM PUK2 | NOT INSERTED (Quectel,
#                   u-blox) | NOT READY | "READY" (quoted, Telit/ublox some firmware)
# <code>            the same without the prefix (some Huawei/ZTE sticks, old Siemens/Cinterion firmware): only a line
#                   that is exactly one of the known codes counts, so a stray line is not taken for a SIM state
def parse_cpin(lines: list[str]) -> dict:
    body = first_with(lines, "+CPIN")
    if body is None:
        body = first_with(lines, "^CPIN")
    if body is None:
        bare = [re.sub(r"\s+", " ", ln.strip().strip('"').upper()) for ln in lines if ln.strip()]
        if len(bare) == 1 and bare[0] in _CPIN_STATES:
            return {"sim_state": _CPIN_STATES[bare[0]]}
        return {}
    code = split_fields(body)[0].upper().strip()
    code = re.sub(r"\s+", " ", code)
    return {"sim_state": _CPIN_STATES.get(code, code or None)}
