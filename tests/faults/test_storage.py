"""Fault catalogue, storage: the agent on a full, small, read-only, locked, corrupt or impossible storage keeps
running, loses no accepted event and never sends a seq lower than one already sent (issue 10, defects 1, 2, 3, 5,
storage half of 7). Each scenario prints its measured outcome (`[fault] storage/...`)."""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from agent.config import load
from agent.core import Core
from agent.ledger import attach as attach_ledger
from agent.mqtt import attach as attach_reporter
import json
from agent.mqtt.config_update import dump_toml
from agent.status_file import StatusFile
from tests.faults.storage_faults import (Outcome, eventually, fill, locked_by_another_process, remount, tmpfs,
                                         unfill)
from tests.mqtt.conftest import broker  # noqa: F401  (the fixture)


def config_at(tmp_path: Path, store: Path, name: str = "dev-s"):
    doc = {"device": {"id": name}, "modem": {"port": "/dev/null"}, "board": {"backend": "simulated"},
           "mqtt": {"host": "127.0.0.1", "port": 1, "payload": "json"}, "storage": {"dir": str(store)}}
    path = tmp_path / f"{name}.toml"
    path.write_text(dump_toml(doc))
    return load(path)


class Agent:
    """The core and the parts that write to storage (reporter's outbox, ledger, status file); no broker: the
    outbox is what would be sent."""

    def __init__(self, config, status: bool = False):
        self.core = Core()
        self.reporter = attach_reporter(self.core, config)
        self.ledger = attach_ledger(self.core, config)
        self.status = StatusFile(self.core, Path(config.storage.dir) / "status.json") if status else None
        self.core.drain()

    def emit(self, n: int, start: int = 0, kind: str = "test_event") -> None:
        for i in range(start, start + n):
            self.core.emit(kind, tag=i)
        self.core.drain()

    def sent(self) -> list[dict]:
        """What the link would send, decoded, in order."""
        return [json.loads(p.payload) for p in self.reporter.outbox.pending(limit=10**6)]

    def events(self, kind: str) -> list[dict]:
        return [m for m in self.sent() if m.get("kind") == kind]

    def tags(self) -> list[int]:
        return [m["data"]["tag"] for m in self.events("test_event")]

    def close(self) -> None:
        self.reporter.close()
        self.ledger.db.close()


def flushed(agent: Agent) -> bool:
    return (agent.reporter.outbox.in_memory == 0 and agent.reporter.db.problem is None
            and agent.ledger.db.queued == 0)


def assert_seq_increasing(messages: list[dict]) -> None:
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs


# ---- defect 1: a healthy file is not "corrupt" -------------------------------------------------------------
@pytest.mark.root
def test_full_disk_at_start_keeps_the_healthy_file_and_its_unsent_events(tmp_path, caplog):
    with tmpfs(tmp_path / "flash", "1m") as store:
        config = config_at(tmp_path, store)
        before = Agent(config)
        before.emit(12)
        old = before.sent()
        before.close()
        fill(store)
        caplog.set_level(logging.WARNING)
        agent = Agent(config)                                  # restart on a full disk
        assert not [p.name for p in store.iterdir() if ".corrupt-" in p.name], "a healthy file was set aside"
        assert "moved aside" not in caplog.text
        agent.emit(5, start=12)                                # accepted while the disk is full
        t0 = time.monotonic()
        unfill(store)
        recovery = eventually(lambda: flushed(agent), what="the outbox reaches the disk") + (time.monotonic() - t0)
        tags = agent.tags()
        assert sorted(tags) == list(range(17)), tags
        sent = agent.sent()
        assert_seq_increasing(sent)
        assert min(m["seq"] for m in agent.events("test_event") if m["data"]["tag"] >= 12) > max(
            m["seq"] for m in old)
        assert not agent.events("storage_reset")
        said = [m["data"]["problem"] for m in agent.events("storage_unavailable")]
        assert said, "the fault was not evented"
        agent.close()
    Outcome("full at start", f"healthy file kept, runs on memory ({said[0]}), flushed when space returned",
            17, 17 - len(tags), recovery, ["storage_unavailable", "storage_recovered"]).report()


def test_a_really_corrupt_file_is_set_aside_evented_and_seq_never_goes_back(tmp_path):
    store = tmp_path / "flash"
    config = config_at(tmp_path, store)
    before = Agent(config)
    before.emit(70)                                            # more than one block of seq
    top = max(m["seq"] for m in before.sent())
    before.close()
    (store / "mqtt.db").write_bytes(b"flash went bad" * 300)
    agent = Agent(config)
    resets = agent.events("storage_reset")
    assert resets and resets[0]["data"]["store"] == "mqtt", agent.sent()
    assert [p.name for p in store.iterdir() if p.name.startswith("mqtt.db.corrupt-")]
    agent.emit(3, start=70)
    assert min(m["seq"] for m in agent.sent()) > top
    assert_seq_increasing(agent.sent())
    agent.close()
    Outcome("corrupt for real", "set aside after a failed integrity check, new file, seq continues above "
            f"{top}", 3, 0, 0.0, ["storage_reset"]).report()


