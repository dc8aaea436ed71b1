"""The one SQL layer, on SQLite and on a real PostgreSQL: the same behaviour from the same statements."""
from __future__ import annotations

import pytest

from fleet.db import DatabaseError, FleetDb, describe
from fleet.messages import Kind, Message


def event(dev, seq, kind="failover"):
    return Message(Kind.EVENT, dev, seq=seq, ts=1000.0 + seq, time_source="ntp", body={"kind": kind, "data": {}})


def telemetry(dev, seq):
    return Message(Kind.TELEMETRY, dev, seq=seq, ts=1000.0 + seq, body={"why": "change", "metrics": {"rsrp_dbm": -9}})


def state(dev, seq, part, value):
    return Message(Kind.STATE, dev, seq=seq, ts=1000.0 + seq, part=part, body={part: value})


def status(dev, online):
    return Message(Kind.STATUS, dev, online=online)


@pytest.fixture
def db(database):
    d = FleetDb(database).connect()
    yield d
    d.close()


def test_duplicates_are_dropped_by_device_and_seq(db):
    first = db.store([event("a", 1), telemetry("a", 2), event("b", 1)], received=10.0)
    assert (first.new, first.duplicates) == (3, 0)
    again = db.store([event("a", 1), telemetry("a", 2), event("a", 3), event("a", 3)], received=11.0)
    assert (again.new, again.duplicates) == (1, 3)
    assert db.count("events") == 3 and db.count("telemetry") == 1
    assert [r[0] for r in db.query("SELECT seq FROM events WHERE device_id = ? ORDER BY seq", ("a",))] == [1, 3]


def test_a_state_part_keeps_its_newest_seq(db):
    db.store([state("a", 5, "modem", {"sim_slot": 1})], received=10.0)
    db.store([state("a", 7, "modem", {"sim_slot": 2}), state("a", 6, "modem", {"sim_slot": 9}),
              state("a", 3, "failover", {"active_uplink": "backup"})], received=11.0)
    (dev,) = db.devices()
    assert dev["state"] == {"modem": {"sim_slot": 2}, "failover": {"active_uplink": "backup"}}


def test_online_since_moves_only_when_the_status_changes(db):
    db.store([status("a", True)], received=100.0)
    db.store([status("a", True)], received=200.0)      # retained status again at a resubscription
    (dev,) = db.devices()
    assert (dev["online"], dev["since"], dev["last_seen"]) == (True, 100.0, 200.0)
    db.store([status("a", False)], received=300.0)
    db.store([event("a", 1)], received=400.0)
    (dev,) = db.devices()
    assert (dev["online"], dev["since"], dev["first_seen"], dev["last_seen"]) == (False, 300.0, 100.0, 400.0)


def test_each_status_change_is_kept_once_and_old_ones_are_pruned(db):
    from fleet.db import STATUS_KEEP_S
    db.store([status("a", True)], received=100.0)
    db.store([status("a", True), status("b", False)], received=200.0)   # a's retained status again: no change
    db.store([status("a", False)], received=300.0)
    db.store([status("a", False)], received=350.0)
    db.store([status("a", True), status("a", False)], received=400.0)   # back and gone in one batch
    assert db.status_changes("a", 0.0) == [(100.0, True), (300.0, False), (400.0, False)]
    assert db.status_changes("a", 300.0) == [(300.0, False), (400.0, False)]
    assert db.status_changes("b", 0.0) == [(200.0, False)]
    later = 400.0 + STATUS_KEEP_S + 1
    db.store([status("b", True)], received=later)       # the next write an hour on drops what is older
    assert db.status_changes("a", 0.0) == [] and db.status_changes("b", 0.0) == [(later, True)]


def test_the_first_reply_to_a_command_id_stays(db):
    first = Message(Kind.REPLY, "a", seq=1, ts=1.0, part="c1", body={"ok": True, "result": {"mode": "auto"}})
    repeat = Message(Kind.REPLY, "a", seq=2, ts=2.0, part="c1", body={"ok": False, "error": "x"})
    db.store([first], received=1.0)
    db.store([repeat], received=2.0)
    assert db.reply("a", "c1") == {"ok": True, "result": {"mode": "auto"}}
    assert db.reply("a", "c2") is None


def test_text_survives_both_databases(db):
    odd = {"kind": "note", "data": {"text": "Ünïcødé ' \" ; -- DROP TABLE events", "n": None}}
    db.store([Message(Kind.EVENT, "a", seq=1, ts=1.0, body=odd)], received=1.0)
    assert db.query("SELECT data FROM events")[0][0] == '{"text":"Ünïcødé \' \\" ; -- DROP TABLE events","n":null}'


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    from tests.mqtt.broker import free_port
    url = f"postgresql://fleet:s3cret@127.0.0.1:{free_port()}/relais"
    with pytest.raises(DatabaseError) as e:
        FleetDb(url).connect()
    assert "s3cret" not in str(e.value) and "\n" not in str(e.value)
    assert str(e.value).startswith(f"postgresql://fleet@127.0.0.1:{url.split(':')[3].split('/')[0]}/relais: ")
    assert describe(url) == url.replace(":s3cret", "")
    assert describe("postgresql://fleet:s3cret@db:port/relais") == "postgresql://fleet@db:?/relais"
    with pytest.raises(DatabaseError, match=r"^postgresql://fleet@db:\?/relais: ") as e:
        FleetDb("postgresql://fleet:s3cret@db:port/relais").connect()
    assert "s3cret" not in str(e.value)
    (tmp_path / "f").write_text("")
    with pytest.raises(DatabaseError, match="f/fleet.db"):
        FleetDb(str(tmp_path / "f" / "fleet.db")).connect()
