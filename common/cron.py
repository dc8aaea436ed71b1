"""Cron schedules, pure: `parse(expr)` and `next_fire(expr, after, tz) -> ts`, for the drill schedule and anything
else that runs at a local wall-clock time.

Five fields, as crontab(5) has them: minute (0-59), hour (0-23), day of month (1-31), month (1-12 or jan-dec), day
of week (0-7 or sun-sat; 0 and 7 are Sunday). Each field is `*`, a number or name, a range `a-b`, any of those with
a step (`*/15`, `1-31/2`, `5/10` = 5 to the end by 10), or a comma list of them. Also "monthly" (03:00 on the 1st)
and "weekly" (03:00 on Monday): quiet hours, outside business hours.

Day of month and day of week, as cron has it: when both are restricted (neither starts with `*`) a day matches if
*either* matches ("0 3 1 * mon" = the 1st and every Monday); otherwise the restricted one decides.

Times are local to `tz` (a tzinfo, e.g. ZoneInfo("Europe/Paris")), and daylight saving time is handled as cronie
does for a job at a fixed time: a time that does not exist that day (02:30 when the clock jumps from 02:00 to
03:00) fires once, at the jump; a time that happens twice (02:30 when the clock goes back from 03:00 to 02:00)
fires once, the first time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

ALIASES = {"monthly": "0 3 1 * *", "weekly": "0 3 * * 1"}
# crontab's names, English whatever the locale (calendar.month_abbr would follow LC_TIME)
MONTHS = {name: i for i, name in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)     # the most each month can have (a leap year)
DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
# (name, lowest, highest, names); day of week accepts 7 for Sunday, folded to 0 once parsed
FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}), ("month", 1, 12, MONTHS),
          ("day of week", 0, 7, DAYS))
SEARCH_YEARS = 9     # "0 0 29 2 *" can wait 8 years (2096 to 2104); beyond, an expression never fires


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]          # of the month
    months: frozenset[int]
    weekdays: frozenset[int]      # 0 = Sunday
    days_restricted: bool         # the field did not start with "*" (the OR rule)
    weekdays_restricted: bool

    def day_matches(self, d: date) -> bool:
        if d.month not in self.months:
            return False
        in_month = d.day in self.days
        in_week = (d.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week


def parse(expr: str) -> Cron:
    """A Cron, or ValueError saying what is wrong in a few words ("minute: 61 is above 59")."""
    if not isinstance(expr, str):
        raise ValueError("not a string")
    text = ALIASES.get(expr.strip().lower(), expr)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"{len(fields)} field(s), a cron expression has 5 (minute hour day month weekday)")
    values = [_field(f, *spec) for f, spec in zip(fields, FIELDS)]
    weekdays = frozenset(d % 7 for d in values[4])
    cron = Cron(tuple(sorted(values[0])), tuple(sorted(values[1])), frozenset(values[2]), frozenset(values[3]),
                weekdays, not fields[2].startswith("*"), not fields[4].startswith("*"))
    if not any(day <= MONTH_DAYS[m - 1] for m in cron.months for day in cron.days) \
            and not cron.weekdays_restricted:
        raise ValueError("no month has that day, it would never fire")
    return cron


def _field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> set[int]:
    out: set[int] = set()
    for part in text.split(","):
        body, slash, step_text = part.partition("/")
        step = 1
        if slash:
            step = _number(step_text, name, 1, hi - lo + 1, {}, "step")
        if body == "*":
            first, last = lo, hi
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, name, lo, hi, names), _number(b, name, lo, hi, names)
            if first > last:
                raise ValueError(f"{name}: range {body} goes backwards")
        else:
            first = _number(body, name, lo, hi, names)
            last = hi if slash else first      # "5/10": from 5 to the end, every 10
        out.update(range(first, last + 1, step))
    return out


def _number(text: str, name: str, lo: int, hi: int, names: dict[str, int], what: str = "") -> int:
    key = text.strip().lower()
    if key in names:
        return names[key]
    if not key.isdigit() or not key.isascii():
        raise ValueError(f"{name}: {text!r} is not a {what or 'number'}"
                         + (f" or a name ({', '.join(list(names)[:3])}...)" if names and not what else ""))
    value = int(key)
    if not lo <= value <= hi:
        raise ValueError(f"{name}: {what + ' ' if what else ''}{value} is outside {lo}-{hi}")
    return value


def next_fire(expr: str | Cron, after: float, tz: tzinfo) -> float:
    """The first firing instant strictly after `after` (Unix seconds), as a Unix timestamp."""
    cron = expr if isinstance(expr, Cron) else parse(expr)
    start = datetime.fromtimestamp(after, tz).replace(tzinfo=None)
    day = start.date() - timedelta(days=1)     # a jump at midnight can put the previous day's last times after it
    end = start.date() + timedelta(days=366 * SEARCH_YEARS)
    while day <= end:
        if day.month not in cron.months:
            day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
            continue
        if cron.day_matches(day):
            for hour in cron.hours:
                for minute in cron.minutes:
                    ts = _instant(datetime(day.year, day.month, day.day, hour, minute), tz)
                    if ts > after:
                        return ts
        day += timedelta(days=1)
    raise ValueError(f"no firing time within {SEARCH_YEARS} years")


def _instant(local: datetime, tz: tzinfo) -> float:
    """The Unix time of the naive local time `local`: its first occurrence when it happens twice (the second must
    not fire again), the moment of the jump when it does not exist."""
    first = local.replace(tzinfo=tz, fold=0)
    second = local.replace(tzinfo=tz, fold=1)
    t0, t1 = first.timestamp(), second.timestamp()
    exists0 = _local(t0, tz) == local
    exists1 = _local(t1, tz) == local
    if exists0 or exists1:
        return min(t for t, ok in ((t0, exists0), (t1, exists1)) if ok)
    # in a gap: the first second whose local time is past `local` is the jump; it lies between the two readings
    lo, hi = min(t0, t1), max(t0, t1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _local(mid, tz) >= local:
            hi = mid
        else:
            lo = mid
    return float(hi)


def _local(ts: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc).astimezone(tz).replace(tzinfo=None)
