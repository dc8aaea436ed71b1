"""Business hours and time zones applied to Unix time: which seconds of an interval fall in opening hours.

Which seconds are business hours (BusinessHours, zone_named) lives in common/business_hours.py: the fleet's
report counts a contract's repair time with it too. Here: the machine's zone, calendar months, interval arithmetic.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from common.business_hours import BusinessHours, UnknownZone, zone_named  # noqa: F401 - used from here

Intervals = list[tuple[float, float]]


def utc() -> dt.tzinfo:
    """UTC from the zone database, or Python's own where there is none (an OpenWrt router without zoneinfo)."""
    try:
        return ZoneInfo("UTC")
    except Exception:
        return dt.timezone.utc


def zone_key(zone: dt.tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


def system_zone() -> ZoneInfo:
    """The machine's zone by name (a fixed UTC offset would get DST wrong): $TZ, /etc/timezone, /etc/localtime."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.partition("zoneinfo/")[2])
    except OSError:
        pass
    for name in candidates:
        if name:
            try:
                return zone_named(name)
            except UnknownZone:
                continue
    return utc()


def months(since: float, until: float, zone: ZoneInfo) -> list[tuple[str, float, float, float]]:
    """The calendar months (in `zone`) overlapping [since, until): ("2026-11", start, end, length), start and end
    clipped to the period, length the whole month's seconds (743 hours for a month that leaves summer time)."""
    out = []
    local = dt.datetime.fromtimestamp(since, zone)
    year, month = local.year, local.month
    while True:
        start = dt.datetime(year, month, 1, tzinfo=zone).timestamp()
        year2, month2 = (year + 1, 1) if month == 12 else (year, month + 1)
        end = dt.datetime(year2, month2, 1, tzinfo=zone).timestamp()
        if start >= until:
            break
        out.append((f"{year:04d}-{month:02d}", max(start, since), min(end, until), end - start))
        year, month = year2, month2
    return out


# ---- interval arithmetic on sorted, disjoint lists ------------------------------------------------------------

def union(intervals) -> Intervals:
    out: Intervals = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def total(intervals: Intervals) -> float:
    return sum(e - s for s, e in intervals)


def intersect(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if e > s:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Intervals, b: Intervals) -> Intervals:
    out: Intervals = []
    j = 0
    for s, e in a:
        while j < len(b) and b[j][1] <= s:
            j += 1
        k, cur = j, s
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


def clip(intervals: Intervals, a: float, b: float) -> Intervals:
    return [(max(s, a), min(e, b)) for s, e in intervals if min(e, b) > max(s, a)]
