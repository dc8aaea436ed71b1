"""The console over HTTP: logins, sessions, CSRF, Origin, roles, the brute-force limit, bad input, live rows.

One console for the module (SQLite, a fake clock, a recording stand-in for the device's reply: the real round trip
to an agent is tests/fleet/test_console_chromium.py). Each attack is tried and must leave no trace in the audit."""
from __future__ import annotations

import http.client
import json
import re
import socket
from urllib.parse import urlencode

import pytest

from fleet.config import from_dict
from fleet.console import limiter, start_console
from fleet.db import FleetDb
from fleet.messages import parse
from fleet.users import Role, Users
from tests.fleet import loadgen

PASSWORD = "correct horse battery"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    config = from_dict({"database": str(tmp / "fleet.db"),
                        "console": {"listen": "127.0.0.1:0", "trust_proxy": True, "live_every_s": 0.2}})
    db = FleetDb(config.database).connect()
    db.store([parse(o.topic, o.payload) for i in range(30) for o in loadgen.birth(i, ts=T0 - 60)], T0 - 60)
    users = Users(db)
    for name, role in (("ada", Role.ADMIN), ("otto", Role.OPERATOR), ("vera", Role.VIEWER)):
        users.add(name, role, PASSWORD, T0)
    clock, sent, failures = Clock(T0), [], []

    def command(config, site, name, args, now):
        sent.append((site, name, args))
        if failures:   # what the next command raises
            raise failures.pop()
        return {"id": "f0001", "device_id": site, "ok": True, "result": {"mode": args.get("mode")}}

    running = start_console(config, clock=clock, command=command)
    yield {"addr": running.address, "clock": clock, "sent": sent, "db": db, "failures": failures,
           "console": running.console}
    running.stop()
    db.close()


class Response:
    def __init__(self, r: http.client.HTTPResponse):
        self.status, self.headers, self.text = r.status, r.headers, r.read().decode()

    def error(self) -> str:
        found = re.findall(r'class="error"[^>]*>(.*?)</', self.text, re.S)
        return found[0] if found else ""


def request(app, method: str, path: str, form: dict | None = None, cookie: str = "", source: str = "10.1.0.1",
            headers: dict | None = None, body: bytes | None = None) -> Response:
    conn = http.client.HTTPConnection(*app["addr"], timeout=20)
    h = {"X-Forwarded-For": source, **(headers or {})}
    if cookie:
        h["Cookie"] = f"relais_session={cookie}"
    if form is not None:
        body = urlencode(form).encode()
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    conn.request(method, path, body=body, headers=h)
    try:
        return Response(conn.getresponse())
    finally:
        conn.close()


def login(app, name: str, password: str = PASSWORD, source: str = "10.1.0.1") -> tuple[str, str]:
    """(session cookie, CSRF token)"""
    r = request(app, "POST", "/login", {"name": name, "password": password}, source=source)
    assert r.status == 303, (r.status, r.error())
    cookie = re.search(r"relais_session=([^;]*)", r.headers["Set-Cookie"]).group(1)
    page = request(app, "GET", "/", cookie=cookie)
    return cookie, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def audit_count(app) -> int:
    return app["db"].query("SELECT COUNT(*) FROM console_audit")[0][0]


def test_a_login_sets_a_strict_httponly_cookie_and_pages_carry_the_security_headers(app):
    r = request(app, "GET", "/")
    assert r.status == 303 and r.headers["Location"] == "/login"
    r = request(app, "POST", "/login", {"name": "vera", "password": PASSWORD})
    cookie = r.headers["Set-Cookie"]
    assert re.fullmatch(r"relais_session=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200",
                        cookie)
    token = cookie.split(";")[0].split("=", 1)[1]
    stored = app["db"].query("SELECT token_sha256 FROM console_sessions")
    assert token not in json.dumps(stored)   # the database holds only a digest of the token
    page = request(app, "GET", "/", cookie=token)
    assert page.status == 200 and page.text.count('<tr id="row-site-') == 30
    h = page.headers
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"] and "script-src 'self'" in \
        h["Content-Security-Policy"] and h["X-Frame-Options"] == "DENY" and h["Cache-Control"] == "no-store"
    assert "<script>" not in page.text and "style=" not in page.text   # nothing inline: the CSP forbids it


