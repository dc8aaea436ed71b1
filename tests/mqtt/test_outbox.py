import os
import random
import signal
import subprocess
import sys
import time

import pytest

from agent.storage import Db
from agent.mqtt.nonces import NonceStore
from agent.mqtt.outbox import SCHEMA, SEQ_BLOCK, Outbox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def open_outbox(path, max_messages=10000):
    return Outbox(Db(path, SCHEMA), max_messages)


def add(box, kind, n=1):
    return [box.add(kind, f"t/{kind}", 1, lambda seq: f"{kind}-{seq}".encode()) for _ in range(n)]


def test_rows_come_back_in_seq_order_and_leave_only_when_removed(tmp_path):
    box = open_outbox(tmp_path / "o.db")
    seqs = add(box, "event", 3) + add(box, "telemetry", 2)
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    pending = box.pending()
    assert [p.seq for p in pending] == seqs
    assert pending[0].payload == f"event-{seqs[0]}".encode() and pending[0].topic == "t/event"
    assert [p.seq for p in box.pending(after_seq=seqs[1], limit=2)] == seqs[2:4]
    box.remove(seqs[:2])
    assert [p.seq for p in box.pending()] == seqs[2:] and box.count() == 3


def test_seq_keeps_growing_across_restarts(tmp_path):
    path = tmp_path / "o.db"
    box = open_outbox(path)
    first = add(box, "event", 3) + [box.next_seq(), box.next_seq()]
    box.remove(first[:3])                    # an empty outbox must not reset the counter
    box.db.close()
    box = open_outbox(path)
    later = add(box, "event", 1) + [box.next_seq()]
    assert min(later) > max(first)
    box.db.close()
    box = open_outbox(path)
    assert box.next_seq() > max(later)


def test_seq_is_persisted_once_per_block_not_per_message(tmp_path):
    box = open_outbox(tmp_path / "o.db")
    box.next_seq()
    reserved = box.db.query("SELECT value FROM meta WHERE key='seq_reserved'")[0][0]
    for _ in range(SEQ_BLOCK - 2):
        box.next_seq()
    assert box.db.query("SELECT value FROM meta WHERE key='seq_reserved'")[0][0] == reserved


def test_the_bound_evicts_telemetry_first_oldest_first_and_never_events(tmp_path):
    box = open_outbox(tmp_path / "o.db", max_messages=100)
    tel = add(box, "telemetry", 60)
    ev = add(box, "event", 60)               # 120 > 100: the 20 oldest telemetry rows go
    kept = [p.seq for p in box.pending(limit=1000)]
    assert kept == tel[20:] + ev
    assert box.evicted == 20
    ev += add(box, "event", 50)              # only 40 telemetry rows left to give: then the bound is exceeded
    kept = [p.seq for p in box.pending(limit=1000)]
    assert kept == ev and box.count() == 110 and box.count("telemetry") == 0


def test_an_unreadable_file_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not a database" * 100)
    db = Db(path, SCHEMA)
    assert db.reset_reason and "unreadable" in db.reset_reason
    assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    add(Outbox(db), "event", 1)


class Locked:
    """Another connection holds the file with BEGIN EXCLUSIVE (SQLite locks across connections of one process
    like across processes); the outbox's own connection must not wait for it."""

    def __init__(self, path):
        import sqlite3
        self.conn = sqlite3.connect(path, isolation_level=None)

    def __enter__(self):
        self.conn.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc):
        self.conn.execute("ROLLBACK")
        self.conn.close()