# ---- defect 2: a small storage -----------------------------------------------------------------------------
@pytest.mark.root
def test_a_200_kib_storage_starts_and_keeps_the_newest_events(tmp_path, caplog):
    from agent.runtime import build
    with tmpfs(tmp_path / "flash", "200k") as store:
        config = config_at(tmp_path, store)
        caplog.set_level(logging.WARNING)
        rt = build(config)                                     # all three files, the status file
        rt.core.drain()
        agent = Agent.__new__(Agent)
        agent.core, agent.reporter, agent.ledger = rt.core, rt.reporter, rt.ledger
        agent.emit(1500)                                       # ~200 KiB of events: more than the disk holds
        tags = agent.tags()
        assert tags == list(range(1500)), "an accepted event was lost"
        short = agent.events("storage_unavailable")
        assert short and "full" in short[0]["data"]["problem"], [m.get("kind") for m in agent.sent()[:5]]
        assert "Traceback" not in caplog.text
        held = agent.reporter.outbox.in_memory
        assert held > 0
        stored = agent.reporter.outbox.count() - held
        rt.stop()
        agent.close()
    Outcome("200 KiB storage", f"starts; the disk took {stored} messages, the {held} newest wait in memory",
            1500, 1500 - len(tags), None, ["storage_unavailable"]).report()


# ---- defect 3: a disk that fills while running ------------------------------------------------------------
@pytest.mark.root
def test_events_wait_in_memory_while_the_disk_is_full_and_reach_it_later(tmp_path, caplog):
    with tmpfs(tmp_path / "flash", "1m") as store:
        config = config_at(tmp_path, store)
        agent = Agent(config, status=True)
        agent.emit(3)
        fill(store)
        caplog.set_level(logging.WARNING)
        agent.emit(20, start=3)
        for i in range(10):                                    # ten seconds of status-file writes, each failing
            agent.core.state["tick"] = i
            agent.status._write(agent.core.now())
        assert "event sink" not in caplog.text
        assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
        assert sum("status file" in r.getMessage() for r in caplog.records) == 1
        assert agent.reporter.outbox.in_memory >= 20
        t0 = time.monotonic()
        unfill(store)
        recovery = eventually(lambda: flushed(agent), what="memory reaches the disk") + (time.monotonic() - t0)
        agent.core.state["tick"] = "after"
        agent.status._write(agent.core.now())
        assert '"after"' in (store / "status.json").read_text()
        tags = agent.tags()
        assert tags == list(range(23))
        assert_seq_increasing(agent.sent())
        agent.close()
    Outcome("full while running", "events held in memory, status file warns once, all written when space "
            "returned", 23, 23 - len(tags), recovery, ["storage_unavailable"]).report()


def test_memory_overflow_drops_oldest_telemetry_first_and_says_so(tmp_path):
    store = tmp_path / "flash"
    agent = Agent(config_at(tmp_path, store))
    box = agent.reporter.outbox
    box.memory_max = 20
    with locked_by_another_process(store / "mqtt.db"):
        for i in range(10):
            box.add("telemetry", agent.reporter.topics.telemetry, 0, lambda seq: b"{}")
        agent.emit(15)                                     # over 20 with the storage events: telemetry goes
        events = len([m for m in agent.sent() if "kind" in m])
        assert events >= 15 and box.in_memory == 20
        agent.reporter._telemetry_tick(agent.core.now())
        agent.core.drain()
        dropped = agent.events("outbox_dropped")
        assert [d["data"] for d in dropped] == [{"telemetry": 10 + events - 20, "memory_max": 20}]
        assert agent.tags() == list(range(15))
    agent.close()
    Outcome("memory overflow (disk refusing for long)", "oldest telemetry dropped first, counted, evented", 15, 0,
            None, ["outbox_dropped"]).report()


def test_a_file_deleted_under_the_agent_is_restored_with_what_it_held(tmp_path):
    import sqlite3
    store = tmp_path / "flash"
    agent = Agent(config_at(tmp_path, store))
    agent.emit(5)
    for p in store.glob("mqtt.db*"):                      # rm /var/lib/relais/mqtt.db*
        p.unlink()
    agent.emit(3, start=5)                                 # seen at once: these wait in memory
    recovery = eventually(lambda: flushed(agent) and (store / "mqtt.db").exists(), what="the file is restored")
    assert agent.tags() == list(range(8))
    assert_seq_increasing(agent.sent())
    conn = sqlite3.connect(store / "mqtt.db")
    try:
        on_disk = [json.loads(p)["data"]["tag"] for (p,) in conn.execute(
            "SELECT payload FROM outbox ORDER BY seq") if json.loads(p).get("kind") == "test_event"]
    finally:
        conn.close()
    assert on_disk == list(range(8))                       # in the new file, not only in a deleted inode
    agent.close()
    Outcome("deleted under the agent", "restored from the open handle, memory written to the new file", 8, 0,
            recovery, ["storage_unavailable", "storage_recovered"]).report()


