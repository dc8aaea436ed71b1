"""The console against clients that misbehave on the wire: a request trickled a byte at a time (slowloris), a form
that never ends, more connections than it serves, more live pages than it streams, malformed lengths and
oversized heads. Each ends in one clear answer (or a closed connection), and the console goes on serving.

One console for the module with a 1-second request deadline and 6 connection slots, so each case is quick."""
from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time

import pytest

from fleet.config import from_dict
from fleet.console import start_console
from fleet.db import FleetDb
from fleet.users import Role, Users
from tests.fleet.postgres import wait_for
from tests.fleet.test_console_http import PASSWORD, login, request

SLOTS = 6
DEADLINE_S = 1.0


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("robust")
    config = from_dict({"database": str(tmp / "fleet.db"), "console": {"listen": "127.0.0.1:0"}})
    db = FleetDb(config.database).connect()
    Users(db).add("vera", Role.VIEWER, PASSWORD, time.time())
    db.close()
    running = start_console(config)
    running.server.request_timeout_s = DEADLINE_S
    running.server.max_connections = SLOTS
    yield {"addr": running.address, "running": running}
    running.stop()


def raw(app, data: bytes, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(app["addr"], timeout=timeout)
    sock.sendall(data)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    sock.close()
    return got


def serving(app) -> bool:
    return request(app, "GET", "/login").status == 200


def test_a_request_trickled_a_byte_at_a_time_is_cut_at_the_deadline(app):
    sock = raw(app, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    start, closed = time.monotonic(), False
    while time.monotonic() - start < 4 * DEADLINE_S:   # each byte well within any per-read timeout
        try:
            sock.sendall(b"X")
            time.sleep(0.1)
            sock.setblocking(False)
            closed = sock.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:   # reset: closed as well
            closed = True
        finally:
            sock.setblocking(True)
        if closed:
            break
    sock.close()
    assert closed and time.monotonic() - start < 3 * DEADLINE_S
    assert serving(app)


def test_a_form_that_never_ends_is_answered_408(app):
    sock = raw(app, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100\r\n\r\nname=vera&pass")
    start = time.monotonic()
    got = answer(sock)
    assert got.startswith(b"HTTP/1.1 408 ") and b"the form did not arrive within 1 s" in got
    assert time.monotonic() - start < 3 * DEADLINE_S and serving(app)


def test_a_form_shorter_than_its_length_is_refused(app):
    sock = raw(app, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 100\r\n\r\nname=vera")
    sock.shutdown(socket.SHUT_WR)
    got = answer(sock)
    assert got.startswith(b"HTTP/1.1 400 ") and b"the form ended after 9 of its 100 bytes" in got


@pytest.mark.parametrize("length, status, line", [
    (b"\xb2", 400, "Content-Length &#x27;\u00b2&#x27; is not one number of bytes"),       # latin-1 "²": isdigit()
    (b"9" * 5000, 400, "is not one number of bytes"),                                    # past int()'s 4300 digits
    (b"-1", 400, "Content-Length &#x27;-1&#x27; is not one number of bytes"),
    (b"12\r\nContent-Length: 9", 400, "&#x27;12, 9&#x27; is not one number of bytes"),   # which one ends the body?
    (None, 411, "a form needs its Content-Length"),
])
def test_a_malformed_content_length_is_one_line(app, length, status, line):
    head = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    if length is not None:
        head += b"Content-Length: " + length + b"\r\n"
    got = answer(raw(app, head + b"\r\nname=vera&password=x"))
    assert got.startswith(b"HTTP/1.1 %d " % status), got[:200]
    assert line in re.search(r'class="error">(.*?)</p>', got.decode("utf-8")).group(1)
    assert serving(app)


def test_an_oversized_request_line_or_head_is_refused_and_the_console_goes_on(app):
    many = b"".join(b"X-%d: y\r\n" % n for n in range(150))
    for data, status, line in ((b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414, "URI is too long"),
                               (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n", 431, "Too many headers"),
                               (b"GET / HTTP/1.1\r\nX: " + b"y" * 70_000 + b"\r\n\r\n", 431, "Line too long")):
        got = answer(raw(app, data)).decode()
        assert got.startswith(f"HTTP/1.1 {status} ") and "Content-Security-Policy: default-src 'none'" in got
        assert line in re.search(r'class="error">(.*?)</p>', got).group(1)
    assert serving(app)


def test_connections_past_the_bound_get_503_at_once_and_a_freed_slot_serves_again(app):
    server = app["running"].server
    wait_for(lambda: server.open_connections == 0, 5, "the earlier tests' connections to end")
    idle = [socket.create_connection(app["addr"], timeout=5) for _ in range(SLOTS)]   # silent: each holds a slot
    try:
        wait_for(lambda: server.open_connections == SLOTS, 5, "the silent connections to be taken")
        busy = answer(socket.create_connection(app["addr"], timeout=5))
        assert busy.startswith(b"HTTP/1.1 503 ") and busy.endswith(b"too many connections: try again in a few "
                                                                  b"seconds\n")
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5   # a closed connection's thread gives its slot back as it ends
    while True:
        try:
            if serving(app):
                break
        except (ConnectionError, http.client.HTTPException):
            pass
        assert time.monotonic() < deadline, "no slot came back"
        time.sleep(0.05)


def test_live_pages_past_their_bound_are_told_to_reload_later(app, monkeypatch):
    cookie, _ = login(app, "vera")
    console = app["running"].console
    monkeypatch.setattr(console, "live_streams", threading.BoundedSemaphore(1))
    first = raw(app, f"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: relais_session={cookie}\r\n\r\n".encode())
    got = b""
    while b"retry: 5000" not in got:
        got += first.recv(4096)
    r = request(app, "GET", "/events", cookie=cookie)
    assert r.status == 503 and "too many live pages open" in r.error()
    first.close()


def test_the_database_connections_are_bounded_and_a_request_past_them_is_a_503(app, monkeypatch):
    cookie, _ = login(app, "vera")
    console = app["running"].console
    monkeypatch.setattr(console.pool, "slots", threading.BoundedSemaphore(2))
    monkeypatch.setattr(console.pool, "wait_s", 0.2)
    with contextlib.ExitStack() as held:   # two slow pages hold both connections
        held.enter_context(console.db())
        held.enter_context(console.db())
        r = request(app, "GET", "/", cookie=cookie)
        assert r.status == 503 and "the console is busy" in r.error()
    assert request(app, "GET", "/", cookie=cookie).status == 200
