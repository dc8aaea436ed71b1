"""The core's `report` command (what MQTT and the console call): same options as `relais report`, answered from a
worker thread, the reply bounded."""
import json
import time

import pytest

from agent.config import from_dict
from agent.core import CommandReceived, Core, WallClock
from agent.ledger import attach
from agent.report import command as report_command
from tests.report.periods import at


@pytest.fixture
def agent(tmp_path):
    wall = [at(2026, 11, 1)]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict({"storage": {"dir": str(tmp_path)},
                                     "business": {"timezone": "Europe/Paris", "name": "Boulangerie Martin"},
                                     "contracts": [{"uplink": "primary", "provider": "Orange Pro",
                                                    "repair_hours": 1}]}))
    for n in range(12):                        # one outage a day, 10:00 Paris, n+1 minutes long
        wall[0] = at(2026, 11, 2 + n, 10)
        core.emit("failover", reason="no_answer", to="backup", started_at=wall[0])
        wall[0] += (n + 1) * 60
        core.emit("failback", reason="recovered", outage_s=(n + 1) * 60.0)
    wall[0] = at(2026, 12, 3, 12)
    core.drain()
    yield core
    ledger.db.close()


def ask(core, args):
    answers = []
    core.post(CommandReceived("report", args, answers.append))
    deadline = time.monotonic() + 20
    while not answers and time.monotonic() < deadline:
        core.step(timeout=0.05)
    assert answers, "no answer"
    return answers[0]


def test_json_of_a_month_with_the_list_cut_to_limit(agent):
    r = ask(agent, {"month": "2026-11", "limit": 5})
    assert r["ok"], r
    rep = r["result"]
    assert rep["totals"]["count"] == 12 and rep["uplinks"]["primary"]["downtime_s"] == 78 * 60   # all counted
    assert len(rep["incidents"]) == 5 and rep["listed"]["incidents"] == {"listed": 5, "of": 12}
    assert rep["incidents"][-1]["start_local"] == "2026-11-13T10:00:00+01:00"                    # the latest
    assert rep["site"]["business"] == "Boulangerie Martin"


@pytest.mark.parametrize("fmt, marker", [("text", "Availability report"), ("csv", "start (local)"),
                                         ("html", '<svg class="timeline"')])
def test_other_formats_come_as_content(agent, fmt, marker):
    r = ask(agent, {"since": "2026-11-01", "until": "2026-11-30", "format": fmt, "lang": "en", "limit": 3})
    assert r["ok"], r
    res = r["result"]
    assert res["format"] == fmt and marker in res["content"] and res["bytes"] == len(res["content"].encode())
    assert res["listed"]["incidents"] == {"listed": 3, "of": 12}
    if fmt == "csv":
        assert len(res["content"].strip().splitlines()) == 4


def test_the_claim_counts_every_outage_whatever_the_limit(agent):
    r = ask(agent, {"month": "2026-11", "claim": True, "format": "json", "limit": 1})
    cl = json.loads(r["result"]["content"])
    assert cl["outages_total"] == 12 and cl["exceeds_repair_time"] == 0
    assert cl["provider"] == "Orange Pro"


def test_a_reply_over_the_bound_is_refused_with_the_way_out(agent, monkeypatch):
    monkeypatch.setattr(report_command, "MAX_REPLY_BYTES", 2000)
    r = ask(agent, {"month": "2026-11", "format": "html"})
    assert not r["ok"] and "more than the 2000 a reply carries: ask a shorter period, a lower limit" in r["error"]


def test_legacy_unix_times_and_the_30_day_default(agent):
    r = ask(agent, {"since": at(2026, 11, 5), "until": at(2026, 11, 7)})
    assert r["ok"] and r["result"]["totals"]["count"] == 2
    default = ask(agent, {})["result"]["period"]
    assert default["until"] - default["since"] == 30 * 86400 and default["until"] == at(2026, 12, 3, 12)


