"""Network registration: +CREG, +CGREG, +CEREG, +C5GREG (TS 27.007 7.2, 10.1.20, 10.1.22, 10.1.36).

The read form starts with <n>; the unsolicited form does not. Firmware mixes them up (MD400 sends the read
form unsolicited), so the form is recognised from the fields, not from how the line arrived:
  1 field                     <stat>                                             (URC, n=1)
  2 fields                    <n>,<stat>                                         (read, n=0/1)
  3+ fields, 2nd a small
     unquoted decimal         <n>,<stat>,<lac>,<ci>[,<AcT>[,<rac>|<cause_type>,<reject_cause>...]]   (read)
  otherwise                   <stat>,<lac>,<ci>[,<AcT>...]                        (URC, n>=2)
"""
from __future__ import annotations

import re

from modem.parsers.common import hex_id, rat_from_act, split_fields_q, to_int

_STAT = {
    0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming",
    6: "home_sms_only", 7: "roaming_sms_only", 8: "emergency", 9: "home_csfb_not_preferred",
    10: "roaming_csfb_not_preferred", 11: "rlos",
}
PREFIXES = ("+CREG", "+CGREG", "+CEREG", "+C5GREG")


def registration_name(stat: int | None) -> str | None:
    if stat is None:
        return None
    return _STAT.get(stat, "unknown")


def _is_small_decimal(field: tuple[str, bool]) -> bool:
    text, quoted = field
    return not quoted and bool(re.fullmatch(r"\d{1,3}", text)) and int(text) <= 11


def _split(body: str) -> list[tuple[str, bool]]:
    fields = split_fields_q(body)
    # Qualcomm Gobi 1000 prints "  0 5" for a LAC: collapse inner spaces of unquoted fields
    return [(re.sub(r"\s+", "", t) if not q else t, q) for t, q in fields]


def parse_registration_line(body: str, prefix: str = "+CREG") -> dict:
    fields = _split(body)
    if not fields or fields == [("", False)]:
        return {}
    if len(fields) == 1:
        stat_i, loc = 0, None
    elif len(fields) == 2:
        stat_i, loc = 1, None
    elif _is_small_decimal(fields[1]):
        stat_i, loc = 1, 2
    else:
        stat_i, loc = 0, 1
    stat = to_int(fields[stat_i][0])
    out: dict = {"registration": registration_name(stat)}
    if stat is None:
        out["registration"] = None
    if loc is not None:
        rest = [f for f, _ in fields[loc:]]
        if prefix == "+CEREG" and len(rest) == 4 and to_int(rest[3]) is not None and len(rest[2]) > len(rest[1]):
            # Novatel LTE: <tac>,<?>,<ci>,<AcT>
            rest = [rest[0], rest[2], rest[3]]
        lac = hex_id(rest[0]) if rest else None
        ci = hex_id(rest[1]) if len(rest) > 1 else None
        out["lac_tac"] = None if lac is None or set(lac) == {"0"} and stat in (0, 2, 3, 4) else lac
        out["cell_id"] = None if ci is None or set(ci) == {"0"} and stat in (0, 2, 3, 4) else ci
        act = to_int(rest[2]) if len(rest) > 2 else None
        if act is not None and rat_from_act(act):
            out["rat"] = rat_from_act(act)
    return out


def _prefix_of(line: str) -> str | None:
    up = line.strip().upper()
    for p in PREFIXES:
        if up.startswith(p) and up[len(p):].lstrip().startswith(":"):
            return p
    return None


# +CREG: [<n>,]<stat>[,[<lac>],[<ci>][,[<AcT>]]]                               (7.2)
# +CGREG: [<n>,]<stat>[,[<lac>],[<ci>],[<AcT>],[<rac>][,<cause_type>,<reject_cause>]]   (10.1.20)
# +CEREG: [<n>,]<stat>[,[<tac>],[<ci>],[<AcT>][,<cause_type>,<reject_cause>[,<Active-Time>,<Periodic-TAU>]]]
# +C5GREG: [<n>,]<stat>[,[<tac>],[<ci>],[<AcT>],[<Allowed_NSSAI_length>],[<Allowed_NSSAI>]...]
#   stat 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming, 6/7 SMS only home/roaming,
#   8 emergency only, 9/10 CSFB not preferred home/roaming, 11 RLOS; lac/tac/ci hex, quoted or not
#   e.g. "+CREG: 2,1,\"CE00\",\"01CEAD8F\""  "+CGREG: 1,\"8BE3\",\"00002B5D\",3"  "+CEREG: 2,1, 1F00, 79D903 ,7"
def parse_registration(lines: list[str]) -> dict:
    """All registration lines of a response; the first decides the top-level keys."""
    results = []
    for line in lines:
        prefix = _prefix_of(line)
        if prefix is None:
            continue
        body = line.strip()[len(prefix):].lstrip()[1:]
        parsed = parse_registration_line(body, prefix)
        if parsed:
            results.append(parsed)
    if not results:
        return {}
    return dict(results[0])
