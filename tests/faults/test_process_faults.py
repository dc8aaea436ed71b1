"""Fault catalogue, process: kill -9 at every write point of the outbox and the ledger (a sweep, not a sample), and
SIGTERM in the middle of a modem command.

The sweep: a forked child builds the agent's storage parts (the MQTT outbox and the outage ledger, each on its own
SQLite file) and emits a fixed story (a failover that opens an outage, events, the failback that closes it, a SIM
switch). Every SQL statement either of them executes, schema included, is a write point: run k is SIGKILLed just
before statement k, for every k of an uninterrupted run. After each kill the agent starts again on the same files
and goes on. Every event whose emit() had returned ("accepted") must be in the outbox; seq never goes back; the
ledger's outage is open or closed as the accepted events say.
"""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.catalogue import Outcome
from tests.faults.storage_faults import kill_at_statement

STORY = [("failover", {"reason": "blackhole", "to": "backup"}), ("test_event", {}), ("sim_switch", {"to": 2}),
         ("test_event", {}), ("failback", {"to": "primary"}), ("test_event", {})]


def _child(storage: Path, accepted: Path, kill_at: int, tag: str, count_file: Path | None = None) -> None:
    """Runs in the forked child: never returns (os._exit)."""
    statements = kill_at_statement(kill_at)
    try:
        from agent.config import from_dict
        from agent.core import Core
        from agent.ledger import attach as attach_ledger
        from agent.mqtt import attach as attach_reporter
        config = from_dict({"device": {"id": "dev-k"}, "storage": {"dir": str(storage)},
                            "mqtt": {"host": "127.0.0.1", "port": 9, "payload": "json"}})
        core = Core()
        reporter = attach_reporter(core, config)
        attach_ledger(core, config)
        core.drain()                                  # storage_reset, if any, is emitted from a timer
        with open(accepted, "a") as out:
            for i, (kind, data) in enumerate(STORY):
                core.emit(kind, tag=f"{tag}{i}", **data)
                out.write(f"{tag}{i}\n")             # emit() returned: accepted
                out.flush()
        reporter.close()
        if count_file is not None:
            count_file.write_text(str(statements()))
        os._exit(0 if kill_at == 0 else 3)
    except BaseException:
        import traceback
        traceback.print_exc()
        os._exit(2)
    finally:
        os._exit(4)


def run_child(storage: Path, accepted: Path, kill_at: int, tag: str) -> tuple[str, int]:
    pid = os.fork()
    if pid == 0:
        _child(storage, accepted, kill_at, tag)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "killed", os.WTERMSIG(status)
    return "exited", os.WEXITSTATUS(status)


def count_statements(tmp_path: Path) -> int:
    """Statements of one uninterrupted run: the number of write points to sweep."""
    counter = tmp_path / "statements"
    pid = os.fork()
    if pid == 0:
        _child(tmp_path / "count", tmp_path / "count.txt", 0, "c", counter)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return int(counter.read_text())


def outbox_events(storage: Path) -> list[dict]:
    conn = sqlite3.connect(storage / "mqtt.db")
    try:
        rows = conn.execute("SELECT seq, payload FROM outbox WHERE kind='event' ORDER BY seq").fetchall()
    finally:
        conn.close()
    return [dict(json.loads(p), _seq=s) for s, p in rows]


def not_observed(storage: Path) -> list[tuple]:
    conn = sqlite3.connect(storage / "ledger.db")
    try:
        return conn.execute("SELECT start, end FROM incidents WHERE kind='not_observed' ORDER BY id").fetchall()
    finally:
        conn.close()


