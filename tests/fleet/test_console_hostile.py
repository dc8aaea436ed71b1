"""A hostile device against the console, through the real ingest path (Mosquitto → `fleet serve`'s Ingest → the
database → the pages): markup, attribute breakers, `</svg>`, newlines meant to forge server-sent events, state
parts that are not maps and a clock in the year 10^292. Every page must answer 200 with the device's words shown
as text: no element, attribute or script of the device's making, and one `data:` line per live event."""
from __future__ import annotations

import json
import re
import socket
import time
from html.parser import HTMLParser

import pytest

from fleet.config import from_dict
from fleet.console import start_console
from fleet.db import FleetDb
from fleet.ingest import Ingest
from fleet.users import Role, Users
from tests.fleet.loadgen import Outgoing, Publisher, encode, envelope
from tests.fleet.postgres import wait_for
from tests.fleet.test_console_http import PASSWORD, login, request

pytestmark = pytest.mark.mosquitto

SCRIPT = "<script>alert(1)</script>"
ATTR = '" onmouseover="alert(2)" x="'
SVG = "</title></rect></svg><script>alert(3)</script><svg>"
SSE = "Evil\n\nevent: reload\ndata: {}\n\n"
# the tags the console itself writes: anything else on a page was made by someone else
OURS = {"html", "head", "meta", "title", "link", "script", "body", "header", "strong", "a", "span", "form",
        "input", "button", "main", "h1", "h2", "small", "p", "div", "table", "thead", "tbody", "tr", "th", "td",
        "select", "option", "dl", "dt", "dd", "pre", "svg", "text", "rect", "circle", "line", "polyline"}


