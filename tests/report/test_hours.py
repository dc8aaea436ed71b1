"""Business hours: the grammar ([business] hours) and its application to time, DST included."""
import pytest

from common.business_hours import describe, parse_business_hours
from agent.report.hours import BusinessHours, intersect, months, subtract, union
from tests.report.periods import PARIS, at

SHOP = "Mon-Sat 08:00-19:00"


@pytest.mark.parametrize("text, canonical", [
    ("Mon-Sat 08:00-19:00", "Mon-Sat 08:00-19:00"),
    ("lun-ven 08:00-12:00 14:00-18:00; SAM 09:00-12:00", "Mon-Fri 08:00-12:00 14:00-18:00; Sat 09:00-12:00"),
    ("Mon,Wed,Fri 09:00-17:00", "Mon 09:00-17:00; Wed 09:00-17:00; Fri 09:00-17:00"),
    ("Sat-Mon 10:00-24:00", "Mon 10:00-24:00; Sat-Sun 10:00-24:00"),
    ("Mon 08:00-12:00 11:00-13:00", "Mon 08:00-13:00"),         # overlapping ranges merge
])
def test_the_grammar_reads_what_a_business_writes(text, canonical):
    assert describe(parse_business_hours(text)) == canonical


@pytest.mark.parametrize("text, says", [
    ("Mon-Sat 8-19", "not a HH:MM-HH:MM range"),
    ("Mon-Sat", "no HH:MM-HH:MM range"),
    ("Mo 08:00-19:00", "not a day"),
    ("Mon 19:00-08:00", "ends before it starts"),
    ("Mon 08:00-25:00", "not a time of day"),
])
def test_bad_hours_say_what_is_wrong(text, says):
    with pytest.raises(ValueError, match=says):
        parse_business_hours(text)


def test_a_shop_week_has_66_business_hours():
    hours = BusinessHours(parse_business_hours(SHOP), PARIS)
    monday = at(2026, 11, 2)
    assert hours.seconds(monday, monday + 7 * 86400) == 6 * 11 * 3600
    # an outage from Saturday 18:00 to Monday 09:00 costs 1 h on Saturday and 1 h on Monday
    assert hours.seconds(at(2026, 11, 7, 18), at(2026, 11, 9, 9)) == 2 * 3600


@pytest.mark.parametrize("day", [(2026, 3, 28), (2026, 10, 24)])   # the Saturdays before the DST changes
def test_business_hours_across_dst_count_the_hours_the_clock_showed(day):
    """The night that loses (March) or gains (October) an hour changes the day's length, not its opening hours:
    Saturday 08:00 to Monday 08:00 local is 47 or 49 real hours, and holds 11 business hours exactly."""
    hours = BusinessHours(parse_business_hours(SHOP), PARIS)
    start, end = at(*day, 8), at(day[0], day[1], day[2] + 2, 8)
    assert end - start == (47 if day[1] == 3 else 49) * 3600
    assert hours.seconds(start, end) == 11 * 3600
    windows = hours.windows(start, end)
    assert windows == [(start, start + 11 * 3600)]


def test_sunday_open_across_the_dst_change_counts_real_seconds():
    """Open 00:00-04:00 on the Sunday the clock goes 02:00 -> 03:00: three real hours, not four."""
    hours = BusinessHours(parse_business_hours("Sun 00:00-04:00"), PARIS)
    assert hours.seconds(at(2026, 3, 29), at(2026, 3, 30)) == 3 * 3600
    assert hours.seconds(at(2026, 10, 25), at(2026, 10, 26)) == 5 * 3600


def test_months_in_the_zone_have_their_real_lengths():
    (_, a, b, march), (_, c, d, april) = months(at(2026, 3, 1), at(2026, 5, 1), PARIS)
    assert march == 31 * 86400 - 3600 and april == 30 * 86400
    assert (a, b, c, d) == (at(2026, 3, 1), at(2026, 4, 1), at(2026, 4, 1), at(2026, 5, 1))


def test_interval_arithmetic():
    a = union([(5, 10), (0, 2), (1, 3), (9, 12)])
    assert a == [(0, 3), (5, 12)]
    assert intersect(a, [(2, 6), (11, 20)]) == [(2, 3), (5, 6), (11, 12)]
    assert subtract(a, [(1, 2), (6, 7), (10, 30)]) == [(0, 1), (2, 3), (5, 6), (7, 10)]


def test_since_start_runs_from_the_agents_first_run_and_falls_back_to_30_days():
    from agent.report.period import resolve
    now = at(2026, 12, 3, 9, 0)
    assert resolve(PARIS, now, default="since_start", first_observed=now - 600) == (now - 601, now)
    assert resolve(PARIS, now, default="since_start", first_observed=None) == (now - 30 * 86400, now)
    assert resolve(PARIS, now, month="2026-11", default="since_start", first_observed=now - 600)[1] < now