def test_filters_and_sorting_are_query_parameters(app):
    cookie, _ = login(app, "vera")
    r = request(app, "GET", "/?filter=on_backup&sort=signal&dir=asc", cookie=cookie)
    sites = re.findall(r'<tr id="row-(site-\d+)"', r.text)
    assert sites == ["site-00025", "site-00020", "site-00015", "site-00010", "site-00005", "site-00000"]   # i % 5
    assert 'class="filter on" data-filter="on_backup"' in r.text
    bad = request(app, "GET", "/?filter=%3Cscript%3E", cookie=cookie)
    assert bad.status == 400 and bad.error().startswith("filter &#x27;&lt;script&gt;&#x27;: expected one of")
    assert "<script>" not in bad.text and "Traceback" not in bad.text


def test_an_operator_sends_a_signed_action_and_it_is_audited(app):
    cookie, csrf = login(app, "otto")
    before = len(app["sent"])
    r = request(app, "POST", "/site/site-00003/action", {"csrf": csrf, "action": "failover_force_backup"},
                cookie=cookie)
    assert r.status == 200 and 'id="reply" data-ok="true"' in r.text, r.error()
    assert app["sent"][before:] == [("site-00003", "failover", {"mode": "force_backup"})]
    r = request(app, "POST", "/site/site-00003/action", {"csrf": csrf, "action": "sim_switch", "slot": "2"},
                cookie=cookie)
    assert app["sent"][-1] == ("site-00003", "sim_switch", {"slot": 2})
    admin, _ = login(app, "ada")
    page = request(app, "GET", "/audit", cookie=admin)
    assert re.search(r"<td>otto</td><td>10\.1\.0\.1</td><td>failover_force_backup</td><td>site-00003</td>"
                     r"<td>\{&quot;mode&quot;: &quot;force_backup&quot;\}</td><td>ok</td>", page.text), page.text
    assert request(app, "GET", "/audit", cookie=cookie).status == 403   # an operator sees no audit


@pytest.mark.parametrize("attack", ["no_csrf", "wrong_csrf", "viewer", "cross_origin", "no_session"])
def test_each_forged_action_is_refused_and_leaves_no_trace(app, attack):
    who = "vera" if attack == "viewer" else "otto"
    cookie, csrf = login(app, who)
    form = {"csrf": csrf, "action": "failover_force_backup"}
    headers = {}
    if attack == "no_csrf":
        del form["csrf"]
    elif attack == "wrong_csrf":
        form["csrf"] = csrf[:-2] + ("AA" if not csrf.endswith("AA") else "BB")
    elif attack == "cross_origin":
        headers = {"Origin": "http://evil.example"}
    elif attack == "no_session":
        cookie = ""
    sent, audited = len(app["sent"]), audit_count(app)
    r = request(app, "POST", "/site/site-00001/action", form, cookie=cookie, headers=headers)
    assert r.status == 403, r.status
    expected = {"no_csrf": "CSRF token is missing or wrong", "wrong_csrf": "CSRF token is missing or wrong",
                "viewer": "vera is viewer: this needs operator", "cross_origin": "another site (http://evil.example)",
                "no_session": "not logged in"}[attack]
    assert expected in r.error()
    assert len(app["sent"]) == sent and audit_count(app) == audited


def test_the_same_origin_is_accepted(app):
    cookie, csrf = login(app, "otto")
    host = "%s:%d" % app["addr"]
    r = request(app, "POST", "/site/site-00002/action", {"csrf": csrf, "action": "failover_auto"}, cookie=cookie,
                headers={"Origin": f"http://{host}"})
    assert r.status == 200 and app["sent"][-1] == ("site-00002", "failover", {"mode": "auto"})


