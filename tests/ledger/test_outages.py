"""The primary outage (failover → failback) as the version 0 ledger recorded it: its semantics are kept."""
import time

from agent.config import from_dict
from agent.core import CommandReceived, Core, WallClock
from agent.ledger import attach
from agent.report.language import Writer
from agent.report.text import render_text


class Clock:
    def __init__(self):
        self.mono = 1000.0
        self.wall = 1_700_000_000.0
        self.source = "ntp"

    def step(self, s):
        self.mono += s
        self.wall += s


def make(tmp_path):
    clock = Clock()
    core = Core(monotonic=lambda: clock.mono, wall=WallClock(lambda: clock.wall, lambda: clock.source))
    events = []
    core.add_sink(events.append)
    ledger = attach(core, from_dict({"storage": {"dir": str(tmp_path)}}))
    return core, ledger, clock, events


def report(core, args):
    """The report command answers from a worker thread (agent/report/command.py): step the core until it has."""
    answers = []
    core.post(CommandReceived("report", args, answers.append))
    deadline = time.monotonic() + 20
    while not answers and time.monotonic() < deadline:
        core.step(timeout=0.05)
    assert answers, "the report command did not answer"
    return answers[0]


def test_an_outage_is_recorded_and_closed_with_its_duration(tmp_path):
    core, ledger, clock, events = make(tmp_path)
    clock.step(10)
    core.emit("failover", reason="primary_down", to="backup", outage_start=clock.wall - 2.5)
    clock.step(600)
    core.emit("failback", reason="primary_up")
    core.drain()
    closed = [e for e in events if e.kind == "outage_closed"]
    assert len(closed) == 1
    assert closed[0].data["duration_s"] == 602.5 and closed[0].data["cause"] == "primary_down"
    assert closed[0].data["duration_basis"] == "monotonic"
    assert [e.kind for e in events] == ["failover", "failback", "outage_closed"]
    rep = report(core, {"since": 1_700_000_000.0, "until": 1_700_003_600.0})["result"]
    assert rep["totals"]["count"] == 1 and rep["totals"]["downtime_s"] == 602.5
    # over the time observed: the hour's end is still to come
    assert rep["totals"]["availability_pct"] == round(100 * (1 - 602.5 / 610), 6)
    (o,) = rep["incidents"]
    assert (o["cause"], o["carried_by"], o["start_source"], o["end_source"], o["ongoing"]) == \
        ("primary_down", "backup", "ntp", "ntp", False)


def test_the_duration_ignores_a_clock_step_during_the_outage(tmp_path):
    core, ledger, clock, events = make(tmp_path)
    clock.source = "unsynced"
    core.emit("failover", reason="primary_down")
    clock.mono += 120
    clock.wall += 120 + 3600          # NTP synced meanwhile and stepped the clock by an hour
    clock.source = "ntp"
    core.emit("failback", reason="primary_up")
    core.drain()
    (closed,) = [e for e in events if e.kind == "outage_closed"]
    assert closed.data["duration_s"] == 120.0
    assert (closed.data["start_source"], closed.data["end_source"]) == ("unsynced", "ntp")


def test_drills_and_ongoing_outages_in_the_report(tmp_path):
    core, ledger, clock, events = make(tmp_path)
    core.emit("failover", reason="drill", drill=True)
    clock.step(30)
    core.emit("failback", reason="drill_end")
    core.emit("drill_result", ok=True, switch_s=1.2)
    clock.step(100)
    core.emit("failover", reason="primary_down")
    clock.step(50)
    core.drain()
    assert not [e for e in events if e.kind == "outage_closed"]      # the drill's failback closes no outage
    rep = report(core, {"since": 1_700_000_000.0, "limit": 10})["result"]
    t = rep["totals"]
    assert t["count"] == 1 and t["drills"] == 1 and t["downtime_s"] == 50.0
    assert [o["planned"] for o in rep["incidents"]] == [True, False]
    assert rep["incidents"][1]["ongoing"] and rep["drills"][0]["data"]["switch_s"] == 1.2
    text = render_text(rep, "en")
    assert "primary_down" in text and "→ ongoing" in text and "[planned]" in text and "drill" in text
    assert "incidents 1," in text


def test_the_ledger_survives_a_restart(tmp_path):
    """An outage open when the agent stopped is closed at its last heartbeat when it starts again (issue 11: an
    incident is never left open by a restart); the time away is not observed; the report still shows it."""
    core, ledger, clock, _ = make(tmp_path)
    core.emit("failover", reason="primary_down")
    opened = clock.wall
    ledger.db.close()
    core2, ledger2, clock2, events2 = make(tmp_path)
    clock2.step(300)
    core2.emit("failback", reason="primary_up")             # this run opened nothing: nothing to close now
    core2.drain()
    assert not [e for e in events2 if e.kind == "outage_closed"]
    rep = report(core2, {"since": opened - 10, "until": opened + 3600})["result"]
    (o,) = [i for i in rep["incidents"] if i["link"] == "primary"]
    assert (o["start"], o["end"], o["duration_s"], o["ongoing"]) == (opened, opened, 0.0, False)


def test_report_arguments_are_checked(tmp_path):
    core, *_ = make(tmp_path)
    for args in ({"since": "yesterday"}, {"limit": 0}, {"limit": True}, {"since": 10, "until": 5}, {"x": 1}):
        out = core.run_command("report", args)
        assert not out["ok"] and out["error"], args
    assert report(core, {})["ok"]


def test_failback_without_outage_and_double_failover(tmp_path):
    core, ledger, clock, events = make(tmp_path)
    core.emit("failback", reason="primary_up")             # nothing open: nothing closed, no crash
    core.emit("failover", reason="primary_down")
    clock.step(5)
    core.emit("failover", reason="sim_switch")             # still the same outage
    clock.step(5)
    core.emit("failback", reason="primary_up")
    core.drain()
    closed = [e for e in events if e.kind == "outage_closed"]
    assert len(closed) == 1 and closed[0].data["duration_s"] == 10.0


def test_outage_ends_when_the_primary_recovered_not_at_the_failback(tmp_path):
    """The failover controller's events: started_at = first failed probe, outage_s = until healthy again; the
    failback comes a hold-down later and must not lengthen the outage."""
    core, ledger, clock, events = make(tmp_path)
    clock.step(10)
    core.emit("failover", reason="no_answer", to="backup", started_at=clock.wall - 1.2)
    clock.step(60)
    core.emit("failback", reason="recovered", outage_s=50.0)
    core.drain()
    (closed,) = [e for e in events if e.kind == "outage_closed"]
    assert closed.data["duration_s"] == 50.0
    rep = report(core, {"since": 1_700_000_000.0, "until": 1_700_003_600.0})["result"]
    assert rep["totals"]["downtime_s"] == 50.0


def test_a_manual_force_backup_is_not_downtime(tmp_path):
    core, ledger, clock, events = make(tmp_path)
    clock.step(10)
    core.emit("failover", reason="manual", to="backup")
    clock.step(120)
    core.emit("failback", reason="manual")
    core.drain()
    rep = report(core, {"since": 1_700_000_000.0, "until": 1_700_003_600.0})["result"]
    assert rep["totals"]["downtime_s"] == 0


def test_availability_never_rounds_a_real_outage_to_100():
    percent = Writer("en").percent
    assert percent(100 * (1 - 7 / (30 * 86400))) == "99.9997 %"
    assert percent(99.5) == "99.500 %" and percent(100.0) == "100 %"
