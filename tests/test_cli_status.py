"""`relais status` after the agent stopped says the snapshot is old and exits 3; the status file is readable by a
technician who is not root (issue 12, defect 8)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

from agent.core import Core
from agent.status_file import EXIT_LIVE, EXIT_STALE, STALE_AFTER_S, TOUCH_EVERY_S, StatusFile
from tests.virtual import FakeClock

SNAPSHOT = {"state": {"device": {"id": "dev-1"}}, "recent_events": []}


def status(storage, *extra):
    return subprocess.run([sys.executable, "-m", "agent.cli", "status", "--storage", str(storage), *extra],
                          capture_output=True, text=True, timeout=30)


def test_a_fresh_file_is_shown_as_live(tmp_path):
    (tmp_path / "status.json").write_text(json.dumps(SNAPSHOT))
    r = status(tmp_path)
    assert r.returncode == EXIT_LIVE, r.stderr
    assert r.stdout.startswith("relais dev-1")
    assert "not running" not in r.stdout             # no age line above a fresh snapshot
    # no agent answers on a console socket here: `relais status` says it shows the file instead (issue 12 §4)
    assert r.stderr.startswith("relais status: no answer from the agent (") and "status.json, written" in r.stderr


def test_an_old_file_shows_its_age_and_exits_3(tmp_path):
    path = tmp_path / "status.json"
    path.write_text(json.dumps(SNAPSHOT))
    old = time.time() - 5 * 60 - 10
    os.utime(path, (old, old))
    r = status(tmp_path)
    assert r.returncode == EXIT_STALE == 3
    first = r.stdout.splitlines()[0]
    assert first.startswith("as of " + time.strftime("%Y-%m-%d %H:%M", time.localtime(old)))
    assert "5 min ago" in first and "the agent is not running?" in first
    assert "relais dev-1" in r.stdout
    r = status(tmp_path, "--json")               # stdout stays one JSON object; the age goes to stderr
    assert r.returncode == EXIT_STALE
    assert json.loads(r.stdout) == SNAPSHOT
    assert "5 min ago" in r.stderr


def test_the_agent_writes_status_0644_and_keeps_it_fresh_while_nothing_changes(tmp_path):
    clock = FakeClock()
    core = Core(monotonic=clock)
    path = tmp_path / "status.json"
    StatusFile(core, path)

    def run_for(seconds: float) -> None:
        end = clock() + seconds
        while (due := core.next_timer_at()) is not None and due <= end:
            clock.now = max(clock.now, due)
            core.step(0)
        clock.now = end

    run_for(1.5)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.utime(path, (0, 0))                       # as if written long ago: only a touch can make it new again
    run_for(TOUCH_EVERY_S - 2)
    assert path.stat().st_mtime == 0             # state unchanged, not yet due: the flash is left alone
    run_for(3)
    assert time.time() - path.stat().st_mtime < STALE_AFTER_S


def test_a_secret_in_the_state_is_written_masked(tmp_path):
    from agent.config import Secret
    clock = FakeClock()
    core = Core(monotonic=clock)
    path = tmp_path / "status.json"
    core.state["mqtt"] = {"password": Secret("hunter2-PIN-1234"), "rtt": float("nan")}
    status_file = StatusFile(core, path)
    status_file.stop()                           # writes once more, now
    text = path.read_text()
    assert "hunter2" not in text
    doc = json.loads(text)
    assert doc["state"]["mqtt"] == {"password": "***", "rtt": None}


def test_a_stopped_agent_is_said_at_once(tmp_path):
    core = Core(monotonic=FakeClock())
    core.state["device"] = {"id": "dev-1"}
    StatusFile(core, tmp_path / "status.json").stop()
    r = status(tmp_path)
    assert r.returncode == EXIT_STALE
    assert r.stdout.splitlines()[0].endswith("s ago: the agent stopped")
    assert "relais dev-1" in r.stdout
