"""What the sheet reads from the box: the router's model, the status file, the ledger's recent drills."""
from __future__ import annotations

import json
import os

from agent.config import from_dict
from agent.core import Core, WallClock
from agent.ledger import attach
from agent.ledger.schema import read_period
from agent.plan.sources import read_status_file, recent_drills, router_model
from tests.report.periods import at


def test_the_router_model_from_the_device_tree_or_dmi(tmp_path):
    assert router_model(tmp_path) is None
    dmi = tmp_path / "sys/class/dmi/id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("PC Engines\n")
    (dmi / "product_name").write_text("apu2\n")
    assert router_model(tmp_path) == "PC Engines apu2"
    (dmi / "sys_vendor").write_text("To Be Filled By O.E.M.\n")
    assert router_model(tmp_path) == "apu2"
    tree = tmp_path / "proc/device-tree"
    tree.mkdir(parents=True)
    (tree / "model").write_bytes(b"Raspberry Pi 4 Model B Rev 1.4\x00")
    assert router_model(tmp_path) == "Raspberry Pi 4 Model B Rev 1.4"      # the board's own words first


def test_the_status_file_or_nothing(tmp_path):
    path = tmp_path / "status.json"
    assert read_status_file(path) == ({}, None)
    path.write_text(json.dumps({"state": {"modem": {"imei": "1"}}}))
    os.utime(path, (1000, 1000))
    assert read_status_file(path) == ({"modem": {"imei": "1"}}, 1000)
    for garbage in ("{", "[1, 2]", '{"state": 3}', "\xff"):
        path.write_text(garbage)
        assert read_status_file(path) == ({}, None)


def test_recent_drills_from_the_ledger(tmp_path):
    assert recent_drills(read_period, tmp_path / "ledger.db", at(2026, 11, 15)) == (None, None)
    wall = [at(2026, 3, 1, 3)]
    core = Core(monotonic=lambda: wall[0], wall=WallClock(lambda: wall[0], lambda: "ntp"))
    ledger = attach(core, from_dict({"storage": {"dir": str(tmp_path)}}))
    for when, ok in ((at(2026, 3, 1, 3), True), (at(2026, 9, 1, 3), False)):
        wall[0] = when
        core.emit("drill_result", kind="full", ok=ok, recovery_s=2.0, services=[])
    core.drain()
    ledger.db.close()
    # the latest drill 75 days back: not in the short window, found (with an older one) in the long one
    drills, problem = recent_drills(read_period, tmp_path / "ledger.db", at(2026, 11, 15))
    assert problem is None and [(d.ts, d.ok) for d in drills] == [(at(2026, 3, 1, 3), True), (at(2026, 9, 1, 3), False)]
    drills, _ = recent_drills(read_period, tmp_path / "ledger.db", at(2026, 9, 20))      # the short window is enough
    assert [d.ts for d in drills] == [at(2026, 9, 1, 3)]
    # nothing within 400 days: an empty list (a ledger without drills), not None (no ledger)
    assert recent_drills(read_period, tmp_path / "ledger.db", at(2028, 1, 1)) == ([], None)


def test_a_ledger_that_is_not_one_is_said(tmp_path):
    bad = tmp_path / "ledger.db"
    bad.write_text("not a database at all" * 100)
    drills, problem = recent_drills(read_period, bad, at(2026, 11, 15))
    assert drills is None and problem.startswith(f"{bad}: cannot read the ledger (")


def test_the_packaged_example_loads_once_uncommented():
    """packaging/relais.toml's commented [[contacts]] and [plan] example is a configuration the loader takes."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "packaging/relais.toml").read_text(encoding="utf-8")
    block = text[text.index("# The one-page continuity sheet"):].split("\n\n")[0]
    lines = [line[2:] for line in block.splitlines()[1:] if line.startswith("# ") and not line.startswith("# (")]
    import tomllib
    config = from_dict(tomllib.loads("\n".join(lines)), source="packaging/relais.toml")
    assert [c.name for c in config.contacts] == ["Julien Martin", "InfoLyon Services"]
    assert config.plan.router and len(config.plan.equipment) == 2 and config.plan.steps == ()
