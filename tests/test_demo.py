"""`make demo` is the main job on the embedded default: it must run by itself, do what it says and exit 0."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_runs_the_scenario_and_exits_0(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--fast", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "FAILED" not in out
    for expected in ("event failover", "event modem_reset", "event failback", "event power_lost",
                     "status LED: on_battery", "power       : ON BATTERY since", "event power_restored",
                     "event drill_result", "Availability report", "all steps passed"):
        assert expected in out, f"{expected!r} missing from the demo's output:\n{out}"
    # It ends with the report written, and `relais report --config <out>/config.toml` reproduces it.
    assert f"report: {tmp_path / 'report.html'}" in out
    written = json.loads((tmp_path / "report.json").read_text())
    again = subprocess.run([sys.executable, "-m", "agent.cli", "report", "--config", str(tmp_path / "config.toml"),
                            "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    incidents = json.loads(again.stdout)["incidents"]
    assert [i["start"] for i in incidents] == [i["start"] for i in written["incidents"]]
    outage = [i for i in incidents if i["link"] == "primary" and i["counted"]]
    assert len(outage) == 1 and outage[0]["end"] > outage[0]["start"] and outage[0]["duration_s"] > 0
    assert "evidence" in outage[0] and outage[0]["carried_by"] == "backup"
    assert [d["ok"] for d in written["drills"]] == [True]
    # the shop's power cut, read from its UPS through NUT: a site incident apart, never the operator's downtime
    (cut,) = [i for i in incidents if i["kind"] == "power"]
    assert cut["link"] == "site" and cut["duration_s"] > 0 and cut["duration_basis"] == "monotonic"
    assert written["totals"]["power_cuts"] == 1 and outage[0]["during_power_cut_s"] == 0
    page = (tmp_path / "report.html").read_text()
    assert '<svg class="timeline"' in page and page.count('<tr class="incident') == len(incidents)
    assert page.count('<rect class="power"') == 1
    assert (tmp_path / "report.csv").read_text().count("\n") == len(incidents) + 1
    # and the shop's continuity sheet, with the drill it just ran and the modem it drove
    plan = (tmp_path / "plan.html").read_text()
    assert f"plan:   {tmp_path / 'plan.html'}" in out and "Plan de continuité Internet" in plan
    assert plan.count('<tr class="contact">') == 2 and "IMEI 8675" in plan and "complet: réussi" in plan
    # `relais plan` on the demo site's configuration: the same sheet, and it prints on one A4 page (the issue's
    # "Done when"), its UPS listed with the equipment
    sheet = tmp_path / "plan-again.html"
    again = subprocess.run([sys.executable, "-m", "agent.cli", "plan", "--config", str(tmp_path / "config.toml"),
                            "--format", "html", "-o", str(sheet)], cwd=ROOT, capture_output=True, text=True,
                           timeout=60)
    assert again.returncode == 0, again.stderr
    assert "Onduleur" in sheet.read_text() and "onduleur@127.0.0.1:" in sheet.read_text()
    from tests.report.test_chromium import pdf_pages, run_chromium
    pdf = tmp_path / "plan.pdf"
    printed = run_chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", sheet.as_uri())
    assert printed.returncode == 0 and pdf_pages(pdf.read_bytes()) == 1, printed.stderr[-2000:]
