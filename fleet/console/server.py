"""The console's HTTP side (stdlib ThreadingHTTPServer): routes, sessions, CSRF, roles, the security headers.

Every request is read as untrusted: a bad form, query or path ends in a page with one line saying what was wrong
(400/403/404/413/429), never a traceback; an unexpected error is logged here and answered with a plain 500.
"""
from __future__ import annotations

import hmac
import io
import ipaddress
import json
import logging
import re
import threading
import time
from http import cookies
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, ContextManager
from urllib.parse import parse_qs, urlsplit

from common.wire.topics import is_topic_level
from fleet.config import FleetConfig
from fleet.console import limiter, pages
from fleet.console.bounds import BoundedHTTPServer, ConsoleBusy, DbPool, DeadlineReader
from fleet.console.cache import FleetCache
from fleet.console.table import BadQuery, parse_view, select
from fleet.db import DatabaseError, FleetDb
from fleet.uplinks import names, preferred
from fleet.users import Role, Session, UserError, Users

log = logging.getLogger("relais.fleet.console")

MAX_FORM_BYTES = 16 * 1024
MAX_LIVE_STREAMS = 32              # each live page holds a thread and polls the database
CSP = pages.CSP

# action -> (the agent's command, its arguments). Besides these, failover_force_<uplink> for each uplink the
# device publishes (fleet.uplinks.names: a site of [[uplinks]] has its own names; a legacy one primary and backup).
FORCE = "failover_force_"
ACTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "failover_force_backup": ("failover", {"mode": "force_backup"}),
    "failover_force_primary": ("failover", {"mode": "force_primary"}),
    "failover_auto": ("failover", {"mode": "auto"}),
    "drill": ("drill", {}),
    "sim_switch": ("sim_switch", {}),      # + slot from the form
    "modem_reset": ("modem_reset", {}),
}


def host_name(netloc: str) -> str | None:
    """The host of "name[:port]" or "[v6][:port]", lower case, without a trailing dot; None when it is not one."""
    if not netloc or any(c in netloc for c in "/?#@\\ \t"):
        return None
    try:
        parts = urlsplit("//" + netloc)
        name, _ = parts.hostname, parts.port   # .port raises ValueError on a port that is no number
    except ValueError:
        return None
    return name.rstrip(".") if name else None


class HttpError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def send_command(config: FleetConfig, site: str, name: str, args: dict[str, Any], now: float) -> dict[str, Any]:
    """Signed and sent exactly as `relais fleet cmd --wait` does (fleet/command.py: one signing path); the reply,
    or CommandError."""
    from fleet.command import build, key_for, send
    body = build(key_for(config, site, None), site, name, args, now)
    reply = send(config, site, name, body, wait=True)
    assert reply is not None
    return reply


class Console:
    """What the request threads share: the configuration, a pool of database connections, the login limiter."""

    def __init__(self, config: FleetConfig, clock: Callable[[], float] = time.time,
                 command: Callable[..., dict[str, Any]] = send_command, limits: limiter.Limits = limiter.Limits()):
        self.config = config
        self.cfg = config.console
        self.clock = clock
        self.command = command
        self.attempts = limiter.Attempts(limits)
        self._attempts_lock = threading.Lock()
        self.pool = DbPool(config.database)
        self.stopping = threading.Event()
        self.live_streams = threading.BoundedSemaphore(MAX_LIVE_STREAMS)
        self.fleet = FleetCache(clock)
        with self.db() as db:
            # the tables, once; and the stand-in hash a login with an unknown name is checked against, made now:
            # made at the first such login, it would cost that one login a second KDF run (a name found absent)
            Users(db).authenticate("", "")

    def db(self) -> ContextManager[FleetDb]:
        return self.pool.connection()

    def warm(self) -> None:
        try:
            with self.db() as db:
                self.fleet.entries(db)
        except DatabaseError as e:   # not there yet: the first page will read it
            log.warning("console: %s", e)

    def close(self) -> None:
        self.stopping.set()
        self.pool.close()

    # -- login limiter (its state is this process's: see docs/fleet.md) -----------------------------------------
    def login_allowed(self, name: str, source: str) -> limiter.Verdict:
        with self._attempts_lock:
            return limiter.allowed(self.attempts, name, limiter.source_key(source), self.clock())

    def login_result(self, name: str, source: str, ok: bool) -> None:
        key = limiter.source_key(source)
        with self._attempts_lock:
            self.attempts = limiter.succeeded(self.attempts, name, key) if ok else \
                limiter.failed(self.attempts, name, key, self.clock())


