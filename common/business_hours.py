"""Opening hours as a business writes them: "Mon-Sat 08:00-19:00", "Mon-Fri 08:00-12:00 14:00-18:00; Sat 09:00-12:00".

Groups are separated by ";". A group is days (one day, a range that may wrap as "Sat-Mon", or several joined by
"," as "Mon,Wed,Fri"), then one or more HH:MM-HH:MM ranges (24:00 ends a range at midnight; a range over midnight
is written as two). Day names in English or French, any case: Mon/Lun ... Sun/Dim. "" means no business hours.

BusinessHours applies the parsed form to Unix time. One home for both sides: the agent's config check and report
(agent/config/sections.py, agent/report/) and the fleet's report, which counts a contract's repair time in the
site's business hours (fleet/report.py); the fleet imports nothing of the agent.

Every local time goes through zoneinfo, so a day of 23 or 25 hours (DST) counts the hours it really had: the
08:00-19:00 of the last Sunday of March is 11 hours of business like any other, and the night it loses is not.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
        "lun": 0, "mar": 1, "mer": 2, "jeu": 3, "ven": 4, "sam": 5, "dim": 6}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_RANGE = re.compile(r"([0-2]?\d):([0-5]\d)-([0-2]?\d):([0-5]\d)")

# One tuple per weekday (0 = Monday) of (start, end) minutes after local midnight, sorted and merged.
WeekHours = tuple[tuple[tuple[int, int], ...], ...]


def parse_business_hours(text: str) -> WeekHours:
    """ValueError with what is wrong, in words, for a bad value."""
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for group in (g.strip() for g in text.split(";")):
        if not group:
            continue
        days_text, _, ranges_text = group.partition(" ")
        days = _days(days_text)
        ranges = ranges_text.split()
        if not ranges:
            raise ValueError(f"{group!r} has no HH:MM-HH:MM range after the days")
        for r in ranges:
            m = _RANGE.fullmatch(r)
            if not m:
                raise ValueError(f"{r!r} is not a HH:MM-HH:MM range")
            h1, m1, h2, m2 = map(int, m.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if h1 > 23 or end > 24 * 60:
                raise ValueError(f"{r!r} is not a time of day (00:00 to 24:00)")
            if end <= start:
                raise ValueError(f"{r!r} ends before it starts (write a range over midnight as two)")
            for d in days:
                week[d].append((start, end))
    return tuple(_merged(day) for day in week)


def describe(week: WeekHours) -> str:
    """The canonical spelling, for reports: days with the same ranges grouped ("Mon-Sat 08:00-19:00")."""
    groups: list[tuple[list[int], tuple]] = []
    for d, ranges in enumerate(week):
        if not ranges:
            continue
        if groups and groups[-1][1] == ranges and groups[-1][0][-1] == d - 1:
            groups[-1][0].append(d)
        else:
            groups.append(([d], ranges))
    parts = []
    for days, ranges in groups:
        name = DAY_NAMES[days[0]] + (f"-{DAY_NAMES[days[-1]]}" if len(days) > 1 else "")
        parts.append(name + " " + " ".join(f"{_hm(s)}-{_hm(e)}" for s, e in ranges))
    return "; ".join(parts)


def _days(text: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        a, b = _day(first), _day(last) if dash else None
        if b is None:
            days.append(a)
        else:
            days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return days


def _day(name: str) -> int:
    day = DAYS.get(name.strip().lower()[:3]) if len(name.strip()) >= 3 else None
    if day is None:
        raise ValueError(f"{name!r} is not a day (Mon Tue Wed Thu Fri Sat Sun, or Lun ... Dim)")
    return day


def _merged(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return tuple(out)


def _hm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class UnknownZone(ValueError):
    pass


def zone_named(name: str) -> ZoneInfo:
    """The zone, or UnknownZone saying which name is not one."""
    try:
        return ZoneInfo(name)
    except Exception:   # ZoneInfoNotFoundError, ValueError for "../x", IsADirectoryError for "Europe"
        raise UnknownZone(f"unknown time zone {name!r} (expected a name such as Europe/Paris)") from None


class BusinessHours:
    """Opening hours (`WeekHours`, from [business] hours) in one zone. Empty hours: no business time at all."""

    def __init__(self, week: WeekHours, zone: ZoneInfo):
        self.week = week
        self.zone = zone
        self._days: dict[dt.date, list[tuple[float, float]]] = {}

    @property
    def defined(self) -> bool:
        return any(self.week)

    def windows(self, a: float, b: float) -> list[tuple[float, float]]:
        """The opening windows within [a, b), in Unix time, in order."""
        if b <= a or not self.defined:
            return []
        out: list[tuple[float, float]] = []
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

    def _day(self, day: dt.date) -> list[tuple[float, float]]:
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