def test_twenty_wrong_passwords_lock_the_account_then_the_source(app):
    source = "192.0.2.20"
    statuses = [request(app, "POST", "/login", {"name": "otto", "password": f"guess-{n:04d}"}, source=source).status
                for n in range(20)]
    assert statuses == [401] * 5 + [429] * 15
    right = request(app, "POST", "/login", {"name": "otto", "password": PASSWORD}, source="192.0.2.21")
    assert right.status == 429 and "Too many failed logins (account): try again in 15 min" in right.error()
    # one address trying many names: 20 failures, then even a right password from there waits
    for n in range(20):
        assert request(app, "POST", "/login", {"name": f"nobody{n}", "password": "x" * 12},
                       source="192.0.2.30").status == 401
    assert request(app, "POST", "/login", {"name": "vera", "password": PASSWORD},
                   source="192.0.2.30").status == 429
    assert request(app, "POST", "/login", {"name": "vera", "password": PASSWORD}, source="192.0.2.31").status == 303
    app["clock"].t += 901
    try:
        login(app, "otto", source="192.0.2.20")   # the window has passed: the owner gets in
    finally:
        app["clock"].t -= 901


def test_sessions_expire_when_idle_or_old_and_at_logout(app):
    cookie, csrf = login(app, "vera")
    clock = app["clock"]
    start = clock.t
    try:
        for step in range(30):   # a request every 25 min keeps it alive... until 12 h after the login
            clock.t += 1500
            alive = request(app, "GET", "/", cookie=cookie).status == 200
            assert alive == (clock.t - start <= 43200), step
        cookie, csrf = login(app, "vera")
        clock.t += 1801                      # idle 30 min + 1 s
        assert request(app, "GET", "/", cookie=cookie).status == 303
        cookie, csrf = login(app, "vera")
        r = request(app, "POST", "/logout", {"csrf": csrf}, cookie=cookie)
        assert r.status == 303 and "Max-Age=0" in r.headers["Set-Cookie"]
        assert request(app, "GET", "/", cookie=cookie).status == 303
    finally:
        clock.t = start


@pytest.mark.parametrize("case", ["not_a_form", "oversized", "unknown_action", "bad_slot", "bad_site", "no_site",
                                  "no_page", "garbage_cookie", "binary_form", "bad_referer"])
def test_bad_input_is_one_clear_line(app, case):
    cookie, csrf = login(app, "otto")
    form, body, headers, path = {"csrf": csrf, "action": "drill"}, None, {}, "/site/site-00001/action"
    if case == "not_a_form":
        form, body, headers = None, b'{"action": "drill"}', {"Content-Type": "application/json"}
    elif case == "oversized":
        form["pad"] = "x" * 20000
    elif case == "unknown_action":
        form["action"] = "format_disk"
    elif case == "bad_slot":
        form.update(action="sim_switch", slot="9")
    elif case == "bad_site":
        path = "/site/..%2F..%2Fetc/action"
    elif case == "no_site":
        path = "/site/site-99999/action"
    elif case == "no_page":
        path = "/nothing"
    elif case == "garbage_cookie":
        cookie = '"\\x00;;=='
    elif case == "binary_form":
        form, body = None, b"csrf=" + csrf.encode() + b"&action=\xff\xfe"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif case == "bad_referer":
        headers = {"Referer": "http://[::1"}
    sent = len(app["sent"])
    r = request(app, "POST", path, form, cookie=cookie, headers=headers, body=body)
    expected = {"not_a_form": (400, "expected a form"), "oversized": (413, "at most 16384"),
                "unknown_action": (400, "action &#x27;format_disk&#x27;: expected one of"),
                "bad_slot": (400, "slot &#x27;9&#x27;: expected 1 or 2"), "bad_site": (404, "is not a site id"),
                "no_site": (404, "no site &#x27;site-99999&#x27;"), "no_page": (404, "nothing to post to"),
                "garbage_cookie": (403, "not logged in"), "binary_form": (400, "the form is not UTF-8"),
                "bad_referer": (403, "a Referer that is no URL")}[case]
    assert (r.status, expected[1] in r.error()) == (expected[0], True), (r.status, r.error())
    assert "Traceback" not in r.text and len(app["sent"]) == sent   # not even to a site the fleet does not know


