"""Which [since, until) a report covers, from what a person typed (`--month 2026-11`, `--since 2026-11-03`) or a
command sent, in the report's zone. Every bad value is a PeriodError of one line naming the option."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo


MAX_PERIOD_S = 10 * 366 * 86400      # ten years: a report's work grows with its days and months
LATEST = 253402214400.0              # 9999-12-31, the last date Python's datetime holds


class PeriodError(ValueError):
    pass


def month_bounds(text: str, zone: ZoneInfo) -> tuple[float, float]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", text.strip()) if isinstance(text, str) else None
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1970 <= int(m.group(1)) <= 9998:
        raise PeriodError(f"month: expected YYYY-MM (e.g. 2026-11), got {text!r}")
    year, month = int(m.group(1)), int(m.group(2))
    start = dt.datetime(year, month, 1, tzinfo=zone)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return start.timestamp(), end.timestamp()


def last_full_month(now: float, zone: ZoneInfo) -> tuple[float, float]:
    local = dt.datetime.fromtimestamp(now, zone)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return month_bounds(f"{year:04d}-{month:02d}", zone)


def moment(value, zone: ZoneInfo, name: str, end_of_day: bool = False) -> float:
    """A Unix timestamp (number), or an ISO date or date-time; without an offset it is local time in `zone`.
    A bare date is its midnight, or with `end_of_day` the next midnight: "--until 2026-11-30" includes the 30th."""
    if isinstance(value, bool):
        raise PeriodError(f"{name}: expected a date (YYYY-MM-DD), a date and time or a Unix time, got {value!r}")
    if isinstance(value, (int, float)):
        if not 0 <= value < LATEST:        # NaN fails this too
            raise PeriodError(f"{name}: expected a Unix time from 1970 on, got {value!r}")
        return float(value)
    text = str(value).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = dt.date.fromisoformat(text)
            if end_of_day:
                day += dt.timedelta(days=1)
            ts = dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
        elif re.fullmatch(r"\d+(\.\d+)?", text):
            ts = float(text)
        else:
            t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            ts = (t if t.tzinfo else t.replace(tzinfo=zone)).timestamp()
    except (ValueError, OverflowError):
        raise PeriodError(f"{name}: expected a date (YYYY-MM-DD), a date and time (YYYY-MM-DDTHH:MM) or a Unix "
                          f"time, got {text!r}") from None
    return moment(ts, zone, name)


def resolve(zone: ZoneInfo, now: float, month=None, since=None, until=None,
            default: str = "last_month", first_observed: float | None = None) -> tuple[float, float]:
    """`default` ([business] default_period) when neither a month nor since/until is given. "since_start" needs
    `first_observed` (the ledger's first sign of the agent); without it (a ledger that never saw the agent) it is
    the last 30 days."""
    if month is not None and (since is not None or until is not None):
        raise PeriodError("month: give either a month or since/until, not both")
    if month is not None:
        return month_bounds(month, zone)
    if since is None and until is None:
        if default == "this_month":
            local = dt.datetime.fromtimestamp(now, zone)
            return month_bounds(f"{local.year:04d}-{local.month:02d}", zone)
        if default == "since_start" and first_observed is not None and first_observed < now:
            return max(first_observed - 1, now - MAX_PERIOD_S), now   # a second before: the start on the timeline
        if default in ("last_30_days", "since_start"):
            return now - 30 * 86400, now
        return last_full_month(now, zone)
    if since is None:
        raise PeriodError("since: needed with until (the period's start)")
    a = moment(since, zone, "since")
    b = moment(until, zone, "until", end_of_day=True) if until is not None else now
    if a >= b:
        raise PeriodError(f"since ({since}) must be before until ({until if until is not None else 'now'})")
    if b - a > MAX_PERIOD_S:
        raise PeriodError(f"since ({since}): the period is longer than 10 years; ask for less")
    return a, b