# ---- defect 4: a file locked by another process -----------------------------------------------------------
class Decide:
    """Stands for the failover decision: an input the core must handle promptly whatever storage does."""


def test_a_locked_file_never_blocks_the_core_and_loses_nothing(tmp_path):
    store = tmp_path / "flash"
    config = config_at(tmp_path, store)
    agent = Agent(config)
    decided: list[float] = []
    agent.core.subscribe(Decide, lambda item, now: (decided.append(now),
                                                    agent.core.emit("failover", reason="primary_down")))
    steps: list[float] = []
    with locked_by_another_process(store / "mqtt.db"), locked_by_another_process(store / "ledger.db"):
        for i in range(5):
            agent.core.post(Decide())
            agent.core.emit("test_event", tag=i)
            t0 = time.perf_counter()
            agent.core.drain()
            steps.append(time.perf_counter() - t0)
        assert len(decided) == 5
        assert max(steps) < 0.5, steps                         # was ~10 s per write (SQLite busy timeout)
        assert agent.reporter.outbox.in_memory >= 10
        assert agent.tags() == list(range(5))                  # sendable from memory meanwhile
        t0 = time.monotonic()
    recovery = eventually(lambda: flushed(agent), what="memory reaches the disk") + (time.monotonic() - t0)
    assert agent.tags() == list(range(5)) and len(agent.events("failover")) == 5
    assert_seq_increasing(agent.sent())
    assert agent.ledger.db.query("SELECT COUNT(*) FROM incidents WHERE link='primary' AND kind='down'")[0][0] == 1, \
        "one outage, later failovers join it"
    agent.close()
    Outcome("locked by another process", f"core step max {max(steps) * 1000:.1f} ms, writes held in memory",
            10, 0, recovery, ["storage_unavailable"]).report()


# ---- defect 5: read-only, or not a directory at all --------------------------------------------------------
@pytest.mark.root
def test_a_read_only_storage_runs_on_memory_without_traceback_or_false_reset(tmp_path, caplog):
    with tmpfs(tmp_path / "flash", "1m") as store:
        config = config_at(tmp_path, store)
        before = Agent(config)
        before.emit(5)
        top = max(m["seq"] for m in before.sent())
        before.close()
        remount(store, "ro")
        caplog.set_level(logging.WARNING)
        agent = Agent(config, status=True)
        agent.emit(5, start=5)
        agent.status._write(agent.core.now())
        assert "moved aside" not in caplog.text and "Traceback" not in caplog.text
        assert not [r for r in caplog.records if r.exc_info]
        problem = agent.reporter.db.problem
        assert problem, "read-only storage not reported"
        assert [m["data"]["tag"] for m in agent.events("test_event")] == list(range(5, 10))
        assert min(m["seq"] for m in agent.sent()) > top
        t0 = time.monotonic()
        remount(store, "rw")
        recovery = eventually(lambda: flushed(agent), what="memory reaches the disk") + (time.monotonic() - t0)
        assert agent.tags() == list(range(10))
        assert_seq_increasing(agent.sent())
        agent.close()
    Outcome("read-only", f"runs on memory ({problem}), no reset; written when remounted rw", 10, 0, recovery,
            ["storage_unavailable"]).report()


def test_a_storage_dir_that_is_a_file_gives_one_line_and_runs_on_memory(tmp_path, caplog):
    from agent.runtime import build
    store = tmp_path / "not-a-dir"
    store.write_text("oops")
    config = config_at(tmp_path, store)
    caplog.set_level(logging.WARNING)
    rt = build(config)
    rt.core.drain()
    rt.core.emit("test_event", tag=0)
    rt.parts["status_file"]._write(rt.core.now())
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]
    assert "running on memory" in caplog.text
    pending = [json.loads(p.payload) for p in rt.reporter.outbox.pending()]
    assert [m["data"]["tag"] for m in pending if m.get("kind") == "test_event"] == [0]
    assert any(m.get("kind") == "storage_unavailable" for m in pending)
    rt.stop()
    Outcome("dir is a file", "one line, runs on memory, events still sendable", 1, 0, None,
            ["storage_unavailable"]).report()


