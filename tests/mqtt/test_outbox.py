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
