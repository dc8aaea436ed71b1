"""The daily slot, decided on a fake clock (tests/virtual.py): `decide` is pure, so a day is a loop of Ticks a
minute apart, the way the service's timer calls it."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from agent.speedtest.schedule import LATE_S, Measure, Settings, State, Tick, decide, next_slot, offset_s, slot
from tests.virtual import FakeClock

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")
BOTH = frozenset({"primary", "backup"})


def run_days(settings: Settings, days: float, up=lambda t: BOTH, busy=lambda t: False, start: float | None = None,
             step_s: float = 60.0) -> list[tuple[float, str]]:
    """Tick every step_s of virtual time for `days`; (wall time, link) of each Measure."""
    clock = FakeClock()
    if start is not None:
        clock.now = start - (clock.wall() - clock.now)
    state, measured = State(settings), []
    end = clock.now + days * 86400
    while clock.now < end:
        wall = clock.wall()
        state, actions = decide(state, Tick(up(wall), busy(wall)), wall)
        measured += [(wall, a.link) for a in actions]
        clock.now += step_s
    return measured


def midnight(day: date, tz) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def test_the_primary_once_a_day_in_the_quiet_hour_at_its_slot():
    settings = Settings(("primary",), hour=3, jitter_min=60, device="box-17", tz=UTC)
    measured = run_days(settings, 5, start=midnight(date(2026, 11, 9), UTC))
    assert [link for _, link in measured] == ["primary"] * 5
    for wall, _ in measured:
        local = datetime.fromtimestamp(wall, UTC)
        assert local.hour == 3
        due = slot(settings, local.date())
        assert due <= wall < due + 60           # at the first tick after its slot
    days = [datetime.fromtimestamp(w, UTC).date() for w, _ in measured]
    assert days == [date(2026, 11, 9) + timedelta(days=n) for n in range(5)]


def test_a_fleet_spreads_over_the_jitter_window_and_each_device_keeps_its_slot():
    day = date(2026, 11, 9)
    offsets = [offset_s(f"box-{n}", day, 60) for n in range(200)]
    assert all(0 <= o < 3600 for o in offsets)
    assert len({o // 60 for o in offsets}) >= 45          # 200 devices over most of the 60 minutes
    assert offsets == [offset_s(f"box-{n}", day, 60) for n in range(200)]      # deterministic
    assert offset_s("box-1", day, 60) != offset_s("box-1", day + timedelta(days=1), 60)   # moves day to day
    assert offset_s("box-1", day, 0) == 0


def test_the_quiet_hour_is_local_time_across_a_dst_change():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=PARIS)
    measured = run_days(settings, 4, start=midnight(date(2026, 10, 23), PARIS))   # DST ends on 25 October
    assert [datetime.fromtimestamp(w, PARIS).strftime("%d %H:%M") for w, _ in measured] == \
        ["23 03:00", "24 03:00", "25 03:00", "26 03:00"]
    utc_hours = [datetime.fromtimestamp(w, UTC).hour for w, _ in measured]
    assert utc_hours == [1, 1, 2, 2]


def test_links_one_after_the_other_never_two_at_once():
    settings = Settings(("primary", "backup"), hour=3, jitter_min=30, device="box-2", tz=UTC)
    running: dict[str, float] = {}

    def busy(wall: float) -> bool:       # each measurement lasts 3 minutes
        return any(start <= wall < start + 180 for start in running.values())
    clock_state = {"state": State(settings)}
    measured = []
    wall = midnight(date(2026, 11, 9), UTC)
    for _ in range(24 * 60):
        clock_state["state"], actions = decide(clock_state["state"], Tick(BOTH, busy(wall)), wall)
        for a in actions:
            running[a.link] = wall
            measured.append((wall, a.link))
        wall += 60
    assert [link for _, link in measured] == ["primary", "backup"]
    assert measured[1][0] - measured[0][0] == 180      # the backup as soon as the primary is done


def test_a_link_down_at_its_slot_is_measured_when_it_comes_back_within_the_hour():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    day = date(2026, 11, 9)
    back = midnight(day, UTC) + 3 * 3600 + 20 * 60                # 03:20
    measured = run_days(settings, 1, up=lambda t: BOTH if t >= back else frozenset({"backup"}),
                        start=midnight(day, UTC))
    assert [(datetime.fromtimestamp(w, UTC).strftime("%H:%M"), link) for w, link in measured] == \
        [("03:20", "primary")]


def test_a_link_down_for_the_whole_quiet_hour_waits_for_the_next_day():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    day = date(2026, 11, 9)
    back = midnight(day, UTC) + 3 * 3600 + LATE_S            # 04:00: the business day is near
    measured = run_days(settings, 2, up=lambda t: BOTH if t >= back else frozenset(), start=midnight(day, UTC))
    assert [datetime.fromtimestamp(w, UTC).strftime("%d %H:%M") for w, _ in measured] == ["10 03:00"]


def test_an_agent_started_after_the_quiet_hour_waits_for_the_next_day():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    start = midnight(date(2026, 11, 9), UTC) + 10 * 3600
    measured = run_days(settings, 1, start=start)
    assert [datetime.fromtimestamp(w, UTC).strftime("%d %H:%M") for w, _ in measured] == ["10 03:00"]


def test_busy_at_the_slot_postpones_within_the_hour():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    day = date(2026, 11, 9)
    free = midnight(day, UTC) + 3 * 3600 + 300
    measured = run_days(settings, 1, busy=lambda t: t < free, start=midnight(day, UTC))
    assert [datetime.fromtimestamp(w, UTC).strftime("%H:%M") for w, _ in measured] == ["03:05"]


def test_decide_returns_the_actions_it_is_asked_for_only_once():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    at = midnight(date(2026, 11, 9), UTC) + 3 * 3600 + 1
    state, actions = decide(State(settings), Tick(BOTH), at)
    assert actions == [Measure("primary")]
    assert decide(state, Tick(BOTH), at + 60)[1] == []


def test_next_slot():
    settings = Settings(("primary",), hour=3, jitter_min=0, device="x", tz=UTC)
    day = date(2026, 11, 9)
    assert next_slot(settings, midnight(day, UTC)) == midnight(day, UTC) + 3 * 3600
    assert next_slot(settings, midnight(day, UTC) + 4 * 3600) == midnight(day, UTC) + 27 * 3600
