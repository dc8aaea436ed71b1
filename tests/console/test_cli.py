"""`relais status`, `watch`, `failover`, `sim-switch`, `modem reset` against the real programs: `relais sim` and
`relais run`, the commands in their own processes (issue 12 §4)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest

from agent.console.client import ask
from tests.console.agent_run import ENV, ROOT, RELAIS, Site, wait_for

pytestmark = pytest.mark.slow

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="module")
def site():
    s = Site().start()
    yield s
    s.close()


@pytest.fixture
def own_site():
    """An agent this test may stop or kill."""
    s = Site().start()
    yield s
    s.close()


def in_a_terminal(site: Site, *args: str, term: str = "xterm") -> tuple[int, str]:
    """(exit code, what it wrote) for the command with its stdout on a pseudo-terminal."""
    master, slave = os.openpty()
    try:
        proc = subprocess.run(RELAIS + list(args), stdout=slave, stderr=subprocess.PIPE, cwd=ROOT, timeout=60,
                              env={**ENV, "TERM": term})
    finally:
        os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:                 # EIO: the terminal's other side is closed and everything was read
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return proc.returncode, out.decode()


def test_status_asks_the_live_agent(site):
    r = site.relais("status", "--config", str(site.config))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""                          # no fallback note: the agent answered
    lines = r.stdout.splitlines()
    assert lines[0] == "relais console-test  rack 2"
    assert "traffic via : primary" in r.stdout and "network     : home on Orange F (208-01)" in r.stdout
    assert not ANSI.search(r.stdout)               # a pipe gets plain text
    j = site.relais("status", "--json", "--socket", str(site.socket))
    doc = json.loads(j.stdout)
    assert set(doc) == {"state", "recent_events"}  # what status.json holds
    assert doc["state"]["device"] == {"id": "console-test", "site": "rack 2"}
    assert doc["state"]["modem"]["registration"] == "home"


def test_status_has_colours_on_a_terminal_and_none_on_a_dumb_one(site):
    code, out = in_a_terminal(site, "status", "--config", str(site.config))
    assert code == 0
    assert "\x1b[32mup\x1b[0m" in out and "(\x1b[32mconnected\x1b[0m)" in out
    code, out = in_a_terminal(site, "status", "--config", str(site.config), term="dumb")  # a serial console
    assert code == 0 and "relais console-test" in out and "\x1b[" not in out


def test_failover_commands_answer_in_one_line_and_take_effect(site):
    try:
        r = site.relais("failover", "backup", "--config", str(site.config))
        assert (r.returncode, r.stdout, r.stderr) == \
            (0, "failover: mode force_backup, state backup, active_uplink backup\n", "")
        status = json.loads(site.relais("status", "--json", "--config", str(site.config)).stdout)
        assert status["state"]["failover"]["active_uplink"] == "backup"
        assert status["state"]["failover"]["mode"] == "force_backup"
        r = site.relais("failover", "primary", "--config", str(site.config))
        assert r.returncode == 0 and r.stdout.startswith("failover: mode force_primary, state primary")
    finally:
        r = site.relais("failover", "auto", "--config", str(site.config))
    assert r.returncode == 0 and r.stdout.startswith("failover: mode auto,")
    wrong = site.relais("failover", "sideways", "--config", str(site.config))
    assert wrong.returncode == 2 and "invalid choice: 'sideways'" in wrong.stderr     # argparse, before asking


def test_a_refusal_is_one_line_and_exit_1(site):
    r = site.relais("sim-switch", "7", "--config", str(site.config))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == "relais sim-switch: refused: slot must be one of sim_slots [1, 2]; got 7\n"
    r = site.relais("sim-switch", "1", "--config", str(site.config))
    assert (r.returncode, r.stderr) == (1, "relais sim-switch: refused: already on slot 1\n")


def test_sim_switch_and_modem_reset_wait_for_the_modem(own_site):
    r = own_site.relais("sim-switch", "2", "--config", str(own_site.config))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("sim-switch: from_slot 1, to_slot 2, reason command")
    assert ask(own_site.socket, "status")["result"]["state"]["modem"]["sim_slot"] == 2
    r = own_site.relais("modem", "reset", "--config", str(own_site.config))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("modem reset: step reset, result ok")
    steps = [e["data"] for e in ask(own_site.socket, "status")["result"]["recent_events"]
             if e["kind"] == "recovery_step"]
    assert [(s.get("step"), s.get("result")) for s in steps][-1:] == [("reset", "ok")], steps


def test_watch_on_a_pipe_prints_plain_blocks(site):
    r = site.relais("watch", "--count", "2", "--interval", "0.2", "--config", str(site.config))
    assert r.returncode == 0, r.stderr
    blocks = r.stdout.split("--- relais watch  ")
    assert len(blocks) == 3 and blocks[0] == ""
    for block in blocks[1:]:
        assert "(Ctrl-C to quit)\nrelais console-test  rack 2\n" in block and "traffic via :" in block
    assert "\x1b" not in r.stdout


def test_with_the_agent_stopped_status_reads_the_file_and_says_since_when(own_site):
    own_site.stop_agent(signal.SIGTERM)
    assert not own_site.socket.exists()            # the agent removed its socket on the way out
    r = own_site.relais("status", "--config", str(own_site.config))
    assert r.returncode == 3
    assert r.stderr.startswith(f"relais status: no answer from the agent (no console socket at {own_site.socket}")
    assert re.search(r"showing .*/var/status\.json, written \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$", r.stderr)
    assert re.match(r"as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, \d+ s ago: the agent stopped\nrelais console-test",
                    r.stdout)
    cmd = own_site.relais("failover", "backup", "--config", str(own_site.config))
    assert (cmd.returncode, cmd.stdout) == (3, "")
    assert cmd.stderr.startswith(f"relais failover: no console socket at {own_site.socket}")


def test_a_killed_agent_is_not_shown_as_live_and_its_successor_takes_the_socket(own_site):
    wait_for((own_site.storage / "status.json").exists, 10, "the first status file")
    own_site.stop_agent(signal.SIGKILL)            # no last write, the socket file stays behind
    assert own_site.socket.exists()
    r = own_site.relais("status", "--config", str(own_site.config))
    assert r.returncode == 3, r.stdout + r.stderr  # the file is seconds old, but nobody listens: not running
    assert "nobody listens on" in r.stderr
    assert r.stdout.splitlines()[0].endswith(": the agent is not running")
    own_site.start()                               # removes the stale socket and listens again
    r = own_site.relais("status", "--config", str(own_site.config))
    assert (r.returncode, r.stderr) == (0, "")


# ---- relais watch in a real terminal: tmux -------------------------------------------------------------------

class Tmux:
    def __init__(self, site: Site):
        self.socket = site.dir / "tmux"
        self.exit_file = site.dir / "watch.exit"

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True,
                              check=True, timeout=10).stdout

    def screen(self, escapes: bool = False) -> str:
        return self("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "watch")


@pytest.fixture
def tmux(site):
    t = Tmux(site)
    yield t
    subprocess.run(["tmux", "-S", str(t.socket), "kill-server"], capture_output=True)


def test_watch_redraws_every_second_in_tmux_and_ctrl_c_exits_0(site, tmux):
    command = (f"cd {ROOT} && PYTHONPATH={ROOT} {' '.join(RELAIS)} watch --config {site.config}; "
               f"echo $? > {tmux.exit_file}")
    tmux("new-session", "-d", "-s", "watch", "-x", "100", "-y", "40", command)
    titles = set()

    def redrawn_in_place() -> bool:
        screen = tmux.screen()
        headers = re.findall(r"relais watch  (\S+ \S+)  \(Ctrl-C to quit\)", screen)
        assert len(headers) <= 1, screen           # cleared and redrawn, never scrolled below the last one
        if headers and "traffic via : primary" in screen:
            titles.add(headers[0])
        return len(titles) >= 3                    # three different seconds seen: it refreshes by itself
    wait_for(redrawn_in_place, 15, "three redraws of relais watch", lambda: "\n" + tmux.screen())
    assert "\x1b[32mup" in tmux.screen(escapes=True)   # tmux is a terminal: colours
    try:
        assert site.relais("failover", "backup", "--config", str(site.config)).returncode == 0
        wait_for(lambda: "traffic via : backup" in tmux.screen(), 5, "the failover on the watch screen",
                 lambda: "\n" + tmux.screen())
    finally:
        assert site.relais("failover", "auto", "--config", str(site.config)).returncode == 0
    tmux("send-keys", "-t", "watch", "C-c")
    wait_for(tmux.exit_file.exists, 10, "relais watch to exit after Ctrl-C")
    assert wait_for(lambda: tmux.exit_file.read_text().strip(), 5, "the exit code") == "0"


def test_watch_says_when_the_agent_goes_and_shows_it_again_when_it_is_back(own_site):
    tmux = Tmux(own_site)
    command = f"cd {ROOT} && PYTHONPATH={ROOT} {' '.join(RELAIS)} watch --config {own_site.config}"
    try:
        tmux("new-session", "-d", "-s", "watch", "-x", "100", "-y", "40", command)
        wait_for(lambda: "traffic via :" in tmux.screen(), 15, "the first frame", lambda: "\n" + tmux.screen())
        own_site.stop_agent(signal.SIGTERM)
        wait_for(lambda: "no answer from the agent: no console socket at" in tmux.screen(), 10,
                 "the lost agent on screen", lambda: "\n" + tmux.screen())
        own_site.start()
        wait_for(lambda: "traffic via :" in tmux.screen(), 15, "the agent back on screen",
                 lambda: "\n" + tmux.screen())
    finally:
        subprocess.run(["tmux", "-S", str(tmux.socket), "kill-server"], capture_output=True)


def test_failover_force_names_an_uplink(site):
    try:
        r = site.relais("failover", "force", "backup", "--config", str(site.config))
        assert (r.returncode, r.stdout) == (0, "failover: mode force_backup, state backup, active_uplink backup\n")
        r = site.relais("failover", "force", "dsl", "--config", str(site.config))
        assert r.returncode == 1 and "mode must be one of auto, force_primary, force_backup; got 'force_dsl'" \
            in r.stderr
    finally:
        site.relais("failover", "auto", "--config", str(site.config))
