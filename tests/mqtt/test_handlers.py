import re

import pytest

from agent.config import load
from agent.core import Core
from agent.mqtt import attach

BASE = """# relais test config
[device]
id = "dev-1"

[mqtt]
host = "broker.example"
port = 1883
payload = "json"
password = "s3cret-pass"

[storage]
dir = "{dir}"
"""


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "relais.toml"
    path.write_text(BASE.format(dir=tmp_path / "store"))
    core = Core()
    sent = []

    def send_at(cmd):
        sent.append(cmd)
        if cmd.startswith("AT+CGMR"):
            raise TimeoutError("no answer in 5 s")
        return ["+CSQ: 20,99", "OK"]

    reporter = attach(core, load(path), send_at=send_at)
    yield path, core, reporter, sent
    reporter.close()


def test_set_config_writes_validated_changes_and_says_what_is_live(setup):
    path, core, reporter, _ = setup
    out = core.run_command("set_config", {"changes": {"mqtt": {"heartbeat_s": 1800, "keepalive": 900},
                                                      "device": {"site": "Lyon rack 3"}}})
    assert out["ok"], out
    r = out["result"]
    assert r["changed"] == ["mqtt.heartbeat_s", "mqtt.keepalive", "device.site"]
    assert r["live"] == ["mqtt.heartbeat_s"]
    assert r["at_restart"] == ["device.site", "mqtt.keepalive"]
    cfg = load(path)
    assert (cfg.mqtt.heartbeat_s, cfg.mqtt.keepalive, cfg.device.site) == (1800, 900, "Lyon rack 3")
    assert cfg.mqtt.password.value == "s3cret-pass"          # untouched keys kept, secrets included
    assert reporter.telemetry.heartbeat_s == 1800             # applied now
    assert reporter.cfg.keepalive == 600                      # not applied before a restart
    assert (path.parent / "relais.toml.prev").read_text().startswith("# relais test config")


@pytest.mark.parametrize("changes, message", [
    ({"mqtt": {"keepalive": 5}}, r"\[mqtt\] keepalive: expected an integer from 10 to 65535, got 5$"),
    ({"mqtt": {"payload": "xml"}}, r'\[mqtt\] payload: expected one of "cbor", "json", got "xml"$'),
    ({"mqtt": {"port": "1883"}}, r'\[mqtt\] port: expected an integer, got "1883"$'),
    ({"mqtt": {"hots": "x"}}, r"\[mqtt\] hots: expected a known key \(did you mean host\?\), got an unknown key$"),
    ({"nosuch": {"a": 1}}, r"\[nosuch\]: expected one of board, .*, got an unknown section$"),
    ({"mqtt": {"cert": "/nonexistent/c.crt"}},
     r'\[mqtt\] cert: expected a readable file, got "/nonexistent/c.crt" \(no such file\)$'),
    ({"mqtt": {"cert": "{existing file}"}}, r"\[mqtt\] tls: expected true when cert is set, got false$"),
    ({"mqtt": {"cert": "{existing file}", "tls": True}},
     r'\[mqtt\] key: expected a file with cert \(they go together\), got ""$'),
])
def test_set_config_refuses_with_the_loaders_reason_and_leaves_the_file(setup, changes, message):
    path, core, _, _ = setup
    before = path.read_bytes()
    changes = {name: {k: str(path) if v == "{existing file}" else v for k, v in section.items()}
               for name, section in changes.items()}
    out = core.run_command("set_config", {"changes": changes})
    assert not out["ok"]
    assert "rejected, file unchanged" in out["error"]
    assert re.search(message, out["error"]), out["error"]
    assert path.read_bytes() == before


def test_set_config_dry_run_and_bad_arguments(setup):
    path, core, _, _ = setup
    before = path.read_bytes()
    out = core.run_command("set_config", {"changes": {"mqtt": {"heartbeat_s": 1200}}, "dry_run": True})
    assert out["ok"] and out["result"]["changed"] == ["mqtt.heartbeat_s"] and out["result"]["live"] == []
    assert path.read_bytes() == before
    for args in ({}, {"changes": {"mqtt": 3}}, {"changes": {"mqtt": {}}, "extra": 1}, {"changes": []}):
        assert not core.run_command("set_config", args)["ok"]


def test_set_config_reply_never_holds_a_secret(setup):
    path, core, _, _ = setup
    out = core.run_command("set_config", {"changes": {"mqtt": {"password": "new-pass-123"}}})
    assert out["ok"] and "new-pass-123" not in repr(out)
    assert load(path).mqtt.password.value == "new-pass-123"


def test_at_is_off_by_default(setup):
    _, core, _, sent = setup
    out = core.run_command("at", {"command": "AT+CSQ"})
    assert not out["ok"] and "at_passthrough = false" in out["error"] and sent == []


def test_at_allowlist(setup):
    _, core, _, sent = setup
    assert core.run_command("set_config", {"changes": {"mqtt": {"at_passthrough": True}}})["ok"]
    assert core.run_command("at", {"command": "AT+CSQ"}) == {"ok": True, "result": ["+CSQ: 20,99", "OK"]}
    assert core.run_command("at", {"command": "at+cops?"})["ok"]
    for bad in ("AT+CFUN=0", "AT+CSQ;+CFUN=0", "ATI&F", "AT+CSQ\r\nAT+CFUN=0", "", 5, "AT" * 200):
        out = core.run_command("at", {"command": bad})
        assert not out["ok"], bad
    out = core.run_command("at", {"command": 'AT+CPIN="1234"'})
    assert not out["ok"] and "1234" not in out["error"]
    out = core.run_command("at", {"command": "AT+CGMR"})
    assert out == {"ok": False, "error": "TimeoutError: no answer in 5 s"}
    assert sent == ["AT+CSQ", "at+cops?", "AT+CGMR"]


def test_get_status_is_the_snapshot_without_secrets(setup):
    _, core, _, _ = setup
    from agent.config import Secret
    core.state["modem"] = {"operator": "Orange F", "pin": Secret("0000")}
    out = core.run_command("get_status", {})
    assert out["ok"] and out["result"]["modem"] == {"operator": "Orange F", "pin": "***"}


def test_at_with_a_modem_service_that_answers_later(tmp_path):
    """agent/modem_service.py's send_at returns a Deferred resolved by its worker thread."""
    import threading
    from agent.config import from_dict
    from agent.core import CommandReceived, Deferred

    def send_at(cmd):
        d = Deferred()
        threading.Timer(0.05, d.resolve, args=(["+CSQ: 17,99", "OK"],)).start()
        return d

    core = Core()
    cfg = from_dict({"mqtt": {"at_passthrough": True}, "storage": {"dir": str(tmp_path)}})
    reporter = attach(core, cfg, send_at=send_at)
    replies = []
    core.post(CommandReceived("at", {"command": "AT+CSQ"}, replies.append, origin="mqtt"))
    for _ in range(100):
        core.step(timeout=0.05)
        if replies:
            break
    reporter.close()
    assert replies == [{"ok": True, "result": ["+CSQ: 17,99", "OK"]}]