def test_admins_manage_users_and_others_cannot(app):
    cookie, csrf = login(app, "ada")
    r = request(app, "POST", "/users", {"csrf": csrf, "do": "add", "name": "newbie", "role": "viewer",
                                        "password": "a long enough one"}, cookie=cookie)
    assert r.status == 200 and "added newbie (viewer)" in r.text
    assert request(app, "POST", "/users", {"csrf": csrf, "do": "add", "name": "x y", "role": "viewer",
                                           "password": "a long enough one"}, cookie=cookie).status == 400
    assert "cannot remove themselves" in request(app, "POST", "/users", {"csrf": csrf, "do": "remove",
                                                 "name": "ada"}, cookie=cookie).error()
    assert app["db"].query("SELECT who, action, ok, reply FROM console_audit ORDER BY at DESC, rowid DESC "
                           "LIMIT 1") == [("ada", "user_remove", 0, json.dumps(
                               {"error": "an admin cannot remove themselves (ask another admin)"}))]
    login(app, "newbie", "a long enough one")
    r = request(app, "POST", "/users", {"csrf": csrf, "do": "remove", "name": "newbie"}, cookie=cookie)
    assert "removed newbie" in r.text
    ocookie, ocsrf = login(app, "otto")
    r = request(app, "POST", "/users", {"csrf": ocsrf, "do": "role", "name": "otto", "role": "admin"},
                cookie=ocookie)
    assert r.status == 403 and Users(app["db"], create=False).get("otto").role is Role.OPERATOR


def test_a_changed_row_arrives_by_server_sent_events(app):
    cookie, _ = login(app, "vera")
    sock = socket.create_connection(app["addr"], timeout=10)
    sock.sendall(f"GET /events?filter=on_backup HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: relais_session={cookie}\r\n"
                 f"X-Forwarded-For: 10.1.0.1\r\n\r\n".encode())
    received = b""
    while b"retry: 5000" not in received:
        received += sock.recv(4096)
    assert b"Content-Type: text/event-stream" in received and b"X-Accel-Buffering: no" in received
    # site-00005 is on the page (on backup); a new failover state with another operator arrives for it
    doc = loadgen.envelope("site-00005", 99, T0, state={"modem": {"operator_name": "Bouygues",
                                                                   "signal": {"rsrp_dbm": -70}}})
    app["db"].store([parse("relais/v1/site-00005/state/modem", json.dumps(doc).encode())], app["clock"].t)
    while b"event: row" not in received:   # the socket's timeout (10 s) ends a wait for nothing
        received += sock.recv(65536)
    sock.close()
    event = received.split(b"event: row\ndata: ", 1)[1].split(b"\n\n", 1)[0]
    msg = json.loads(event)
    assert msg["id"] == "site-00005" and "<td>Bouygues</td>" in msg["html"] and "-70 dBm" in msg["html"]
    # and the table, kept in memory between pages, read the change too
    page = request(app, "GET", "/?q=site-00005", cookie=cookie)
    assert re.search(r'<tr id="row-site-00005".*<td>Bouygues</td><td class="">-70 dBm</td>', page.text)


def test_the_site_page_draws_30_days_and_fetches_the_devices_own_report(app):
    site = "site-00002"
    events = [(101, T0 - 5 * 86400, "failover", {"reason": "primary_down", "to": "backup"}),
              (102, T0 - 5 * 86400 + 900, "failback", {"to": "primary"}),
              (103, T0 - 5 * 86400 + 901, "outage_closed", {"start": T0 - 5 * 86400, "end": T0 - 5 * 86400 + 900,
                                                          "cause": "down", "uplink": "primary"}),
              (104, T0 - 2 * 86400, "drill_result", {"ok": False, "kind": "full", "reason": "dns failed"}),
              (105, T0 - 40 * 86400, "drill_result", {"ok": True})]   # older than 30 days: not drawn
    messages = [parse(f"relais/v1/{site}/event", json.dumps(loadgen.envelope(site, seq, ts, kind=kind, data=data))
                      .encode()) for seq, ts, kind, data in events]
    messages += [parse(f"relais/v1/{site}/telemetry", json.dumps(loadgen.envelope(
        site, 200 + n, T0 - 86400 * n, why="change", metrics={"rsrp_dbm": -90 - n})).encode()) for n in range(5)]
    app["db"].store(messages, app["clock"].t)
    viewer, csrf = login(app, "vera")
    page = request(app, "GET", f"/site/{site}", cookie=viewer).text
    svg = re.search(r'<svg class="timeline".*?</svg>', page, re.S).group(0)
    assert 'data-incidents="1"' in svg and 'data-drills="1"' in svg and 'class="drill failed"' in svg
    assert svg.count('<rect class="backup"') == 1 and svg.count(",") >= 5   # the backup span; 5 signal points
    assert "<td>dns failed</td>" in page
    assert "<h2>Actions</h2>" not in page          # a viewer has no action buttons...
    sent = len(app["sent"])
    r = request(app, "POST", f"/site/{site}/report", {"csrf": csrf}, cookie=viewer)   # ...but reads the report
    assert r.status == 200 and '<pre id="report">' in r.text
    assert app["sent"][sent:] == [(site, "report", {"format": "text", "lang": "en"})]
    assert app["db"].query("SELECT who, site, ok FROM console_audit WHERE action = 'report'") == [("vera", site, 1)]
    operator, _ = login(app, "otto")
    assert "<h2>Actions</h2>" in request(app, "GET", f"/site/{site}", cookie=operator).text