def outages(storage: Path) -> list[tuple]:
    """The primary's outages (the ledger's version 1 table holds every kind of incident of every link)."""
    conn = sqlite3.connect(storage / "ledger.db")
    try:
        return conn.execute("SELECT start, end FROM incidents WHERE link='primary' AND kind='down' "
                            "ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_kill9_at_every_write_point(tmp_path):
    points = count_statements(tmp_path)
    assert points > 20, points                           # the schema and every event's transaction
    start = time.perf_counter()
    runs = lost = 0
    worst_open = 0
    for k in range(1, points + 1):
        storage, accepted = tmp_path / f"k{k}", tmp_path / f"k{k}.txt"
        how, _ = run_child(storage, accepted, k, "a")
        assert how == "killed", (k, how)
        how, code = run_child(storage, accepted, 0, "b")  # the agent restarts on the same files and goes on
        assert (how, code) == ("exited", 0), (k, how, code)
        runs += 1
        tags = accepted.read_text().split("\n")[:-1]
        events = outbox_events(storage)
        seen = {e["data"].get("tag") for e in events}
        missing = [t for t in tags if t not in seen]
        lost += len(missing)
        assert not missing, f"kill before statement {k}: accepted events lost: {missing}"
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (k, seqs)
        # An outage the killed run opened and did not close is closed by the restart at the killed run's last
        # heartbeat ("closed at restart"); the restarted run's failover opens its own and its failback closes it.
        # One the killed run closed stays closed. (The ledger may be one step ahead of "accepted": a kill between
        # the ledger's commit and emit() returning.)
        rows = outages(storage)
        a_failover, a_failback = "a0" in tags, "a4" in tags
        assert len(rows) == 2 if a_failback else len(rows) in (1, 2), (k, rows)
        assert all(end is not None for _, end in rows), (k, rows)
        gaps = not_observed(storage)       # the killed run's time away, once it had written a heartbeat
        assert len(gaps) <= 1 and all(end is not None and end >= start for start, end in gaps), (k, gaps)
        worst_open += a_failover and not a_failback
    took = time.perf_counter() - start
    Outcome("process", "kill -9 at every write point", f"{points} write points swept (schema included), each "
            f"killed then restarted: every accepted event kept, seq never reused; {worst_open} runs left an open "
            "outage for the restart to close at their last heartbeat", runs * len(STORY) * 2, lost, None).report()
    print(f"sweep: {points} points in {took:.1f} s")


def test_sigterm_mid_command(tmp_path):
    """`relais run` stopped with SIGTERM while the modem is in the middle of a slow command (the simulator hangs):
    the agent stops within its stop timeout, exits 0, and what it accepted is in the outbox."""
    import subprocess
    from tests.cellular.test_relais_run import RELAIS  # the command line the other real-process tests use
    link = tmp_path / "modem"
    sim = subprocess.Popen(RELAIS + ["sim", "--vendor", "quectel-ec25", "--link", str(link), "--speed", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        config = tmp_path / "relais.toml"
        config.write_text(f'[device]\nid = "t"\n[modem]\nport = "{link}"\n[board]\nbackend = "simulated"\n'
                          f'led = "none"\n[storage]\ndir = "{tmp_path / "state"}"\n'
                          '[mqtt]\nhost = "127.0.0.1"\nport = 9\npayload = "json"\n')
        agent = subprocess.Popen(RELAIS + ["run", "--config", str(config)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        try:
            status = tmp_path / "state" / "status.json"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if status.exists() and '"registration": "home"' in status.read_text():
                    break
                time.sleep(0.1)
            else:
                pytest.fail("the agent never saw the modem registered")
            subprocess.run(RELAIS + ["sim-ctl", str(link), "hang", "60"], check=True, capture_output=True)
            time.sleep(0.5)              # let a poll command go out into the hang (a positive wait would be better)
            t0 = time.monotonic()
            agent.send_signal(signal.SIGTERM)
            out, _ = agent.communicate(timeout=30)
            stopped = time.monotonic() - t0
        finally:
            if agent.poll() is None:
                agent.kill()
    finally:
        sim.terminate()
        sim.wait(10)
    assert agent.returncode == 0, out[-2000:]
    assert "Traceback" not in out, out[-3000:]
    events = outbox_events(tmp_path / "state")
    assert stopped < 15, stopped
    Outcome("process", "SIGTERM mid-command (modem hung)", f"stopped cleanly in {stopped:.1f} s, exit 0, outbox "
            "intact", len(events), 0, stopped).report()
