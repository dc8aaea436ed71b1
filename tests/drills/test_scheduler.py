"""The drill scheduler on virtual time: a Core on a FakeClock (tests/virtual.py), its wall clock the fake one's,
timers run as the clock jumps to each. A fake runner records what the scheduler starts. Nothing sleeps."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.config import DrillsConfig
from agent.core import CommandError, Core, WallClock
from agent.drills.scheduler import LATE_S, DrillScheduler
from tests.virtual import WALL_EPOCH, FakeClock

PARIS = ZoneInfo("Europe/Paris")
DAY = 86400.0


def wall_of(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp()


class FakeRunner:
    def __init__(self, world: "World"):
        self.world = world
        self.started: list[tuple[str, float, str, str]] = []   # (kind, duration, trigger, local wall time)
        self.refuse: str | None = None

    def start(self, kind, duration_s, trigger, wait=False):
        if self.refuse:
            raise CommandError(f"no drill: {self.refuse}")
        self.started.append((kind, duration_s, trigger, self.world.local()))
        return {"started": True}


class World:
    """A clock whose wall time starts at `start` (Paris), a core on it, a scheduler writing into `tmp`."""

    def __init__(self, tmp, start: str, synced: bool = True, **cfg):
        self.clock = FakeClock()
        self.clock.wall_step = wall_of(start) - WALL_EPOCH - self.clock.now
        self.tmp = tmp
        self.synced = synced
        self.cfg = DrillsConfig(**{"schedule": "0 3 * * *", "overdue_days": 0.0, **cfg})
        self.runner = FakeRunner(self)
        self.boot()

    def boot(self) -> None:
        """A (re)start of the agent: a new core and scheduler, the same file."""
        self.core = Core(monotonic=self.clock,
                         wall=WallClock(now=self.clock.wall, source=lambda: "ntp" if self.synced else "unsynced"))
        self.events = []
        self.core.add_sink(self.events.append)
        self.scheduler = DrillScheduler(self.core, self.cfg, self.runner, self.tmp / "drills.json", PARIS)
        self.core.drain()

    def local(self) -> str:
        return datetime.fromtimestamp(self.clock.wall(), PARIS).strftime("%Y-%m-%d %H:%M:%S")

    def run_until(self, text: str) -> None:
        """Run every timer due until the wall clock reads `text`."""
        end = wall_of(text)
        while True:
            due = self.core.next_timer_at()
            gap = end - self.clock.wall()
            if due is None or due - self.clock.now > gap:
                self.clock.now += max(0.0, gap)
                self.core.drain()
                return
            self.clock.now = max(self.clock.now, due)
            self.core.drain()

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def test_fires_at_its_time_once_a_slot(tmp_path):
    w = World(tmp_path, "2026-12-01 01:00:00", kind="full", duration_s=30.0)
    w.run_until("2026-12-02 02:59:59")
    assert w.runner.started == [("full", 30.0, "schedule", "2026-12-01 03:00:00")]
    assert w.core.state["drills"]["next"] == wall_of("2026-12-02 03:00:00")
    w.run_until("2026-12-03 12:00:00")
    assert [s[3] for s in w.runner.started] == ["2026-12-01 03:00:00", "2026-12-02 03:00:00",
                                                 "2026-12-03 03:00:00"]
    assert json.loads((tmp_path / "drills.json").read_text())["last_slot"] == wall_of("2026-12-03 03:00:00")


def test_a_clock_stepped_back_does_not_run_the_slot_again(tmp_path):
    w = World(tmp_path, "2026-12-01 02:30:00")
    w.run_until("2026-12-01 03:30:00")
    assert len(w.runner.started) == 1
    w.clock.wall_step -= 2 * 3600          # NTP steps the clock back two hours: 01:30 again
    assert w.local() == "2026-12-01 01:30:00"
    w.run_until("2026-12-01 05:00:00")     # 03:00 comes round again on the wall clock
    assert len(w.runner.started) == 1
    w.run_until("2026-12-02 03:00:01")
    assert [s[3] for s in w.runner.started] == ["2026-12-01 03:00:00", "2026-12-02 03:00:00"]


def test_a_clock_stepped_forward_over_the_slot(tmp_path):
    w = World(tmp_path, "2026-12-01 02:50:00")
    w.clock.wall_step += 20 * 60           # 03:10: late by less than LATE_S, it runs at the next look
    w.run_until("2026-12-01 04:00:00")
    assert [s[3] for s in w.runner.started] == ["2026-12-01 03:11:00"]    # CHECK_MAX_S after 02:50
    w.run_until("2026-12-02 02:00:00")
    w.clock.wall_step += LATE_S + 3 * 3600  # 02:00 -> 06:00: the 03:00 slot was jumped over
    w.run_until("2026-12-02 08:00:00")
    assert len(w.runner.started) == 1
    skipped = [e for e in w.events if e.kind == "drill_skipped"]
    assert len(skipped) == 1 and skipped[0].data["slot"] == wall_of("2026-12-02 03:00:00")
    assert skipped[0].data["reason"] == "missed by 181 min (the clock jumped over it)"   # seen 1 min after


def test_a_restart_does_not_run_the_slot_again(tmp_path):
    w = World(tmp_path, "2026-12-01 02:00:00")
    w.run_until("2026-12-01 03:05:00")
    assert len(w.runner.started) == 1
    w.boot()                               # the agent restarts five minutes after the drill started
    w.run_until("2026-12-01 23:00:00")
    assert len(w.runner.started) == 1 and "drill_skipped" not in w.kinds()
    w.run_until("2026-12-02 03:00:01")
    assert len(w.runner.started) == 2


def test_an_agent_started_just_after_the_slot_runs_it_late(tmp_path):
    w = World(tmp_path, "2026-12-01 03:20:00")
    assert [s[3] for s in w.runner.started] == ["2026-12-01 03:20:00"]


def test_a_refused_drill_is_skipped_with_the_reason(tmp_path):
    w = World(tmp_path, "2026-12-01 02:00:00")
    w.runner.refuse = "the primary is not healthy and active (state backup): no drill during trouble"
    w.run_until("2026-12-01 04:00:00")
    skipped = [e for e in w.events if e.kind == "drill_skipped"]
    assert [(e.data["trigger"], e.data["reason"]) for e in skipped] == \
        [("schedule", "the primary is not healthy and active (state backup): no drill during trouble")]
    w.runner.refuse = None
    w.run_until("2026-12-01 23:00:00")     # not retried within the slot: the next is tomorrow's
    assert w.runner.started == []


def test_daylight_saving_time_fires_once_at_the_jump(tmp_path):
    w = World(tmp_path, "2027-03-27 12:00:00", schedule="30 2 * * *")
    w.run_until("2027-03-29 12:00:00")
    assert [s[3] for s in w.runner.started] == ["2027-03-28 03:00:00", "2027-03-29 02:30:00"]


def test_no_schedule_no_drill(tmp_path):
    w = World(tmp_path, "2026-12-01 02:00:00", schedule="")
    w.run_until("2027-01-10 00:00:00")
    assert w.runner.started == [] and w.core.state["drills"]["next"] is None


def test_an_unsynchronised_clock_schedules_nothing_until_it_is_set(tmp_path):
    w = World(tmp_path, "2026-12-01 02:00:00", synced=False)
    w.run_until("2026-12-01 05:00:00")
    assert w.runner.started == [] and not (tmp_path / "drills.json").exists()
    w.synced = True
    w.run_until("2026-12-02 03:00:01")
    assert [s[3] for s in w.runner.started] == ["2026-12-02 03:00:00"]


def test_overdue_once_per_period_and_a_pass_resets_it(tmp_path):
    w = World(tmp_path, "2026-12-01 12:00:00", schedule="", overdue_days=2.0)
    w.run_until("2026-12-03 11:59:00")
    assert "drill_overdue" not in w.kinds()
    w.run_until("2026-12-04 11:00:00")
    overdue = [e for e in w.events if e.kind == "drill_overdue"]
    assert len(overdue) == 1 and overdue[0].data["last_pass"] is None and overdue[0].data["overdue_days"] == 2.0
    assert datetime.fromtimestamp(overdue[0].ts, PARIS).strftime("%d %H:%M") == "03 12:00"
    w.boot()                               # a restart in the same period does not say it again
    w.run_until("2026-12-05 11:59:00")
    assert w.kinds().count("drill_overdue") == 0
    w.run_until("2026-12-05 12:01:00")     # the second period
    assert w.kinds().count("drill_overdue") == 1
    w.core.emit("drill_result", kind="passive", ok=True)
    passed = w.clock.wall()
    w.run_until("2026-12-07 12:00:00")
    assert w.kinds().count("drill_overdue") == 1
    w.run_until("2026-12-08 12:00:00")
    late = [e for e in w.events if e.kind == "drill_overdue"]
    assert len(late) == 2 and late[1].data["last_pass"] == passed and late[1].ts == pytest.approx(passed + 2 * DAY)


def test_a_failed_drill_does_not_reset_overdue(tmp_path):
    w = World(tmp_path, "2026-12-01 12:00:00", schedule="", overdue_days=1.0)
    w.core.emit("drill_result", kind="full", ok=False)
    w.run_until("2026-12-02 12:01:00")
    assert w.kinds().count("drill_overdue") == 1


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"last_slot": "yesterday"}', '{"last_pass": true}'])
def test_a_damaged_memory_file_is_replaced(tmp_path, content, caplog):
    (tmp_path / "drills.json").write_text(content)
    w = World(tmp_path, "2026-12-01 02:00:00")
    assert "drills.json" in caplog.text and "starting without it" in caplog.text
    w.run_until("2026-12-01 03:00:01")
    assert len(w.runner.started) == 1
    assert json.loads((tmp_path / "drills.json").read_text())["last_slot"] == wall_of("2026-12-01 03:00:00")


def test_an_unwritable_memory_is_said_once_and_drills_still_run(tmp_path, caplog):
    (tmp_path / "ro").write_text("a file where the directory should be")
    w = World(tmp_path / "ro", "2026-12-01 02:00:00")
    w.run_until("2026-12-03 03:00:01")
    assert len(w.runner.started) == 3
    assert caplog.text.count("not written") == 1
