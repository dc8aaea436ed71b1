import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.config import load
from agent.core import CommandReceived, Core
from agent.mqtt import attach
from tests.virtual import FakeClock, InProcessSimulator, Scheduler, attach_modem

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
    """The reporter's commands on a Core whose `at` goes through the real ModemService to the in-process modem
    simulator, in virtual time (tests/virtual.py): send_at answers later, with a Deferred, as in the agent."""
    path = tmp_path / "relais.toml"
    path.write_text(BASE.format(dir=tmp_path / "store"))
    clock = FakeClock()
    scheduler = Scheduler(clock)
    core = Core(monotonic=clock)
    sim = InProcessSimulator("quectel-ec25", clock)
    modem = attach_modem(core, scheduler, sim)
    assert scheduler.run_until(lambda: core.state["modem"].get("connected"), 10), "the modem polled"
    reporter = attach(core, load(path), send_at=modem.send_at)
    yield Setup(path, core, reporter, sim, scheduler)
    reporter.close()
    modem.stop()
    scheduler.stop()


@dataclass
class Setup:
    path: Path
    core: Core
    reporter: object
    sim: InProcessSimulator
    scheduler: Scheduler

    def __iter__(self):            # path, core, reporter, sim = setup
        return iter((self.path, self.core, self.reporter, self.sim))

    def ask(self, name: str, args: dict, timeout: float = 60.0) -> dict:
        """A command as MQTT sends it: posted to the core, answered when the answer is there (virtual time)."""
        replies: list[dict] = []
        self.core.post(CommandReceived(name, args, replies.append, origin="mqtt"))
        assert self.scheduler.run_until(lambda: replies, timeout), f"no reply to {name} {args}"
        return replies[0]


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
    _, core, _, sim = setup
    out = setup.ask("at", {"command": "AT+CSQ?"})
    assert not out["ok"] and "at_passthrough = false" in out["error"] and "AT+CSQ?" not in sim.model.command_log


def test_at_allowlist(setup):
    _, core, _, sim = setup
    assert core.run_command("set_config", {"changes": {"mqtt": {"at_passthrough": True}}})["ok"]
    out = setup.ask("at", {"command": "AT+CSQ"})
    assert out["ok"] and len(out["result"]) == 1 and out["result"][0].startswith("+CSQ: "), out
    out = setup.ask("at", {"command": "at+cops?"})
    assert out == {"ok": True, "result": ['+COPS: 0,0,"Orange F",7']}, out
    assert sim.model.command_log[-1] == "at+cops?"                # sent as given
    before = list(sim.model.command_log)
    for bad in ("AT+CFUN=0", "AT+CSQ;+CFUN=0", "ATI&F", "AT+CSQ\r\nAT+CFUN=0", "", 5, "AT" * 200):
        out = setup.ask("at", {"command": bad})
        assert not out["ok"], bad
    out = setup.ask("at", {"command": 'AT+CPIN="1234"'})
    assert not out["ok"] and "1234" not in out["error"]
    assert sim.model.command_log == before                      # none of them reached the modem
    sim.fault("hang", "forever")
    out = setup.ask("at", {"command": "AT+CGMR"})
    assert out == {"ok": False, "error": "at: AT+CGMR: no final result within 5 s"}, out


def test_get_status_is_the_snapshot_without_secrets(setup):
    _, core, _, _ = setup
    from agent.config import Secret
    core.state["modem"] = {"operator": "Orange F", "pin": Secret("0000")}
    out = core.run_command("get_status", {})
    assert out["ok"] and out["result"]["modem"] == {"operator": "Orange F", "pin": "***"}