class Handler(BaseHTTPRequestHandler):
    server: "ConsoleServer"
    protocol_version = "HTTP/1.1"
    server_version = "relais-fleet"
    sys_version = ""
    # headers and body in one write, and no Nagle: otherwise a keep-alive client's delayed ACK holds every
    # response's body back 40 ms (handle_one_request flushes after each request; the live stream flushes itself)
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    @property
    def console(self) -> Console:
        return self.server.console

    def setup(self) -> None:
        self.timeout = self.server.request_timeout_s   # the socket's, for StreamRequestHandler.setup
        super().setup()
        self.reader = DeadlineReader(self.connection, self.server.request_timeout_s)
        self.rfile = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        self.reader.start()   # an idle keep-alive connection waits this long too
        super().handle_one_request()

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s %s", self.source, fmt % args)

    # -- plumbing -------------------------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        headers = getattr(self, "headers", None)   # none yet when the request line itself is refused
        if self.console.cfg.trust_proxy and headers is not None:
            forwarded = headers.get("X-Forwarded-For", "")
            last = forwarded.split(",")[-1].strip()   # the one our proxy appended; the rest the client may forge
            try:   # an address, nothing else: it is logged, audited and a key of the login limiter
                return str(ipaddress.ip_address(last))
            except ValueError:
                pass
        return self.client_address[0]

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None, cookie: str | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (a request line or header too long, too many headers, a bad version): our
        page, with the security headers, rather than its own."""
        self.close_connection = True
        short, long = self.responses.get(code, ("", ""))
        self._html(pages.error_page(f"{code} {short}", message or long), code)

    def _html(self, text: str, status: int = 200, cookie: str | None = None) -> None:
        self._send(status, text.encode(), cookie=cookie)

    def _redirect(self, to: str, cookie: str | None = None) -> None:
        self._send(303, b"", headers={"Location": to}, cookie=cookie)

    @property
    def cookie_name(self) -> str:
        # __Host-: the browser takes it only over HTTPS, for this host and path /, so no subdomain can plant one
        return "__Host-relais_session" if self.console.cfg.secure_cookies else "relais_session"

    def _cookie(self, token: str, max_age: int) -> str:
        secure = "; Secure" if self.console.cfg.secure_cookies else ""
        return f"{self.cookie_name}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"

    def _token(self) -> str:
        jar = cookies.SimpleCookie()
        try:
            jar.load(self.headers.get("Cookie", ""))
        except cookies.CookieError:
            return ""
        morsel = jar.get(self.cookie_name)
        return morsel.value if morsel else ""

    def session_of(self, db: FleetDb, touch: bool = True) -> Session | None:
        c = self.console.cfg
        return Users(db, create=False).session(self._token(), self.console.clock(), c.idle_s, c.absolute_s, touch)

    def _form(self) -> dict[str, str]:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise HttpError(400, "expected a form (application/x-www-form-urlencoded)")
        given = self.headers.get_all("Content-Length") or []
        if not given:
            raise HttpError(411, "a form needs its Content-Length")
        # ASCII digits only: str.isdigit() also takes "²" (a latin-1 header byte), which int() then refuses, and
        # int() refuses more than 4300 digits; two different lengths would make the body's end a guess
        if len(set(given)) > 1 or not re.fullmatch(r"[0-9]{1,12}", given[0].strip()):
            raise HttpError(400, f"Content-Length {', '.join(given)[:40]!r} is not one number of bytes")
        length = int(given[0])
        if length > MAX_FORM_BYTES:
            raise HttpError(413, f"a form of {length} bytes: at most {MAX_FORM_BYTES}")
        try:
            raw = self.rfile.read(length)
        except TimeoutError:
            raise HttpError(408, f"the form did not arrive within {self.server.request_timeout_s:g} s") from None
        if len(raw) < length:
            raise HttpError(400, f"the form ended after {len(raw)} of its {length} bytes")
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            raise HttpError(400, "the form is not UTF-8 text of at most 20 fields") from None
        return {k: v[-1] for k, v in fields.items()}

    def _check_host(self) -> None:
        """DNS rebinding: a page on evil.example re-resolves its own name to this console's address, and its
        requests are then same-origin to the browser, with the Host header still naming evil.example. So a Host
        must be one this console answers to: an IP address (a name is what rebinding needs), localhost (browsers
        resolve it themselves), the host of `listen` or of `origin`. No Host at all is no browser's."""
        host = self.headers.get("Host")
        if host is None:
            return
        name = host_name(host)
        if name is None:
            raise HttpError(400, f"the Host header {host[:80]!r} is not a host[:port]")
        if name in self.server.host_names or name == "localhost" or name.endswith(".localhost"):
            return
        try:
            ipaddress.ip_address(name)
            return
        except ValueError:
            pass
        raise HttpError(421, f"this console does not answer to {name[:80]!r}: set [console] origin to the address "
                             f"browsers use")

    def _check_origin(self) -> None:
        """A POST must come from the console's own pages: Origin (or, without it, Referer) names this console."""
        origin = self.headers.get("Origin")
        if origin is None:
            referer = self.headers.get("Referer")
            if referer is None:
                return   # neither sent (an old browser, a script): the CSRF token alone decides
            try:
                parts = urlsplit(referer)
            except ValueError:   # "http://[::1": not a URL at all
                raise HttpError(403, f"a form posted with a Referer that is no URL ({referer[:80]!r}) is "
                                     f"refused") from None
            origin = f"{parts.scheme}://{parts.netloc}"
        expected = self.console.cfg.origin
        allowed = {expected} if expected else {f"{s}://{self.headers.get('Host', '')}" for s in ("http", "https")}
        if origin not in allowed:
            raise HttpError(403, f"a form posted from another site ({origin[:80]}) is refused")

    def _check_csrf(self, session: Session, form: dict[str, str]) -> None:
        token = form.get("csrf", "")
        if not hmac.compare_digest(token.encode(), session.csrf.encode()):
            raise HttpError(403, "the form's CSRF token is missing or wrong: reload the page and try again")

    # -- dispatch -------------------------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, route: Callable[[], None]) -> None:
        try:
            self._check_host()
            route()
        except HttpError as e:
            self.close_connection = True   # a form not read to its end must not be taken for the next request
            self._html(pages.error_page(f"{e.status} {self.responses.get(e.status, ('',))[0]}", e.message),
                       e.status)
        except ConsoleBusy as e:
            log.warning("console: %s", e)
            self._html(pages.error_page("503 Service Unavailable", "the console is busy: try again in a moment"),
                       503)
        except DatabaseError as e:
            log.error("console: %s", e)
            self._html(pages.error_page("503 Service Unavailable", "the fleet database is not reachable"), 503)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):   # the browser went, or stopped reading
            self.close_connection = True
        except Exception:
            log.exception("console: %s %s", self.command, self.path[:200])
            self._html(pages.error_page("500 Internal Server Error", "something went wrong; it is logged"), 500)

    def _get(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        if path == "/static/console.css":
            return self._send(200, pages.STYLE.encode(), "text/css; charset=utf-8")
        if path == "/static/live.js":
            return self._send(200, pages.LIVE_JS.encode(), "text/javascript; charset=utf-8")
        if path == "/login":
            return self._html(pages.login())
        with self.console.db() as db:
            session = self.session_of(db)
        if session is None:
            return self._redirect("/login")
        if path == "/":
            return self._fleet(session, url.query)
        if path == "/events":
            return self._live(session, url.query)
        if path.startswith("/site/"):
            return self._site(session, self._site_id(path.removeprefix("/site/")))
        if path == "/audit":
            self._need(session, Role.ADMIN)
            with self.console.db() as db:
                return self._html(pages.audit(Users(db, create=False).audit_log(), session))
        if path == "/users":
            self._need(session, Role.ADMIN)
            with self.console.db() as db:
                return self._html(pages.users(Users(db, create=False).all(), session))
        raise HttpError(404, f"no page {path[:80]!r}")

    def _post(self) -> None:
        path = urlsplit(self.path).path
        self._check_origin()
        if path == "/login":
            return self._login(self._form())
        with self.console.db() as db:
            session = self.session_of(db)
        if session is None:
            raise HttpError(403, "not logged in (or the session expired): log in again")
        form = self._form()
        self._check_csrf(session, form)
        if path == "/logout":
            with self.console.db() as db:
                Users(db, create=False).close_session(session)
            return self._redirect("/login", cookie=self._cookie("", 0))
        if path == "/users":
            self._need(session, Role.ADMIN)
            return self._users(session, form)
        if path.startswith("/site/") and path.endswith(("/action", "/report")):
            site, _, what = path.removeprefix("/site/").rpartition("/")
            site = self._site_id(site)
            with self.console.db() as db:   # nothing is sent to a site the fleet does not know
                if not db.query("SELECT 1 FROM devices WHERE device_id = ?", (site,)):
                    raise HttpError(404, f"no site {site!r} in the fleet database")
            if what == "action":
                self._need(session, Role.OPERATOR)
                return self._action(session, site, form)
            return self._report(session, site)
        raise HttpError(404, f"nothing to post to {path[:80]!r}")

    def _need(self, session: Session, role: Role) -> None:
        if session.user.role < role:
            raise HttpError(403, f"{session.user.name} is {session.user.role.label}: this needs {role.label}")

    @staticmethod
    def _site_id(text: str) -> str:
        if not is_topic_level(text):
            raise HttpError(404, f"{text[:80]!r} is not a site id")
        return text

    # -- pages ----------------------------------------------------------------------------------------------------
    def _login(self, form: dict[str, str]) -> None:
        name, password = form.get("name", "")[:64], form.get("password", "")
        verdict = self.console.login_allowed(name, self.source)
        if not verdict.ok:
            log.warning("console: login for %r from %s refused: too many failures (%s)", name, self.source,
                        verdict.why)
            return self._html(pages.login(f"Too many failed logins ({verdict.why}): try again in "
                                          f"{max(1, round(verdict.retry_after_s / 60))} min.", name), 429)
        with self.console.db() as db:
            users = Users(db, create=False)
            user = users.authenticate(name, password)
            self.console.login_result(name, self.source, user is not None)
            if user is None:
                log.info("console: failed login for %r from %s", name, self.source)
                return self._html(pages.login("Wrong user name or password.", name), 401)
            now = self.console.clock()
            users.forget_expired(now, self.console.cfg.idle_s, self.console.cfg.absolute_s)
            token, _ = users.open_session(user, now)
        log.info("console: %s logged in from %s", name, self.source)
        self._redirect("/", cookie=self._cookie(token, int(self.console.cfg.absolute_s)))

    def _fleet(self, session: Session, query: str) -> None:
        try:
            view = parse_view(query)
        except BadQuery as e:
            view, error = parse_view(""), str(e)
            status = 400
        else:
            error, status = "", 200
        with self.console.db() as db:
            entries = self.console.fleet.entries(db)
        page = select(entries, view, self.console.clock(), self.console.cfg.page_size)
        self._html(pages.fleet(page, view, session, error), status)

    def _site_page(self, session: Session, site: str, outcome: str = "", report: str = "") -> str:
        from fleet.console.timeline import svg
        now = self.console.clock()
        since = now - 30 * 86400
        with self.console.db() as db:
            found = db.devices(device_id=site, latest=True)
            if not found:
                raise HttpError(404, f"no site {site!r} in the fleet database")
            events = [(ts, kind, json.loads(data)) for ts, kind, data in db.query(
                "SELECT ts, kind, data FROM events WHERE device_id = ? AND ts >= ? AND kind IN "
                "('failover', 'failback', 'outage_closed', 'drill_result') ORDER BY ts", (site, since))]
            signal = []
            for ts, metrics in db.query("SELECT ts, metrics FROM telemetry WHERE device_id = ? AND ts >= ? "
                                        "ORDER BY ts", (site, since)):
                value = json.loads(metrics).get("rsrp_dbm")
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    signal.append((ts, float(value)))
            changes = db.status_changes(site, since)
        d = found[0]
        failover = pages.part(d["state"], "failover")
        drills = [(ts, data) for ts, kind, data in events if kind == "drill_result"]
        return pages.site(d, svg(events, signal, since, now, failover.get("active_uplink"), preferred(failover),
                                   (changes, d["online"])),
                          drills, session, outcome, report)

    def _site(self, session: Session, site: str) -> None:
        self._html(self._site_page(session, site))

    def _action(self, session: Session, site: str, form: dict[str, str]) -> None:
        action = form.get("action", "")
        if action.startswith(FORCE) and action not in ACTIONS:
            with self.console.db() as db:
                found = db.devices(device_id=site)
            if not found:
                raise HttpError(404, f"no site {site!r} in the fleet database")
            uplinks = names(pages.part(found[0]["state"], "failover"))
            uplink = action[len(FORCE):]
            if uplink not in uplinks:
                raise HttpError(400, f"uplink {uplink[:24]!r}: expected one of {site}'s uplinks: "
                                     f"{', '.join(uplinks)}")
            name, args = "failover", {"mode": f"force_{uplink}"}
        elif action not in ACTIONS:
            raise HttpError(400, f"action {action[:40]!r}: expected one of {', '.join(ACTIONS)} or "
                                 f"{FORCE}<uplink>")
        else:
            name, args = ACTIONS[action][0], dict(ACTIONS[action][1])
        if action == "sim_switch":
            slot = form.get("slot", "")
            if slot not in ("1", "2"):
                raise HttpError(400, f"slot {slot[:10]!r}: expected 1 or 2")
            args["slot"] = int(slot)
        outcome = self._run(session, site, action, name, args)
        self._html(self._site_page(session, site, outcome=outcome))

    def _report(self, session: Session, site: str) -> None:
        from fleet.command import CommandError
        args = {"format": "text", "lang": "en"}
        try:
            reply = self.console.command(self.console.config, site, "report", args, self.console.clock())
            box = pages.report_box(reply)
        except CommandError as e:
            reply, box = {"error": str(e)}, pages.report_box(None, str(e))
        except Exception as e:   # a 500 follows, logged; the audit still says it was tried
            self._audit(session, "report", site, args, {"error": f"internal error ({type(e).__name__})"})
            raise
        self._audit(session, "report", site, args, reply)
        self._html(self._site_page(session, site, report=box))

    def _run(self, session: Session, site: str, action: str, name: str, args: dict[str, Any]) -> str:
        from fleet.command import CommandError
        log.info("console: %s sends %s %s to %s", session.user.name, name, json.dumps(args), site)
        try:
            reply = self.console.command(self.console.config, site, name, args, self.console.clock())
        except CommandError as e:
            self._audit(session, action, site, args, {"error": str(e)})
            return pages.reply_box(action, None, str(e))
        except Exception as e:   # a 500 follows, logged; the audit still says it was tried
            self._audit(session, action, site, args, {"error": f"internal error ({type(e).__name__})"})
            raise
        self._audit(session, action, site, args, reply)
        return pages.reply_box(action, reply)

    def _audit(self, session: Session, action: str, site: str, args: dict[str, Any], reply: dict[str, Any]) -> None:
        ok = reply.get("ok") if isinstance(reply.get("ok"), bool) else None
        with self.console.db() as db:
            Users(db, create=False).audit(self.console.clock(), session.user.name, self.source, action, site, args,
                                          ok, reply)

    def _users(self, session: Session, form: dict[str, str]) -> None:
        do, name = form.get("do", ""), form.get("name", "")
        with self.console.db() as db:
            users = Users(db, create=False)
            try:
                if do == "add":
                    role = Role.named(form.get("role", ""))
                    users.add(name, role, form.get("password", ""), self.console.clock())
                    done = f"added {name} ({role.label})"
                elif do == "role":
                    role = Role.named(form.get("role", ""))
                    if name == session.user.name and role < Role.ADMIN:
                        raise UserError("an admin cannot take their own admin role (ask another admin)")
                    users.set_role(name, role)
                    done = f"{name} is now {role.label}"
                elif do == "remove":
                    if name == session.user.name:
                        raise UserError("an admin cannot remove themselves (ask another admin)")
                    users.remove(name)
                    done = f"removed {name}"
                else:
                    raise HttpError(400, f"do {do[:20]!r}: expected add, role or remove")
                message = f'<p class="ok">{pages.escape(done)}</p>'
                users.audit(self.console.clock(), session.user.name, self.source, f"user_{do}", "", {
                    "name": name, "role": form.get("role")}, True, {"result": done})
                status = 200
            except UserError as e:   # refused changes are audited too: an admin trying the impossible is news
                message, status = f'<p class="error">{pages.escape(str(e))}</p>', 400
                users.audit(self.console.clock(), session.user.name, self.source, f"user_{do}", "", {
                    "name": name[:64], "role": form.get("role", "")[:20]}, False, {"error": str(e)})
            self._html(pages.users(users.all(), session, message), status)

    def _live(self, session: Session, query: str) -> None:
        from fleet.console.live import stream
        if self.command == "HEAD":
            raise HttpError(405, "a live stream is for GET")
        try:
            view = parse_view(query)
        except BadQuery as e:
            raise HttpError(400, str(e)) from None
        slots = self.console.live_streams
        if not slots.acquire(blocking=False):
            raise HttpError(503, "too many live pages open: reload later (the page works without)")
        try:
            stream(self, view)
        finally:
            slots.release()


class ConsoleServer(BoundedHTTPServer):
    def __init__(self, address: tuple[str, int], console: Console):
        self.console = console
        cfg = console.cfg
        # the names a Host header may carry besides IP addresses and localhost (Handler._check_host)
        self.host_names = frozenset(n for n in (host_name(cfg.listen), host_name(urlsplit(cfg.origin).netloc))
                                    if n)
        super().__init__(address, Handler)
