"""Business hours and time zones applied to Unix time: which seconds of an interval fall in opening hours.

Every local time goes through zoneinfo, so a day of 23 or 25 hours (DST) counts the hours it really had: the
08:00-19:00 of the last Sunday of March is 11 hours of business like any other, and the night it loses is not.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.config.business_hours import WeekHours

Intervals = list[tuple[float, float]]


class UnknownZone(ValueError):
    pass


def zone_named(name: str) -> ZoneInfo:
    """The zone, or UnknownZone saying which name is not one."""
    try:
        return ZoneInfo(name)
    except Exception:   # ZoneInfoNotFoundError, ValueError for "../x", IsADirectoryError for "Europe"
        raise UnknownZone(f"unknown time zone {name!r} (expected a name such as Europe/Paris)") from None


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


class BusinessHours:
    """Opening hours (`WeekHours`, from [business] hours) in one zone. Empty hours: no business time at all."""

    def __init__(self, week: WeekHours, zone: ZoneInfo):
        self.week = week
        self.zone = zone
        self._days: dict[dt.date, Intervals] = {}

    @property
    def defined(self) -> bool:
        return any(self.week)

    def windows(self, a: float, b: float) -> Intervals:
        """The opening windows within [a, b), in Unix time, in order."""
        if b <= a or not self.defined:
            return []
        out: Intervals = []
        day = dt.datetime.fromtimestamp(a, self.zone).date() - dt.timedelta(days=1)
        last = dt.datetime.fromtimestamp(b, self.zone).date()
        while day <= last:
            for s, e in self._day(day):
                s, e = max(s, a), min(e, b)
                if e > s:
                    out.append((s, e))
            day += dt.timedelta(days=1)
        return out

    def seconds(self, a: float, b: float) -> float:
        return sum(e - s for s, e in self.windows(a, b))

    def _day(self, day: dt.date) -> Intervals:
        cached = self._days.get(day)
        if cached is None:
            cached = [(self._at(day, s), self._at(day, e)) for s, e in self.week[day.weekday()]]
            if len(self._days) > 4096:      # a multi-year report: keep the cache bounded
                self._days.clear()
            self._days[day] = cached
        return cached

    def _at(self, day: dt.date, minutes: int) -> float:
        if minutes >= 24 * 60:
            day, minutes = day + dt.timedelta(days=1), minutes - 24 * 60
        return dt.datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=self.zone).timestamp()


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