@pytest.mark.parametrize("forwarded, source", [
    ("2001:DB8::1", "2001:db8::1"),
    ("203.0.113.7, 10.1.0.9", "10.1.0.9"),                       # the proxy appends the last one
    ("not-an-address", "127.0.0.1"),                             # the proxy's own word is an address, or ignored
    ("10.1.0.9\r\n 2026-12-03 INFO console: ada logged in", "127.0.0.1"),   # a folded header: a forged log line
])
def test_the_forwarded_source_is_an_address_or_the_peers(app, forwarded, source):
    cookie, csrf = login(app, "otto")
    r = request(app, "POST", "/site/site-00004/action", {"csrf": csrf, "action": "failover_auto"}, cookie=cookie,
                source=forwarded)
    assert r.status == 200
    assert app["db"].query("SELECT source FROM console_audit ORDER BY at DESC, rowid DESC LIMIT 1") == [(source,)]


@pytest.mark.parametrize("what", ["action", "report"])
def test_a_command_that_fails_is_audited_with_why(app, what):
    from fleet.command import CommandError
    cookie, csrf = login(app, "otto")
    form = {"csrf": csrf, "action": "modem_reset"} if what == "action" else {"csrf": csrf}
    audit = "SELECT who, action, site, ok, reply FROM console_audit ORDER BY at DESC, rowid DESC LIMIT 1"
    name = "modem_reset" if what == "action" else "report"
    app["failures"].append(CommandError("no reply from site-00006 within 10 s (offline? see `relais fleet ls`)"))
    r = request(app, "POST", f"/site/site-00006/{what}", form, cookie=cookie)
    assert r.status == 200 and "no reply from site-00006 within 10 s" in r.text
    assert app["db"].query(audit) == [("otto", name, "site-00006", None, json.dumps(
        {"error": "no reply from site-00006 within 10 s (offline? see `relais fleet ls`)"}))]
    app["failures"].append(PermissionError(13, "Permission denied"))   # a key directory it may not read
    r = request(app, "POST", f"/site/site-00006/{what}", form, cookie=cookie)
    assert r.status == 500 and "Traceback" not in r.text and "Permission" not in r.text
    assert app["db"].query(audit) == [("otto", name, "site-00006", None,
                                       '{"error": "internal error (PermissionError)"}')]


def test_an_ipv6_host_counts_as_its_64_for_the_login_limit(app, monkeypatch):
    console = app["console"]
    monkeypatch.setattr(console, "attempts", limiter.Attempts(limiter.Limits(max_failures_per_source=2)))
    statuses = [request(app, "POST", "/login", {"name": f"guess{n}", "password": "x" * 12},
                        source=f"2001:db8:7:7:{n}::1").status for n in range(3)]
    assert statuses == [401, 401, 429]     # three addresses, one host's /64
    assert request(app, "POST", "/login", {"name": "guess9", "password": "x" * 12},
                   source="2001:db8:7:8::1").status == 401   # the next /64 is another site


