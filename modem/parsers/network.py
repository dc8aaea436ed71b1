"""Operator selection: +COPS? (current operator) and +COPS=? (network scan), TS 27.007 7.3."""
from __future__ import annotations

import re

from modem.parsers.common import is_unknown, lines_with, plmn, rat_from_act, split_fields_q, to_int

_HEX4 = re.compile(r"(?:[0-9A-Fa-f]{4})+")


def _ucs2(text: str) -> str | None:
    """Decode a UCS2 hex string ('004D006F...'), or None when it is not one."""
    if len(text) < 8 or not _HEX4.fullmatch(text):
        return None
    try:
        decoded = bytes.fromhex(text).decode("utf-16-be")
    except (ValueError, UnicodeDecodeError):
        return None
    if not decoded or not all(ch.isprintable() for ch in decoded):
        return None
    return decoded


def decode_name(text: str | None, ucs2: bool | None = None) -> str | None:
    """An operator name as sent: plain, or UCS2 hex when +CSCS="UCS2". `ucs2` forces the choice;
    None guesses (hex only, length multiple of 4, decodes to printable text, not a digit string)."""
    if is_unknown(text):
        return None
    text = text.strip()
    if ucs2 is False:
        return text
    decoded = _ucs2(text)
    if decoded is None or (ucs2 is None and text.isdigit()):
        return text     # a digit string is far more likely a literal than UCS2
    return decoded


def _numeric(text: str | None) -> tuple[str | None, bool]:
    """A numeric operator field: '26201' or its UCS2 form '00320036003200300031'. Returns (digits, was_ucs2)."""
    if is_unknown(text):
        return None, False
    text = text.strip()
    if re.fullmatch(r"\d{5,7}", text):
        return text, False
    decoded = _ucs2(text)
    if decoded and re.fullmatch(r"\d{5,6}", decoded):
        return decoded, True
    m = re.fullmatch(r"(\d{3})[\s-](\d{2,3})", text)
    if m:
        return m.group(1) + m.group(2), False
    return None, False


def _put_plmn(out: dict, code: str | None) -> None:
    mcc, mnc = plmn(code)
    if mcc:
        out["mcc"], out["mnc"] = mcc, mnc


# +COPS: <mode>[,<format>,<oper>[,<AcT>]]
#   format 0 long alphanumeric, 1 short alphanumeric, 2 numeric ("26201"); names may be UCS2 hex
#   e.g. '+COPS: 0,0,"CHINA MOBILE",7'  '+COPS: 1,2,"46000"'  '+COPS: 0'  '+COPS: 0,0,"Orange F",8' (Cat-M1)
def parse_cops_read(lines: list[str]) -> dict:
    found = lines_with(lines, "+COPS")
    if not found:
        return {}
    out: dict = {}
    for body in found:       # some modems answer AT+COPS=3,0;+COPS?;+COPS=3,2;+COPS? with two lines
        fields = split_fields_q(body)
        fmt = to_int(fields[1][0]) if len(fields) > 1 else None
        oper = fields[2][0] if len(fields) > 2 else None
        act = to_int(fields[3][0]) if len(fields) > 3 else None
        if act is not None and rat_from_act(act):
            out.setdefault("rat", rat_from_act(act))
        if is_unknown(oper):
            continue
        code, _ = _numeric(oper)
        if fmt == 2 or (code is not None and fmt is None) or (code is not None and oper.strip().isdigit()):
            if code:
                _put_plmn(out, code)
        elif fmt == 1:
            out.setdefault("operator_short", decode_name(oper))
        else:
            out.setdefault("operator_name", decode_name(oper))
    if not out and found:
        out["operator_name"] = None
    return out


_AVAILABILITY = {0: "unknown", 1: "available", 2: "current", 3: "forbidden"}


def _entries(text: str) -> list[tuple[str, str]]:
    """Split '(..),(..),,(0-4),(0-2)' into the parenthesised groups, each with what follows it up to the
    next group (some firmware print the AcT after the closing parenthesis: '(2,"A","A","310260"),2)')."""
    groups: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "(":
            i += 1
            continue
        depth, j, in_q = 0, i, False
        while j < n:
            ch = text[j]
            if ch == '"':
                in_q = not in_q
            elif not in_q and ch == "(":
                depth += 1
            elif not in_q and ch == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        inner = text[i + 1:j]
        k = text.find("(", j + 1)
        trailer = text[j + 1:k if k >= 0 else n]
        groups.append((inner, trailer))
        i = j + 1
    return groups


# +COPS: [list of (<stat>,long alphanumeric <oper>,short alphanumeric <oper>,numeric <oper>[,<AcT>])]
#        [,,(list of supported <mode>s),(list of supported <format>s)]
#   stat 0 unknown, 1 available, 2 current, 3 forbidden; AcT 0 GSM .. 7 LTE .. 11 NR/5GCN, 12 NG-RAN, 13 EN-DC
#   e.g. '+COPS: (2,"T-Mobile","TMO","31026",0),(1,"AT&T","AT&T","310410",2),,(0,1,2,3,4),(0,1,2)'
def parse_cops_test(lines: list[str]) -> dict:
    parts = lines_with(lines, "+COPS")
    rest = [ln.strip() for ln in lines if ln.strip().startswith("(")]   # continuation lines (Nokia 2720)
    text = ",".join(parts + rest)
    networks = []
    ucs2_seen = False
    raw_entries = []
    for inner, trailer in _entries(text):
        fields = split_fields_q(inner)
        if len(fields) < 4 or not any(q for _, q in fields[1:4]):
            continue     # a supported-values list like (0,1,2,3,4), or garbage
        code, was_ucs2 = _numeric(fields[3][0])
        ucs2_seen = ucs2_seen or was_ucs2
        act = to_int(fields[4][0]) if len(fields) > 4 else None
        if act is None:
            m = re.match(r"\s*,\s*(\d+)\s*\)", trailer)
            act = int(m.group(1)) if m else None
        raw_entries.append((fields, code, act))
    for fields, code, act in raw_entries:
        stat = to_int(fields[0][0])
        entry = {
            "availability": _AVAILABILITY.get(stat, "unknown"),
            "operator_name": decode_name(fields[1][0], ucs2_seen or None),
            "operator_short": decode_name(fields[2][0], ucs2_seen or None),
            "mcc": None, "mnc": None,
        }
        _put_plmn(entry, code)
        if act is not None:
            entry["rat"] = rat_from_act(act)
        networks.append(entry)
    return {"networks": networks}
