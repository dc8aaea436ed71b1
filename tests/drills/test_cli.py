"""`relais drill` end to end without privileges: the CLI asks through the real console socket (agent/console) a
core running on its own thread, with the failover controller and the drill runner of test_runner.py's Rig (the
service checks and probes replaced by recording ones). The answer is the drill's real result."""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent.cli import main
from agent.console.server import ConsoleServer
from tests.drills.test_runner import MODEM_OK, Rig


@pytest.fixture
def live():
    """The Rig's core running on a thread (its fake clock stands still: a passive drill needs no time to pass)
    behind a console socket on a short path."""
    short = Path(tempfile.mkdtemp(prefix="rd", dir="/tmp"))
    rigs = []

    def start(**kw) -> tuple[Rig, str]:
        rig = Rig(**kw)
        rig.up()
        rig.core.state["modem"] = dict(MODEM_OK)
        server = ConsoleServer(rig.core, short / "console.sock")
        stop = threading.Event()
        thread = threading.Thread(target=rig.core.run, args=(stop,), kwargs={"tick_s": 0.02}, daemon=True)
        thread.start()
        server.start()
        assert server.problem is None, server.problem
        rigs.append((server, stop, thread))
        return rig, str(server.path)
    yield start
    for server, stop, thread in rigs:
        server.stop()
        stop.set()
        thread.join(5)
    shutil.rmtree(short, ignore_errors=True)


def test_relais_drill_runs_a_passive_drill_and_prints_each_service(live, capsys):
    rig, sock = live()
    assert main(["drill", "--socket", sock]) == 0
    out = capsys.readouterr().out
    assert out.startswith("passive drill (command): PASSED in ")
    assert "ok    registration: home on Orange F LTE" in out
    assert "ok    latency: 3/3 answered, median 42 ms" in out
    assert "ok    Téléphonie  sip:192.0.2.60: SIP/2.0 200 OK  12.5 ms" in out
    assert rig.routes.status()["preferred"] == "primary"


def test_a_failed_drill_exits_1_and_says_why(live, capsys):
    _, sock = live(failing={"https://192.0.2.43/": "HTTP 500, expected 2xx or 3xx"})
    assert main(["drill", "--socket", sock, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False and result["kind"] == "passive" and result["trigger"] == "command"
    assert result["reason"] == "service Cloud failed: HTTP 500, expected 2xx or 3xx"
    assert [s["ok"] for s in result["services"]] == [True, False]


def test_a_refused_drill_exits_1_with_the_agents_reason(live, capsys):
    rig, sock = live()
    rig.ctl.drills.current = SimpleNamespace(kind="full")     # as if a full drill were running
    assert main(["drill", "--socket", sock]) == 1
    assert capsys.readouterr().err.strip() == "relais drill: no drill: a full drill is already running"


def test_no_agent_exits_3(tmp_path, capsys):
    assert main(["drill", "--socket", str(tmp_path / "none.sock")]) == 3
    assert "no console socket at" in capsys.readouterr().err


def test_bad_options_and_config(tmp_path, capsys):
    bad = tmp_path / "relais.toml"
    bad.write_text('[drills]\nschedule = "0 3 * * 9"\n')
    assert main(["drill", "--config", str(bad)]) == 2
    assert capsys.readouterr().err.strip().endswith(
        '[drills] schedule: expected "monthly", "weekly", a cron expression (minute hour day month weekday) or '
        '"", got "0 3 * * 9" (day of week: 9 is outside 0-7)')
    assert main(["drill", "--duration", "30", "--socket", str(tmp_path / "x.sock")]) == 1
    assert "--duration is for a full drill" in capsys.readouterr().err
