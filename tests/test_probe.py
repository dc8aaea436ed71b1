"""`relais modem probe --json` identifies every simulator personality (a real pty, the real CLI process)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from modem import vendors
from modem.simulator import PERSONALITIES, Simulator

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("manufacturer", "model", "revision", "imei", "sim_state", "iccid", "imsi", "slot", "registration",
        "operator", "rat", "signal")


@pytest.mark.parametrize("name", sorted(PERSONALITIES))
def test_probe_identifies_personality(name, tmp_path):
    link = str(tmp_path / "ttyUSB2")
    with Simulator(vendor=name, link=link, speed=0) as sim:
        proc = subprocess.run([sys.executable, "-m", "agent.cli", "modem", "probe", "--port", link, "--json"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        model = sim.model
    assert set(KEYS) <= set(info)
    p = PERSONALITIES[name]
    assert info["vendor"] == name.split("-")[0]
    assert info["manufacturer"] == p.manufacturer.strip('"')
    model_name = p.model.strip('"')
    assert info["model"].startswith(model_name) or model_name.startswith(info["model"])
    assert info["imei"] == p.imei
    assert info["sim_state"] == "READY"
    assert info["iccid"] == model.sim.card.iccid
    assert info["imsi"] == model.sim.card.imsi
    assert info["registration"] == "home"
    assert (info["mcc"], info["mnc"]) == (model.operator_plmn[:3], model.operator_plmn[3:])
    assert info["rat"] in ("LTE", "NR5G-NSA", "NR5G-SA")
    assert info["signal"]["rsrp_dbm"] == model.rsrp
    if len(p.sims) > 1 and vendors.get(name).sim_slot_query:
        assert info["slot"] == model.active_slot


def test_probe_of_a_missing_port_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "agent.cli", "modem", "probe", "--port", str(tmp_path / "none"),
                           "--wait", "0.5"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "could not open" in proc.stderr and "Traceback" not in proc.stderr
