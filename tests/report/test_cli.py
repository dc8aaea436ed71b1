"""`relais report` on a real ledger file written by the agent's ledger, and its one-line errors (exit 2)."""
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.cli import main
from agent.config import from_dict
from agent.core import Core, WallClock
from agent.ledger import attach
from tests.report.periods import at

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[device]
id = "shop-42"
site = "Boulangerie Martin, Lyon"
[storage]
dir = "{dir}"
[business]
timezone = "Europe/Paris"
hours = "Mon-Sat 08:00-19:00"
cost_per_hour = 60
[[contracts]]
uplink = "primary"
provider = "Orange Pro"
reference = "FTTO-4242"
availability_pct = 99.9
repair_hours = 4
"""


def write_ledger(storage: Path, outages) -> None:
    """Through the agent's own ledger: failover opens an outage, failback closes it."""
    wall = [0.0]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict({"storage": {"dir": str(storage)}}))
    for start, minutes in outages:
        wall[0] = start
        core.emit("failover", reason="no_answer", to="backup", started_at=start)
        wall[0] = start + minutes * 60
        core.emit("failback", reason="recovered", outage_s=minutes * 60.0)
    core.drain()
    ledger.db.close()


@pytest.fixture
def site(tmp_path):
    storage = tmp_path / "var"
    storage.mkdir()
    config = tmp_path / "relais.toml"
    config.write_text(CONFIG.format(dir=storage))
    return config, storage


