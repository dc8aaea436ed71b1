"""Fault catalogue, process, the ledger: the agent is killed (SIGKILL) during an outage and starts again. The open
incident must be closed at the last heartbeat the killed process wrote, the time it was away recorded as not
observed, and a link still failing must open a new incident. And an old ledger file migrated at start survives a
kill at each of its write points.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.catalogue import Outcome
from tests.faults.storage_faults import kill_at_statement

BEAT_S = 0.2   # the killed process's heartbeat period (the product's is a minute; the logic is the same)


def _killed_agent(storage: Path) -> None:
    """Runs in the forked child: an agent whose primary is down, its heartbeat ticking, until it is killed."""
    try:
        import threading

        import agent.ledger.store as store
        from agent.config import from_dict
        from agent.core import Core
        store.HEARTBEAT_S = BEAT_S
        core = Core()
        store.attach(core, from_dict({"storage": {"dir": str(storage)}}))
        wall, _ = core.wall.now()
        core.emit("link_down", link="primary", reason="no_answer", started_at=wall - 1.0, detect_s=1.0)
        core.emit("failover", to="backup", reason="no_answer", started_at=wall - 1.0)
        core.run(threading.Event())
    finally:
        os._exit(3)


def heartbeat(path: Path) -> float | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT ts FROM heartbeat WHERE id=1").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return row[0] if row else None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill9_during_an_outage_then_restart(tmp_path):
    from agent.config import from_dict
    from agent.core import Core
    from agent.ledger import attach, read_period
    from agent.ledger.records import ALL_LINKS, DOWN, NOT_OBSERVED
    storage = tmp_path / "flash"
    path = storage / "ledger.db"
    pid = os.fork()
    if pid == 0:
        _killed_agent(storage)
    try:
        first = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:           # two heartbeats after the first: it is running, on its timer
            ts = heartbeat(path) if path.exists() else None
            first = first if first is not None or ts is None else ts
            if ts is not None and first is not None and ts >= first + 2 * BEAT_S:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the agent never wrote its heartbeat")
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    last = heartbeat(path)
    time.sleep(0.5)                                   # the router is off for a while
    t0 = time.perf_counter()
    core = Core()
    events: list = []
    core.add_sink(events.append)
    ledger = attach(core, from_dict({"storage": {"dir": str(storage)}}))
    core.drain()
    took = time.perf_counter() - t0
    restarted = time.time()
    period = read_period(path, 0, 4e9)
    (down,) = [i for i in period.incidents if i.kind == DOWN]
    assert (down.link, down.carried_by, down.end, down.duration_basis) == ("primary", "backup", last, "wall")
    assert down.end_source == "unsynced" and "closed at restart" in down.evidence["closed"]
    (gap,) = [i for i in period.incidents if i.kind == NOT_OBSERVED]
    assert (gap.link, gap.start, gap.cause) == (ALL_LINKS, last, "agent_not_running")
    assert 0.5 <= gap.end - gap.start <= restarted - last and not gap.planned
    assert [e.data["closed_at_restart"][0]["link"] for e in events if e.kind == "not_observed"] == ["primary"]
    # still failing: the restarted failover controller says so again, and a new incident opens
    wall, _ = core.wall.now()
    core.emit("link_down", link="primary", reason="no_answer", started_at=wall - 1.0)
    ledger.db.close()
    reopened = [i for i in read_period(path, 0, 4e9).incidents if i.kind == DOWN]
    assert [i.end is None for i in reopened] == [False, True]
    Outcome("process", "kill -9 during an outage, restart", "open incident closed at the last heartbeat "
            f"({(last - down.start):.1f} s after its start); {gap.duration_s:.1f} s recorded as not observed; "
            "a new incident for the link still down", len(events), 0, took, ["not_observed"]).report()


def _migrating_child(storage: Path, kill_at: int) -> None:
    kill_at_statement(kill_at)
    try:
        from agent.config import from_dict
        from agent.core import Core
        from agent.ledger import attach
        core = Core()
        attach(core, from_dict({"storage": {"dir": str(storage)}})).db.close()
        os._exit(0 if kill_at == 0 else 3)
    finally:
        os._exit(4)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill9_at_every_write_point_of_the_migration(tmp_path):
    """A version 0 ledger (tests/ledger/data) migrated at start, killed before each SQL statement of that start in
    turn: the next start always finds the three old outages, once each, and the migration done."""
    v0 = Path(__file__).parents[1] / "ledger" / "data" / "ledger-v0.db"
    k, swept = 1, 0
    while True:
        storage = tmp_path / f"k{k}"
        storage.mkdir()
        shutil.copy(v0, storage / "ledger.db")
        pid = os.fork()
        if pid == 0:
            _migrating_child(storage, k)
        _, status = os.waitpid(pid, 0)
        if not os.WIFSIGNALED(status):                # the start ran to its end before statement k: all swept
            assert os.WEXITSTATUS(status) == 3, status
            break
        pid = os.fork()
        if pid == 0:
            _migrating_child(storage, 0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (k, status)
        conn = sqlite3.connect(storage / "ledger.db")
        try:
            assert conn.execute("PRAGMA user_version").fetchone() == (1,), k
            rows = conn.execute("SELECT start, end FROM incidents WHERE link='primary' ORDER BY start").fetchall()
            assert [start for start, _ in rows] == [1789999998.5, 1790004200.0, 1790090660.0], (k, rows)
            assert all(end is not None for _, end in rows), (k, rows)   # the open one: closed at this start
        finally:
            conn.close()
        k, swept = k + 1, swept + 1
    assert swept > 10, swept
    Outcome("process", "kill -9 at every write point of a ledger migration", f"{swept} write points swept: the "
            "version 0 outages always migrated once, never lost nor doubled", 0, 0, None).report()
