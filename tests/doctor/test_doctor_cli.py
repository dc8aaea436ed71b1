"""`relais doctor` and `relais signal` as commands, in-process: what a bad configuration gives, the text and
JSON output, the exit codes, the one-line refusals."""
from __future__ import annotations

import json

import pytest

from agent.cli import main
from agent.doctor.check import Check, Level
from agent.doctor.checks import check_config
from agent.doctor.cli import render, summary


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_a_bad_key_fails_the_configuration_and_leaves_only_what_needs_none(tmp_path, capsys):
    config = tmp_path / "relais.toml"
    config.write_text('[modem]\nbaud = -5\n[mqtt]\nhots = "broker"\n')
    code, out, _ = run(capsys, "doctor", "--config", str(config), "--json")
    report = json.loads(out)
    names = [c["name"] for c in report["checks"]]
    assert code == 1 and names == ["configuration", "clock", "watchdog"], names
    first = report["checks"][0]
    assert first["level"] == "FAIL" and "[modem] baud" in first["detail"] and "(and 1 more)" in first["detail"]
    assert f"relais config check {config}" in first["advice"] and report["fail"] >= 1


@pytest.mark.parametrize("text, said", [("[modem\n", "not valid TOML"), (None, "no such file")])
def test_unusable_files_are_one_line(tmp_path, capsys, text, said):
    config = tmp_path / "relais.toml"
    if text is not None:
        config.write_text(text)
    code, out, _ = run(capsys, "doctor", "--config", str(config))
    assert code == 1 and said in out.splitlines()[0] and out.splitlines()[0].startswith("FAIL  configuration")


def test_unreadable_for_this_user_says_run_as_root():
    got = check_config("/etc/relais/relais.toml", None, "/etc/relais/relais.toml: cannot read: [Errno 13] "
                       "Permission denied", unreadable=True)
    assert got.level == Level.FAIL and "sudo relais doctor" in got.advice


FOUND = [Check("modem", Level.OK, "Quectel EC25 answers"),
         Check("signal", Level.FAIL, "poor: RSRP -121 dBm", "move the antenna out of the rack"),
         Check("SIM", Level.SKIP, "the modem does not answer", ""),
         Check("clock", Level.WARN, "not synchronised", "timedatectl set-ntp true")]


def test_render_plain_and_coloured():
    text = render(FOUND)
    lines = text.splitlines()
    assert lines[0] == "OK    modem   Quectel EC25 answers"
    assert lines[1] == "FAIL  signal  poor: RSRP -121 dBm"
    assert lines[2] == "              -> move the antenna out of the rack"
    assert lines[3].startswith("SKIP  SIM") and lines[5].endswith("-> timedatectl set-ntp true")
    assert lines[-1] == "1 FAIL, 1 WARN: do what the arrows say, then run relais doctor again"
    assert "\033[" not in text and "\033[1;31mFAIL" in render(FOUND, colour=True)


def test_summary_all_ok():
    assert summary([Check("a", Level.OK, "x"), Check("b", Level.SKIP, "y")]) == "all 2 checks OK"


@pytest.mark.parametrize("argv, said", [
    (["--count", "0"], "--count must be at least 1"),
    (["--interval", "0"], "--interval between 0.1 and 3600"),
    (["--interval", "nan"], "--interval between 0.1 and 3600"),
])
def test_signal_refuses_bad_arguments_in_one_line(capsys, argv, said):
    code, out, err = run(capsys, "signal", *argv)
    assert code == 2 and said in err and len(err.splitlines()) == 1


def test_signal_with_a_bad_config_says_which_key(tmp_path, capsys):
    config = tmp_path / "relais.toml"
    config.write_text("[modem]\nbaud = -5\n")
    code, _, err = run(capsys, "signal", "--config", str(config))
    assert code == 2 and "[modem] baud" in err and len(err.splitlines()) == 1


def test_signal_with_no_agent_and_no_port_says_both(tmp_path, capsys):
    config = tmp_path / "relais.toml"
    config.write_text(f'[modem]\nport = "{tmp_path}/ttyUSB9"\n[storage]\ndir = "{tmp_path}/var"\n')
    code, out, err = run(capsys, "signal", "--config", str(config))
    assert code == 1 and "not running" in err and "ttyUSB9 does not exist" in err and len(err.splitlines()) == 1, err


def test_an_agent_that_does_not_answer_keeps_its_port(tmp_path, capsys):
    """The console socket is there but nobody answers on it (a hung agent, or one that refuses us): the port it
    may hold is not opened, whatever /proc shows."""
    import os
    import pty
    import socket
    master, slave = pty.openpty()
    path = tmp_path / "console.sock"
    config = tmp_path / "relais.toml"
    config.write_text(f'[modem]\nport = "{os.ttyname(slave)}"\n[storage]\ndir = "{tmp_path}/var"\n'
                      f'[console]\nsocket = "{path}"\n[mqtt]\nport = 1\n')
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(str(path))
        silent.listen(1)
        try:
            code, out, _ = run(capsys, "doctor", "--config", str(config), "--json")
        finally:
            os.close(master)
            os.close(slave)
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["agent"]["level"] == "WARN" and "did not answer" in checks["agent"]["detail"]
    assert checks["modem"]["level"] == "SKIP" and "not opened" in checks["modem"]["detail"], checks["modem"]


def test_without_a_config_file_the_defaults_are_checked_and_said(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("agent.doctor.cli.DEFAULT_PATH", str(tmp_path / "relais.toml"))
    code, out, _ = run(capsys, "doctor", "--json")
    checks = json.loads(out)["checks"]
    assert checks[0]["level"] == "WARN" and "built-in defaults" in checks[0]["detail"]
    assert "config file permissions" not in [c["name"] for c in checks] and "storage dir" in [c["name"] for c in checks]