def run(capsys, *argv):
    code = main(["report", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report_of_a_month(site, capsys):
    config, storage = site
    write_ledger(storage, [(at(2026, 11, 3, 10), 300), (at(2026, 11, 17, 22), 5), (at(2026, 12, 2, 10), 60)])
    code, out, err = run(capsys, "--config", str(config), "--month", "2026-11", "--format", "json")
    assert code == 0, err
    r = json.loads(out)
    assert [(i["start_local"], i["duration_s"], i["exceeds_repair_time"]) for i in r["incidents"]] == \
        [("2026-11-03T10:00:00+01:00", 18000.0, True), ("2026-11-17T22:00:00+01:00", 300.0, False)]
    assert r["site"]["business"] == "Boulangerie Martin, Lyon" and r["contracts"][0]["reference"] == "FTTO-4242"
    assert r["totals"]["count"] == 2 and r["cost"]["primary_down_cost"] == 300.0   # 10:00-15:00 at 60/h
    assert r["cost"]["primary_down_s"] == 5 * 3600 and r["cost"]["offline_cost"] == 0.0


def test_since_until_dates_include_the_last_day_and_write_a_file(site, capsys, tmp_path):
    config, storage = site
    write_ledger(storage, [(at(2026, 11, 30, 23), 10)])
    out_file = tmp_path / "r.html"
    code, out, err = run(capsys, "--config", str(config), "--since", "2026-11-30", "--until", "2026-11-30",
                         "--format", "html", "-o", str(out_file), "--lang", "en")
    assert code == 0 and out == "" and f"wrote {out_file}" in err
    page = out_file.read_text()
    assert page.count('<tr class="incident') == 1 and "Mon 2026-11-30 23:00:00" in page


def test_the_default_period_is_the_last_full_month(site):
    config, storage = site
    write_ledger(storage, [])
    from agent.report.cli import build_report

    Args = SimpleNamespace(config=str(config), month=None, since=None, until=None, format="json", lang="en",
                           tz=None, claim=False, uplink=None)
    text, note = build_report(Args, now=at(2026, 12, 15, 12))
    r = json.loads(text)
    assert (r["period"]["since_local"], r["period"]["until_local"]) == \
        ("2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00")
    assert note == "the ledger holds nothing for this period"
    text, _ = build_report(Args, now=at(2026, 1, 10, 12))
    assert json.loads(text)["period"]["since_local"] == "2025-12-01T00:00:00+01:00"


def test_an_empty_ledger_says_so_and_still_renders(site, capsys):
    config, storage = site
    write_ledger(storage, [])
    code, out, err = run(capsys, "--config", str(config), "--month", "2026-11", "--lang", "fr")
    assert code == 0 and "Le journal ne contient rien pour cette période." in out
    assert "relais report: the ledger holds nothing for this period" in err


def test_tz_changes_the_dates_shown(site, capsys):
    config, storage = site
    write_ledger(storage, [(at(2026, 11, 3, 10), 30)])
    code, out, _ = run(capsys, "--config", str(config), "--month", "2026-11", "--format", "csv", "--tz", "UTC")
    assert code == 0 and "2026-11-03 09:00:00,2026-11-03 09:30:00,UTC" in out


@pytest.mark.parametrize("argv, says", [
    (["--month", "2026-13"], "relais report: --month: expected YYYY-MM (e.g. 2026-11), got '2026-13'"),
    (["--month", "last"], "relais report: --month: expected YYYY-MM"),
    (["--tz", "Mars/Olympus"], "relais report: --tz: unknown time zone 'Mars/Olympus'"),
    (["--since", "2026-11-20", "--until", "2026-11-10"], "relais report: --since (2026-11-20) must be before until"),
    (["--since", "yesterday"], "relais report: --since: expected a date (YYYY-MM-DD)"),
    (["--until", "2026-11-10"], "relais report: --since: needed with until"),
])
def test_bad_input_is_one_line_and_exit_2(site, capsys, argv, says):
    config, storage = site
    write_ledger(storage, [])
    code, out, err = run(capsys, "--config", str(config), *argv)
    assert code == 2 and out == ""
    assert err.startswith(says) and err.count("\n") == 1, err


def test_a_missing_ledger_or_config_is_one_line(tmp_path, capsys):
    config = tmp_path / "relais.toml"
    config.write_text(CONFIG.format(dir=tmp_path / "nowhere"))
    code, _, err = run(capsys, "--config", str(config))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"relais report: no ledger at {tmp_path / 'nowhere' / 'ledger.db'}")
    code, _, err = run(capsys, "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and err.count("\n") == 1 and "missing.toml" in err
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "ledger.db").write_bytes(b"not a database, just bytes" * 100)
    code, _, err = run(capsys, "--config", str(config), "--month", "2026-11")
    assert code == 2 and err.count("\n") == 1 and "cannot read the ledger" in err


def test_the_installed_command_exits_2_without_a_traceback(site):
    config, _ = site
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "report", "--config", str(config), "--month",
                           "2026-00"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "relais report: --month: expected YYYY-MM (e.g. 2026-11), got '2026-00'"


@pytest.mark.parametrize("default, since_local, until_local", [
    ("last_month", "2026-11-01T00:00:00+01:00", "2026-12-01T00:00:00+01:00"),
    ("this_month", "2026-12-01T00:00:00+01:00", "2027-01-01T00:00:00+01:00"),
    ("last_30_days", "2026-11-15T12:00:00+01:00", "2026-12-15T12:00:00+01:00"),
])
def test_business_default_period(site, default, since_local, until_local):
    config, storage = site
    config.write_text(config.read_text().replace('[business]\n', f'[business]\ndefault_period = "{default}"\n'))
    write_ledger(storage, [])
    from agent.report.cli import build_report
    args = SimpleNamespace(config=str(config), month=None, since=None, until=None, format="json", lang="en",
                           tz=None, claim=False, uplink=None)
    period = json.loads(build_report(args, now=at(2026, 12, 15, 12))[0])["period"]
    assert (period["since_local"], period["until_local"]) == (since_local, until_local)


def test_the_claim_of_a_named_uplink(tmp_path, capsys):
    storage = tmp_path / "var"
    storage.mkdir()
    config = tmp_path / "relais.toml"
    config.write_text(f'[storage]\ndir = "{storage}"\n[board]\ncellular_interface = "wwan0"\n'
                      '[[uplinks]]\nname = "fiber"\ninterface = "eth0"\npriority = 1\n'
                      '[[uplinks]]\nname = "fiber2"\ninterface = "eth1"\npriority = 2\n'
                      '[[uplinks]]\nname = "lte"\nkind = "cellular"\npriority = 3\n'
                      '[[contracts]]\nuplink = "fiber2"\nprovider = "Free Pro"\nreference = "FP-9"\n')
    write_ledger(storage, [])
    code, out, _ = run(capsys, "--config", str(config), "--month", "2026-11", "--claim", "--uplink", "fiber2")
    assert code == 0 and "Free Pro" in out and "FP-9" in out
    code, out, err = run(capsys, "--config", str(config), "--month", "2026-11", "--claim", "--uplink", "dsl")
    assert code == 2 and err.startswith("relais report: --uplink: expected one of fiber, fiber2, lte, got 'dsl'")
