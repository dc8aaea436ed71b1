"""The console server against a running core: answers, refusals, stale sockets, several clients at once, and the
file mode that keeps users outside the group out (checked as real non-root users)."""
from __future__ import annotations

import grp
import os
import socket
import stat
import threading
import time

import pytest

from agent.console import protocol
from agent.console.client import Connection, ConsoleUnavailable, ask
from agent.console.server import ConsoleServer
from agent.core import CommandError, Core, Deferred


def raw(path: str, data: bytes, timeout: float = 5.0) -> bytes:
    """What the server answers to exactly these bytes, up to its first newline."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(data)
        out = b""
        while not out.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        return out


def test_a_command_is_answered_by_the_core_in_run_commands_shape(live):
    answer = ask(live.path, "signal")
    assert answer["ok"] is True
    assert answer["result"]["rsrp_dbm"] == -97 and answer["result"]["band"] == "B20"
    assert answer["result"]["cell_id"] == "1A2B3C" and answer["result"]["operator_name"] == "Orange F"
    assert answer == live.core.run_command("signal", {})        # the same answer as any other way in
    unknown = ask(live.path, "reboot_everything")
    assert unknown["ok"] is False and "unknown command 'reboot_everything'" in unknown["error"]


def test_refusals_and_failures_of_handlers_come_back_as_errors(live):
    def refuse(args):
        raise CommandError(f"no slot {args.get('slot')}")

    def deferred(args):
        d = Deferred()
        threading.Timer(0.1, d.resolve, args=({"done": args["n"]},)).start()
        return d
    live.core.register_command("refuse", refuse)      # registered while running: fine for a test, done by post
    live.core.register_command("later", deferred)
    assert ask(live.path, "refuse", {"slot": 3}) == {"ok": False, "error": "no slot 3"}
    assert ask(live.path, "later", {"n": 2}) == {"ok": True, "result": {"done": 2}}


def test_a_secret_or_nan_in_an_answer_is_sent_as_mqtt_would(live):
    from agent.config import Secret
    live.core.register_command("leaky", lambda args: {"pin": Secret("1234"), "rtt": float("nan")})
    assert ask(live.path, "leaky")["result"] == {"pin": "***", "rtt": None}


def test_bad_lines_get_one_line_errors(live):
    def error(data: bytes) -> str:
        answer = protocol.parse_answer(raw(live.path, data).rstrip(b"\n"))
        assert answer["ok"] is False
        return answer["error"]
    assert error(b"status\n").startswith("request: not JSON")
    assert error(b'{"cmd": "status", "args": 5}\n') == '"args": expected an object, got int'
    assert error(b"x" * (protocol.MAX_REQUEST_BYTES + 10)) == \
        f"request longer than {protocol.MAX_REQUEST_BYTES} bytes"          # no newline ever came


def test_one_connection_carries_several_requests(live):
    with Connection(live.path) as console:
        for expected in (-97, -101):
            live.core.state["modem"]["signal"]["rsrp_dbm"] = expected
            assert console.ask("signal")["result"]["rsrp_dbm"] == expected


def test_a_silent_client_does_not_block_the_others(live):
    quiet = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
    for s in quiet:
        s.connect(live.path)
        s.sendall(b'{"cmd": "sig')                 # half a request, then nothing
    try:
        start = time.monotonic()
        assert ask(live.path, "signal", timeout=5.0)["ok"] is True
        assert time.monotonic() - start < 2.0
    finally:
        for s in quiet:
            s.close()


def test_past_the_client_limit_the_next_one_is_told_busy(short_dir):
    core = Core()
    server = ConsoleServer(core, short_dir / "c.sock", max_clients=2)
    server.start()
    held = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(2)]
    try:
        for s in held:
            s.connect(str(server.path))
        # accept() takes them in order: the third is told at once, before it asks anything
        answer = protocol.parse_answer(raw(str(server.path), b"").rstrip(b"\n"))
        assert answer == {"ok": False, "error": "busy: 2 console clients are connected already"}
    finally:
        for s in held:
            s.close()
        server.stop()


def test_a_core_that_does_not_answer_in_time_is_reported(short_dir):
    core = Core()                                  # never run: nobody takes the command
    server = ConsoleServer(core, short_dir / "c.sock", answer_timeout_s=0.2)
    server.start()
    try:
        assert ask(server.path, "status") == {"ok": False, "error": "the agent did not answer status within 0.2 s"}
        with pytest.raises(ConsoleUnavailable, match="did not answer status within 0.1 s"):
            ask(server.path, "status", timeout=0.1)     # the client's own bound, shorter than the server's
    finally:
        server.stop()


def test_the_socket_is_0660_and_removed_at_stop(short_dir):
    server = ConsoleServer(Core(), short_dir / "c.sock")
    server.start()
    st = os.lstat(server.path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    server.stop()
    assert not server.path.exists()
    with pytest.raises(ConsoleUnavailable, match="no console socket at .*: the agent is not running"):
        ask(server.path, "status")


def test_a_stale_socket_is_replaced_and_a_live_one_is_left_alone(short_dir):
    path = short_dir / "c.sock"
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))
    dead.close()                                   # the file stays: an agent that was killed
    with pytest.raises(ConsoleUnavailable, match="nobody listens on"):
        ask(path, "status")
    first = ConsoleServer(Core(), path)
    first.start()
    assert first.problem is None
    second = ConsoleServer(Core(), path)
    second.start()
    assert second.problem == f"another agent answers on {path} (two agents on one box?)"
    second.stop()                                  # must not remove the first one's socket
    assert path.exists()
    first.stop()


def test_a_file_that_is_not_a_socket_is_not_removed(short_dir):
    path = short_dir / "c.sock"
    path.write_text("mine")
    server = ConsoleServer(Core(), path)
    server.start()
    assert server.problem == f"{path} exists and is not a socket"
    assert path.read_text() == "mine"
    server.stop()


def test_a_path_too_long_for_a_unix_socket_is_named(short_dir):
    server = ConsoleServer(Core(), short_dir / ("d" * 120) / "c.sock")
    server.start()
    assert "longer than 107 bytes" in server.problem
    server.stop()


def as_user(uid: int, gid: int, fn) -> str:
    """fn() run in a forked child as uid/gid (no supplementary groups); what it returned, as text."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: become the user, run, report, exit at once
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            try:
                out = str(fn())
            except Exception as e:
                out = f"{type(e).__name__}: {e}"
            os.write(write_end, out.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as r:
        out = r.read().decode()
    os.waitpid(pid, 0)
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become other users")
def test_users_outside_the_group_are_refused_and_members_are_served(short_dir):
    # The group: nogroup stands in for relais (creating a group on the test machine would outlive the test).
    # The socket's directory must be reachable by both users, as /run/relais is.
    os.chmod(short_dir, 0o755)
    nogroup = grp.getgrnam("nogroup").gr_gid
    core = Core()
    core.register_command("whoami", lambda args: "served")
    server = ConsoleServer(core, short_dir / "c.sock", group="nogroup")
    stop = threading.Event()
    thread = threading.Thread(target=core.run, args=(stop,), kwargs={"tick_s": 0.05}, daemon=True)
    thread.start()
    server.start()
    try:
        assert os.lstat(server.path).st_gid == nogroup
        outsider = as_user(1, 1, lambda: ask(server.path, "status", timeout=2))        # daemon:daemon
        assert outsider == f"ConsoleUnavailable: permission denied on {server.path}: run as root or as a " \
                           "member of group relais"
        member = as_user(65534, nogroup, lambda: ask(server.path, "whoami", timeout=5))  # nobody:nogroup
        assert member == str({"ok": True, "result": "served"})
    finally:
        server.stop()
        stop.set()
        thread.join(timeout=5)
