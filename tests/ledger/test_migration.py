"""A ledger file written by the version 0 ledger (outages + drills; tests/ledger/data/ledger-v0.db, made by the code
of d611a1c: an outage, a drill's switch-over, a drill result, an outage still open) migrates in place at start."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from agent.ledger import read_period
from agent.ledger.records import DOWN
from agent.ledger.schema import SCHEMA_VERSION
from tests.ledger.rig import LedgerRig


def approx(x: float):
    """Wall-clock times are ~1.8e9: pytest.approx's default relative tolerance would accept half an hour."""
    return pytest.approx(x, rel=0, abs=1e-3)
from tests.virtual import WALL_EPOCH, FakeClock

V0 = Path(__file__).parent / "data" / "ledger-v0.db"
V0_ROWS = [(1789999998.5, 1790000588.5, 590.0, "no_answer", "backup", 0),
           (1790004200.0, 1790004260.0, 60.0, "drill", "backup", 1),
           (1790090660.0, None, None, "carrier_lost", "backup", 0)]
MIGRATED_AT = 1790090660.0 + 300


def test_a_version_0_file_is_read_before_and_after_its_migration(tmp_path):
    path = tmp_path / "ledger.db"
    shutil.copy(V0, path)
    before = read_period(path, 0, 4e9)                 # `relais report` on a file the agent has not migrated yet
    rig = LedgerRig(tmp_path, FakeClock(start=MIGRATED_AT - WALL_EPOCH))
    after = rig.period()
    assert [(i.start, i.end, i.duration_s, i.cause, i.carried_by, int(i.planned)) for i in before.incidents] == V0_ROWS
    # the outage still open when the version 0 agent stopped ends at this start, said so
    assert [(i.start, i.end, i.duration_s, i.cause, i.carried_by, int(i.planned)) for i in after.incidents] == \
        V0_ROWS[:2] + [(1790090660.0, MIGRATED_AT, 300.0, "carrier_lost", "backup", 0)]
    assert "version 0" in after.incidents[2].evidence["closed"] and after.incidents[2].end_source == "ntp"
    for period in (before, after):
        assert {(i.link, i.kind) for i in period.incidents} == {("primary", DOWN)}
        assert [(d.ok, d.data["reason"]) for d in period.drills] == [(True, "completed")]
    assert "version 0" in after.incidents[0].evidence["migrated"]
    assert after.observed_since == 1789999998.5          # the oldest record: the agent ran then
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='outages'").fetchone()
    finally:
        conn.close()
    assert rig.ledger.current() is None
    rig.advance(60)
    rig.emit("failback", to="primary", reason="recovered")    # nothing open any more: nothing closed
    assert not rig.of("outage_closed")
    rig.kill()
    again = LedgerRig(tmp_path, rig.clock)             # a second start migrates nothing twice
    assert [i.start for i in again.period().incidents if i.link == "primary"] == [r[0] for r in V0_ROWS]


# A kill at each write point of the migration: tests/faults/test_ledger_faults.py.