def on_disk(path) -> list[int]:
    import sqlite3
    conn = sqlite3.connect(path)
    try:
        return [s for (s,) in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    finally:
        conn.close()


def test_a_locked_file_never_blocks_add_and_what_is_added_is_sent_and_later_written(tmp_path):
    path = tmp_path / "o.db"
    box = open_outbox(path)
    first = add(box, "event", 2)
    with Locked(path):
        waits = []
        later = []
        for _ in range(SEQ_BLOCK + 5):                      # across a seq block: the reservation waits too
            t0 = time.perf_counter()
            later += add(box, "event", 1)
            waits.append(time.perf_counter() - t0)
        assert max(waits) < 0.5, max(waits)                 # was SQLite's busy timeout: 10 s
        assert [p.seq for p in box.pending(limit=1000)] == first + later
        assert box.in_memory == len(later) and box.count() == len(first) + len(later)
    assert box.db.flush()
    assert on_disk(path) == first + later and box.in_memory == 0
    box.db.close()
    assert min(add(open_outbox(path), "event", 1)) > max(later)


def test_memory_is_bounded_oldest_telemetry_first_then_oldest_events_all_counted(tmp_path):
    path = tmp_path / "o.db"
    box = Outbox(Db(path, SCHEMA), max_messages=1000, memory_max=10)
    with Locked(path):
        tel = add(box, "telemetry", 6)
        ev = add(box, "event", 6)                          # 12 > 10: the two oldest telemetry go
        assert [p.seq for p in box.pending()] == tel[2:] + ev
        assert box.take_drops() == {"telemetry": 2} and box.take_drops() == {}
        ev += add(box, "event", 8)                         # 4 telemetry left to give, then the oldest events
        assert [p.seq for p in box.pending()] == ev[4:]
        assert box.take_drops() == {"telemetry": 4, "event": 4}
        assert box.dropped == {"telemetry": 6, "event": 4}
    box.db.close()


def test_acknowledged_while_locked_is_not_sent_again_nor_left_on_disk(tmp_path):
    path = tmp_path / "o.db"
    box = open_outbox(path)
    stored = add(box, "event", 3)
    with Locked(path):
        held = add(box, "event", 2)
        box.remove([stored[0], held[0]])                 # one on disk, one in memory
        assert [p.seq for p in box.pending()] == stored[1:] + held[1:]
        assert box.count() == 3
    assert box.db.flush()
    assert on_disk(path) == stored[1:] + held[1:]


def test_seq_survives_the_reset_of_a_corrupt_file(tmp_path):
    path = tmp_path / "o.db"
    box = Outbox(Db(path, SCHEMA), wall=lambda: 0.0)     # a clock at 1970 (no RTC): only storage remembers
    sent = add(box, "event", SEQ_BLOCK + 6)
    box.db.close()
    path.write_bytes(b"flash went bad" * 300)
    db = Db(path, SCHEMA)
    assert db.reset_reason
    assert min(add(Outbox(db, wall=lambda: 0.0), "event", 1)) > max(sent)


def test_a_run_whose_disk_took_nothing_still_cannot_make_seq_go_back(tmp_path):
    (tmp_path / "flash").write_text("not a directory: no write of any kind can succeed")
    path = tmp_path / "flash" / "o.db"
    clock = [1_000_000.0]
    box = Outbox(Db(path, SCHEMA), wall=lambda: clock[0])
    first = add(box, "event", 3 * SEQ_BLOCK)             # sent from memory, no reservation on disk
    box.db.close()
    clock[0] += 2.0                                      # a restart: systemd's RestartSec
    again = Outbox(Db(path, SCHEMA), wall=lambda: clock[0])
    assert min(add(again, "event", 1)) > max(first)
    again.db.close()


def test_a_file_that_cannot_be_opened_is_not_moved_and_says_why(tmp_path):
    (tmp_path / "flash").write_text("a file where the storage dir should be")
    db = Db(tmp_path / "flash" / "o.db", SCHEMA)
    assert db.reset_reason is None and db.problem and "Not a directory" in db.problem
    box = Outbox(db)
    seqs = add(box, "event", 3)
    assert [p.seq for p in box.pending()] == seqs         # still sendable from memory
    db.close()


def test_nonces_survive_a_restart_and_expire_with_the_window(tmp_path):
    path = tmp_path / "o.db"
    store = NonceStore(Db(path, SCHEMA))
    assert store.remember("nonce-0001", 1000.0, 1000.0, 300)
    assert not store.remember("nonce-0001", 1000.0, 1010.0, 300)
    store.db.close()
    store = NonceStore(Db(path, SCHEMA))
    assert not store.remember("nonce-0001", 1000.0, 1020.0, 300)
    assert store.remember("nonce-0002", 2000.0, 2000.0, 300)         # prunes nonce-0001 (stamped too long ago)
    assert store.db.query("SELECT nonce FROM nonces") == [("nonce-0002",)]


def test_nonces_are_still_checked_while_the_file_is_locked(tmp_path):
    path = tmp_path / "o.db"
    store = NonceStore(Db(path, SCHEMA))
    assert store.remember("nonce-0001", 1000.0, 1000.0, 300)
    with Locked(path):
        assert not store.remember("nonce-0001", 1000.0, 1005.0, 300)   # on disk: still a replay
        assert store.remember("nonce-0002", 1005.0, 1005.0, 300)       # kept in memory
        assert not store.remember("nonce-0002", 1005.0, 1006.0, 300)


WRITER = """
import sys
from agent.storage import Db
from agent.mqtt.outbox import SCHEMA, Outbox
box = Outbox(Db(sys.argv[1], SCHEMA))
while True:
    seq = box.add("event", "t", 1, lambda s: b"x" * 200)
    sys.stdout.write(f"{seq}\\n"); sys.stdout.flush()
"""


@pytest.mark.slow
def test_kill_9_never_loses_an_accepted_row(tmp_path):
    """A writer adds rows as fast as it can and prints each seq once add() returned; SIGKILL at random moments.
    Every printed seq must be in the file afterwards (SQLite recovers the WAL on the next open)."""
    path = tmp_path / "o.db"
    rng = random.Random(6)
    accepted: list[int] = []
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=REPO,
                                text=True)
        time.sleep(0.3 + rng.random() * 0.7)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        accepted += [int(x) for x in out.split("\n")[:-1]]   # a last line without "\n" was not finished
    assert len(accepted) > 50
    box = open_outbox(path)
    stored = {p.seq for p in box.pending(limit=10**6)}
    assert set(accepted) <= stored
    assert len(set(accepted)) == len(accepted)       # seq never reused across kills