def test_a_request_refused_before_its_headers_are_read_is_answered_behind_a_proxy_too(app):
    """trust_proxy reads the source from a header: a request line too long has none yet, and still gets its 414."""
    sock = socket.create_connection(app["addr"], timeout=10)
    sock.sendall(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    sock.close()
    assert got.startswith(b"HTTP/1.1 414 ") and b"URI is too long" in got


def test_a_site_of_three_uplinks_gets_a_force_button_per_uplink_and_only_its_own(app):
    """[[uplinks]] fiber, fiber2, lte: one "force" per published uplink, best first; a name the device does not
    publish is refused with one line and nothing is sent."""
    dev = "site-3up"
    failover = {"state": "primary", "mode": "auto", "active_uplink": "fiber",
                "links": {"lte": {"kind": "cellular", "priority": 30}, "fiber": {"kind": "ethernet", "priority": 10},
                          "fiber2": {"kind": "ethernet", "priority": 20}}}
    out = loadgen.Outgoing(f"{loadgen.PREFIX}/{dev}/state/failover",
                           loadgen.encode(loadgen.envelope(dev, 10, T0 - 60, state={"failover": failover}), "cbor"),
                           None, retain=True)
    app["db"].store([parse(out.topic, out.payload)], T0 - 60)
    cookie, csrf = login(app, "otto")
    page = request(app, "GET", f"/site/{dev}", cookie=cookie)
    buttons = re.findall(r'<button name="go" value="(failover_force_[a-z0-9_]+)">([^<]*)</button>', page.text)
    assert buttons == [("failover_force_fiber", "Force fiber"), ("failover_force_fiber2", "Force fiber2"),
                       ("failover_force_lte", "Force lte")]
    before = len(app["sent"])
    r = request(app, "POST", f"/site/{dev}/action", {"csrf": csrf, "action": "failover_force_fiber2"}, cookie=cookie)
    assert r.status == 200 and app["sent"][before:] == [(dev, "failover", {"mode": "force_fiber2"})]
    r = request(app, "POST", f"/site/{dev}/action", {"csrf": csrf, "action": "failover_force_wan9"}, cookie=cookie)
    assert r.status == 400 and "expected one of site-3up&#x27;s uplinks: fiber, fiber2, lte" in r.error(), r.error()
    assert len(app["sent"]) == before + 1


HOSTS = [   # (Host, the answer)
    ("evil.example", 421), ("evil.example:8080", 421), ("127.0.0.1.evil.example", 421), ("localhost.evil", 421),
    ("127.0.0.1", 200), ("127.0.0.1:8080", 200), ("[::1]:8080", 200), ("10.0.0.7", 200), ("localhost:8080", 200),
    ("LOCALHOST.", 200), ("a@b", 400), ("x:port", 400), ("[::1", 400), ("", 400),
]


def test_with_no_origin_a_dns_rebinding_host_is_refused(app):
    """origin = "": a page on evil.example that re-resolved its name to this console reads and posts same-origin
    as far as the browser knows; the Host header still names evil.example, and that is refused first, login or
    not. An IP address cannot be rebound, localhost does not leave the browser."""
    cookie, token = login(app, "otto")
    for host, status in HOSTS:
        r = request(app, "GET", "/", cookie=cookie, headers={"Host": host})
        assert r.status == status, (host, r.status, r.error())
        if status == 200:
            continue
        assert r.error() and "\n" not in r.error()
        before = (audit_count(app), len(app["sent"]))
        r = request(app, "POST", "/site/site-00001/action", {"csrf": token, "action": "drill"}, cookie=cookie,
                    headers={"Host": host, "Origin": f"http://{host}"})
        assert r.status == status and (audit_count(app), len(app["sent"])) == before, host
        assert ("set [console] origin" in r.error()) is (status == 421), host


def test_the_site_page_draws_when_the_site_was_offline(app):
    site = "site-00017"
    for at, text in ((T0 - 30000, b"offline"), (T0 - 20000, b"online"), (T0 - 1000, b"offline")):
        app["db"].store([parse(f"relais/v1/{site}/status", text)], at)
    cookie, _ = login(app, "vera")
    page = request(app, "GET", f"/site/{site}", cookie=cookie)
    assert page.status == 200 and 'data-offline="2"' in page.text, re.findall(r"<rect class=.offline.*?</rect>",
                                                                              page.text)
    assert page.text.count('<rect class="offline"') == 2 and "<title>offline 2.8 h</title>" in page.text
