"""The console's line format: what a request and an answer may be, and the one-line reasons for refusing."""
from __future__ import annotations

import json

import pytest

from agent.console import protocol
from agent.console.protocol import ProtocolError, parse_answer, parse_request


def test_a_request_round_trips():
    line = protocol.request("failover", {"mode": "backup"})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert parse_request(line[:-1]) == ("failover", {"mode": "backup"})
    assert parse_request(b'{"cmd": "status"}') == ("status", {})
    assert parse_request(b'{"cmd": "status", "args": null}') == ("status", {})


@pytest.mark.parametrize("line, reason", [
    (b"status", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[1, 2]", "expected a JSON object, got list"),
    (b'{"args": {}}', '"cmd": expected a command name'),
    (b'{"cmd": ""}', '"cmd": expected a command name'),
    (b'{"cmd": 7}', '"cmd": expected a command name'),
    (b'{"cmd": "a\\nb"}', '"cmd": expected a command name'),
    (b'{"cmd": "status", "args": [1]}', '"args": expected an object, got list'),
    (b'{"cmd": "status", "id": 1}', "unknown request field(s) id"),
    (b'{"cmd": "x", "args": ' + b'{"a": ' * 20 + b"1" + b"}" * 20 + b"}", "nested deeper than 16"),
    (b"[" * 100_000 + b"]" * 100_000, "longer than"),
    (b'{"cmd": "x", "args": {"a": "' + b"x" * protocol.MAX_REQUEST_BYTES + b'"}}', "longer than"),
])
def test_a_bad_request_is_named_in_one_line(line, reason):
    with pytest.raises(ProtocolError) as e:
        parse_request(line)
    assert reason in str(e.value) and "\n" not in str(e.value)


def test_answers_have_run_commands_shape():
    assert parse_answer(b'{"ok": true, "result": {"a": 1}}') == {"ok": True, "result": {"a": 1}}
    assert parse_answer(b'{"ok": true, "result": null}')["result"] is None
    assert parse_answer(b'{"ok": false, "error": "no"}') == {"ok": False, "error": "no"}
    for bad in (b'{"ok": true}', b'{"ok": false}', b'{"ok": "yes", "result": 1}', b'{"ok": false, "error": 3}'):
        with pytest.raises(ProtocolError):
            parse_answer(bad)


def test_encode_is_one_ascii_line_and_refuses_nan():
    line = protocol.encode({"ok": True, "result": {"operator": "Bouygues Télécom\n"}})
    assert line.count(b"\n") == 1 and line.isascii()
    assert json.loads(line)["result"]["operator"] == "Bouygues Télécom\n"
    with pytest.raises(ValueError):
        protocol.encode({"ok": True, "result": float("nan")})


def test_socket_path_rule(tmp_path, monkeypatch):
    assert protocol.DEFAULT_SOCKET == "/run/relais/console.sock"
    assert protocol.socket_path("/srv/x.sock", tmp_path) == protocol.Path("/srv/x.sock")
    monkeypatch.setattr(protocol, "RUN_DIR", str(tmp_path / "run"))
    assert protocol.socket_path("", tmp_path / "state") == tmp_path / "state" / "console.sock"
    (tmp_path / "run").mkdir()
    assert protocol.socket_path("", tmp_path / "state") == tmp_path / "run" / "console.sock"
