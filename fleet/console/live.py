"""Live rows for an open fleet page, by server-sent events (`GET /events?<the page's query>`).

Every [console] live_every_s the stream looks for devices whose state, status or latest events changed
(fleet/console/cache.py, changed_since) and sends each changed row that is on the page as HTML (`event: row`,
{"id", "html"}), or `event: reload` when a device joins or leaves the page's filter (the page then offers a reload
link: it does not re-sort itself). A comment line every KEEPALIVE_S keeps proxies from closing a quiet stream and
finds a closed one. The stream ends with its session, at shutdown, or when the browser goes.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from fleet.console import pages
from fleet.console.cache import LOOK_BACK_S, TABLE_PARTS, changed_since
from fleet.console.table import View, select
from fleet.db import DatabaseError
from fleet.listing import FILTERS, row

log = logging.getLogger("relais.fleet.console")

KEEPALIVE_S = 15.0
MAX_CHANGED = 500          # more changed devices than this in one look: a reload hint rather than rows


def stream(handler: Any, view: View) -> None:
    """On the request's thread, until the stream ends; `handler` is the console's request handler."""
    c = handler.console
    with c.db() as db:
        page = select(c.fleet.entries(db), view, c.clock(), c.cfg.page_size)
    shown = {d["device_id"] for d, _ in page.rows}
    handler.send_response(200)
    for k, v in (("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
                 ("X-Accel-Buffering", "no"), ("Content-Security-Policy", pages.CSP)):
        handler.send_header(k, v)
    handler.end_headers()
    handler.close_connection = True
    out = handler.wfile

    def event(kind: str, data: str) -> None:
        out.write(f"event: {kind}\ndata: {data}\n\n".encode())
        out.flush()

    out.write(b"retry: 5000\n\n")
    out.flush()
    mark = quiet_since = c.clock()
    sent: dict[str, str] = {}
    while not c.stopping.wait(c.cfg.live_every_s):
        now = c.clock()
        try:
            with c.db() as db:
                if handler.session_of(db, touch=False) is None:
                    return   # logged out or expired: the stream ends with the session
                changed = changed_since(db, mark - LOOK_BACK_S)
                devices = db.devices(parts=TABLE_PARTS, latest=True, ids=changed[:MAX_CHANGED]) if changed else []
        except DatabaseError as e:   # the stream has begun: no error page now; the browser reconnects
            log.warning("console: live rows: %s", e)
            return
        mark = now
        reload_hint = len(changed) > MAX_CHANGED
        for d in devices:
            site = d["device_id"]
            matches = all(FILTERS[f](d) for f in view.filters) and (not view.q or view.q.lower() in site.lower())
            if site in shown and matches:
                html = pages.table_row(d, row(d, now))
                if sent.get(site) != html:
                    sent[site] = html
                    event("row", json.dumps({"id": site, "html": html}))
                    quiet_since = now
            elif (site in shown) != matches:
                reload_hint = True
        if reload_hint:
            event("reload", "{}")
            quiet_since = now
        if now - quiet_since >= KEEPALIVE_S:
            out.write(b": keep-alive\n\n")
            out.flush()
            quiet_since = now