class Markup(HTMLParser):
    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.scripts, self.text = [], [], [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        if tag == "script":
            self.scripts.append(dict(attrs).get("src"))

    def handle_data(self, data):
        self.text.append(data)


def assert_inert(page: str) -> str:
    """The page's text, once it is checked that the device made no markup of its own."""
    m = Markup(page)
    assert set(m.tags) <= OURS, set(m.tags) - OURS
    assert not [a for a in m.attrs if a.startswith("on") or a == "style"], m.attrs
    assert m.scripts in ([], ["/static/live.js"]), m.scripts
    return "".join(m.text)


def published(device: str, leaf: str, seq: int, ts: float, **body) -> Outgoing:
    return Outgoing(f"relais/v1/{device}/{leaf}", encode(envelope(device, seq, ts, **body), "json"), None,
                    retain=leaf.startswith("state"))


def test_a_hostile_device_shows_as_text_on_every_page(tmp_path, broker):
    now = time.time()
    database = str(tmp_path / "fleet.db")
    config = from_dict({"database": database, "mqtt": {"host": broker.host, "port": broker.port,
                                                       "client_id": "fleet-hostile", "group": ""},
                        "console": {"listen": "127.0.0.1:0", "live_every_s": 0.2}})
    evil, broken = "evil.dev-1", "evil.dev-2"
    messages = [
        Outgoing(f"relais/v1/{evil}/status", b"online", None, retain=True),
        published(evil, "state/modem", 1, now, state={"modem": {
            "manufacturer": SCRIPT, "model": ATTR, "revision": SVG, "iccid": SVG, "imei": ATTR,
            "operator_name": SSE, "rat": SCRIPT, "signal": {"rsrp_dbm": -120}}}),
        published(evil, "state/failover", 2, now, state={"failover": {"state": SCRIPT, "mode": ATTR,
                                                                      "active_uplink": "backup"}}),
        published(evil, "event", 3, now - 3600, kind="outage_closed",
                  data={"start": now - 7200, "end": now - 3600, "cause": SVG, "uplink": ATTR}),
        published(evil, "event", 4, now - 600, kind="drill_result", data={"ok": False, "kind": SVG, "reason": ATTR}),
        # parts that are no maps, and a drill dated in the year 10^292: shown as what they are
        Outgoing(f"relais/v1/{broken}/status", b"online", None, retain=True),
        *(published(broken, f"state/{part}", n, now, state={part: value}) for n, (part, value) in enumerate(
            (("modem", SCRIPT), ("failover", [SCRIPT]), ("cellular", 7), ("device", SCRIPT)), 1)),
        published(broken, "event", 9, 1e300, kind="drill_result", data={"ok": False, "reason": SCRIPT}),
    ]
    ingest = Ingest(config).start()
    db = FleetDb(database).connect()
    users = Users(db)
    users.add("ada", Role.ADMIN, PASSWORD, now)

    def command(config, site, name, args, at):   # the device's reply is the device's word too
        if name == "report":
            return {"id": "f1", "device_id": site, "ok": True, "result": {"content": f"</pre>{SCRIPT}\n{SSE}"}}
        return {"id": "f2", "device_id": site, "ok": False, "error": SVG + ATTR}

    running = start_console(config, command=command)
    app = {"addr": running.address}
    try:
        assert ingest.subscribed.wait(10)
        pub = Publisher(broker.host, broker.port, client_id="evil")
        pub.publish_all(messages)
        wait_for(lambda: db.count("events") == 3 and db.count("device_state") == 6, 20, "the hostile messages")
        pub.close()
        cookie, csrf = login(app, "ada")

        table = request(app, "GET", "/?q=evil", cookie=cookie)
        assert table.status == 200 and SSE.strip() in assert_inert(table.text)
        for site in (evil, broken):
            page = request(app, "GET", f"/site/{site}", cookie=cookie)
            assert page.status == 200, (site, page.status, page.error())
            text = assert_inert(page.text)
            assert (SCRIPT in text and ATTR in text and "</svg>" in text) if site == evil else \
                "1e+300 (not a date)" in text
        svg = re.search(r"<svg class=\"timeline\".*?</svg>", page.text, re.S)
        assert svg is not None and 'data-drills="0"' in svg.group(0)   # not drawn: outside the 30 days

        report = request(app, "POST", f"/site/{evil}/report", {"csrf": csrf}, cookie=cookie)
        assert report.status == 200 and f"</pre>{SCRIPT}" in assert_inert(report.text)
        action = request(app, "POST", f"/site/{evil}/action", {"csrf": csrf, "action": "drill"}, cookie=cookie)
        assert action.status == 200 and SVG in assert_inert(action.text)
        audit = request(app, "GET", "/audit", cookie=cookie)
        assert audit.status == 200 and "alert(3)" in assert_inert(audit.text)

        # live rows: the operator's name with its newlines stays inside one data line of one event
        sock = socket.create_connection(running.address, timeout=10)
        sock.sendall(f"GET /events?q=evil HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: relais_session={cookie}\r\n\r\n"
                     .encode())
        received = b""
        while b"retry: 5000\n\n" not in received:
            received += sock.recv(4096)
        pub = Publisher(broker.host, broker.port, client_id="evil-again")
        pub.publish_all([published(evil, "state/modem", 20, now + 1, state={"modem": {
            "operator_name": SSE + SCRIPT, "signal": {"rsrp_dbm": -119}}})])
        pub.close()
        while b"-119 dBm" not in received:   # the socket's timeout (10 s) ends a wait for nothing
            received += sock.recv(65536)
        sock.close()
        body = received.split(b"\r\n\r\n", 1)[1].decode()
        events = [e for e in body.split("\n\n") if e.startswith("event:")]
        assert events and all(e.startswith("event: row\ndata: ") and e.count("\n") == 1 for e in events), events
        rows = [json.loads(e.split("data: ", 1)[1]) for e in events]
        changed = [r for r in rows if r["id"] == evil and "-119 dBm" in r["html"]]
        assert len(changed) == 1 and (SSE + SCRIPT).strip() in assert_inert(changed[0]["html"])
    finally:
        running.stop()
        ingest.stop()
        db.close()
