"""common/cron.py: next_fire() as tables of (expression, after, expected) in local time, daylight saving time in
Europe/Paris and America/New_York, the day-of-month / day-of-week OR rule, and parse errors in a few words."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.cron import next_fire, parse

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def ts(text: str, tz=PARIS, fold: int = 0) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=tz, fold=fold).timestamp()


def local(t: float, tz=PARIS) -> str:
    return datetime.fromtimestamp(t, tz).isoformat()


@pytest.mark.parametrize("expr, after, expected", [
    # aliases: quiet hours
    ("monthly", "2026-11-15 12:00", "2026-12-01T03:00:00+01:00"),
    ("monthly", "2026-12-01 03:00", "2027-01-01T03:00:00+01:00"),        # strictly after: not the same slot
    ("monthly", "2026-12-01 02:59", "2026-12-01T03:00:00+01:00"),
    ("weekly", "2026-12-02 12:00", "2026-12-07T03:00:00+01:00"),         # a Wednesday -> next Monday
    ("WEEKLY", "2026-12-07 03:00", "2026-12-14T03:00:00+01:00"),
    # plain fields, steps, ranges, lists, names
    ("*/15 * * * *", "2026-12-01 10:07", "2026-12-01T10:15:00+01:00"),
    ("5/20 * * * *", "2026-12-01 10:46", "2026-12-01T11:05:00+01:00"),  # 5, 25, 45
    ("0 8-18/5 * * *", "2026-12-01 13:00", "2026-12-01T18:00:00+01:00"),  # 8, 13, 18
    ("30 9,17 * * *", "2026-12-01 09:30", "2026-12-01T17:30:00+01:00"),
    ("0 0 * jan-mar *", "2026-12-01 10:00", "2027-01-01T00:00:00+01:00"),
    ("0 12 * * sat,SUN", "2026-12-01 10:00", "2026-12-05T12:00:00+01:00"),
    ("0 12 * * 7", "2026-12-01 10:00", "2026-12-06T12:00:00+01:00"),     # 7 is Sunday too
    ("0 0 31 * *", "2026-11-15 00:00", "2026-12-31T00:00:00+01:00"),     # November has no 31st
    ("0 0 29 2 *", "2026-03-01 00:00", "2028-02-29T00:00:00+01:00"),     # the next leap year
    # the OR rule: both restricted -> either matches
    ("0 3 13 * fri", "2026-12-01 00:00", "2026-12-04T03:00:00+01:00"),   # Friday 4th before the 13th
    ("0 3 13 * fri", "2026-12-11 04:00", "2026-12-13T03:00:00+01:00"),   # Sunday 13th, not a Friday
    # ... one of them "*" (or "*/n") -> the other decides
    ("0 3 * * fri", "2026-12-01 00:00", "2026-12-04T03:00:00+01:00"),
    ("0 3 13 * *", "2026-12-01 00:00", "2026-12-13T03:00:00+01:00"),
    ("0 3 13 * */1", "2026-12-01 00:00", "2026-12-13T03:00:00+01:00"),
    # daylight saving time, Europe/Paris: 2027-03-28 02:00 -> 03:00, 2027-10-31 03:00 -> 02:00
    ("30 2 * * *", "2027-03-27 12:00", "2027-03-28T03:00:00+02:00"),     # 02:30 does not exist: at the jump
    ("30 2 * * *", "2027-03-28 03:00", "2027-03-29T02:30:00+02:00"),     # fired at the jump: not again
    ("0 3 * * *", "2027-03-27 12:00", "2027-03-28T03:00:00+02:00"),
    ("30 2 * * *", "2027-10-30 12:00", "2027-10-31T02:30:00+02:00"),     # 02:30 happens twice: the first
    ("0 3 * * *", "2027-10-30 12:00", "2027-10-31T03:00:00+01:00"),
    ("0 1 * * *", "2027-10-30 12:00", "2027-10-31T01:00:00+02:00"),
])
def test_next_fire_in_paris(expr, after, expected):
    assert local(next_fire(expr, ts(after), PARIS)) == expected


def test_a_time_that_happens_twice_fires_once():
    first = next_fire("30 2 * * *", ts("2027-10-30 12:00"), PARIS)
    assert local(first) == "2027-10-31T02:30:00+02:00"
    # after the first 02:30 (and after the second one too): the next is the next day's
    assert local(next_fire("30 2 * * *", first, PARIS)) == "2027-11-01T02:30:00+01:00"
    assert local(next_fire("30 2 * * *", ts("2027-10-31 02:45", fold=1), PARIS)) == "2027-11-01T02:30:00+01:00"


def test_every_quarter_hour_across_the_spring_jump():
    t, seen = ts("2027-03-28 01:30"), []
    for _ in range(4):
        t = next_fire("*/15 * * * *", t, PARIS)
        seen.append(local(t))
    # 02:00 .. 02:45 do not exist: one firing at the jump (= 03:00), then on
    assert seen == ["2027-03-28T01:45:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T03:15:00+02:00",
                    "2027-03-28T03:30:00+02:00"]


def test_new_york_spring_and_fall():
    assert local(next_fire("30 2 * * *", ts("2027-03-13 12:00", NEW_YORK), NEW_YORK), NEW_YORK) == \
        "2027-03-14T03:00:00-04:00"
    assert local(next_fire("30 1 * * *", ts("2027-11-06 12:00", NEW_YORK), NEW_YORK), NEW_YORK) == \
        "2027-11-07T01:30:00-04:00"


def test_utc_and_fixed_offsets():
    assert next_fire("0 0 1 1 *", datetime(2026, 6, 1, tzinfo=UTC).timestamp(), UTC) == \
        datetime(2027, 1, 1, tzinfo=UTC).timestamp()
    plus5 = timezone(timedelta(hours=5))
    assert next_fire("0 5 * * *", datetime(2026, 6, 1, 0, 0, tzinfo=UTC).timestamp(), plus5) == \
        datetime(2026, 6, 2, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize("expr, message", [
    ("", "0 field(s)"),
    ("0 3 * *", "4 field(s)"),
    ("0 3 * * * *", "6 field(s)"),
    ("61 * * * *", "minute: 61 is outside 0-59"),
    ("0 24 * * *", "hour: 24 is outside 0-23"),
    ("0 0 0 * *", "day of month: 0 is outside 1-31"),
    ("0 0 * 13 *", "month: 13 is outside 1-12"),
    ("0 0 * * 8", "day of week: 8 is outside 0-7"),
    ("0 0 * foo *", "month: 'foo' is not a number or a name"),
    ("0 5-2 * * *", "hour: range 5-2 goes backwards"),
    ("*/0 * * * *", "minute: step 0 is outside 1-60"),
    ("-1 * * * *", "minute: '' is not a number"),
    ("0 0 30 2 *", "no month has that day"),
    ("0 0 31 4,6 */2", "no month has that day"),
    ("daily", "1 field(s)"),
])
def test_parse_errors_say_what_is_wrong(expr, message):
    with pytest.raises(ValueError) as e:
        parse(expr)
    assert message in str(e.value)


def test_the_or_rule_saves_an_impossible_day_of_month():
    # February has no 30th, but its Mondays fire
    assert local(next_fire("0 0 30 2 mon", ts("2026-12-01 12:00"), PARIS)) == "2027-02-01T00:00:00+01:00"


@settings(max_examples=200, deadline=None)
@given(after=st.integers(1_750_000_000, 1_900_000_000),
       expr=st.sampled_from(["monthly", "weekly", "*/7 * * * *", "30 2 * * *", "0 3 13 * fri", "15 1-3 * 3,10 0"]))
def test_next_fire_is_a_matching_time_after_and_nothing_matches_in_between(after, expr):
    """Against a brute force over every minute: the result is after `after`, and no minute between them is a
    first occurrence of a matching local time (which would have fired earlier)."""
    cron = parse(expr)
    got = next_fire(cron, after, PARIS)
    assert got > after

    def matches(t: float) -> bool:
        at = datetime.fromtimestamp(t, PARIS)
        return at.minute in cron.minutes and at.hour in cron.hours and cron.day_matches(at.date())

    def first_occurrence(t: float) -> bool:
        local = datetime.fromtimestamp(t, PARIS).replace(tzinfo=None)
        return local.replace(tzinfo=PARIS, fold=0).timestamp() == t

    if got - after < 3 * 86400:     # brute force only over short waits
        t = (int(after) // 60 + 1) * 60
        while t < got:
            assert not (matches(t) and first_occurrence(t)), (expr, local(t))
            t += 60
    assert datetime.fromtimestamp(got, PARIS).second == 0
    if not matches(got):    # only a jump over a gap fires at an unlisted time: the second before was another offset
        assert datetime.fromtimestamp(got - 1, PARIS).utcoffset() != datetime.fromtimestamp(got, PARIS).utcoffset()
    else:
        assert first_occurrence(got)


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC"])
def test_the_system_zone_without_zoneinfo_agrees_with_zoneinfo(zone, monkeypatch):
    """agent/drills/scheduler.py SystemLocal (the C library's local time, for [drills] timezone = ""): the same
    firing times as ZoneInfo, around every transition of two years (Lord Howe moves by 30 minutes)."""
    import time as time_module

    from agent.drills.scheduler import SystemLocal
    monkeypatch.setenv("TZ", zone)
    time_module.tzset()
    try:
        reference, system = ZoneInfo(zone), SystemLocal()
        exprs = ["monthly", "weekly", "30 2 * * *", "*/15 * * * *", "0 1-3 * 3,4,10,11 0", "45 1 * * *"]
        checked = 0
        for year in (2026, 2027):
            for month, day in ((3, 24), (4, 1), (10, 1), (10, 27), (11, 1)):
                base = datetime(year, month, day, tzinfo=UTC).timestamp()
                for half_hours in range(0, 10 * 48, 23):
                    after = base + half_hours * 1800
                    for expr in exprs:
                        assert next_fire(expr, after, system) == next_fire(expr, after, reference), \
                            (zone, expr, after)
                        checked += 1
        assert checked > 1000
    finally:
        monkeypatch.delenv("TZ")
        time_module.tzset()
