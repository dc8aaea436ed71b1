"""Who may do what on the console, route by route: every route tried anonymous and as each role; CSRF and the
Origin check on every state-changing request; the session a login gives; the cookie behind HTTPS; the login
limiter's source address when no proxy is trusted; and the time a login takes whether the name exists or not.

One console for the module, configured as behind an HTTPS reverse proxy that is *not* trusted for addresses
(secure_cookies, origin = "https://fleet.example", trust_proxy = false)."""
from __future__ import annotations

import hashlib
import http.client
import re
from urllib.parse import urlencode

import pytest

from fleet import users as users_module
from fleet.config import from_dict
from fleet.console import limiter, start_console
from fleet.db import FleetDb
from fleet.messages import parse
from fleet.users import Role, Users
from tests.fleet import loadgen
from tests.fleet.test_console_http import PASSWORD, T0, Clock, Response

ORIGIN = "https://fleet.example"
COOKIE = "__Host-relais_session"
SITE = "site-00001"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("auth")
    config = from_dict({"database": str(tmp / "fleet.db"), "console": {
        "listen": "127.0.0.1:0", "secure_cookies": True, "origin": ORIGIN, "trust_proxy": False}})
    db = FleetDb(config.database).connect()
    db.store([parse(o.topic, o.payload) for o in loadgen.birth(1, ts=T0 - 60)], T0 - 60)
    users = Users(db)
    for name, role in (("ada", Role.ADMIN), ("otto", Role.OPERATOR), ("vera", Role.VIEWER)):
        users.add(name, role, PASSWORD, T0)
    sent = []

    def command(config, site, name, args, now):
        sent.append((site, name))
        return {"id": "f1", "device_id": site, "ok": True, "result": {}}

    running = start_console(config, clock=Clock(T0), command=command,
                            limits=limiter.Limits(max_failures_per_account=50, max_failures_per_source=3))
    yield {"addr": running.address, "sent": sent, "db": db, "console": running.console}
    running.stop()
    db.close()


def request(app, method: str, path: str, form: dict | None = None, token: str = "",
            headers: dict | None = None) -> Response:
    conn = http.client.HTTPConnection(*app["addr"], timeout=20)
    h = {"Origin": ORIGIN, **(headers or {})} if method == "POST" else dict(headers or {})
    if token:
        h["Cookie"] = f"{COOKIE}={token}"
    body = None
    if form is not None:
        body = urlencode(form).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body, headers={k: v for k, v in h.items() if v is not None})
    try:
        return Response(conn.getresponse())
    finally:
        conn.close()


def login(app, name: str, token: str = "") -> tuple[str, str]:
    r = request(app, "POST", "/login", {"name": name, "password": PASSWORD}, token=token)
    assert r.status == 303, (r.status, r.error())
    got = re.search(rf"{COOKIE}=([^;]*)", r.headers["Set-Cookie"]).group(1)
    page = request(app, "GET", "/", token=got)
    return got, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


# (method, path, form) -> the least role it needs; None: any logged-in user
ROUTES = {
    ("GET", "/", None): None,
    ("GET", f"/site/{SITE}", None): None,
    ("GET", "/audit", None): Role.ADMIN,
    ("GET", "/users", None): Role.ADMIN,
    ("POST", f"/site/{SITE}/report", ()): None,
    ("POST", f"/site/{SITE}/action", (("action", "drill"),)): Role.OPERATOR,
    ("POST", "/users", (("do", "role"), ("name", "vera"), ("role", "viewer"))): Role.ADMIN,
    ("POST", "/logout", ()): None,
}


@pytest.mark.parametrize("who", ["anonymous", "vera", "otto", "ada"])
def test_every_route_checks_the_session_and_the_role(app, who):
    role = {"vera": Role.VIEWER, "otto": Role.OPERATOR, "ada": Role.ADMIN}.get(who)
    token, csrf = login(app, who) if role else ("", "")
    for (method, path, form), needs in ROUTES.items():   # the logout last
        sent = len(app["sent"])
        r = request(app, method, path, None if form is None else {"csrf": csrf, **dict(form)}, token=token)
        if role is None:
            expected = (303, "/login") if method == "GET" else (403, "not logged in")
        elif needs is not None and role < needs:
            expected = (403, f"{who} is {role.label}: this needs {needs.label}")
        else:
            expected = (303, "/login") if path == "/logout" else (200, "")
        shown = r.headers.get("Location") if r.status == 303 else r.error()
        assert (r.status, expected[1] in (shown or "")) == (expected[0], True), (who, method, path, r.status, shown)
        assert len(app["sent"]) - sent == (1 if r.status == 200 and path.startswith("/site/") and method == "POST"
                                           else 0), (who, path)
    for path in ("/login", "/static/console.css", "/static/live.js"):   # open to all, and nothing else is
        assert request(app, "GET", path).status == 200


ATTACKS = ["no_csrf", "other_sessions_csrf", "cross_origin", "null_origin", "cross_referer"]


