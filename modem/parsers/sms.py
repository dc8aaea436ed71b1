"""SMS in text mode (3GPP TS 27.005, AT+CMGF=1): +CMGR, +CMGL, +CMTI, +CMGS.

Output keys:
  sms            list of messages: index (None for +CMGR), status, sender, alpha, timestamp (as printed),
                 sent_utc (Unix time of the service-centre time stamp, None when unknown), text
  sms_storage sms_index      +CMTI: where a new message was stored
  mr             +CMGS: the message reference of a sent message

With AT+CSCS="UCS2" the modem prints the text (and, on most firmware, the address) as hex UTF-16: pass
ucs2=True. Reading in UCS2 is what the agent does: a hex body cannot contain a line that looks like a final
result code ("OK") or a URC, which a plain-text body can, and it keeps non-ASCII text intact.
"""
from __future__ import annotations

import re

from modem.parsers.clock import parse_time
from modem.parsers.common import lines_with, split_fields, to_int

_HEX4 = re.compile(r"^(?:[0-9A-Fa-f]{4})+$")
_PLAIN_SENDER = re.compile(r"^[+0-9A-Za-z .\-_&']{1,40}$")
_HEADER = re.compile(r"^\s*\+(CMGR|CMGL)\s*:\s*(.*)$", re.I)


def ucs2_decode(text: str) -> str | None:
    """Hex UTF-16 ("0031003200330034") -> "1234"; None when it is not that."""
    if not text or not _HEX4.match(text):
        return None
    return bytes.fromhex(text).decode("utf-16-be", errors="replace")


def _sender(raw: str, ucs2: bool) -> str:
    if ucs2:
        decoded = ucs2_decode(raw)
        # Some firmware encodes the address, some (and the simulator) do not: take the decoding only when it
        # gives what an address looks like. A plain number of 4k digits is hex too, but decodes to CJK.
        if decoded is not None and _PLAIN_SENDER.match(decoded):
            return decoded
    return raw


def _text(lines: list[str], ucs2: bool) -> str:
    text = "\n".join(lines)
    if ucs2:
        decoded = ucs2_decode(text.replace("\n", "").strip())
        if decoded is not None:
            return decoded
    return text


def _message(index: int | None, fields: list[str], body: list[str], ucs2: bool) -> dict:
    status = fields[0].upper() if fields else ""
    sender = _sender(fields[1], ucs2) if len(fields) > 1 else ""
    # <alpha> is optional and some firmware leaves out its empty field: the time stamp is field 3 or field 2
    stamp_at = next((i for i in (3, 2) if len(fields) > i and parse_time(fields[i])), None)
    alpha = fields[2] if len(fields) > 2 and fields[2] and stamp_at != 2 else None
    stamp = fields[stamp_at] if stamp_at is not None else None
    return {"index": index, "status": status, "sender": sender, "alpha": alpha, "timestamp": stamp,
            "sent_utc": parse_time(stamp).get("clock_utc") if stamp else None, "text": _text(body, ucs2)}


def _messages(lines: list[str], ucs2: bool) -> list[dict]:
    out: list[dict] = []
    current: tuple[int | None, list[str]] | None = None
    body: list[str] = []
    for line in lines:
        m = _HEADER.match(line)
        if m:
            if current is not None:
                out.append(_message(current[0], current[1], body, ucs2))
            fields = split_fields(m.group(2))
            if m.group(1).upper() == "CMGL":
                index = to_int(fields[0]) if fields else None
                if index is None:           # not a message header after all; keep it as text
                    body.append(line)
                    continue
                current, body = (index, fields[1:]), []
            else:
                current, body = (None, fields), []
        elif current is not None and line.strip().upper() not in ("OK", "ERROR"):
            body.append(line)
    if current is not None:
        out.append(_message(current[0], current[1], body, ucs2))
    return out


# +CMGR: "REC UNREAD","+33612345678",,"24/05/10,14:02:11+08"        27.005 text mode, CSDH=0
# <text>
# +CMGR: "REC READ","+525536357992","24/08/15,13:54:44+104"        Quectel UC200T: no alpha field, odd zone
# +CMGR: "REC UNREAD","002B00330033...",,"24/05/10,14:02:11+08",145,4,0,8,"+33...",145,8    CSDH=1, UCS2
def parse_cmgr(lines: list[str], ucs2: bool = False) -> dict:
    msgs = _messages(lines, ucs2)
    return {"sms": msgs[:1]} if msgs else {}


# +CMGL: 1,"REC UNREAD","+8615021012496",,"13/12/13,15:06:37+32"      one header line per message,
# <text>                                                               then its text (several lines if the
# +CMGL: 2,"REC READ","+33612345678",,"24/05/10,14:02:11+08"          text has line breaks)
# <text>
def parse_cmgl(lines: list[str], ucs2: bool = False) -> dict:
    msgs = _messages(lines, ucs2)
    return {"sms": msgs} if msgs else {}


# +CMTI: "SM",3      +CMTI: "ME",0      +CMTI: "MT",12
def parse_cmti(lines: list[str]) -> dict:
    for body in lines_with(lines, "+CMTI"):
        fields = split_fields(body)
        if len(fields) >= 2 and to_int(fields[1]) is not None and fields[0]:
            return {"sms_storage": fields[0].upper(), "sms_index": to_int(fields[1])}
    return {}


# +CMGS: 12
def parse_cmgs(lines: list[str]) -> dict:
    for body in lines_with(lines, "+CMGS"):
        mr = to_int(split_fields(body)[0])
        if mr is not None:
            return {"mr": mr}
    return {}
