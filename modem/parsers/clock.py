"""Network time: +CCLK (the modem's clock, set from NITZ after AT+CTZU=1) and the NITZ URCs +CTZV / +CTZE.

Pure: the wall-clock value of a modem time string is computed from its fields (calendar.timegm), never by
reading a clock. Output keys:
  clock_utc      Unix time (float) of the modem's clock, None when the string is not a valid date
  clock_local    "YYYY-MM-DDThh:mm:ss" as the modem printed it (its local time)
  tz_quarters    local − UTC in quarter hours (-96..+96); None when the modem printed no zone (then UTC is assumed)
  dst_hours      daylight-saving hours when given (+CTZE, Nordic %CCLK): already inside tz_quarters
"""
from __future__ import annotations

import calendar
import re

from modem.parsers.common import first_with, split_fields, to_int

# <time> of 3GPP TS 27.007 8.15 and what firmware actually prints:
#   +CCLK: "24/05/10,14:02:11+08"        yy/MM/dd,hh:mm:ss±zz, zz in quarter hours (here UTC+2)
#   +CCLK: "24/05/10,14:02:11"           no time-zone support: the three last characters are left out
#   +CCLK: "01/01/01, 01:01:01-08"       Motorola G24: a space after the comma
#   +CCLK: 24/05/10,14:02:11+08          unquoted
#   +CCLK: "2024/05/10,14:02:11+08"      four-digit year
#   %CCLK: "02/05/07,14:08:17+00",2      Nordic: daylight-saving hours after the string
#   +CMGR: ...,"24/08/15,13:54:44+104"   an SMS service-centre time stamp with an out-of-range zone (Quectel UC200T)
_TIME_RE = re.compile(r'^\s*"?\s*(\d{2}|\d{4})/(\d{1,2})/(\d{1,2})\s*,\s*(\d{1,2}):(\d{1,2}):(\d{1,2})'
                      r'\s*(?:([+-])\s*(\d{1,3}))?\s*"?\s*$')
_CCLK_BODY = re.compile(r'^\s*("[^"]*"|[^",]+,[^",]+?)\s*(?:,\s*(\d))?\s*$')   # <time> quoted or not[,<dst>]
TZ_LIMIT = 96          # 27.007: -96..+96 quarter hours


def parse_time(text: str | None) -> dict:
    """One <time> string -> clock_utc / clock_local / tz_quarters; {} when it is not one. A zone outside
    -96..+96 makes clock_utc None (the local fields alone do not say when it was)."""
    if not text:
        return {}
    m = _TIME_RE.match(text)
    if not m:
        return {}
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if year < 100:            # 27.007 prints two digits; as POSIX strptime %y, 70-99 are 19xx: a modem that
        year += 1900 if year >= 70 else 2000     # never got network time shows its 1980 epoch as "80/01/06"
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and hour <= 23 and minute <= 59
            and second <= 60):
        return {}
    second = min(second, 59)  # a leap second is not worth a datetime error
    out: dict = {"clock_local": f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"}
    local = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if m.group(7) is None:
        out["tz_quarters"] = None
        out["clock_utc"] = float(local)
        return out
    tz = int(m.group(8)) * (-1 if m.group(7) == "-" else 1)
    if not -TZ_LIMIT <= tz <= TZ_LIMIT:
        out["tz_quarters"] = None
        out["clock_utc"] = None
        return out
    out["tz_quarters"] = tz
    out["clock_utc"] = float(local - tz * 15 * 60)
    return out


def parse_cclk(lines: list[str]) -> dict:
    """+CCLK: <time> (and Nordic %CCLK: <time>,<dst>)."""
    body = first_with(lines, "+CCLK") or first_with(lines, "%CCLK")
    if body is None:
        return {}
    m = _CCLK_BODY.match(body)
    if not m:
        return {}
    out = parse_time(m.group(1))
    if out and m.group(2) is not None:
        out["dst_hours"] = int(m.group(2))
    return out


# +CTZV: "+08"   +CTZV: 8   +CTZV: -04            time zone only (CTZR=1)
# +CTZE: "+08",0,"2024/05/10,12:02:11"            zone, DST and a time (CTZR=2). The time is the local time in
#                                                 27.007 and Quectel's manual but UTC on some Quectel firmware,
#                                                 so it is not decoded: the agent reads +CCLK after a NITZ URC.
def parse_ctz(lines: list[str]) -> dict:
    body = first_with(lines, "+CTZE") or first_with(lines, "+CTZV") or first_with(lines, "+CTZEU")
    if body is None:
        return {}
    fields = split_fields(body)
    text = (fields[0] if fields else "").replace(" ", "")
    if not re.fullmatch(r"[+-]?\d{1,2}", text):
        return {}
    tz = int(text)
    if not -TZ_LIMIT <= tz <= TZ_LIMIT:
        return {}
    out: dict = {"tz_quarters": tz, "nitz": True}
    if len(fields) > 1 and to_int(fields[1]) is not None:
        out["dst_hours"] = to_int(fields[1])
    return out