def test_every_state_changing_request_needs_the_sessions_csrf_token_and_our_origin(app):
    _, others = login(app, "otto")
    token, csrf = login(app, "ada")
    for attack in ATTACKS:
        for (method, path, form), _ in ROUTES.items():
            if method != "POST":
                continue
            fields, headers = {"csrf": csrf, **dict(form)}, {}
            if attack == "no_csrf":
                del fields["csrf"]
            elif attack == "other_sessions_csrf":
                fields["csrf"] = others
            elif attack == "cross_origin":
                headers = {"Origin": "https://evil.example"}
            elif attack == "null_origin":
                headers = {"Origin": "null"}          # a sandboxed frame, a data: URL
            elif attack == "cross_referer":
                headers = {"Origin": None, "Referer": "https://evil.example/fleet.example"}
            sent, audited = len(app["sent"]), app["db"].query("SELECT COUNT(*) FROM console_audit")[0][0]
            r = request(app, method, path, fields, token=token, headers=headers)
            why = "CSRF token is missing or wrong" if attack.endswith("csrf") else "posted from another site"
            assert (r.status, why in r.error()) == (403, True), (attack, path, r.status, r.error())
            assert len(app["sent"]) == sent and app["db"].query("SELECT COUNT(*) FROM console_audit")[0][0] == audited
            assert request(app, "GET", "/", token=token).status == 200   # a refused logout logs nobody out
    r = request(app, "POST", "/login", {"name": "vera", "password": PASSWORD}, headers={"Origin": "https://x.example"})
    assert r.status == 403 and "Set-Cookie" not in r.headers   # nor is anyone logged in from another site


def test_a_login_gives_a_new_token_whatever_cookie_came_with_it(app):
    planted, _ = login(app, "vera")          # an attacker's own session, planted in the victim's browser
    token, _ = login(app, "ada", token=planted)
    assert token != planted
    assert "vera (viewer)" in request(app, "GET", "/", token=planted).text     # the planted one is still vera's
    assert "ada (admin)" in request(app, "GET", "/", token=token).text
    r = request(app, "POST", "/login", {"name": "ada", "password": PASSWORD}, token="chosen-by-the-attacker")
    assert "chosen-by-the-attacker" not in r.headers["Set-Cookie"]
    # and no redirect after it is built from the request: no next= to send a fresh session elsewhere
    for path in ("/login?next=//evil.example/", "/login?next=https://evil.example/%0d%0aSet-Cookie:x=1"):
        r = request(app, "POST", path, {"name": "ada", "password": PASSWORD, "next": "//evil.example/"})
        assert (r.status, r.headers["Location"], r.headers.get_all("Set-Cookie")[0].startswith(COOKIE)) == \
            (303, "/", True)


def test_behind_https_the_cookie_is_host_only_and_secure(app):
    r = request(app, "POST", "/login", {"name": "vera", "password": PASSWORD})
    assert re.fullmatch(rf"{COOKIE}=[A-Za-z0-9_-]{{43}}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure",
                        r.headers["Set-Cookie"])
    token = r.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    conn = http.client.HTTPConnection(*app["addr"], timeout=20)   # the plain name is not this console's cookie
    conn.request("GET", "/", headers={"Cookie": f"relais_session={token}"})
    assert conn.getresponse().status == 303
    conn.close()


def test_a_forged_x_forwarded_for_does_not_escape_the_limit_when_no_proxy_is_trusted(app):
    try:
        statuses = [request(app, "POST", "/login", {"name": f"guess{n}", "password": "x" * 12},
                            headers={"X-Forwarded-For": f"198.51.100.{n}"}).status for n in range(5)]
        assert statuses == [401, 401, 401, 429, 429]   # 3 failures per source: every "source" here is 127.0.0.1
    finally:   # the other tests log in from 127.0.0.1 too
        app["console"].attempts = limiter.Attempts(app["console"].attempts.limits)


def test_a_login_runs_the_kdf_once_whether_the_name_exists_or_not(tmp_path, monkeypatch):
    """A fresh console (the stand-in hash for unknown names not yet made, as in a new process): a first login
    with an unknown name must not take two KDF runs where a known name takes one."""
    config = from_dict({"database": str(tmp_path / "fleet.db"), "console": {"listen": "127.0.0.1:0"}})
    db = FleetDb(config.database).connect()
    Users(db).add("vera", Role.VIEWER, PASSWORD, T0)
    db.close()
    monkeypatch.setattr(users_module, "_DUMMY_HASH", [])
    running = start_console(config)
    runs = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: runs.append(1) or real(*a, **k))
    counts = {}
    try:
        for name in ("nobody-at-all", "vera", "nobody-else"):
            runs.clear()
            assert request({"addr": running.address}, "POST", "/login", {"name": name, "password": "wrong password"},
                           headers={"Origin": None}).status == 401
            counts[name] = len(runs)
    finally:
        running.stop()
    assert counts == {"nobody-at-all": 1, "vera": 1, "nobody-else": 1}


def test_behind_a_proxy_the_origins_host_is_answered_and_a_rebinding_name_is_not(app):
    """origin names the console: the proxy passes that Host on; another name (a rebinding page's) is refused."""
    token, _ = login(app, "vera")
    assert request(app, "GET", "/", token=token, headers={"Host": "fleet.example"}).status == 200
    assert request(app, "GET", "/", token=token, headers={"Host": "Fleet.Example:443"}).status == 200
    r = request(app, "GET", "/", token=token, headers={"Host": "evil.example"})
    assert r.status == 421 and "does not answer to &#x27;evil.example&#x27;" in r.error()
