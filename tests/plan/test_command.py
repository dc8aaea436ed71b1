"""The core's `plan` command (MQTT, the console): the sheet with the live state, from a worker thread, bounded."""
from __future__ import annotations

import time

import pytest

from agent.config import from_dict
from agent.core import CommandReceived, Core, WallClock
from agent.ledger import attach as attach_ledger
from agent.plan import command as plan_command
from agent.plan.command import attach
from tests.plan.sites import SHOP, STATE, at


@pytest.fixture
def core(tmp_path):
    wall = [at(2026, 11, 2, 3)]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    config = from_dict({**SHOP, "storage": {"dir": str(tmp_path)}})
    ledger = attach_ledger(core, config)
    attach(core, config)
    core.emit("drill_result", kind="passive", ok=False, services=[{"name": "Téléphonie", "ok": False}])
    core.state.update(STATE)
    wall[0] = at(2026, 11, 15, 12)
    core.drain()
    yield core
    ledger.db.close()


def ask(core, args):
    answers = []
    core.post(CommandReceived("plan", args, answers.append))
    deadline = time.monotonic() + 20
    while not answers and time.monotonic() < deadline:
        core.step(timeout=0.05)
    assert answers, "no answer"
    return answers[0]


def test_json_by_default_with_the_live_state_and_the_ledger(core):
    r = ask(core, {})
    assert r["ok"], r
    sheet = r["result"]
    assert sheet["equipment"]["imei"] == "867531051234561" and sheet["equipment"]["as_of"] == at(2026, 11, 15, 12)
    assert sheet["drills"]["last"]["ok"] is False and sheet["drills"]["last"]["failed_services"] == ["Téléphonie"]
    assert sheet["drills"]["next"] == at(2026, 12, 1, 3)
    assert [c["name"] for c in sheet["contacts"]] == ["Julien Martin", "InfoLyon"]


@pytest.mark.parametrize("fmt, lang, marker", [("html", "fr", '<ol class="steps">'),
                                               ("text", "en", "== The Internet is cut: what to do")])
def test_text_and_html_come_as_content(core, fmt, lang, marker):
    r = ask(core, {"format": fmt, "lang": lang})
    assert r["ok"], r
    res = r["result"]
    assert res["format"] == fmt and res["lang"] == lang and marker in res["content"]
    assert res["bytes"] == len(res["content"].encode()) < plan_command.MAX_REPLY_BYTES


def test_the_state_is_read_on_the_core_thread_not_shared(core):
    r = ask(core, {"format": "json"})
    r["result"]["equipment"]["imei"] = "changed"
    assert core.state["modem"]["imei"] == "867531051234561"


@pytest.mark.parametrize("args, error", [
    ({"lang": "de"}, "lang: expected fr or en, got 'de'"),
    ({"format": "pdf"}, "format: expected one of json, text, html, got 'pdf'"),
    ({"month": "2026-11"}, "plan: unknown argument(s) month (format, lang)"),
])
def test_bad_arguments_are_refused_in_one_line(core, args, error):
    r = ask(core, args)
    assert not r["ok"] and r["error"] == error, r


def test_a_reply_over_the_bound_is_refused(core, monkeypatch):
    monkeypatch.setattr(plan_command, "MAX_REPLY_BYTES", 1000)
    r = ask(core, {"format": "html"})
    assert not r["ok"] and r["error"].startswith("plan: the html sheet is ") and \
        r["error"].endswith("more than the 1000 a reply carries: ask format json")
