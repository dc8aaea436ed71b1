"""`relais plan`: the sheet from a configuration, its ledger and its status file; bad input is one line, exit 2."""
from __future__ import annotations

import json
import time

import pytest

from agent.cli import main
from agent.config import from_dict
from agent.config.toml_text import dump_toml
from agent.core import Core, WallClock
from agent.ledger import attach
from tests.plan.sites import SHOP, STATE


@pytest.fixture
def site(tmp_path):
    """A configuration file whose [storage] dir holds a ledger with one drill and the agent's status file."""
    storage = tmp_path / "var"
    raw = {**SHOP, "storage": {"dir": str(storage)}}
    config = tmp_path / "relais.toml"
    config.write_text(dump_toml(raw), encoding="utf-8")
    wall = [time.time() - 86400]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict(raw))
    core.emit("drill_result", kind="full", ok=True, recovery_s=4.5, services=[{"name": "Caisse", "ok": True}])
    core.drain()
    ledger.db.close()
    (storage / "status.json").write_text(json.dumps({"state": STATE}))
    return config


def run(capsys, *argv):
    code = main(["plan", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_text_sheet_from_the_files(site, capsys):
    code, out, err = run(capsys, "--config", str(site), "--lang", "en")
    assert code == 0 and err == ""
    flat = " ".join(out.split())
    for fact in ("Internet continuity plan — Boulangerie Martin", "Modem: Quectel EC25-E, IMEI 867531051234561",
                 "SIM cards: slot 1; slot 2 (in use: SFR, ICCID 8933100000876543219, APN sl2sfr)",
                 "Preferred operators: 20810",
                 "Orange Pro; reference FTTO-123456; guaranteed repair 4 h (business hours); support 3901",
                 " 1. Julien Martin (gérant): +33 6 12 34 56 78 — d'abord", "full: passed, recovery 4.5 s",
                 "Next drill: "):
        assert fact in flat or fact in out, fact


def test_html_to_a_file(site, tmp_path, capsys):
    target = tmp_path / "plan.html"
    code, out, err = run(capsys, "--config", str(site), "--format", "html", "-o", str(target), "--lang", "fr")
    assert code == 0 and out == "" and err == f"relais plan: wrote {target}\n"
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page and "Plan de continuité" in page


def test_the_language_follows_the_system_locale(site, capsys, monkeypatch):
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert "Internet continuity plan" in run(capsys, "--config", str(site))[1]
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert "Plan de continuité Internet" in run(capsys, "--config", str(site))[1]


def test_an_unreadable_ledger_is_said_on_the_sheet(site, capsys):
    (site.parent / "var" / "ledger.db").write_bytes(b"garbage" * 1000)
    code, out, _ = run(capsys, "--config", str(site), "--lang", "en")
    assert code == 0 and "Last drill: ledger unreadable" in out


@pytest.mark.parametrize("argv, line", [
    (["--lang", "de"], "relais plan: --lang: expected one of fr, en, got 'de'"),
    (["-o", "/nonexistent/dir/plan.html"], "relais plan: -o /nonexistent/dir/plan.html: No such file or directory"),
])
def test_bad_arguments_are_one_line(site, capsys, argv, line):
    code, out, err = run(capsys, "--config", str(site), *argv)
    assert (code, out, err) == (2, "", line + "\n")


def test_a_bad_contact_phone_is_one_line(site, capsys):
    text = site.read_text(encoding="utf-8").replace('phone = "04 72 00 00 00"', 'phone = "ask Julien"')
    assert "ask Julien" in text
    site.write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "--config", str(site))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"relais plan: {site}: [contacts #2] phone: expected a phone number") and \
        err.endswith('got "ask Julien"\n')


def test_a_missing_configuration_is_one_line(tmp_path, capsys):
    code, out, err = run(capsys, "--config", str(tmp_path / "nope.toml"))
    assert (code, out, err) == (2, "", f"relais plan: {tmp_path / 'nope.toml'}: no such file\n")
