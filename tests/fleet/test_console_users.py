"""`relais fleet user add|passwd|role|rm|ls`: the password from stdin (never an argument), one line per mistake."""
from __future__ import annotations

import io
import json
import sys

import pytest

from fleet.cli import main
from fleet.db import FleetDb
from fleet.users import Users


@pytest.fixture
def fleet_toml(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(f'database = "{tmp_path}/fleet.db"\n')
    return path


def user(fleet_toml, monkeypatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["user", *args, "--config", str(fleet_toml)])


def test_users_are_added_changed_and_removed(fleet_toml, monkeypatch, capsys, tmp_path):
    assert user(fleet_toml, monkeypatch, "add", "alice", "--role", "admin", stdin="first password\n") == 0
    assert user(fleet_toml, monkeypatch, "add", "bob", stdin="bob's password\n") == 0
    assert user(fleet_toml, monkeypatch, "ls") == 0
    assert capsys.readouterr().out == "added alice (admin)\nadded bob (viewer)\nalice\tadmin\nbob\tviewer\n"
    db = FleetDb(str(tmp_path / "fleet.db")).connect()
    users = Users(db, create=False)
    stored = db.query("SELECT password FROM console_users WHERE name = 'alice'")[0][0]
    assert stored.startswith("scrypt$15$8$1$") and "first password" not in stored
    assert users.authenticate("alice", "first password") is not None
    assert user(fleet_toml, monkeypatch, "passwd", "alice", stdin="second password\n") == 0
    assert users.authenticate("alice", "first password") is None and users.authenticate("alice", "second password")
    assert user(fleet_toml, monkeypatch, "role", "bob", "--role", "operator") == 0
    assert user(fleet_toml, monkeypatch, "rm", "bob") == 0
    assert users.get("bob") is None
    assert capsys.readouterr().out == ("changed the password of alice; their sessions are closed\n"
                                       "bob is now operator\nremoved bob\n")
    db.close()


@pytest.mark.parametrize("args, stdin, error", [
    (("add", "carol"), "short\n", "a password has 10 to 1024 characters"),
    (("add", "bad name"), "long enough pw\n", "user name 'bad name': expected 1-64 of"),
    (("add",), "", "user add: NAME is missing"),
    (("passwd", "nobody"), "long enough pw\n", "no user 'nobody'"),
    (("role", "alice"), "", "user role: --role viewer|operator|admin is missing"),
    (("add", "alice"), "long enough pw\n", "user alice exists already"),
])
def test_each_mistake_is_one_line(fleet_toml, monkeypatch, capsys, args, stdin, error):
    assert user(fleet_toml, monkeypatch, "add", "alice", stdin="a good password\n") == 0
    capsys.readouterr()
    assert user(fleet_toml, monkeypatch, *args, stdin=stdin) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"relais fleet user: {error}") and err.count("\n") == 1, err
    assert not stdin or stdin.strip() not in err   # a password is never repeated back


def test_users_sessions_audit_and_the_table_on_each_database(database):
    """The console's SQL on SQLite and on a real PostgreSQL: users, sessions and their expiry, the audit, the
    fleet read in slices and what changed since a moment."""
    from fleet.console.cache import FleetCache, changed_since
    from fleet.messages import parse
    from fleet.users import Role
    from tests.fleet import loadgen
    db = FleetDb(database).connect()
    users = Users(db)
    users.add("ana", Role.OPERATOR, "ana's password", 1000.0)
    token, session = users.open_session(users.authenticate("ana", "ana's password"), 1000.0)
    assert users.session(token, 1500.0, idle_s=1800, absolute_s=43200) == session
    assert users.session(token, 1500.0 + 1801, idle_s=1800, absolute_s=43200) is None
    users.audit(2000.0, "ana", "10.0.0.1", "failover_auto", "site-00001", {"mode": "auto"}, True,
                {"id": "f1", "ok": True, "result": {"mode": "auto"}})
    assert users.audit_log() == [{"at": 2000.0, "who": "ana", "source": "10.0.0.1", "action": "failover_auto",
                                  "site": "site-00001", "args": {"mode": "auto"}, "ok": True,
                                  "reply": {"id": "f1", "ok": True, "result": {"mode": "auto"}}}]
    db.store([parse(o.topic, o.payload) for i in range(1200) for o in loadgen.birth(i)], 5000.0)
    cache = FleetCache(lambda: 6000.0)
    entries = cache.entries(db)
    assert len(entries) == 1200 and sum("on_backup" in e.filters for e in entries) == 240
    assert changed_since(db, 6000.0) == []
    doc = loadgen.envelope("site-00007", 99, 6001.0, state={"failover": {"active_uplink": "backup"}})
    db.store([parse("relais/v1/site-00007/state/failover", json.dumps(doc).encode())], 6001.0)
    assert changed_since(db, 6000.0) == ["site-00007"]
    assert sum("on_backup" in e.filters for e in cache.entries(db)) == 241
    # the latest drill of each device is kept at ingest; a late, older one does not replace it
    def drill(seq, ts, ok):
        doc = loadgen.envelope("site-00009", seq, ts, kind="drill_result", data={"ok": ok})
        return parse("relais/v1/site-00009/event", json.dumps(doc).encode())
    db.store([drill(300, 7000.0, False)], 7000.0)
    db.store([drill(299, 6900.0, True)], 7001.0)
    assert db.devices(device_id="site-00009", latest=True)[0]["latest"] == \
        {"drill_result": {"ts": 7000.0, "data": {"ok": False}}}
    failed = [e.site for e in cache.entries(db) if "drill_failed_or_overdue" in e.filters]
    assert failed == ["site-00009"]
    db.close()