# ---- no worker thread dies silently ------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")   # the thread dies on purpose
def test_a_worker_thread_that_dies_stops_the_agent_with_a_non_zero_status(tmp_path):
    from agent.runtime import EXIT_THREAD_DIED, Runtime
    clock = [0.0]
    rt = Runtime(config=None, core=Core(monotonic=lambda: clock[0]))
    kinds: list[str] = []
    rt.core.add_sink(lambda e: kinds.append(e.kind))
    supervisor = rt.supervise()
    try:
        def work() -> None:
            raise ValueError("baud must be positive")
        t = threading.Thread(target=work, name="at-io:ttyUSB2")
        t.start()
        t.join()
        clock[0] = 1.0
        rt.core.drain()
        assert rt.exit_code == EXIT_THREAD_DIED and rt._stop.is_set()
        assert kinds == ["thread_died"]
    finally:
        supervisor.close()
    Outcome("worker thread died", f"agent stops with exit {EXIT_THREAD_DIED}: the service manager restarts it",
            0, 0, None, ["thread_died"]).report()


# ---- end to end: the agent process, a broker, a fault at start, a restart ----------------------------------
def agent_process(config: Path, tag: str, accepted: Path):
    import subprocess
    import sys
    from tests.mqtt.kill9 import REPO
    return subprocess.Popen([sys.executable, "-m", "tests.mqtt.agent_proc", "--config", str(config), "--emit-every",
                             "0.05", "--tag", tag, "--accepted", str(accepted)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=open(accepted.with_name(f"agent-{tag}.log"), "w"))


def stop(proc) -> None:
    import signal
    import subprocess
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise AssertionError("the agent did not stop within 15 s of SIGTERM (see agent-*.log)") from None


@pytest.mark.mosquitto
@pytest.mark.slow
@pytest.mark.parametrize("fault", ["locked", "full", "read-only"])
def test_an_agent_started_on_a_faulty_storage_loses_nothing_and_seq_never_goes_back(fault, broker, tmp_path):
    """The agent process starts on a locked / full / read-only storage and emits events; the broker must get every
    accepted one. The fault is then repaired and the agent restarted: it goes on above every seq it sent."""
    import contextlib
    import signal
    from agent.mqtt.outbox import SCHEMA
    from agent.storage import Db
    from tests.mqtt.conftest import write_config
    from tests.mqtt.fleet import Fleet
    if fault != "locked":
        from tests.faults.storage_faults import require_root
        require_root()
    device = "dev-f"
    store = tmp_path / f"store-{device}"
    config = write_config(tmp_path, broker, device)
    accepted = tmp_path / "accepted.txt"
    with contextlib.ExitStack() as stack:
        if fault == "locked":
            for name in ("mqtt.db", "ledger.db"):
                Db(store / name, SCHEMA).close()
            stack.enter_context(locked_by_another_process(store / "mqtt.db"))
            stack.enter_context(locked_by_another_process(store / "ledger.db"))
        else:
            stack.enter_context(tmpfs(store, "1m"))
            Db(store / "mqtt.db", SCHEMA).close()
            fill(store) if fault == "full" else remount(store, "ro")
        with Fleet(broker, client_id="fleet-f", subscribe=f"relais/v1/{device}/#") as fleet:
            proc = agent_process(config, "a", accepted)
            try:
                eventually(lambda: len(fleet.events(device, "test_event")) >= 20, what="events from run a")
                assert fleet.events(device, "storage_unavailable"), "the fault was not evented"
            finally:
                stop(proc)
            first = fleet.events(device, "test_event")
            if fault == "full":
                unfill(store)
            elif fault == "read-only":
                remount(store, "rw")
            stack.pop_all().close() if fault == "locked" else None
            proc = agent_process(config, "b", accepted)
            t0 = time.monotonic()
            try:
                eventually(lambda: any(e["data"]["tag"].startswith("b-") for e in fleet.events(device, "test_event")),
                           what="events from run b")
                recovery = time.monotonic() - t0
                eventually(lambda: sum(e["data"]["tag"].startswith("b-") for e in fleet.events(device, "test_event"))
                           >= 10, what="more events from run b")
                tags = accepted.read_text().split("\n")[:-1]
                eventually(lambda: set(tags) <= {e["data"]["tag"] for e in fleet.events(device, "test_event")},
                           what="every accepted event delivered")
            finally:
                stop(proc)
            events = fleet.events(device, "test_event")
    delivered = {e["data"]["tag"] for e in events}
    lost = sorted(set(tags) - delivered)
    assert lost == []
    top_a = max(e["seq"] for e in first)
    assert min(e["seq"] for e in events if e["data"]["tag"].startswith("b-")) > top_a
    for run in ("a-", "b-"):
        seqs = [e["seq"] for e in events if e["data"]["tag"].startswith(run)]
        assert seqs == sorted(seqs)
    Outcome(f"agent process, {fault} at start", "ran on memory, delivered, restarted above the last seq",
            len(tags), len(lost), recovery, ["storage_unavailable"]).report()