@pytest.mark.parametrize("args, says", [
    ({"month": "2026-13"}, "month: expected YYYY-MM"),
    ({"month": "2026-11", "since": 1}, "either a month or since/until"),
    ({"format": "pdf"}, "format: expected one of json, text, csv, html"),
    ({"lang": "de"}, "lang: expected fr or en"),
    ({"tz": "Nowhere/Land"}, "tz: unknown time zone"),
    ({"since": 20, "until": 10}, "must be before until"),
    ({"claim": "yes"}, "claim: expected true or false"),
    ({"uplink": "fiber"}, "uplink: expected one of primary, backup, got 'fiber'"),
    ({"uplink": ["primary"]}, "uplink: expected one of primary, backup, got \"['primary']\""),
    ({"limit": 0}, "limit: expected an integer 1..1000"),
    ({"colour": "red"}, "unknown argument(s) colour"),
])
def test_bad_arguments_are_refused_at_once(agent, args, says):
    out = agent.run_command("report", args)
    assert not out["ok"] and says in out["error"], out


def test_one_report_at_a_time(agent, monkeypatch):
    held = []
    real = report_command.ReportCommand.__init__

    def keep(self, *a, **kw):
        real(self, *a, **kw)
        held.append(self)
    monkeypatch.setattr(report_command.ReportCommand, "__init__", keep)
    assert ask(agent, {})["ok"]                         # the first report brings the handler in
    (handler,) = held
    assert handler._busy.acquire(blocking=False)       # as if a report were being prepared
    try:
        out = agent.run_command("report", {})
        assert not out["ok"] and "another report is being prepared" in out["error"]
    finally:
        handler._busy.release()
    assert ask(agent, {})["ok"]


def test_an_unreadable_ledger_is_one_line(tmp_path):
    core = Core()
    attach(core, from_dict({"storage": {"dir": str(tmp_path)}})).db.close()
    (tmp_path / "ledger.db").write_bytes(b"garbage" * 1000)
    for leftover in tmp_path.glob("ledger.db-*"):
        leftover.unlink()
    r = ask(core, {"month": "2026-11"})
    assert not r["ok"] and r["error"].startswith("report: the ledger file cannot be read now")


def test_any_argument_values_get_an_answer_never_an_internal_error(agent):
    """What a fleet tool may send: every key with values of every type. Each gets a report or one line saying
    what was wrong; a period of thousands of years (work without bound on a router) is refused too."""
    import random
    rnd = random.Random(11)
    values = [None, True, 0, -1, 1e308, float("nan"), float("inf"), "", "x" * 300, [], {}, "2026-11", "2026-02-30",
              "9999-12", "0001-01-01", "9999-12-31", "2026-11-03T10:00", "2026-11-03T10:00+25:00", 1_795_000_000,
              "Europe/Paris", "../../etc/passwd", "html", "fr", 5, 10 ** 30]
    keys = list(report_command.ARGS)
    for _ in range(150):
        args = {k: rnd.choice(values) for k in rnd.sample(keys, rnd.randint(1, 4))}
        out = ask(agent, args)
        if not out["ok"]:
            assert "internal error" not in out["error"] and "\n" not in out["error"], (args, out)
            assert "Error:" not in out["error"], (args, out)      # no exception class leaking out
    out = ask(agent, {"since": "1970-01-02", "until": "2026-11-30"})
    assert not out["ok"] and "longer than 10 years" in out["error"]


def test_the_claim_of_any_named_uplink(tmp_path):
    wall = [at(2026, 11, 1)]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict({
        "storage": {"dir": str(tmp_path)}, "board": {"cellular_interface": "wwan0"},
        "uplinks": [{"name": "fiber", "interface": "eth0", "priority": 1},
                    {"name": "fiber2", "interface": "eth1", "priority": 2},
                    {"name": "lte", "kind": "cellular", "priority": 3}],
        "contracts": [{"uplink": "fiber2", "provider": "Free Pro", "repair_hours": 4}]}))
    core.state["failover"] = {"active_uplink": "fiber", "links": {"fiber": {"kind": "ethernet"},
                                                                  "fiber2": {"kind": "ethernet"},
                                                                  "lte": {"kind": "cellular"}}}
    try:
        wall[0] = at(2026, 11, 2, 10)
        core.emit("link_down", link="fiber2", reason="no_answer")
        wall[0] += 600
        core.emit("link_restored", link="fiber2", was="down")
        wall[0] = at(2026, 12, 3, 12)
        core.drain()
        r = ask(core, {"month": "2026-11", "claim": True, "uplink": "fiber2"})
        assert r["ok"] and "Free Pro" in r["result"]["content"], r
        assert ask(core, {"month": "2026-11", "uplink": "primary"}) == {
            "ok": False, "error": "uplink: expected one of fiber, fiber2, lte, got 'primary'"}
    finally:
        ledger.db.close()
