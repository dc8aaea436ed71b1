"""`make demo` is the main job on the embedded default: it must run by itself, do what it says and exit 0."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_runs_the_scenario_and_exits_0():
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "demo", "--fast"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "FAILED" not in out
    for expected in ("event failover", "event modem_reset", "event failback", "event drill_result",
                     "Outage ledger", "all steps passed"):
        assert expected in out, f"{expected!r} missing from the demo's output:\n{out}"
